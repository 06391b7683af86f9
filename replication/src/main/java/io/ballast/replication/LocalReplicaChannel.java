package io.ballast.replication;

import io.ballast.store.Extent;
import io.ballast.store.Replica;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A replica in this process, opened for one epoch: what a coordinator uses for the replica on its
 * own node, and what the peer port serves a remote coordinator through.
 *
 * <p>Every request runs in the calling thread, {@link Replica#fenced fenced} by the channel's
 * epoch: once a newer epoch is admitted it fails with {@code StaleEpochException}, and none that
 * passed the fence is still running when the admission returns. A mutation is applied before its
 * already completed future is returned, so the order the caller issues mutations in, under its own
 * lock, is the order the replica applies them in.
 *
 * <p>A replica has one current channel per epoch: opening a new one at the same epoch closes the
 * previous one and waits for the request it is running. A coordinator reopens a replica (at the same epoch) after its channel died,
 * to resync it; a request of the dead channel still running on the replica's node must not land
 * after the resync has copied that region.
 */
public final class LocalReplicaChannel implements ReplicaChannel {
    private final String node;
    private final Replica replica;
    private final long epoch;
    private volatile boolean closed;
    /** Why a mark of the activity log failed; every later request fails with it. */
    private volatile IOException broken;
    /** Requests hold it shared; superseding this channel takes it exclusively, to wait for them. */
    private final ReentrantReadWriteLock running = new ReentrantReadWriteLock();

    /** The current channel of each open replica (weakly held: a deleted replica goes away). */
    private static final Map<Replica, LocalReplicaChannel> CURRENT = Collections.synchronizedMap(new WeakHashMap<>());

    private LocalReplicaChannel(String node, Replica replica, long epoch) {
        this.node = node;
        this.replica = replica;
        this.epoch = epoch;
    }

    /**
     * Admits {@code epoch} on the replica (durably), which fences every channel of an older one.
     *
     * @throws io.ballast.store.StaleEpochException if the replica already admitted a newer epoch
     */
    public static LocalReplicaChannel open(String node, Replica replica, long epoch) throws IOException {
        replica.admitEpoch(epoch);
        LocalReplicaChannel channel = new LocalReplicaChannel(node, replica, epoch);
        LocalReplicaChannel previous = CURRENT.put(replica, channel);
        if (previous != null && previous.epoch == epoch) {
            previous.supersede(); // an older epoch's channel is fenced already, and must say so: StaleEpoch
        }
        return channel;
    }

    @Override
    public String node() {
        return node;
    }

    @Override
    public long epoch() {
        return epoch;
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuffer data, boolean fua) {
        return run(() -> replica.write(offset, data, fua));
    }

    @Override
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean fua) {
        return run(() -> replica.writeZeroes(offset, length, fua));
    }

    @Override
    public CompletableFuture<Void> trim(long offset, long length) {
        return run(() -> replica.trim(offset, length));
    }

    @Override
    public CompletableFuture<Void> flush() {
        return run(replica::flush);
    }

    @Override
    public CompletableFuture<Void> markActivity(boolean replace, long[] add, long[] remove) {
        CompletableFuture<Void> done = run(() -> replica.markActivity(replace, add, remove));
        done.exceptionally(failure -> {
            if (broken == null) {
                broken = new IOException("the activity log of replica " + replica.id() + " on node " + node
                        + " could not be updated, so this channel takes no more requests: " + failure.getMessage(),
                        failure);
            }
            return null;
        });
        return done;
    }

    @Override
    public CompletableFuture<long[]> activeExtents() {
        return call(replica::activeExtents);
    }

    @Override
    public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
        return run(() -> replica.read(offset, dst));
    }

    @Override
    public CompletableFuture<long[]> checksums(long offset, long length, int regionBytes) {
        return call(() -> replica.checksums(offset, length, regionBytes));
    }

    @Override
    public CompletableFuture<List<Extent>> allocatedExtents() {
        return call(replica::allocatedExtents);
    }

    /** The replica stays open: it belongs to its pool, and other channels may use it. */
    @Override
    public void close() {
        closed = true;
        CURRENT.remove(replica, this);
    }

    /** Closes this channel for a newer one of the same replica, once the request it runs is done. */
    private void supersede() {
        closed = true;
        running.writeLock().lock();
        running.writeLock().unlock();
    }

    @Override
    public String toString() {
        return "LocalReplicaChannel[" + replica.id() + " on " + node + ", epoch " + epoch + "]";
    }

    private CompletableFuture<Void> run(Action action) {
        return call(() -> {
            action.run();
            return null;
        });
    }

    private <T> CompletableFuture<T> call(Replica.Io<T> io) {
        running.readLock().lock();
        try {
            if (closed) {
                throw new TargetClosedException("the channel to replica " + replica.id() + " on node " + node
                        + " (epoch " + epoch + ") is closed");
            }
            if (broken != null) {
                throw broken;
            }
            return CompletableFuture.completedFuture(replica.fenced(epoch, io));
        } catch (IOException | RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        } finally {
            running.readLock().unlock();
        }
    }

    @FunctionalInterface
    private interface Action {
        void run() throws IOException;
    }
}
