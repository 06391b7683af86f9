package io.ballast.frontend.fuse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ext4 on a direct-IO loop device over a FUSE block file (backed by a plain file through
 * {@link SparseFileTarget}) next to ext4 on a direct-IO loop device over a plain file, same
 * medium, same run. Takes about two minutes, so it runs only with {@code -Dballast.fuse.bench=true}.
 *
 * <p>The backing files go to {@code -Dballast.fuse.bench.dir} (default: a temporary directory).
 * On a disk the comparison is skewed: the plain loop device reads and writes its file with
 * O_DIRECT while the test target goes through the page cache. On tmpfs ({@code /dev/shm}) both
 * work in memory, which leaves the cost of the FUSE path itself.
 */
class FuseBenchmarkTest {

    private static final long SIZE = 2L << 30;
    private static final Pattern FIO_RESULT = Pattern.compile("(read|write): IOPS=(\\S+), BW=(\\S+)");
    private static final Pattern DD_RESULT = Pattern.compile(", ([0-9.]+ [kMG]?B/s)");
    private static final List<List<String>> FIO_JOBS = List.of(
            List.of("seq-write-1M-qd8", "--rw=write", "--bs=1M", "--iodepth=8"),
            List.of("seq-read-1M-qd8", "--rw=read", "--bs=1M", "--iodepth=8"),
            List.of("rand-write-4k-qd32", "--rw=randwrite", "--bs=4k", "--iodepth=32"),
            List.of("rand-write-4k-qd1", "--rw=randwrite", "--bs=4k", "--iodepth=1"));

    @TempDir
    Path dir;

    private Host host;
    private BlockFileMount mount;
    private SparseFileTarget target;

    @AfterEach
    void cleanUp() throws Exception {
        try {
            if (host != null) {
                host.release();
            }
        } finally {
            if (mount != null) {
                mount.close();
            }
            if (target != null) {
                target.close();
            }
        }
        if (host != null) {
            assertThat(host.leftovers(dir.toString())).isEmpty();
        }
    }

    @Test
    void ext4OverLoopOverFuseFileAgainstExt4OverLoopOverPlainFile() throws Exception {
        assumeTrue(Boolean.getBoolean("ballast.fuse.bench"), "set -Dballast.fuse.bench=true to run");
        host = new Host(dir.resolve("scratch"));
        Path backing = Files.createTempDirectory(Path.of(System.getProperty("ballast.fuse.bench.dir", dir.toString())),
                "fuse-bench-");
        Path plain = backing.resolve("plain.img");
        try (RandomAccessFile file = new RandomAccessFile(plain.toFile(), "rw")) {
            file.setLength(SIZE);
        }
        mount = BlockFileMount.mount(dir.resolve("fuse"));
        target = SparseFileTarget.create(backing.resolve("volume.img"), SIZE);
        Path fuseFile = mount.add("vol1", target);

        List<String> report = new ArrayList<>();
        try {
            report.addAll(measure("plain file", plain));
            report.addAll(measure("FUSE file ", fuseFile));
        } finally {
            host.release();
            Files.delete(plain);
            Files.delete(backing.resolve("volume.img"));
            Files.delete(backing);
        }
        System.out.println("backing files in " + backing.getParent() + "\n" + String.join("\n", report));
    }

    private List<String> measure(String label, Path backing) throws Exception {
        String device = host.attachLoop(backing);
        // No discard (the test target would write 2 GiB of zeroes for it) and no lazy
        // initialisation, whose background zeroing would run during the measurements.
        host.check("mkfs.ext4", "-q", "-E", "nodiscard,lazy_itable_init=0,lazy_journal_init=0", device);
        Path fs = dir.resolve("ext4-" + device.substring(device.lastIndexOf('/') + 1));
        host.mount(device, fs);
        List<String> lines = new ArrayList<>();
        String data = fs.resolve("dd").toString();
        lines.add(label + " dd write 1M direct: " + dd("if=/dev/zero", "of=" + data, "oflag=direct"));
        lines.add(label + " dd read  1M direct: " + dd("if=" + data, "of=/dev/null", "iflag=direct"));
        Files.delete(fs.resolve("dd"));
        for (List<String> job : FIO_JOBS) {
            List<String> command = new ArrayList<>(List.of("fio", "--name=" + job.getFirst(), "--directory=" + fs,
                    "--filename=fio", "--size=1G", "--ioengine=libaio", "--direct=1", "--runtime=10", "--time_based",
                    "--group_reporting"));
            command.addAll(job.subList(1, job.size()));
            String output = host.check(command.toArray(String[]::new));
            Matcher result = FIO_RESULT.matcher(output);
            assertThat(result.find()).as(output).isTrue();
            lines.add(label + " fio " + job.getFirst() + ": IOPS=" + result.group(2) + " BW=" + result.group(3));
        }
        host.unmount(fs);
        host.detachLoop(device);
        return lines;
    }

    private String dd(String... operands) throws Exception {
        List<String> command = new ArrayList<>(List.of("dd", "bs=1M", "count=1024"));
        command.addAll(List.of(operands));
        Host.Result result = host.run(command.toArray(String[]::new));
        assertThat(result.exitCode()).as(result.toString()).isZero();
        Matcher speed = DD_RESULT.matcher(result.stderr());
        assertThat(speed.find()).as(result.stderr()).isTrue();
        return speed.group(1);
    }
}
