package io.ballast.replication.peer;

import io.ballast.replication.ForwardingReplicaChannel;
import io.ballast.replication.ReplicaChannel;
import io.ballast.replication.ReplicaChannels;
import java.io.IOException;
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
        return new ForwardingReplicaChannel(channel) {
            @Override
            public CompletableFuture<Void> flush() {
                if (holding) {
                    flushWaiting.countDown();
                    released.join();
                }
                return delegate().flush();
            }
        };
    }
}
