package io.ballast.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Volumes as kernel block devices and filesystems: the daemon's FUSE block file, a loop device
 * over it, ext4 and xfs made and mounted by {@code ballast volume mount}, checked with the
 * kernel's own tools (e2fsck, xfs_repair, fstrim, fsfreeze). Needs root and /dev/fuse, as CI has.
 */
class MountIT {
    @RegisterExtension
    static final DaemonExtension node = new DaemonExtension();
    static DaemonProcess daemon;
    static BallastCli cli;
    static Path dir;

    @BeforeAll
    static void bind() {
        assumeTrue(isRoot() && Files.exists(Path.of("/dev/fuse")),
                "mount tests need root and /dev/fuse (CI runs as root)");
        daemon = node.daemon();
        cli = node.cli();
        dir = node.dir();
    }

    @AfterEach
    void nothingLeftMounted() {
        // Each test unmounts what it mounted; a failure must not leak into the next test.
        HostCleanup.under(dir.resolve("mnt"));
    }

    @Test
    void ext4FilesSurviveUnmountAndMountAndFsckIsClean() {
        cli.run("volume", "create", "e4", "--size", "256M").ok();
        Path m = mountPoint("e4");
        cli.run("volume", "mount", "e4", m.toString()).ok();
        JsonNode v = cli.json("volume", "inspect", "e4");
        assertThat(v.get("state").asText()).isEqualTo("attached");
        assertThat(v.get("device").asText()).startsWith("/dev/loop");
        assertThat(v.get("mounts").get(0).asText()).isEqualTo(m.toString());
        String sums = writeFiles(m);
        sh("sync");
        cli.run("volume", "unmount", m.toString()).ok();
        assertThat(cli.json("volume", "inspect", "e4").get("state").asText()).isEqualTo("detached");
        awaitNoLoopDevices();

        cli.run("volume", "mount", "e4", m.toString()).ok();
        assertThat(checksums(m)).isEqualTo(sums);
        cli.run("volume", "unmount", m.toString()).ok();
        fsck("e4", List.of("e2fsck", "-fn"));
    }

    @Test
    void xfsFilesSurviveUnmountAndMountAndRepairFindsNothing() {
        cli.run("volume", "create", "x", "--size", "512M", "--fs", "xfs").ok();
        Path m = mountPoint("x");
        cli.run("volume", "mount", "x", m.toString()).ok();
        String sums = writeFiles(m);
        sh("sync");
        cli.run("volume", "unmount", m.toString()).ok();
        cli.run("volume", "mount", "x", m.toString()).ok();
        assertThat(checksums(m)).isEqualTo(sums);
        cli.run("volume", "unmount", m.toString()).ok();
        fsck("x", List.of("xfs_repair", "-n"));
    }

    @Test
    void fstrimAfterDeletingFilesLowersUsedBytes() {
        cli.run("volume", "create", "trim", "--size", "256M").ok();
        Path m = mountPoint("trim");
        cli.run("volume", "mount", "trim", m.toString()).ok();
        sh("dd", "if=/dev/urandom", "of=" + m.resolve("big"), "bs=1M", "count=96", "oflag=direct", "status=none");
        sh("sync");
        long full = cli.json("volume", "inspect", "trim").get("usedBytes").asLong();
        assertThat(full).isGreaterThan(96L << 20);
        sh("rm", m.resolve("big").toString());
        sh("sync");
        sh("fstrim", "-v", m.toString());
        long trimmed = cli.json("volume", "inspect", "trim").get("usedBytes").asLong();
        System.out.printf("usedBytes %d before fstrim, %d after%n", full, trimmed);
        assertThat(trimmed).isLessThan(full - (64L << 20));
        cli.run("volume", "unmount", m.toString()).ok();
    }

    @Test
    void fsfreezeFreezesAndThaws() {
        cli.run("volume", "create", "frz", "--size", "128M").ok();
        Path m = mountPoint("frz");
        cli.run("volume", "mount", "frz", m.toString()).ok();
        sh("fsfreeze", "-f", m.toString());
        sh("fsfreeze", "-u", m.toString());
        sh("dd", "if=/dev/zero", "of=" + m.resolve("after-thaw"), "bs=4k", "count=10", "status=none");
        cli.run("volume", "unmount", m.toString()).ok();
    }

    @Test
    void aKilledWriterLeavesAFilesystemThatRecoversCleanly() throws Exception {
        cli.run("volume", "create", "kill", "--size", "512M").ok();
        Path m = mountPoint("kill");
        cli.run("volume", "mount", "kill", m.toString()).ok();
        Process writer = new ProcessBuilder("dd", "if=/dev/urandom", "of=" + m.resolve("victim"), "bs=1M",
                "count=400", "oflag=direct", "status=none").start();
        Thread.sleep(1500);
        writer.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        cli.run("volume", "unmount", m.toString()).ok();
        cli.run("volume", "mount", "kill", m.toString()).ok(); // journal recovery, if any
        cli.run("volume", "unmount", m.toString()).ok();
        fsck("kill", List.of("e2fsck", "-fn"));
    }

    @Test
    void aSecondPathIsABindMountOfTheFirst() {
        cli.run("volume", "create", "twice", "--size", "128M").ok();
        Path first = mountPoint("twice-1");
        Path second = mountPoint("twice-2");
        cli.run("volume", "mount", "twice", first.toString()).ok();
        cli.run("volume", "mount", "twice", second.toString()).ok();
        sh("sh", "-c", "echo hello > " + first.resolve("note"));
        assertThat(sh("cat", second.resolve("note").toString())).isEqualTo("hello\n");
        assertThat(cli.json("volume", "inspect", "twice").get("mounts")).hasSize(2);
        cli.run("volume", "unmount", second.toString()).ok();
        assertThat(cli.json("volume", "inspect", "twice").get("state").asText()).isEqualTo("attached");
        cli.run("volume", "unmount", first.toString()).ok();
        assertThat(cli.json("volume", "inspect", "twice").get("state").asText()).isEqualTo("detached");
    }

    @Test
    void rawBlockDeviceAttachAndDetach() {
        cli.run("volume", "create", "raw", "--size", "64M", "--fs", "none").ok();
        String device = cli.run("volume", "attach", "raw", "--block").ok().out().trim();
        assertThat(device).startsWith("/dev/loop");
        sh("dd", "if=/dev/zero", "of=" + device, "bs=1M", "count=4", "oflag=direct", "status=none");
        CliIT.expectError(cli.run("volume", "mount", "raw", mountPoint("raw").toString()), 2, "fs none");
        cli.run("volume", "detach", "raw").ok();
        awaitNoLoopDevices();
    }

    @Test
    void mistakesGetClearErrorsAndNothingIsFormatted() {
        // A volume whose filesystem is not the one its fs names.
        cli.run("volume", "create", "wrongfs", "--size", "512M", "--fs", "xfs").ok();
        String device = cli.run("volume", "attach", "wrongfs", "--block").ok().out().trim();
        sh("mkfs.ext4", "-q", device);
        cli.run("volume", "detach", "wrongfs").ok();
        CliIT.expectError(cli.run("volume", "mount", "wrongfs", mountPoint("wrongfs").toString()), 1,
                "holds a ext4 filesystem, not xfs");
        assertThat(cli.json("volume", "inspect", "wrongfs").get("state").asText()).isEqualTo("detached");

        // A volume with data but no filesystem is never formatted.
        cli.run("volume", "create", "data", "--size", "64M").ok();
        NbdIT.qemu(List.of("qemu-io", "-f", "raw", "-c", "write -P 0x5a 1M 64k", "-c", "flush", daemon.nbdUri("data")));
        cli.run("volume", "detach", "data").ok();
        CliIT.expectError(cli.run("volume", "mount", "data", mountPoint("data").toString()), 1,
                "holds data but no filesystem");
        NbdIT.qemu(List.of("qemu-io", "-f", "raw", "-c", "read -P 0x5a 1M 64k", daemon.nbdUri("data")));
        cli.run("volume", "detach", "data").ok();
        // Nor is a clone of it, whose own layers are empty: its data is its source's.
        cli.run("snapshot", "create", "data", "s").ok();
        cli.run("volume", "clone", "data/s", "dataclone").ok();
        CliIT.expectError(cli.run("volume", "mount", "dataclone", mountPoint("dataclone").toString()), 1,
                "holds data but no filesystem");
        NbdIT.qemu(List.of("qemu-io", "-f", "raw", "-c", "read -P 0x5a 1M 64k", daemon.nbdUri("dataclone")));
        cli.run("volume", "detach", "dataclone").ok();

        // Mounted volumes cannot be detached or deleted; paths that are not Ballast mounts are refused.
        cli.run("volume", "create", "busy", "--size", "64M").ok();
        Path m = mountPoint("busy");
        cli.run("volume", "mount", "busy", m.toString()).ok();
        CliIT.expectError(cli.run("volume", "detach", "busy"), 1, "unmount it first");
        CliIT.expectError(cli.run("volume", "delete", "busy"), 1, "attached");
        CliIT.expectError(cli.run("volume", "unmount", dir.resolve("mnt/nothing").toString()), 2, "is not mounted");
        Path tmpfs = mountPoint("tmpfs");
        sh("mkdir", "-p", tmpfs.toString());
        sh("mount", "-t", "tmpfs", "none", tmpfs.toString());
        CliIT.expectError(cli.run("volume", "unmount", tmpfs.toString()), 2, "not a Ballast mount");
        sh("umount", tmpfs.toString());
        cli.run("volume", "unmount", m.toString()).ok();
    }

    @Test
    void aRestartReportsMountsItBrokeAndUnmountStillWorks() {
        cli.run("volume", "create", "survivor", "--size", "128M").ok();
        Path m = mountPoint("survivor");
        cli.run("volume", "mount", "survivor", m.toString()).ok();
        daemon.restart();
        JsonNode v = cli.json("volume", "inspect", "survivor");
        assertThat(v.get("mounts").get(0).asText()).isEqualTo(m.toString());
        assertThat(v.get("hostError").asText()).contains("restarted").contains("unmount");
        cli.run("volume", "unmount", m.toString()).ok();
        assertThat(cli.json("volume", "inspect", "survivor").get("state").asText()).isEqualTo("detached");
        assertThat(HostCleanup.mountPointsUnder(m.toString())).isEmpty();
        // And it mounts again, with its data.
        cli.run("volume", "mount", "survivor", m.toString()).ok();
        cli.run("volume", "unmount", m.toString()).ok();
    }

    /**
     * `losetup -d` of a device someone still has open only marks it to go away when closed, so
     * give the kernel a bounded moment before asserting it is gone.
     */
    private static void awaitNoLoopDevices() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!HostCleanup.loopsUnder(daemon.data).isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        assertThat(HostCleanup.loopsUnder(daemon.data)).isEmpty();
    }

    private static Path mountPoint(String name) {
        return dir.resolve("mnt").resolve(name);
    }

    private static String writeFiles(Path m) {
        for (int i = 0; i < 3; i++) {
            sh("dd", "if=/dev/urandom", "of=" + m.resolve("file" + i), "bs=1M", "count=" + (4 + 8 * i), "status=none");
        }
        return checksums(m);
    }

    private static String checksums(Path m) {
        return sh("sh", "-c", "cd " + m + " && sha256sum file0 file1 file2");
    }

    /** Attaches the detached volume as a raw device, runs the checker read-only, detaches. */
    private static void fsck(String volume, List<String> checker) {
        String device = cli.run("volume", "attach", volume, "--block").ok().out().trim();
        try {
            List<String> command = new java.util.ArrayList<>(checker);
            command.add(device);
            Run.Result result = Run.run(300, command);
            assertThat(result.exit()).as("%s\n%s%s", command, result.out(), result.err()).isZero();
        } finally {
            cli.run("volume", "detach", volume).ok();
        }
    }

    private static String sh(String... command) {
        return Run.run(300, List.of(command)).ok().out();
    }

    private static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }
}
