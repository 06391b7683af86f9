package io.ballast.replication.peer;

import io.ballast.store.Pool;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The test's node: the daemon's own {@link PoolReplicaControl} over one real pool, wrapped so that a
 * test can make every call fail with a given exception, or hold {@code stat} until released, to stand
 * for a slow store.
 */
final class PoolControl implements ReplicaControl {
    private final ReplicaControl pools;
    volatile Exception failure;
    volatile CountDownLatch statGate;
    final CountDownLatch statEntered = new CountDownLatch(1);
    final AtomicInteger statsWaiting = new AtomicInteger();

    PoolControl(Pool pool) {
        this.pools = new PoolReplicaControl("node2", Map.of(pool.id(), pool));
    }

    @Override
    public void create(String poolId, String replicaId, long sizeBytes) throws IOException {
        injected();
        pools.create(poolId, replicaId, sizeBytes);
    }

    @Override
    public void delete(String poolId, String replicaId) throws IOException {
        injected();
        pools.delete(poolId, replicaId);
    }

    @Override
    public void grow(String poolId, String replicaId, long newSizeBytes) throws IOException {
        injected();
        pools.grow(poolId, replicaId, newSizeBytes);
    }

    @Override
    public void snapshot(String poolId, String replicaId, String snapshotName, String tag) throws IOException {
        injected();
        pools.snapshot(poolId, replicaId, snapshotName, tag);
    }

    @Override
    public void deleteSnapshot(String poolId, String replicaId, String snapshotName) throws IOException {
        injected();
        pools.deleteSnapshot(poolId, replicaId, snapshotName);
    }

    @Override
    public void cloneFrom(String poolId, String sourceReplicaId, String snapshotName, String newReplicaId)
            throws IOException {
        injected();
        pools.cloneFrom(poolId, sourceReplicaId, snapshotName, newReplicaId);
    }

    @Override
    public void restore(String poolId, String replicaId, String snapshotName) throws IOException {
        injected();
        pools.restore(poolId, replicaId, snapshotName);
    }

    @Override
    public ReplicaStat stat(String poolId, String replicaId) throws IOException {
        injected();
        ReplicaStat stat = pools.stat(poolId, replicaId);
        CountDownLatch gate = statGate;
        if (gate != null) {
            statsWaiting.incrementAndGet();
            statEntered.countDown();
            try {
                gate.await();
            } catch (InterruptedException e) {
                throw new InterruptedIOException();
            } finally {
                statsWaiting.decrementAndGet();
            }
        }
        return stat;
    }

    private void injected() throws IOException {
        Exception f = failure;
        if (f instanceof IOException io) {
            throw io;
        } else if (f instanceof RuntimeException unchecked) {
            throw unchecked;
        }
    }
}
