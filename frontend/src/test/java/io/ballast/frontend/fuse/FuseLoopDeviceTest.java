package io.ballast.frontend.fuse;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A loop device with direct IO over a FUSE block file, with ext4 on it: the way the node uses it. */
class FuseLoopDeviceTest {

    private static final long SIZE = 256L << 20;
    private static final long SEED = Long.getLong("ballast.test.seed", System.nanoTime());

    @TempDir
    Path dir;

    private Host host;
    private BlockFileMount mount;
    private SparseFileTarget target;

    @BeforeEach
    void mount() throws Exception {
        host = new Host(dir.resolve("scratch"));
        mount = BlockFileMount.mount(dir.resolve("fuse"));
        target = SparseFileTarget.create(dir.resolve("vol1.img"), SIZE);
    }

    @AfterEach
    void cleanUp() throws Exception {
        try {
            host.release();
        } finally {
            mount.close();
            target.close();
        }
        assertThat(host.leftovers(dir.toString())).isEmpty();
    }

    @Test
    void ext4OnADirectIoLoopDeviceKeepsItsFilesAndPassesFlushesAndDiscards() throws Exception {
        String device = host.attachLoop(mount.add("vol1", target));
        assertThat(host.check("losetup", "--list", "--noheadings", "--output", "DIO", device).strip()).isEqualTo("1");
        host.check("mkfs.ext4", "-q", device);
        Path fs = dir.resolve("ext4");
        host.mount(device, fs);

        Map<String, String> checksums = new TreeMap<>();
        Random random = new Random(SEED);
        for (int i = 0; i < 24; i++) {
            byte[] data = new byte[1 + random.nextInt(4 << 20)];
            random.nextBytes(data);
            Files.write(fs.resolve("file" + i), data);
            checksums.put("file" + i, sha256(data));
        }
        int flushes = target.flushes.get();
        host.check("sync", "--file-system", fs.toString());
        assertThat(target.flushes.get()).as("ext4's journal commit flushes the volume").isGreaterThan(flushes);
        host.unmount(fs);

        assertThat(host.check("e2fsck", "-fn", device)).as("seed " + SEED).doesNotContainIgnoringCase("error");
        host.mount(device, fs);
        for (Map.Entry<String, String> file : checksums.entrySet()) {
            assertThat(sha256(Files.readAllBytes(fs.resolve(file.getKey())))).as(file.getKey() + ", seed " + SEED)
                    .isEqualTo(file.getValue());
        }

        for (int i = 0; i < 12; i++) {
            Files.delete(fs.resolve("file" + i));
        }
        host.check("sync", "--file-system", fs.toString());
        int trims = target.trims.get();
        host.check("fstrim", fs.toString());
        assertThat(target.trims.get()).as("fstrim reaches the volume").isGreaterThan(trims);
        host.unmount(fs);
        host.detachLoop(device);
    }

    @Test
    void closeWithALoopDeviceStillAttachedAbortsTheConnectionAndUnmounts() throws Exception {
        Path mountPoint = mount.mountPoint();
        String device = host.attachLoop(mount.add("vol1", target));

        long start = System.nanoTime();
        mount.close();

        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        assertThat(Files.readString(Path.of("/proc/mounts"))).doesNotContain(mountPoint.toString());
        Host.Result read = host.run("dd", "if=" + device, "of=/dev/null", "bs=4096", "count=1", "iflag=direct");
        assertThat(read.exitCode()).as("IO on the loop device after close").isNotZero();
        host.detachLoop(device);
    }

    private static String sha256(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }
}
