package io.ballast.replication.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ballast.replication.PoolReplicaChannels;
import io.ballast.store.NoSuchReplicaException;
import io.ballast.store.NoSuchSnapshotException;
import io.ballast.store.Pool;
import io.ballast.store.ReplicaExistsException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The node's replica operations over a real pool, directly and through the peer port. */
class PoolReplicaControlTest {
    private static final long BLOCK = 4096;

    @TempDir
    Path dir;
    private Pool pool;
    private PoolReplicaControl local;

    @BeforeEach
    void open() throws IOException {
        pool = Pool.open(dir.resolve("pool"), 1L << 30);
        local = new PoolReplicaControl("node1", Map.of(pool.id(), pool));
    }

    @AfterEach
    void close() throws IOException {
        pool.close();
    }

    @Test
    void everyOperationChangesThePool() throws IOException {
        exercise(local, "");
    }

    @Test
    void anUnknownPoolIsNamedWithTheNode() {
        assertThatThrownBy(() -> local.create("elsewhere", "vol", 16 * BLOCK)).isExactlyInstanceOf(IOException.class)
                .hasMessage("pool elsewhere is not open on node node1");
        assertThatThrownBy(() -> local.delete("elsewhere", "vol")).hasMessage("pool elsewhere is not open on node node1");
    }

    @Test
    void theSameThroughThePeerPort() throws IOException {
        try (PeerServer server = PeerServer.start(new InetSocketAddress("127.0.0.1", 0), () -> "c1", local,
                new PoolReplicaChannels("node1", Map.of(pool.id(), pool)));
             PeerClient client = new PeerClient()) {
            ReplicaControl remote = new RemoteReplicaControl(client, "node1",
                    new InetSocketAddress("127.0.0.1", server.port()), "c1");
            exercise(remote, "node node1: ");
            assertThatThrownBy(() -> remote.stat("elsewhere", "vol")).isExactlyInstanceOf(IOException.class)
                    .hasMessage("node node1: pool elsewhere is not open on node node1");
        }
    }

    private void exercise(ReplicaControl control, String prefix) throws IOException {
        String p = pool.id();
        control.create(p, "vol", 16 * BLOCK);
        assertThatThrownBy(() -> control.create(p, "vol", 16 * BLOCK)).isExactlyInstanceOf(ReplicaExistsException.class)
                .hasMessage(prefix + "vol");
        pool.replica("vol").write(0, ByteBuffer.wrap(new byte[(int) BLOCK]), true);
        control.snapshot(p, "vol", "s1");
        control.grow(p, "vol", 32 * BLOCK);
        assertThat(control.stat(p, "vol")).isEqualTo(new ReplicaStat(32 * BLOCK, BLOCK, List.of("s1")));

        control.cloneFrom(p, "vol", "s1", "copy");
        assertThat(pool.replicaIds()).containsExactlyInAnyOrder("vol", "copy");
        control.restore(p, "vol", "s1");
        assertThatThrownBy(() -> control.restore(p, "vol", "s9")).isExactlyInstanceOf(NoSuchSnapshotException.class)
                .hasMessage(prefix + "vol@s9");
        control.deleteSnapshot(p, "vol", "s1");
        assertThat(pool.replica("vol").snapshots()).isEmpty();

        control.delete(p, "copy");
        control.delete(p, "copy"); // idempotent
        control.delete(p, "vol");
        assertThat(pool.replicaIds()).isEmpty();
        assertThatThrownBy(() -> control.stat(p, "vol")).isExactlyInstanceOf(NoSuchReplicaException.class);
    }
}
