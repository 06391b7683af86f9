package io.ballast.frontend.nbd;

import static io.ballast.frontend.nbd.Processes.requireTool;
import static io.ballast.frontend.nbd.Processes.run;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The server against the real NBD clients: libnbd tools, qemu and fio. */
class NbdClientsTest {

    private static final long SIZE = 64L << 20;
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    private TestExports exports;

    @BeforeEach
    void startServer() throws Exception {
        exports = new TestExports(dir);
        exports.add("vol1", SIZE);
    }

    @AfterEach
    void stopServer() throws Exception {
        exports.close();
    }

    @Test
    void nbdinfoShowsSizeAndCapabilities() throws Exception {
        requireTool("nbdinfo");
        Processes.Result result = run(TIMEOUT, "nbdinfo", "--json", exports.uri("vol1"));

        assertThat(result.exitCode()).as(result.toString()).isZero();
        assertThat(result.stdout())
                .containsPattern("\"export-size\":\\s*" + SIZE)
                .containsPattern("\"can_flush\":\\s*true")
                .containsPattern("\"can_fua\":\\s*true")
                .containsPattern("\"can_trim\":\\s*true")
                .containsPattern("\"can_zero\":\\s*true")
                .containsPattern("\"can_multi_conn\":\\s*true")
                .containsPattern("\"is_read_only\":\\s*false")
                .containsPattern("\"block_size_preferred\":\\s*4096")
                .containsPattern("\"block_size_maximum\":\\s*" + (32 << 20));
    }

    @Test
    void nbdinfoListsExportsWithoutOpeningThem() throws Exception {
        requireTool("nbdinfo");
        exports.add("vol2", 1L << 20);

        Processes.Result result = run(TIMEOUT, "nbdinfo", "--list", "--json", "nbd://127.0.0.1:" + exports.server.port());

        assertThat(result.exitCode()).as(result.toString()).isZero();
        assertThat(result.stdout())
                .containsPattern("\"export-name\":\\s*\"vol1\"")
                .containsPattern("\"export-name\":\\s*\"vol2\"")
                .containsPattern("\"export-size\":\\s*1048576");
        assertThat(exports.opens).as("listing attaches no volume").hasValue(0);
    }

    @Test
    void qemuIoWritesFlushesAndReadsBackPatterns() throws Exception {
        requireTool("qemu-io");
        String uri = exports.uri("vol1");
        Processes.Result write = run(TIMEOUT, "qemu-io", "-f", "raw",
                "-c", "write -P 0x11 0 64k",
                "-c", "write -P 0x22 1m 4k",
                "-c", "write -P 0x33 3150728 12345",
                "-c", "write -z 2m 1m",
                "-c", "write -P 0x44 " + (SIZE - 512) + " 512",
                "-c", "flush",
                uri);
        assertThat(write.exitCode()).as(write.toString()).isZero();
        assertThat(write.stdout() + write.stderr()).doesNotContainIgnoringCase("failed");

        Processes.Result read = run(TIMEOUT, "qemu-io", "-f", "raw",
                "-c", "read -P 0x11 0 64k",
                "-c", "read -P 0x22 1m 4k",
                "-c", "read -P 0x33 3150728 12345",
                "-c", "read -P 0 2m 1m",
                "-c", "read -P 0 64k 960k",
                "-c", "read -P 0x44 " + (SIZE - 512) + " 512",
                uri);
        assertThat(read.exitCode()).as(read.toString()).isZero();
        assertThat(read.stdout() + read.stderr()).doesNotContain("Pattern verification failed").doesNotContainIgnoringCase("failed");
    }

    @Test
    void nbdcopyRoundTripsSixtyFourMebibytes() throws Exception {
        requireTool("nbdcopy");
        Path source = dir.resolve("source.bin");
        Path copy = dir.resolve("copy.bin");
        byte[] data = new byte[(int) SIZE];
        Random random = new Random(42);
        random.nextBytes(data);
        // A zero hole in the middle exercises nbdcopy's zeroing path too.
        java.util.Arrays.fill(data, 8 << 20, 12 << 20, (byte) 0);
        Files.write(source, data);

        Processes.Result in = run(TIMEOUT, "nbdcopy", source.toString(), exports.uri("vol1"));
        assertThat(in.exitCode()).as(in.toString()).isZero();
        Processes.Result out = run(TIMEOUT, "nbdcopy", exports.uri("vol1"), copy.toString());
        assertThat(out.exitCode()).as(out.toString()).isZero();

        assertThat(Files.mismatch(source, copy)).isEqualTo(-1L);
    }

    @Test
    void fioRandomReadWriteVerifies() throws Exception {
        requireTool("fio");
        Processes.Result result = run(TIMEOUT, "fio", "--name=nbd-verify", "--ioengine=nbd",
                "--uri=" + exports.uri("vol1"), "--rw=randrw", "--bs=4k", "--iodepth=32",
                "--size=16m", "--verify=crc32c", "--verify_fatal=1", "--do_verify=1", "--verify_state_save=0");

        assertThat(result.exitCode()).as(result.toString()).isZero();
        assertThat(result.stdout()).contains("nbd-verify").doesNotContain("verify: bad");
        assertThat(result.stderr()).doesNotContain("verify");
    }

    @Test
    void unknownExportFailsNamingIt() throws Exception {
        requireTool("nbdinfo");
        requireTool("qemu-io");
        Processes.Result info = run(TIMEOUT, "nbdinfo", exports.uri("nosuch"));
        assertThat(info.exitCode()).as(info.toString()).isNotZero();
        assertThat(info.stderr()).contains("nosuch");

        Processes.Result qemu = run(TIMEOUT, "qemu-io", "-f", "raw", "-c", "read 0 4k", exports.uri("nosuch"));
        assertThat(qemu.exitCode()).as(qemu.toString()).isNotZero();
        assertThat(qemu.stderr()).contains("no volume named 'nosuch'");
    }

    @Test
    void refusedExportMessageReachesClients() throws Exception {
        requireTool("nbdinfo");
        requireTool("qemu-io");
        exports.refuse("elsewhere", ExportRefusedException.Reason.POLICY, "volume elsewhere is attached on node-b");

        // libnbd shows the server's message only in its debug output.
        Processes.Result info = run(TIMEOUT, "env", "LIBNBD_DEBUG=1", "nbdinfo", exports.uri("elsewhere"));
        assertThat(info.exitCode()).as(info.toString()).isNotZero();
        assertThat(info.stderr()).contains("volume elsewhere is attached on node-b");

        Processes.Result qemu = run(TIMEOUT, "qemu-io", "-f", "raw", "-c", "read 0 4k", exports.uri("elsewhere"));
        assertThat(qemu.exitCode()).as(qemu.toString()).isNotZero();
        assertThat(qemu.stderr()).contains("volume elsewhere is attached on node-b");
    }

    @Test
    void fullPoolIsReportedAsNoSpaceUntilFreed() throws Exception {
        requireTool("qemu-io");
        FileBlockTarget target = exports.add("small", 1L << 20);
        target.poolFull = true;

        Processes.Result full = run(TIMEOUT, "qemu-io", "-f", "raw", "-c", "write -P 0x55 0 4k", exports.uri("small"));
        assertThat(full.stdout() + full.stderr()).contains("No space left on device");

        target.poolFull = false;
        Processes.Result freed = run(TIMEOUT, "qemu-io", "-f", "raw",
                "-c", "write -P 0x55 0 4k", "-c", "read -P 0x55 0 4k", exports.uri("small"));
        assertThat(freed.exitCode()).as(freed.toString()).isZero();
        assertThat(freed.stdout() + freed.stderr()).doesNotContainIgnoringCase("failed");
    }
}
