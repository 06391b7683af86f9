package io.ballast.app;

import static io.ballast.app.NbdIT.qemu;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Snapshots, clones and restores, checked through NBD, and kept across a restart. */
class SnapshotIT {
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
    void cloneShowsTheSnapshotAndRestoreBringsItBack() {
        cli.run("volume", "create", "src", "--size", "64M").ok();
        String src = daemon.nbdUri("src");
        qemu(List.of("qemu-io", "-f", "raw", "-c", "write -P 0xaa 0 2M", "-c", "write -P 0xa1 10M 512", "-c", "flush", src));
        cli.run("snapshot", "create", "src", "s1").ok();
        qemu(List.of("qemu-io", "-f", "raw", "-c", "write -P 0xbb 0 1M", "-c", "write -z 1M 1M",
                "-c", "write -P 0xb1 10M 512", "-c", "flush", src));

        cli.run("volume", "clone", "src/s1", "copy").ok();
        JsonNode clone = cli.json("volume", "inspect", "copy");
        assertThat(clone.get("source").asText()).isEqualTo("src/s1");
        qemu(List.of("qemu-io", "-f", "raw", "-c", "read -P 0xaa 0 2M", "-c", "read -P 0xa1 10M 512",
                daemon.nbdUri("copy")));
        qemu(List.of("qemu-io", "-f", "raw", "-c", "read -P 0xbb 0 1M", "-c", "read -P 0 1M 1M",
                "-c", "read -P 0xb1 10M 512", src));

        // Writing to the clone leaves the source and its snapshot alone.
        qemu(List.of("qemu-io", "-f", "raw", "-c", "write -P 0xcc 0 4k", "-c", "flush", daemon.nbdUri("copy")));
        qemu(List.of("qemu-io", "-f", "raw", "-c", "read -P 0xbb 0 4k", src));

        cli.run("volume", "detach", "src").ok();
        cli.run("volume", "restore", "src", "s1").ok();
        qemu(List.of("qemu-io", "-f", "raw", "-c", "read -P 0xaa 0 2M", "-c", "read -P 0xa1 10M 512", src));

        // Restart: volumes, snapshots and bytes are all still there.
        daemon.restart();
        assertThat(cli.json("volume", "inspect", "src").get("snapshots").get(0).asText()).isEqualTo("s1");
        assertThat(cli.json("snapshot", "list", "src").get(0).get("name").asText()).isEqualTo("s1");
        qemu(List.of("qemu-io", "-f", "raw", "-c", "read -P 0xaa 0 2M", src));
        qemu(List.of("qemu-io", "-f", "raw", "-c", "read -P 0xcc 0 4k", "-c", "read -P 0xaa 4k 1M",
                daemon.nbdUri("copy")));
    }

    @Test
    void cloneOfALiveVolumeAndSnapshotDeletion() {
        cli.run("volume", "create", "live", "--size", "16M").ok();
        qemu(List.of("qemu-io", "-f", "raw", "-c", "write -P 0x42 0 1M", "-c", "flush", daemon.nbdUri("live")));
        cli.run("volume", "clone", "live", "livecopy").ok();
        qemu(List.of("qemu-io", "-f", "raw", "-c", "read -P 0x42 0 1M", daemon.nbdUri("livecopy")));

        cli.run("snapshot", "create", "live", "a").ok();
        qemu(List.of("qemu-io", "-f", "raw", "-c", "write -P 0x43 0 4k", "-c", "flush", daemon.nbdUri("live")));
        cli.run("snapshot", "create", "live", "b").ok();
        CliIT.expectError(cli.run("snapshot", "create", "live", "b"), 1, "already has a snapshot b");
        cli.run("snapshot", "delete", "live/a").ok();
        JsonNode snapshots = cli.json("snapshot", "list", "live");
        assertThat(snapshots.findValuesAsText("name")).containsExactly("clone-livecopy", "b");
        qemu(List.of("qemu-io", "-f", "raw", "-c", "read -P 0x43 0 4k", "-c", "read -P 0x42 4k 1020k",
                daemon.nbdUri("live")));
        cli.run("volume", "detach", "live").ok();
        cli.run("volume", "restore", "live", "b").ok();
        qemu(List.of("qemu-io", "-f", "raw", "-c", "read -P 0x43 0 4k", "-c", "read -P 0x42 4k 1020k",
                daemon.nbdUri("live")));
        // Deleting a clone of a live volume deletes the snapshot it stood on; the name clones again.
        cli.run("volume", "clone", "live", "again").ok();
        cli.run("volume", "delete", "again").ok();
        assertThat(cli.json("snapshot", "list", "live").findValuesAsText("name")).doesNotContain("clone-again");
        cli.run("volume", "clone", "live", "again").ok();
        cli.run("volume", "delete", "again").ok();
        // Deleting the source keeps what the clone stands on.
        cli.run("volume", "detach", "live").ok();
        cli.run("volume", "delete", "live").ok();
        qemu(List.of("qemu-io", "-f", "raw", "-c", "read -P 0x42 0 1M", daemon.nbdUri("livecopy")));
    }
}
