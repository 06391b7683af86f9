package io.ballast.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ballast.store.Pool;
import io.ballast.store.Replica;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The coordinator over real replicas in real pools (one pool per "node", in-process channels): writes reach
 * every replica, a failed replica leaves the in-sync set by a committed change before the write is
 * acknowledged, a resync copies only what it missed, and a newer epoch fences the coordinator. The metadata
 * store's commits are recorded by {@link Commits}; the cluster tests run them through a real Raft group.
 */
class VolumeTargetTest {
    private static final long SIZE = 16L << 20;
    private static final int BLOCK = 4096;

    @TempDir
    Path dir;

    private final List<Pool> pools = new ArrayList<>();
    private final Commits commits = new Commits();

    @AfterEach
    void closePools() throws IOException {
        for (Pool pool : pools) {
            pool.close();
        }
    }

    /** Records committed replica states; can be told to refuse, like a metadata store without quorum. */
    static final class Commits implements ReplicaStates {
        final List<String> log = Collections.synchronizedList(new ArrayList<>());
        volatile boolean refuse;

        @Override
        public void commit(String node, ReplicaState state) throws IOException {
            if (refuse) {
                throw new IOException("no quorum");
            }
            log.add(node + "=" + state);
        }
    }

    private Replica replica(String node) throws IOException {
        Pool pool = Pool.open(dir.resolve(node), 0);
        pools.add(pool);
        return pool.create("vol", SIZE);
    }

    private VolumeTarget target(long epoch, Replica... replicas) throws IOException {
        List<ReplicaChannel> channels = new ArrayList<>();
        for (int i = 0; i < replicas.length; i++) {
            channels.add(LocalReplicaChannel.open("n" + (i + 1), replicas[i], epoch));
        }
        return new VolumeTarget("vol", epoch, SIZE, channels, "n1", commits, () -> true, IoObserver.NONE);
    }

    private static ByteBuffer pattern(long seed, int length) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return ByteBuffer.wrap(bytes);
    }

    private static byte[] read(Replica r, long offset, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        r.read(offset, b);
        return b.array();
    }

    @Test
    void writesReachEveryReplicaAndReadBack() throws IOException {
        Replica a = replica("n1");
        Replica b = replica("n2");
        Replica c = replica("n3");
        try (VolumeTarget target = target(1, a, b, c)) {
            target.write(5 * BLOCK + 100, pattern(1, 3 * BLOCK), false);
            target.writeZeroes(0, BLOCK, false);
            target.flush();
            ByteBuffer back = ByteBuffer.allocate(3 * BLOCK);
            target.read(5 * BLOCK + 100, back);
            assertThat(back.array()).isEqualTo(pattern(1, 3 * BLOCK).array());
            for (Replica r : List.of(b, c)) {
                assertThat(read(r, 5 * BLOCK + 100, 3 * BLOCK)).isEqualTo(back.array());
            }
            assertThat(target.verify().identical()).isTrue();
        }
        assertThat(commits.log).isEmpty();
    }

    @Test
    void aFailedReplicaLeavesTheSetByCommitAndResyncCopiesOnlyWhatItMissed() throws IOException {
        Replica a = replica("n1");
        Replica b = replica("n2");
        for (int i = 0; i < 64; i++) { // 4 MiB that both hold before the failure
            ByteBuffer data = pattern(100 + i, 64 * 1024);
            a.write(i * 65536L, data.duplicate(), false);
            b.write(i * 65536L, data, false);
        }
        VolumeTarget target = target(1, a, b);
        pools.get(1).close(); // n2's pool goes away: every request to its replica fails from now on
        target.write(3 * 65536L, pattern(7, 2 * BLOCK), false);
        assertThat(commits.log).containsExactly("n2=STALE");
        assertThat(target.replicaStates()).containsEntry("n1", ReplicaState.IN_SYNC).containsEntry("n2", ReplicaState.STALE);
        target.write(9 * 65536L + 10, pattern(8, 100), false);
        target.flush();

        Pool reopened = Pool.open(dir.resolve("n2"), 0);
        pools.set(1, reopened);
        target.resync(LocalReplicaChannel.open("n2", reopened.replica("vol"), 1));
        assertThat(commits.log).containsExactly("n2=STALE", "n2=RESYNCING", "n2=IN_SYNC");
        assertThat(target.replicaStates()).containsEntry("n2", ReplicaState.IN_SYNC);
        assertThat(read(reopened.replica("vol"), 0, 1 << 20)).isEqualTo(read(a, 0, 1 << 20));
        VerifyReport report = target.verify();
        assertThat(report.identical()).isTrue();
        assertThat(report.replicas()).containsExactly("n1", "n2");
        target.close();
    }

    @Test
    void aTargetWhoseLastInSyncReplicaFailsClosesSoThatTheVolumeIsOpenedAgain() throws IOException {
        replica("n2");
        // The coordinator's node holds no replica: its only in-sync replica is remote, and it fails.
        VolumeTarget target = new VolumeTarget("vol", 1, SIZE,
                List.of(LocalReplicaChannel.open("n2", pools.get(0).replica("vol"), 1)), "n1", commits, () -> true,
                IoObserver.NONE);
        pools.get(0).close();
        commits.refuse = true; // the metadata refuses to take the last in-sync replica out of the set
        assertThatThrownBy(() -> target.write(0, pattern(1, BLOCK), false)).isInstanceOf(TargetClosedException.class)
                .hasMessageContaining("last in-sync replica");
        // Closed for good: the channel it had is dead, and a new one needs a new epoch (an attach).
        assertThat(target.isOpen()).isFalse();
        commits.refuse = false;
        assertThatThrownBy(() -> target.read(0, ByteBuffer.allocate(BLOCK))).isInstanceOf(TargetClosedException.class)
                .hasMessageContaining("open it again");
    }

    @Test
    void withoutACommitTheWriteFailsInsteadOfShrinkingTheSetSilently() throws IOException {
        Replica a = replica("n1");
        replica("n2");
        VolumeTarget target = target(1, a, pools.get(1).replica("vol"));
        pools.get(1).close();
        commits.refuse = true;
        assertThatThrownBy(() -> target.write(0, pattern(1, BLOCK), false)).isInstanceOf(IOException.class)
                .hasMessageContaining("could not be committed").hasMessageContaining("no quorum");
        assertThat(target.replicaStates()).containsEntry("n2", ReplicaState.IN_SYNC);
        commits.refuse = false;
        target.write(0, pattern(1, BLOCK), false); // the removal commits now, and the write is acknowledged
        assertThat(commits.log).containsExactly("n2=STALE");
    }

    @Test
    void aNewerEpochFencesTheOldCoordinator() throws IOException {
        Replica a = replica("n1");
        Replica b = replica("n2");
        VolumeTarget old = target(1, a, b);
        old.write(0, pattern(1, BLOCK), false);
        VolumeTarget next = target(2, a, b);
        assertThatThrownBy(() -> old.write(0, pattern(2, BLOCK), false)).isInstanceOf(TargetClosedException.class)
                .hasMessageContaining("attached elsewhere");
        assertThat(old.isOpen()).isFalse();
        assertThat(read(a, 0, BLOCK)).isEqualTo(pattern(1, BLOCK).array());
        assertThat(read(b, 0, BLOCK)).isEqualTo(pattern(1, BLOCK).array());
        next.write(0, pattern(3, BLOCK), false);
        assertThat(read(b, 0, BLOCK)).isEqualTo(pattern(3, BLOCK).array());
        assertThat(commits.log).as("a fenced coordinator changes no replica state").isEmpty();
        next.close();
    }

    @Test
    void reconcileComparesTheExtentsTheActivityLogsMarkAndClearsThem() throws IOException {
        Replica a = replica("n1");
        Replica b = replica("n2");
        long extent = Replica.activityExtentBytes();
        VolumeTarget dead = target(1, a, b);
        dead.write(65536, pattern(1, BLOCK), false);
        dead.write(2 * extent + 4096, pattern(2, BLOCK), false);
        // The coordinator dies: neither flushed nor detached. Its last write reached one replica only, and
        // the replicas also differ in an extent no coordinator wrote (which the logs cannot know of).
        dead.abandon("the test killed it");
        b.write(2 * extent + 4096, pattern(3, BLOCK), false);
        a.write(3 * extent, pattern(4, BLOCK), false);
        assertThat(a.activeExtents()).containsExactly(0, 2);
        assertThat(b.activeExtents()).containsExactly(0, 2);
        try (VolumeTarget next = target(2, a, b)) {
            assertThat(next.verify().differing()).isEqualTo(2);
            assertThat(next.reconcile()).as("only the region in a marked extent").isEqualTo(65536);
            assertThat(read(b, 2 * extent + 4096, BLOCK)).isEqualTo(pattern(2, BLOCK).array());
            assertThat(next.verify().differing()).as("the unmarked difference is left to verify").isEqualTo(1);
            assertThat(a.activeExtents()).isEmpty();
            assertThat(b.activeExtents()).isEmpty();
            next.write(3 * extent + 8192, pattern(5, BLOCK), false);
            assertThat(b.activeExtents()).containsExactly(3);
        }
        assertThat(a.activeExtents()).as("a clean detach leaves nothing to reconcile").isEmpty();
        assertThat(b.activeExtents()).isEmpty();
    }

    @Test
    void aReplicaThatFailsDuringReconcileLeavesTheSetAndTheOthersAreReconciled() throws IOException {
        Replica a = replica("n1");
        Replica b = replica("n2");
        Replica c = replica("n3");
        VolumeTarget dead = target(1, a, b, c);
        dead.write(65536, pattern(1, BLOCK), false);
        dead.abandon("the test killed it");
        b.write(65536, pattern(2, BLOCK), false); // b missed the last write
        List<ReplicaChannel> channels = new ArrayList<>();
        channels.add(LocalReplicaChannel.open("n1", a, 2));
        channels.add(LocalReplicaChannel.open("n2", b, 2));
        ReplicaChannel third = LocalReplicaChannel.open("n3", c, 2);
        third.close(); // its node died during the takeover
        channels.add(third);
        try (VolumeTarget next = new VolumeTarget("vol", 2, SIZE, channels, "n1", commits, () -> true, IoObserver.NONE)) {
            assertThat(next.reconcile()).isEqualTo(65536);
            assertThat(commits.log).containsExactly("n3=STALE");
            assertThat(next.replicaStates()).containsEntry("n3", ReplicaState.STALE);
            assertThat(read(b, 65536, BLOCK)).isEqualTo(pattern(1, BLOCK).array());
            assertThat(next.verify().identical()).isTrue();
        }
    }

    @Test
    void aDamagedActivityLogMakesReconcileCompareEveryRegionWithData() throws IOException {
        Replica a = replica("n1");
        Replica b = replica("n2");
        a.write(65536, pattern(1, BLOCK), false);
        b.write(3 * 65536, pattern(2, BLOCK), false);
        java.nio.file.Files.write(dir.resolve("n2/replicas/vol.activity"), new byte[] {1, 2, 3});
        pools.get(1).close();
        Pool reopened = Pool.open(dir.resolve("n2"), 0);
        pools.set(1, reopened);
        b = reopened.replica("vol");
        assertThat(b.activeExtents()).as("unknown").isNull();
        try (VolumeTarget target = target(1, a, b)) {
            assertThat(target.reconcile()).isEqualTo(2 * 65536);
            assertThat(target.verify().identical()).isTrue();
            assertThat(b.activeExtents()).as("replaced: known again").isEmpty();
        }
    }

    @Test
    void aReplicaThatJoinsHasEveryHotExtentMarkedBeforeItsFirstWrite() throws IOException {
        Replica a = replica("n1");
        Replica b = replica("n2");
        long extent = Replica.activityExtentBytes();
        VolumeTarget target = new VolumeTarget("vol", 1, SIZE, List.of(LocalReplicaChannel.open("n1", a, 1)), "n1",
                commits, () -> true, IoObserver.NONE);
        target.write(extent, pattern(1, BLOCK), false); // alone: nothing to mark
        assertThat(a.activeExtents()).isEmpty();
        target.addStale("n2");
        target.resync(LocalReplicaChannel.open("n2", b, 1));
        assertThat(a.activeExtents()).containsExactly(1);
        assertThat(b.activeExtents()).containsExactly(1);
        target.write(extent + 8192, pattern(2, BLOCK), false);
        target.write(2 * extent, pattern(3, BLOCK), false);
        assertThat(b.activeExtents()).containsExactly(1, 2);
        target.abandon("the test killed it");
    }

    @Test
    void aMarkThatFailsStopsTheReplicaFromTakingTheWriteAfterIt() throws IOException {
        Replica a = replica("n1");
        Replica b = replica("n2");
        java.nio.file.Path log = dir.resolve("n2/replicas/vol.activity");
        java.nio.file.Files.delete(log);
        java.nio.file.Files.createDirectory(log); // the log cannot be written any more
        try (VolumeTarget target = target(1, a, b)) {
            target.write(0, pattern(1, BLOCK), false);
            assertThat(commits.log).containsExactly("n2=STALE");
            assertThat(read(b, 0, BLOCK)).as("the write after the failed mark never landed").isEqualTo(new byte[BLOCK]);
            assertThat(read(a, 0, BLOCK)).isEqualTo(pattern(1, BLOCK).array());
        }
    }

    @Test
    void aRebuildUnderConcurrentWritesEndsIdenticalAndHoldsEveryWrite() throws Exception {
        long size = 64L << 20; // 16 batches: several in flight at once
        Pool poolA = Pool.open(dir.resolve("big1"), 0);
        Pool poolB = Pool.open(dir.resolve("big2"), 0);
        pools.add(poolA);
        pools.add(poolB);
        Replica a = poolA.create("vol", size);
        Replica b = poolB.create("vol", size);
        Random random = new Random(7);
        for (int i = 0; i < 2000; i++) { // data on the source: dense runs and scattered blocks
            long block = i < 1000 ? i : random.nextInt((int) (size / BLOCK));
            a.write(block * BLOCK, pattern(block, BLOCK), false);
        }
        // Data only the new replica has (a stale leftover where the source is a hole), and a block that differs.
        b.write(40L << 20, pattern(99, 3 * BLOCK), false);
        b.write(5 * BLOCK, pattern(98, BLOCK), false);
        VolumeTarget target = new VolumeTarget("vol", 1, size, List.of(LocalReplicaChannel.open("n1", a, 1)), "n1",
                commits, () -> true, IoObserver.NONE);
        target.addStale("n2");
        java.util.Map<Long, Long> written = new java.util.concurrent.ConcurrentHashMap<>();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread writer = Thread.ofPlatform().start(() -> {
            Random r = new Random(11);
            long version = 1000;
            while (!stop.get()) {
                long block = r.nextInt((int) (size / BLOCK));
                version++;
                try {
                    target.write(block * BLOCK, pattern(version, BLOCK), false);
                    written.put(block, version);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        });
        try {
            target.resync(LocalReplicaChannel.open("n2", b, 1));
        } finally {
            stop.set(true);
            writer.join();
        }
        assertThat(target.replicaStates()).containsEntry("n2", ReplicaState.IN_SYNC);
        assertThat(written).as("writes ran during the resync").isNotEmpty();
        assertThat(target.verify().identical()).isTrue();
        for (var e : written.entrySet()) {
            assertThat(read(b, e.getKey() * BLOCK, BLOCK)).as("block %d", e.getKey())
                    .isEqualTo(pattern(e.getValue(), BLOCK).array());
        }
        assertThat(read(b, 40L << 20, BLOCK)).as("the leftover is gone").isEqualTo(
                written.containsKey((40L << 20) / BLOCK) ? pattern(written.get((40L << 20) / BLOCK), BLOCK).array()
                        : new byte[BLOCK]);
        target.close();
    }

    @Test
    void aReplicaIsNotMadeInSyncWhenASnapshotWasTakenSinceItsSnapshotsWereCompared() throws IOException {
        Replica a = replica("n1");
        Replica b = replica("n2");
        VolumeTarget target = new VolumeTarget("vol", 1, SIZE, List.of(LocalReplicaChannel.open("n1", a, 1)), "n1",
                commits, () -> true, IoObserver.NONE);
        target.addStale("n2");
        long before = target.quiesceCount();
        target.quiesced(inSync -> { // a snapshot, taken on the in-sync replicas only
            a.snapshot("s1");
            return null;
        });
        assertThatThrownBy(() -> target.resync(LocalReplicaChannel.open("n2", b, 1), before))
                .hasMessageContaining("a snapshot was taken during the resync");
        assertThat(target.replicaStates()).containsEntry("n2", ReplicaState.STALE);
        assertThat(commits.log).containsExactly("n2=RESYNCING", "n2=STALE");
        target.resync(LocalReplicaChannel.open("n2", b, 1), target.quiesceCount()); // after the snapshot was copied
        assertThat(target.replicaStates()).containsEntry("n2", ReplicaState.IN_SYNC);
        target.close();
    }

    /**
     * A real local channel that, the first time it serves a read at or after {@code trigger} (the copier of a
     * resync reading the source), runs {@code during} after the read and gives it 200 ms before answering:
     * a write through the volume to the region being copied must wait for the copy, or the copy would put
     * the old data over it on the new replica.
     */
    static final class WriteDuringCopy extends ForwardingReplicaChannel {
        final long trigger;
        final Runnable during;
        final java.util.concurrent.atomic.AtomicBoolean fired = new java.util.concurrent.atomic.AtomicBoolean();
        volatile boolean writeWaited;
        volatile Thread writer;

        WriteDuringCopy(ReplicaChannel inner, long trigger, Runnable during) {
            super(inner);
            this.trigger = trigger;
            this.during = during;
        }

        @Override
        public java.util.concurrent.CompletableFuture<Void> read(long offset, ByteBuffer dst) {
            java.util.concurrent.CompletableFuture<Void> done = delegate().read(offset, dst);
            if (offset <= trigger && trigger < offset + dst.capacity() && fired.compareAndSet(false, true)) {
                writer = Thread.ofPlatform().start(during);
                try {
                    writeWaited = !writer.join(java.time.Duration.ofMillis(200));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return done;
        }
    }

    @Test
    void aWriteToARegionBeingCopiedWaitsForTheCopy() throws Exception {
        Replica a = replica("n1");
        Replica b = replica("n2");
        long at = 3L << 20;
        a.write(at, pattern(1, 64 * 1024), false); // the source's data, which the rebuild copies
        java.util.concurrent.atomic.AtomicReference<VolumeTarget> volume = new java.util.concurrent.atomic.AtomicReference<>();
        WriteDuringCopy source = new WriteDuringCopy(LocalReplicaChannel.open("n1", a, 1), at, () -> {
            try {
                volume.get().write(at, pattern(2, BLOCK), false);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        VolumeTarget target = new VolumeTarget("vol", 1, SIZE, List.of(source), "n1", commits, () -> true,
                IoObserver.NONE);
        volume.set(target);
        target.addStale("n2");
        target.resync(LocalReplicaChannel.open("n2", b, 1));
        assertThat(source.fired).as("the copier read the region").isTrue();
        assertThat(source.writeWaited).as("the write waited for the copy of its region").isTrue();
        source.writer.join(); // the write goes on once the copy releases the region
        assertThat(read(a, at, BLOCK)).isEqualTo(pattern(2, BLOCK).array());
        assertThat(read(b, at, BLOCK)).as("the new replica holds the write, not the copy's older data")
                .isEqualTo(pattern(2, BLOCK).array());
        assertThat(target.verify().identical()).isTrue();
        target.close();
    }

    @Test
    void aLeaseThatLapsedStopsIo() throws IOException {
        Replica a = replica("n1");
        boolean[] valid = {true};
        VolumeTarget target = new VolumeTarget("vol", 1, SIZE, List.of(LocalReplicaChannel.open("n1", a, 1)), "n1",
                commits, () -> valid[0], IoObserver.NONE);
        target.write(0, pattern(1, BLOCK), false);
        valid[0] = false;
        assertThatThrownBy(() -> target.write(0, pattern(2, BLOCK), false)).isInstanceOf(TargetClosedException.class)
                .hasMessageContaining("lease");
        assertThat(read(a, 0, BLOCK)).isEqualTo(pattern(1, BLOCK).array());
        valid[0] = true;
        target.write(0, pattern(3, BLOCK), false);
        target.close();
    }

    @Test
    void writesNotYetFlushedOnAReplicaThatFailsAreResyncedToo() throws IOException {
        Replica a = replica("n1");
        Replica b = replica("n2");
        VolumeTarget target = target(1, a, b);
        target.write(0, pattern(1, BLOCK), false);
        target.flush(); // region 0 is durable on both
        target.write(5 * 65536L, pattern(2, BLOCK), false); // acknowledged, not flushed: region 5
        pools.get(1).close();
        target.write(9 * 65536L, pattern(3, BLOCK), false); // fails on n2: n2 leaves the set
        assertThat(commits.log).containsExactly("n2=STALE");

        // n2's host lost its page cache: the unflushed write of region 5 is gone there.
        Pool reopened = Pool.open(dir.resolve("n2"), 0);
        pools.set(1, reopened);
        Replica back = reopened.replica("vol");
        back.trim(5 * 65536L, BLOCK);
        back.write(0, pattern(9, BLOCK), false); // and region 0, flushed before, is not looked at: it differs

        target.resync(LocalReplicaChannel.open("n2", back, 1));
        assertThat(read(back, 5 * 65536L, BLOCK)).as("the unflushed write").isEqualTo(pattern(2, BLOCK).array());
        assertThat(read(back, 9 * 65536L, BLOCK)).as("the write it missed").isEqualTo(pattern(3, BLOCK).array());
        assertThat(read(back, 0, BLOCK)).as("a region flushed before the failure is not compared")
                .isEqualTo(pattern(9, BLOCK).array());
        target.close();
    }

    @Test
    void aPoolFullOnOneReplicaOnlyTakesThatReplicaOutOfTheSet() throws IOException {
        Replica a = replica("n1");
        Pool small = Pool.open(dir.resolve("n2"), 256 * 1024);
        pools.add(small);
        Replica b = small.create("vol", SIZE);
        VolumeTarget target = target(1, a, b);
        target.write(0, pattern(1, 1 << 20), false); // 1 MiB: more than n2's pool holds
        assertThat(commits.log).containsExactly("n2=STALE");
        assertThat(read(a, 0, 1 << 20)).isEqualTo(pattern(1, 1 << 20).array());
        target.close();
    }

    /** A real local channel whose first flush answers only when the test says so. */
    static final class FirstFlushHeld extends ForwardingReplicaChannel {
        final java.util.concurrent.CompletableFuture<Void> release = new java.util.concurrent.CompletableFuture<>();
        private boolean held;

        FirstFlushHeld(ReplicaChannel inner) {
            super(inner);
        }

        synchronized boolean held() {
            return held;
        }

        @Override
        public synchronized java.util.concurrent.CompletableFuture<Void> flush() {
            java.util.concurrent.CompletableFuture<Void> flushed = delegate().flush();
            if (held) {
                return flushed;
            }
            held = true;
            return flushed.thenCombine(release, (a, b) -> null);
        }
    }

    @Test
    void flushesThatCompleteOutOfOrderLeaveTheTargetWorking() throws Exception {
        Replica a = replica("n1");
        FirstFlushHeld held = new FirstFlushHeld(LocalReplicaChannel.open("n1", a, 1));
        VolumeTarget target = new VolumeTarget("vol", 1, SIZE, List.of(held), "n1", commits, () -> true,
                IoObserver.NONE);
        java.util.concurrent.CompletableFuture<Void> first = java.util.concurrent.CompletableFuture.runAsync(() -> {
            try {
                target.flush();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        while (!held.held()) {
            Thread.onSpinWait();
        }
        target.flush(); // issued second, answered first: it covers the first one's writes too
        held.release.complete(null);
        first.get(10, java.util.concurrent.TimeUnit.SECONDS);
        target.write(0, pattern(1, BLOCK), false);
        target.flush();
        assertThat(read(a, 0, BLOCK)).isEqualTo(pattern(1, BLOCK).array());
        target.close();
    }
}
