package io.ballast.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node that cannot mount its FUSE filesystem (here its --dev-dir is a file; elsewhere no root
 * or no /dev/fuse) still starts and serves NBD, and mount requests say why they cannot work.
 */
class NoFuseIT {
    @TempDir
    Path dir;
    private DaemonProcess daemon;

    @AfterEach
    void stop() {
        if (daemon != null) {
            daemon.close();
        }
    }

    @Test
    void mountIsRefusedWithTheReasonAndNbdStillWorks() throws Exception {
        Path notADirectory = Files.writeString(dir.resolve("not-a-directory"), "x");
        daemon = new DaemonProcess(dir.resolve("node1"), "--dev-dir", notADirectory.toString()).start();
        BallastCli cli = new BallastCli(daemon);
        cli.run("volume", "create", "v", "--size", "64M").ok();
        Run.Result mount = cli.run("volume", "mount", "v", dir.resolve("mnt").toString());
        CliIT.expectError(mount, 1, "cannot attach volumes as block devices");
        CliIT.expectError(cli.run("volume", "attach", "v", "--block"), 1, "cannot attach volumes as block devices");
        assertThat(daemon.logText()).contains("cannot be attached as block devices or mounted");
        NbdIT.qemu(List.of("qemu-io", "-f", "raw", "-c", "write -P 7 0 64k", "-c", "read -P 7 0 64k",
                daemon.nbdUri("v")));
    }
}
