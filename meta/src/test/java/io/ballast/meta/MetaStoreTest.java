package io.ballast.meta;

import static io.ballast.meta.Fixtures.freePort;
import static io.ballast.meta.Fixtures.node;
import static io.ballast.meta.Fixtures.pool;
import static io.ballast.meta.Fixtures.volume;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ballast.meta.Command.AttachVolume;
import io.ballast.meta.Command.CreateSnapshot;
import io.ballast.meta.Command.CreateVolume;
import io.ballast.meta.Command.Heartbeat;
import io.ballast.meta.Command.RegisterNode;
import io.ballast.meta.Command.RegisterPool;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** MetaStore on a real one-voter Ratis group over loopback. */
class MetaStoreTest {
    @TempDir
    Path dir;

    private MetaConfig config() throws IOException {
        return new MetaConfig(dir.resolve("meta"), "n1", "127.0.0.1", freePort());
    }

    @Test
    void commandsSurviveRestart() throws IOException {
        MetaConfig config = config();
        ClusterState before;
        try (MetaStore store = MetaStore.open(config)) {
            assertThat(store.localState().clusterId()).isNotBlank();
            assertThat(store.submit(new RegisterNode(node("n1"))).ok()).isTrue();
            assertThat(store.submit(new RegisterPool(pool("p1", "n1"))).ok()).isTrue();
            assertThat(store.submit(new CreateVolume(volume("v1"))).ok()).isTrue();
            assertThat(store.submit(new CreateVolume(volume("v1"))).code()).isEqualTo(CommandResult.CONFLICT);
            assertThat(store.submit(new AttachVolume("v1", "n1", 7_000)).value()).isEqualTo(1);
            assertThat(store.submit(new CreateSnapshot("v1", new SnapshotRecord("s1", 8_000))).ok()).isTrue();
            assertThat(store.submit(new Heartbeat("n1", 9_000)).ok()).isTrue();
            before = store.state();
        }
        assertThat(before.volumes()).containsOnlyKeys("v1");
        assertThat(before.volumes().get("v1").attachment()).isEqualTo(new AttachmentRecord("n1", 1, 7_000));
        assertThat(before.nodes().get("n1").lastHeartbeatMillis()).isEqualTo(9_000);

        try (MetaStore store = MetaStore.open(config)) {
            assertThat(store.localState()).isEqualTo(before);
            assertThat(store.state()).isEqualTo(before);
            // The epoch high-water mark survived too: a new attach elsewhere must go above it.
            assertThat(store.submit(new Command.DetachVolume("v1")).ok()).isTrue();
            assertThat(store.submit(new AttachVolume("v1", "n2", 10_000)).value()).isEqualTo(2);
        }
    }

    @Test
    void snapshotsAndPurgesTheLogThenRecoversFromThem() throws IOException {
        MetaConfig config = config().withSnapshotThreshold(50).withLogSegmentSizeBytes(8 * 1024);
        ClusterState before;
        try (MetaStore store = MetaStore.open(config)) {
            store.submit(new RegisterNode(node("n1")));
            for (int i = 0; i < 500; i++) {
                CommandResult r = switch (i % 3) {
                    case 0 -> store.submit(new CreateVolume(volume("v" + i)));
                    case 1 -> store.submit(new AttachVolume("v" + (i - 1), "n1", i));
                    default -> store.submit(new Heartbeat("n1", i));
                };
                assertThat(r.ok()).as("command %d: %s", i, r).isTrue();
            }
            before = store.state();
        }
        Path groupDir = onlyChild(config.dir().resolve(MetaStore.RAFT_DIR));
        List<String> smFiles = names(groupDir.resolve("sm"));
        assertThat(smFiles).anyMatch(f -> f.matches("snapshot\\.\\d+_\\d+"));
        assertThat(smFiles).anyMatch(f -> f.matches("snapshot\\.\\d+_\\d+\\.md5"));
        assertThat(smFiles.stream().filter(f -> f.matches("snapshot\\.\\d+_\\d+")).count())
                .as("old snapshots are deleted").isLessThanOrEqualTo(2);
        // The first segment holds entry 0; after purging, the log starts well past it.
        List<String> segments = names(groupDir.resolve("current")).stream().filter(f -> f.startsWith("log_")).toList();
        assertThat(segments).noneMatch(f -> f.startsWith("log_0-") || f.equals("log_inprogress_0"));
        assertThat(before.volumes()).hasSize(167);

        try (MetaStore store = MetaStore.open(config)) {
            assertThat(store.localState()).isEqualTo(before);
            assertThat(store.state()).isEqualTo(before);
        }
    }

    @Test
    void linearizableReadSeesTheWriteJustCommitted() throws IOException {
        try (MetaStore store = MetaStore.open(config())) {
            for (int i = 0; i < 20; i++) {
                String name = "v" + i;
                store.submit(new CreateVolume(volume(name)));
                ClusterState state = store.state();
                assertThat(state.volumes()).containsKey(name);
                long epoch = store.submit(new AttachVolume(name, "n1", i)).value();
                assertThat(store.state().volumes().get(name).epoch()).isEqualTo(epoch);
            }
        }
    }

    @Test
    void closedStoreSaysSo() throws IOException {
        MetaStore store = MetaStore.open(config());
        store.close();
        store.close();
        assertThatThrownBy(() -> store.submit(new Heartbeat("n1", 1)))
                .isInstanceOf(MetaUnavailableException.class).hasMessageContaining("closed");
        assertThatThrownBy(store::state).isInstanceOf(MetaUnavailableException.class);
    }

    @Test
    void aTakenPortIsReportedClearly() throws IOException {
        MetaConfig config = config();
        try (MetaStore first = MetaStore.open(config)) {
            MetaConfig other = new MetaConfig(dir.resolve("other"), "n2", "127.0.0.1", config.raftPort());
            assertThatThrownBy(() -> MetaStore.open(other))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("cannot start the metadata server of n2 on 127.0.0.1:" + config.raftPort());
            assertThat(first.submit(new Heartbeat("n1", 1)).code()).isEqualTo(CommandResult.NOT_FOUND);
        }
    }

    private static Path onlyChild(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> children = s.toList();
            assertThat(children).hasSize(1);
            return children.getFirst();
        }
    }

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
