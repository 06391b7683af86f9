package io.ballast.replication;

import static org.assertj.core.api.Assertions.assertThat;

import io.ballast.store.Pool;
import io.ballast.store.Replica;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a host that loses power takes with it: a model of its page cache. Every mutation that reaches a
 * replica through a {@link Volatile} channel is undoable until a flush of that replica succeeds; {@link PageCache#crash}
 * undoes them, as a power loss of the replica's host would. Activity-log updates are fdatasynced by the
 * store and are not undone.
 */
class PageCacheLossTest {
    private static final long SIZE = 16L << 20;
    private static final int BLOCK = 4096;

    @TempDir
    Path dir;

    private final List<Pool> pools = new ArrayList<>();
    private final VolumeTargetTest.Commits commits = new VolumeTargetTest.Commits();

    @AfterEach
    void closePools() throws IOException {
        for (Pool pool : pools) {
            pool.close();
        }
    }

    private Replica replica(String node) throws IOException {
        Pool pool = Pool.open(dir.resolve(node), 0);
        pools.add(pool);
        return pool.create("vol", SIZE);
    }

    private static ByteBuffer pattern(long seed, int length) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return ByteBuffer.wrap(bytes);
    }

    /** What one replica's host has not yet written back: undo records, newest last. */
    static final class PageCache {
        final Replica replica;
        private final List<Object[]> undo = new ArrayList<>();

        PageCache(Replica replica) {
            this.replica = replica;
        }

        synchronized void record(long offset, long length) {
            ByteBuffer old = ByteBuffer.allocate((int) length);
            try {
                replica.read(offset, old);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            undo.add(new Object[] {offset, old.array()});
        }

        synchronized void flushed() {
            undo.clear();
        }

        /** The host loses power: every mutation since the last successful flush is gone. */
        synchronized void crash() throws IOException {
            for (int i = undo.size() - 1; i >= 0; i--) {
                replica.write((Long) undo.get(i)[0], ByteBuffer.wrap((byte[]) undo.get(i)[1]), false);
            }
            replica.flush();
            undo.clear();
        }
    }

    /** A local channel whose mutations stay in {@link PageCache} until a flush. */
    static final class Volatile extends ForwardingReplicaChannel {
        final PageCache cache;

        Volatile(String node, PageCache cache, long epoch) throws IOException {
            super(LocalReplicaChannel.open(node, cache.replica, epoch));
            this.cache = cache;
        }

        @Override public CompletableFuture<Void> write(long o, ByteBuffer d, boolean f) {
            cache.record(o, d.remaining());
            return delegate().write(o, d, f);
        }
        @Override public CompletableFuture<Void> writeZeroes(long o, long l, boolean f) {
            cache.record(o, l);
            return delegate().writeZeroes(o, l, f);
        }
        @Override public CompletableFuture<Void> trim(long o, long l) {
            cache.record(o, l);
            return delegate().trim(o, l);
        }
        @Override public CompletableFuture<Void> flush() {
            return delegate().flush().thenRun(cache::flushed);
        }
    }

    private VolumeTarget coordinator(long epoch, PageCache... caches) throws IOException {
        List<ReplicaChannel> channels = new ArrayList<>();
        for (int i = 0; i < caches.length; i++) {
            channels.add(new Volatile("n" + (i + 1), caches[i], epoch));
        }
        return new VolumeTarget("vol", epoch, SIZE, channels, "n1", commits, () -> true, IoObserver.NONE);
    }

    /**
     * Coordinator 1 writes W to both replicas and dies before a flush. Coordinator 2 (on n1) reconciles: the
     * logs mark W's extent, the replicas agree there, and both logs are emptied. n1's host then loses power
     * (coordinator 2 with it). Had n1, the reference, not been flushed before its log was emptied, it would
     * have lost W while n2 kept it, and no log would mark the extent for coordinator 3.
     */
    @Test
    void reconcileFlushesTheReferenceReplicaBeforeEmptyingItsLog() throws IOException {
        PageCache a = new PageCache(replica("n1"));
        PageCache b = new PageCache(replica("n2"));
        VolumeTarget first = coordinator(1, a, b);
        first.write(65536, pattern(1, BLOCK), false);
        first.abandon("killed");

        VolumeTarget second = coordinator(2, a, b);
        second.reconcile();
        second.abandon("n1's host lost power");
        a.crash();

        assertThat(a.replica.activeExtents()).isEmpty();
        assertThat(b.replica.activeExtents()).isEmpty();
        try (VolumeTarget third = new VolumeTarget("vol", 3, SIZE,
                List.of(LocalReplicaChannel.open("n1", a.replica, 3), LocalReplicaChannel.open("n2", b.replica, 3)),
                "n1", commits, () -> true, IoObserver.NONE)) {
            third.reconcile();
            assertThat(third.verify().differing()).as("in-sync replicas differ after the reconcile").isZero();
        }
    }

    /**
     * The same with one in-sync replica: coordinator 1 writes W to n1 alone (n2 stale: nothing is marked) and
     * dies. Coordinator 2 reconciles n1 alone, rebuilds n2 from it and commits it in sync; then n1's host loses
     * power. Unless the reconcile flushed n1, W would survive on n2 only, with no log marking it.
     */
    @Test
    void aLoneInSyncReplicaIsFlushedAtAttachSoOneRebuiltFromItStillMatchesAfterAPowerLoss() throws IOException {
        PageCache a = new PageCache(replica("n1"));
        PageCache b = new PageCache(replica("n2"));
        VolumeTarget first = coordinator(1, a);
        first.write(5 << 20, pattern(1, BLOCK), false);
        first.abandon("killed");

        VolumeTarget second = coordinator(2, a);
        second.addStale("n2");
        second.reconcile();
        second.resync(new Volatile("n2", b, 2));
        assertThat(second.replicaStates()).containsEntry("n2", ReplicaState.IN_SYNC);
        second.abandon("n1's host lost power");
        a.crash();

        try (VolumeTarget third = new VolumeTarget("vol", 3, SIZE,
                List.of(LocalReplicaChannel.open("n1", a.replica, 3), LocalReplicaChannel.open("n2", b.replica, 3)),
                "n1", commits, () -> true, IoObserver.NONE)) {
            third.reconcile();
            assertThat(third.verify().differing()).as("in-sync replicas differ after the reconcile").isZero();
        }
    }

    /**
     * Replicas made by the version before the activity log have no log file. After that version's coordinator
     * died with a write on one replica only, the first attach must compare every region holding data, as
     * that version did: a missing log is unknown, not empty.
     */
    @Test
    void aReplicaWithoutALogFileIsReconciledInFull() throws IOException {
        Replica a = replica("n1");
        Replica b = replica("n2");
        a.write(65536, pattern(1, BLOCK), false); // the old coordinator's last write reached n1 only
        a.flush();
        for (String node : List.of("n1", "n2")) {
            java.nio.file.Files.delete(dir.resolve(node + "/replicas/vol.activity")); // as the old version left it
        }
        for (int i = 0; i < 2; i++) {
            pools.get(i).close();
            pools.set(i, Pool.open(dir.resolve("n" + (i + 1)), 0));
        }
        a = pools.get(0).replica("vol");
        b = pools.get(1).replica("vol");
        try (VolumeTarget next = new VolumeTarget("vol", 2, SIZE,
                List.of(LocalReplicaChannel.open("n1", a, 2), LocalReplicaChannel.open("n2", b, 2)),
                "n1", commits, () -> true, IoObserver.NONE)) {
            next.reconcile();
            assertThat(next.verify().differing()).as("in-sync replicas differ after the reconcile").isZero();
        }
    }
}
