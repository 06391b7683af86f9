package io.ballast.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ballast.store.Extent;
import io.ballast.store.OutOfRangeException;
import io.ballast.store.Pool;
import io.ballast.store.Replica;
import io.ballast.store.StaleEpochException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A replica of this process behind the channel interface, fenced by the epoch it was opened with. */
class LocalReplicaChannelTest {
    private static final int BLOCK = 4096;

    @TempDir
    Path dir;
    private Pool pool;
    private Replica replica;

    @BeforeEach
    void open() throws IOException {
        pool = Pool.open(dir, 0);
        replica = pool.create("vol", 64 * BLOCK);
    }

    @AfterEach
    void close() throws IOException {
        pool.close();
    }

    @Test
    void requestsAreAppliedBeforeTheirFutureIsReturned() throws IOException {
        LocalReplicaChannel channel = LocalReplicaChannel.open("node1", replica, 1);
        assertThat(channel.node()).isEqualTo("node1");
        assertThat(channel.epoch()).isEqualTo(1);
        assertThat(replica.epoch()).isEqualTo(1);

        ByteBuffer data = filled(2 * BLOCK, 7);
        assertThat(channel.write(0, data, false)).isCompletedWithValue(null);
        assertThat(data.hasRemaining()).as("the buffer is consumed").isFalse();
        assertThat(channel.write(4L * BLOCK, filled(BLOCK, 8), true)).isCompletedWithValue(null);
        assertThat(channel.writeZeroes(100, 50, false)).isCompletedWithValue(null);
        assertThat(channel.trim(BLOCK, BLOCK)).isCompletedWithValue(null);
        assertThat(channel.flush()).isCompletedWithValue(null);

        ByteBuffer dst = ByteBuffer.allocate(5 * BLOCK);
        assertThat(channel.read(0, dst)).isCompletedWithValue(null);
        byte[] expected = new byte[5 * BLOCK];
        Arrays.fill(expected, 0, BLOCK, (byte) 7);
        Arrays.fill(expected, 100, 150, (byte) 0);
        Arrays.fill(expected, 4 * BLOCK, 5 * BLOCK, (byte) 8);
        assertThat(dst.array()).isEqualTo(expected);
        assertThat(read(replica, 0, 5 * BLOCK)).isEqualTo(expected);

        assertThat(channel.checksums(0, 64 * BLOCK, 16 * BLOCK).join())
                .containsExactly(replica.checksums(0, 64 * BLOCK, 16 * BLOCK));
        assertThat(channel.allocatedExtents().join())
                .containsExactly(new Extent(0, BLOCK), new Extent(4L * BLOCK, BLOCK));
    }

    @Test
    void aNewerEpochFencesTheOlderChannel() throws IOException {
        LocalReplicaChannel first = LocalReplicaChannel.open("node1", replica, 1);
        assertThat(first.write(0, filled(BLOCK, 1), false)).isCompletedWithValue(null);
        LocalReplicaChannel second = LocalReplicaChannel.open("node2", replica, 2);

        Throwable stale = failure(first.write(0, filled(BLOCK, 9), true));
        assertThat(stale).isExactlyInstanceOf(StaleEpochException.class).hasMessage(
                "replica vol has admitted epoch 2; epoch 1 is stale (the volume was attached elsewhere since)");
        assertThat(read(replica, 0, BLOCK)).as("the stale write is not applied").containsOnly(1);
        List<Supplier<CompletableFuture<?>>> everyRequest = List.of(
                () -> first.writeZeroes(0, BLOCK, false),
                () -> first.trim(0, BLOCK),
                () -> first.flush(),
                () -> first.read(0, ByteBuffer.allocate(BLOCK)),
                () -> first.checksums(0, BLOCK, BLOCK),
                () -> first.allocatedExtents());
        for (Supplier<CompletableFuture<?>> request : everyRequest) {
            assertThat(failure(request.get())).isExactlyInstanceOf(StaleEpochException.class);
        }
        assertThat(read(replica, 0, BLOCK)).containsOnly(1);

        assertThat(second.write(0, filled(BLOCK, 2), true)).isCompletedWithValue(null);
        assertThat(read(replica, 0, BLOCK)).containsOnly(2);
        assertThatThrownBy(() -> LocalReplicaChannel.open("node1", replica, 1))
                .isExactlyInstanceOf(StaleEpochException.class);
        // Opening at the current epoch again (a reconnect of the same attachment) is allowed.
        assertThat(LocalReplicaChannel.open("node2", replica, 2).flush()).isCompletedWithValue(null);
    }

    @Test
    void theFenceOutlivesTheProcess() throws IOException {
        LocalReplicaChannel.open("node1", replica, 5);
        pool.close();
        pool = Pool.open(dir, 0);
        Replica reopened = pool.replica("vol");
        assertThatThrownBy(() -> LocalReplicaChannel.open("node1", reopened, 4))
                .isExactlyInstanceOf(StaleEpochException.class).hasMessageContaining("admitted epoch 5");
    }

    @Test
    void failuresCompleteTheFutureInsteadOfThrowing() throws IOException {
        LocalReplicaChannel channel = LocalReplicaChannel.open("node1", replica, 1);
        assertThat(failure(channel.write(64L * BLOCK - 1, filled(2, 1), false)))
                .isExactlyInstanceOf(OutOfRangeException.class);
        assertThat(failure(channel.read(-1, ByteBuffer.allocate(1)))).isExactlyInstanceOf(OutOfRangeException.class);
        assertThat(failure(channel.checksums(0, BLOCK, 1000))).isExactlyInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aClosedChannelRefusesRequestsAndLeavesTheReplicaOpen() throws IOException {
        LocalReplicaChannel channel = LocalReplicaChannel.open("node1", replica, 1);
        channel.close();
        assertThat(failure(channel.write(0, filled(BLOCK, 1), false)))
                .isExactlyInstanceOf(TargetClosedException.class)
                .hasMessage("the channel to replica vol on node node1 (epoch 1) is closed");
        assertThat(failure(channel.allocatedExtents())).isExactlyInstanceOf(TargetClosedException.class);
        assertThat(read(replica, 0, BLOCK)).containsOnly(0);
        channel.close(); // twice is fine

        LocalReplicaChannel again = LocalReplicaChannel.open("node1", replica, 1);
        assertThat(again.write(0, filled(BLOCK, 3), false)).isCompletedWithValue(null);
        assertThat(read(replica, 0, BLOCK)).containsOnly(3);
    }

    static Throwable failure(CompletableFuture<?> future) {
        assertThat(future).isCompletedExceptionally();
        try {
            future.join();
            throw new AssertionError("unreachable");
        } catch (CompletionException e) {
            return e.getCause();
        }
    }

    static ByteBuffer filled(int length, int value) {
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, (byte) value);
        return ByteBuffer.wrap(bytes);
    }

    private static byte[] read(Replica r, long offset, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        r.read(offset, buffer);
        return buffer.array();
    }

    @Test
    void reopeningAtTheSameEpochClosesTheOldChannelButAnOlderEpochsChannelStaysFencedNotClosed() throws Exception {
        LocalReplicaChannel first = LocalReplicaChannel.open("n1", replica, 1);
        LocalReplicaChannel second = LocalReplicaChannel.open("n1", replica, 1);
        // A coordinator reopens a replica at its own epoch after the channel died: the dead one is closed, so
        // none of its requests can land after a resync through the new one.
        assertThat(failure(first.write(0, ByteBuffer.allocate(BLOCK), false))).isInstanceOf(TargetClosedException.class);
        assertThat(second.write(0, ByteBuffer.allocate(BLOCK), false)).isCompleted();
        LocalReplicaChannel third = LocalReplicaChannel.open("n2", replica, 2);
        // A channel of an older epoch must learn that it is fenced, not merely closed.
        assertThat(failure(second.write(0, ByteBuffer.allocate(BLOCK), false))).isExactlyInstanceOf(StaleEpochException.class);
        third.close();
    }
}
