package io.ballast.replication;

import static io.ballast.replication.LocalReplicaChannelTest.failure;
import static io.ballast.replication.LocalReplicaChannelTest.filled;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ballast.store.NoSuchReplicaException;
import io.ballast.store.Pool;
import io.ballast.store.StaleEpochException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Channels opened by pool and replica id on a node with two pools. */
class PoolReplicaChannelsTest {
    private static final int BLOCK = 4096;

    @TempDir
    Path dir;

    @Test
    void opensTheReplicaOfTheNamedPoolAtTheEpoch() throws IOException {
        try (Pool a = Pool.open(dir.resolve("a"), 0); Pool b = Pool.open(dir.resolve("b"), 0)) {
            a.create("vol", 16 * BLOCK);
            b.create("vol", 16 * BLOCK);
            ReplicaChannels channels = new PoolReplicaChannels("node1", Map.of(a.id(), a, b.id(), b));

            ReplicaChannel channel = channels.open(b.id(), "vol", 3);
            assertThat(channel.node()).isEqualTo("node1");
            assertThat(channel.epoch()).isEqualTo(3);
            assertThat(channel.write(0, filled(BLOCK, 5), true)).isCompletedWithValue(null);
            assertThat(b.replica("vol").epoch()).isEqualTo(3);
            assertThat(a.replica("vol").epoch()).isZero();
            assertThat(a.replica("vol").usedBytes()).isZero();
            assertThat(b.replica("vol").usedBytes()).isEqualTo(BLOCK);

            ReplicaChannel newer = channels.open(b.id(), "vol", 4);
            assertThat(failure(channel.read(0, ByteBuffer.allocate(BLOCK))))
                    .isExactlyInstanceOf(StaleEpochException.class);
            assertThat(newer.read(0, ByteBuffer.allocate(BLOCK))).isCompletedWithValue(null);
            assertThatThrownBy(() -> channels.open(b.id(), "vol", 3)).isExactlyInstanceOf(StaleEpochException.class);
        }
    }

    @Test
    void anUnknownPoolOrReplicaIsAMissingReplica() throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            ReplicaChannels channels = new PoolReplicaChannels("node1", Map.of(pool.id(), pool));
            assertThatThrownBy(() -> channels.open("elsewhere", "vol", 1))
                    .isExactlyInstanceOf(NoSuchReplicaException.class)
                    .hasMessage("replica vol: pool elsewhere is not open on node node1");
            assertThatThrownBy(() -> channels.open(pool.id(), "vol", 1))
                    .isExactlyInstanceOf(NoSuchReplicaException.class)
                    .hasMessage("replica vol is not in pool " + pool.id() + " on node node1");
        }
    }
}
