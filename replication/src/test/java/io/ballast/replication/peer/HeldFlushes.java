package io.ballast.replication.peer;

import io.ballast.replication.ReplicaChannel;
import io.ballast.replication.ReplicaChannels;
import io.ballast.store.Extent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;

/**
 * The node's real replica channels, except that while a test holds them, a flush blocks the
 * thread that calls it until released: a disk that stopped answering. Requests behind it wait
 * in the session's queue, as they would behind a real stuck fdatasync.
 */
final class HeldFlushes implements ReplicaChannels {
    private final ReplicaChannels real;
    private final CompletableFuture<Void> released = new CompletableFuture<>();
    /** Counted down when a flush starts waiting. */
    final CountDownLatch flushWaiting = new CountDownLatch(1);
    private volatile boolean holding;

    HeldFlushes(ReplicaChannels real) {
        this.real = real;
    }

    void hold() {
        holding = true;
    }

    /** Lets every held flush and every later one go; once released, never held again. */
    void release() {
        holding = false;
        released.complete(null);
    }

    @Override
    public ReplicaChannel open(String poolId, String replicaId, long epoch) throws IOException {
        ReplicaChannel channel = real.open(poolId, replicaId, epoch);
        return new ReplicaChannel() {
            @Override
            public String node() {
                return channel.node();
            }

            @Override
            public long epoch() {
                return channel.epoch();
            }

            @Override
            public CompletableFuture<Void> write(long offset, ByteBuffer data, boolean fua) {
                return channel.write(offset, data, fua);
            }

            @Override
            public CompletableFuture<Void> writeZeroes(long offset, long length, boolean fua) {
                return channel.writeZeroes(offset, length, fua);
            }

            @Override
            public CompletableFuture<Void> trim(long offset, long length) {
                return channel.trim(offset, length);
            }

            @Override
            public CompletableFuture<Void> flush() {
                if (holding) {
                    flushWaiting.countDown();
                    released.join();
                }
                return channel.flush();
            }

            @Override
            public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
                return channel.read(offset, dst);
            }

            @Override
            public CompletableFuture<long[]> checksums(long offset, long length, int regionBytes) {
                return channel.checksums(offset, length, regionBytes);
            }

            @Override
            public CompletableFuture<List<Extent>> allocatedExtents() {
                return channel.allocatedExtents();
            }

            @Override
            public CompletableFuture<Void> markActivity(boolean replace, long[] add, long[] remove) {
                return channel.markActivity(replace, add, remove);
            }

            @Override
            public CompletableFuture<long[]> activeExtents() {
                return channel.activeExtents();
            }

            @Override
            public void close() {
                channel.close();
            }
        };
    }
}
