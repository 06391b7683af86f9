package io.ballast.replication.peer;

import io.ballast.store.NoSuchReplicaException;
import io.ballast.store.Pool;
import io.ballast.store.Replica;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The test's node: a {@link ReplicaControl} over one real pool, as the daemon's is over its
 * pools. A test can make every call fail with a given exception, or hold {@code stat} until
 * released, to stand for a slow store.
 */
final class PoolControl implements ReplicaControl {
    private final Pool pool;
    volatile Exception failure;
    volatile CountDownLatch statGate;
    final CountDownLatch statEntered = new CountDownLatch(1);
    final AtomicInteger statsWaiting = new AtomicInteger();

    PoolControl(Pool pool) {
        this.pool = pool;
    }

    @Override
    public void create(String poolId, String replicaId, long sizeBytes) throws IOException {
        pool(poolId).create(replicaId, sizeBytes);
    }

    @Override
    public void delete(String poolId, String replicaId) throws IOException {
        try {
            pool(poolId).delete(replicaId);
        } catch (NoSuchReplicaException alreadyGone) {
            // idempotent
        }
    }

    @Override
    public void grow(String poolId, String replicaId, long newSizeBytes) throws IOException {
        pool(poolId).replica(replicaId).grow(newSizeBytes);
    }

    @Override
    public void snapshot(String poolId, String replicaId, String snapshotName) throws IOException {
        pool(poolId).replica(replicaId).snapshot(snapshotName);
    }

    @Override
    public void deleteSnapshot(String poolId, String replicaId, String snapshotName) throws IOException {
        pool(poolId).replica(replicaId).deleteSnapshot(snapshotName);
    }

    @Override
    public void cloneFrom(String poolId, String sourceReplicaId, String snapshotName, String newReplicaId)
            throws IOException {
        pool(poolId).cloneFrom(sourceReplicaId, snapshotName, newReplicaId);
    }

    @Override
    public void restore(String poolId, String replicaId, String snapshotName) throws IOException {
        pool(poolId).replica(replicaId).restore(snapshotName);
    }

    @Override
    public ReplicaStat stat(String poolId, String replicaId) throws IOException {
        Replica r = pool(poolId).replica(replicaId);
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
        return new ReplicaStat(r.sizeBytes(), r.usedBytes(), r.snapshots());
    }

    private Pool pool(String poolId) throws IOException {
        Exception f = failure;
        if (f instanceof IOException io) {
            throw io;
        } else if (f instanceof RuntimeException unchecked) {
            throw unchecked;
        }
        if (!poolId.equals(pool.id())) {
            throw new IOException("pool " + poolId + " is not open on node node2");
        }
        return pool;
    }
}
