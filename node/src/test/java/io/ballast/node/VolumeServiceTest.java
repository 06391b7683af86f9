package io.ballast.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ballast.api.VolumeSpec;
import io.ballast.meta.Command;
import io.ballast.meta.MetaConfig;
import io.ballast.meta.MetaStore;
import io.ballast.meta.NodeRecord;
import io.ballast.meta.PoolRecord;
import io.ballast.replication.peer.PeerClient;
import io.ballast.replication.PoolReplicaChannels;
import io.ballast.replication.peer.PoolReplicaControl;
import io.ballast.store.Pool;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** VolumeService against a real metadata store (Ratis, one voter) and a real pool on disk. */
class VolumeServiceTest {
    @TempDir
    Path dir;
    private MetaStore meta;
    private Pool pool;
    private VolumeService volumes;
    private PeerClient peers;
    private NodeApiClient nodeApi;

    @BeforeEach
    void start() throws IOException {
        int raftPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            raftPort = socket.getLocalPort();
        }
        meta = MetaStore.open(new MetaConfig(dir.resolve("meta"), "node1", "127.0.0.1", raftPort));
        pool = Pool.open(dir.resolve("pool"), 1L << 30);
        meta.submit(new Command.RegisterNode(new NodeRecord("node1", "127.0.0.1", 1, 2, 3, raftPort, Map.of(), 0, 0)));
        meta.submit(new Command.RegisterPool(new PoolRecord(pool.id(), "node1", pool.dir().toString(), "low",
                pool.capacityBytes())));
        NodeConfig config = new NodeConfig(dir, "node1", "127.0.0.1", 1, 2, 3, raftPort, List.of(), Map.of(), null,
                0, 2, null, null, null);
        peers = new PeerClient();
        nodeApi = new NodeApiClient();
        ReplicaControls controls = new ReplicaControls("node1", new PoolReplicaControl("node1", Map.of(pool.id(), pool)),
                peers);
        volumes = new VolumeService(config, meta, Map.of(pool.id(), pool), controls,
                new Coordinators("node1", meta, new PoolReplicaChannels("node1", Map.of(pool.id(), pool)), peers,
                        controls, () -> true), nodeApi, new NodeMetrics(), Clock.systemUTC());
    }

    @AfterEach
    void stop() throws IOException {
        volumes.close();
        peers.close();
        nodeApi.close();
        pool.close();
        meta.close();
    }

    private static VolumeSpec spec(String name, String size) {
        return new VolumeSpec(name, null, size, null, null, null, null, null, null, null);
    }

    @Test
    void reconcileDeletesOrphanReplicasOnlyInPoolsTheMetadataKnew() throws IOException {
        volumes.create(spec("kept", "64M"));
        pool.create("orphan", 1 << 20); // as if a create crashed before its metadata commit

        volumes.reconcile(Set.of()); // a metadata store that never saw this pool: keep everything
        assertThat(pool.replicaIds()).contains("orphan");

        volumes.reconcile(Set.of(pool.id()));
        assertThat(pool.replicaIds()).doesNotContain("orphan").hasSize(1);
        assertThat(volumes.inspect("kept").replicas().getFirst().state()).isEqualTo("in-sync");
    }

    @Test
    void reconcileRemovesSnapshotsThatWereNeverCommitted() throws IOException {
        volumes.create(spec("v", "64M"));
        volumes.createSnapshot("v", "real");
        pool.replica(volumes.inspect("v").id()).snapshot("ghost"); // a crash before its commit

        volumes.reconcile(Set.of(pool.id()));
        assertThat(pool.replica(volumes.inspect("v").id()).snapshots()).containsExactly("real");
    }

    @Test
    void growingBeyondThePoolsRoomChangesNothing() {
        // 1 GiB pool, overcommit 2: 2 GiB may be promised.
        volumes.create(spec("a", "1G"));
        volumes.create(spec("b", "512M"));
        assertThatThrownBy(() -> volumes.resize("b", 2L << 30)).isInstanceOf(ApiException.class)
                .hasMessageContaining("cannot grow");
        assertThat(volumes.inspect("b").sizeBytes()).isEqualTo(512L << 20);
        volumes.resize("b", 1L << 30);
        assertThat(volumes.inspect("b").sizeBytes()).isEqualTo(1L << 30);
    }

    @Test
    void cloningOntoATakenNameTakesNoSnapshot() {
        volumes.create(spec("src", "64M"));
        volumes.create(spec("taken", "64M"));
        assertThatThrownBy(() -> volumes.clone("src", null, "taken")).isInstanceOf(ApiException.class)
                .hasMessageContaining("already exists");
        assertThat(volumes.inspect("src").snapshots()).isEmpty();
    }
}
