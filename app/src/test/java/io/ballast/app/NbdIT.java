package io.ballast.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Volumes over NBD, proven with clients nobody on the team wrote: nbdinfo, qemu-io, nbdcopy, nbdsh, fio. */
class NbdIT {
    @RegisterExtension
    static final DaemonExtension node = new DaemonExtension();
    static DaemonProcess daemon;
    static BallastCli cli;
    static Path dir;

    @BeforeAll
    static void bind() {
        daemon = node.daemon();
        cli = node.cli();
        dir = node.dir();
    }

    @Test
    void nbdinfoSeesTheSizeAndEveryCapability() throws Exception {
        cli.run("volume", "create", "info", "--size", "256M").ok();
        JsonNode info = new ObjectMapper().readTree(
                Run.run(60, List.of("nbdinfo", "--json", daemon.nbdUri("info"))).ok().out());
        JsonNode export = info.get("exports").get(0);
        assertThat(export.get("export-size").asLong()).isEqualTo(256L << 20);
        assertThat(export.get("can_flush").asBoolean()).isTrue();
        assertThat(export.get("can_fua").asBoolean()).isTrue();
        assertThat(export.get("can_trim").asBoolean()).isTrue();
        assertThat(export.get("can_zero").asBoolean()).isTrue();
        assertThat(export.get("can_multi_conn").asBoolean()).isTrue();
        // Connecting attached the volume on this node.
        assertThat(cli.json("volume", "inspect", "info").get("attachedNode").asText()).isEqualTo("node1");
        assertThat(Run.run(60, List.of("nbdinfo", "--list", "nbd://127.0.0.1:" + daemon.nbdPort)).ok().out())
                .contains("info");
    }

    @Test
    void qemuIoPatternsSurviveARestartAndAKill() {
        cli.run("volume", "create", "patterns", "--size", "64M").ok();
        String uri = daemon.nbdUri("patterns");
        long[] offsets = {0, 16384 + 512, 1 << 20, (32L << 20) + 4096, (64L << 20) - 4096};
        List<String> writes = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
        for (int i = 0; i < offsets.length; i++) {
            writes.addAll(List.of("-c", "write -P " + (0x11 * (i + 1)) + " " + offsets[i] + " 4k"));
        }
        writes.addAll(List.of("-c", "flush", uri));
        qemu(writes);
        daemon.restart();
        verifyPatterns(uri, offsets);
        // A flushed write also survives SIGKILL.
        qemu(List.of("qemu-io", "-f", "raw", "-c", "write -P 0x77 8M 1M", "-c", "flush", uri));
        daemon.kill();
        daemon.start();
        verifyPatterns(uri, offsets);
        qemu(List.of("qemu-io", "-f", "raw", "-c", "read -P 0x77 8M 1M", uri));
    }

    private static void verifyPatterns(String uri, long[] offsets) {
        List<String> reads = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
        for (int i = 0; i < offsets.length; i++) {
            reads.addAll(List.of("-c", "read -P " + (0x11 * (i + 1)) + " " + offsets[i] + " 4k"));
        }
        reads.add(uri);
        qemu(reads);
    }

    @Test
    void nbdcopyOf256MiBRoundTripsByteForByte() throws Exception {
        cli.run("volume", "create", "copy", "--size", "256M").ok();
        Path in = dir.resolve("in.img");
        Path out = dir.resolve("out.img");
        byte[] chunk = new byte[1 << 20];
        Random random = new Random(42);
        try (OutputStream stream = Files.newOutputStream(in)) {
            for (int i = 0; i < 256; i++) {
                if (i % 4 != 3) { // leave some MiB zero so sparse paths are covered too
                    random.nextBytes(chunk);
                } else {
                    java.util.Arrays.fill(chunk, (byte) 0);
                }
                stream.write(chunk);
            }
        }
        Run.run(300, List.of("nbdcopy", in.toString(), daemon.nbdUri("copy"))).ok();
        Run.run(300, List.of("nbdcopy", daemon.nbdUri("copy"), out.toString())).ok();
        assertThat(Files.mismatch(in, out)).isEqualTo(-1);
        Files.delete(in);
        Files.delete(out);
    }

    @Test
    void qemuImgConvertsIntoAVolumeAndComparesEqual() throws Exception {
        cli.run("volume", "create", "image", "--size", "32M").ok();
        Path source = dir.resolve("source.img");
        byte[] content = new byte[32 << 20];
        new Random(3).nextBytes(content);
        java.util.Arrays.fill(content, 8 << 20, 16 << 20, (byte) 0); // a hole for qemu-img to skip
        Files.write(source, content);
        String uri = daemon.nbdUri("image");
        assertThat(Run.run(60, List.of("qemu-img", "info", "--output=json", uri)).ok().out())
                .contains("\"virtual-size\": " + (32 << 20));
        Run.run(120, List.of("qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", source.toString(), uri)).ok();
        assertThat(Run.run(120, List.of("qemu-img", "compare", "-f", "raw", "-F", "raw", source.toString(), uri))
                .ok().out()).contains("Images are identical");
        Files.delete(source);
    }

    @Test
    void fioNbdEngineVerifiesEveryBlock() {
        cli.run("volume", "create", "fio", "--size", "64M").ok();
        Run.Result fio = Run.run(300, List.of("fio", "--name=ballast", "--ioengine=nbd", "--uri=" + daemon.nbdUri("fio"),
                "--rw=randwrite", "--bs=4k", "--size=32m", "--iodepth=16", "--verify=crc32c", "--do_verify=1",
                "--verify_fatal=1", "--randseed=7", "--verify_state_save=0", "--directory=" + dir)).ok();
        assertThat(fio.out()).contains("err= 0");
        assertThat(fio.out() + fio.err()).doesNotContain("bad magic").doesNotContain("verify failed");
    }

    @Test
    void badRequestsGetErrorsAndTheDaemonCarriesOn() throws Exception {
        cli.run("volume", "create", "edge", "--size", "16M").ok();
        // Out of range: strict mode off so libnbd sends it and the server must answer EINVAL.
        String script = "import nbd\n"
                + "h = nbd.NBD()\n"
                + "h.set_strict_mode(0)\n"
                + "h.connect_uri('" + daemon.nbdUri("edge") + "')\n"
                + "for op in (lambda: h.pread(4096, 16*1024*1024), lambda: h.pwrite(b'x'*4096, 16*1024*1024 - 512)):\n"
                + "    try:\n"
                + "        op()\n"
                + "        print('accepted')\n"
                + "    except nbd.Error as e:\n"
                + "        print('errno', e.errno)\n"
                + "h.pwrite(b'y'*4096, 0)\n"
                + "print('after', bytes(h.pread(4096, 0)[:1]))\n";
        Run.Result result = Run.run(60, List.of("/usr/bin/python3", "-c", script)).ok();
        assertThat(result.out()).contains("errno EINVAL\nerrno EINVAL").contains("after b'y'");

        // A client that speaks garbage loses its own connection only.
        try (Socket socket = new Socket("127.0.0.1", daemon.nbdPort)) {
            socket.getOutputStream().write("GET / HTTP/1.1\r\n\r\n".repeat(20).getBytes());
            socket.getOutputStream().flush();
            socket.setSoTimeout(10_000);
            var in = socket.getInputStream();
            while (in.read() >= 0) {
                // drain until the server closes this connection
            }
        }
        // An unknown export is refused with its name.
        Run.Result unknown = Run.run(60, List.of("nbdinfo", daemon.nbdUri("nosuch")));
        assertThat(unknown.exit()).isNotZero();
        assertThat(unknown.err()).contains("nosuch");
        assertThat(daemon.alive()).isTrue();
        qemu(List.of("qemu-io", "-f", "raw", "-c", "read -P 0x79 0 4k", daemon.nbdUri("edge")));
    }

    @Test
    void ioIsCountedInMetrics() throws Exception {
        cli.run("volume", "create", "counted", "--size", "16M").ok();
        qemu(List.of("qemu-io", "-f", "raw", "-c", "write -P 1 0 64k", "-c", "read 0 64k", "-c", "flush",
                daemon.nbdUri("counted")));
        String metrics = CliIT.metricsOf(daemon);
        assertThat(metrics).containsPattern("ballast_volume_ops_total\\{op=\"write\",volume=\"counted\"} [1-9]");
        assertThat(metrics).containsPattern("ballast_volume_bytes_total\\{op=\"write\",volume=\"counted\"} 65536");
        assertThat(metrics).containsPattern("ballast_volume_ops_total\\{op=\"read\",volume=\"counted\"} [1-9]");
        assertThat(metrics).containsPattern("ballast_volume_latency_seconds_count\\{op=\"write\",volume=\"counted\"} [1-9]");
    }

    static void qemu(List<String> command) {
        Run.Result result = Run.run(120, command).ok();
        assertThat(result.out() + result.err()).doesNotContain("Pattern verification failed")
                .doesNotContain("failed");
    }
}
