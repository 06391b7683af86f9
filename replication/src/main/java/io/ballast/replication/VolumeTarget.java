package io.ballast.replication;

import io.ballast.store.Extent;
import io.ballast.store.PoolFullException;
import io.ballast.store.StaleEpochException;
import java.io.Closeable;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BooleanSupplier;
import org.roaringbitmap.RoaringBitmap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The single coordinator of one attached volume: every frontend request for the volume passes through
 * here, and every write goes to all the volume's in-sync replicas (and to those resyncing) before it is
 * acknowledged.
 *
 * <p>The rules it keeps (ARCHITECTURE.md, "Invariants"):
 * <ul>
 *   <li><b>One writer.</b> It serves one attachment epoch; each replica admitted that epoch when its
 *       channel was opened and refuses it once a newer one was admitted. The first
 *       {@link StaleEpochException} from any replica closes this target for good. It also refuses IO while
 *       its node's lease is not valid ({@code leaseValid}), so a paused or cut-off coordinator stops by
 *       itself.</li>
 *   <li><b>The in-sync set changes only by consensus.</b> When a replica fails a request, the target commits
 *       its removal ({@link ReplicaStates}) before it acknowledges that request or any other that depends on
 *       the replica; if the commit fails, the request fails. It never carries on with a silently smaller
 *       set.</li>
 *   <li><b>Same order everywhere.</b> Mutations are issued to every replica under one lock, in one order,
 *       on ordered channels.</li>
 *   <li><b>Catch up, don't start over.</b> While a replica is out of the set, the regions written meanwhile
 *       are recorded; {@link #resync} compares and copies only those (or, when they are not known, the
 *       regions that hold data), with new writes mirrored to it, and commits it back in sync at the end.</li>
 * </ul>
 *
 * <p>Locks, never taken against this order: {@link #gate} (shared by requests, exclusive for close and
 * quiesce), region locks (shared by writes, exclusive by the copier), {@link #changes} (one membership
 * commit at a time), and the {@link #order} monitor (issuing mutations; member states and dirty maps).
 */
public final class VolumeTarget implements BlockTarget, Closeable {
    /** The unit of dirty tracking, resync, reconcile and verify. */
    public static final int REGION_BYTES = 64 * 1024;
    /** Regions compared and copied under one exclusive lock: small enough to keep writers' waits short. */
    static final int BATCH_REGIONS = 64;
    /** Batches of a resync in progress at once, so that reading, sending and writing overlap. */
    private static final int RESYNC_WINDOW = 4;
    private static final long CLOSE_DRAIN_SECONDS = 30;
    /** Longer than any channel's own timeout: a channel fails a request itself; this only guards against bugs. */
    private static final long REQUEST_TIMEOUT_SECONDS = 120;
    private static final long FULL_REPORT_INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(1);
    private static final Logger log = LoggerFactory.getLogger(VolumeTarget.class);
    /** The region range {@link #failed} gets for a failed read: no range, and no trust in the dirty map. */
    private static final long READ_FAILURE = -2;
    private static final long[] NO_EXTENTS = new long[0];

    private final String volume;
    private final long epoch;
    private volatile long sizeBytes;
    private final String localNode;
    private final ReplicaStates states;
    private final BooleanSupplier leaseValid;
    private final IoObserver observer;

    private final ReentrantReadWriteLock gate = new ReentrantReadWriteLock();
    private final ReentrantLock changes = new ReentrantLock();
    private final RegionLocks regions = new RegionLocks();
    private final Object order = new Object();
    /** Guarded by {@link #order}. */
    private final List<Member> members = new ArrayList<>();
    /** Guarded by {@link #order}. */
    private final ActivityTracker activity = new ActivityTracker();

    private final AtomicLong quiesces = new AtomicLong();
    private volatile boolean closed;
    private volatile String fencedBy;
    /** Why this target closed by itself (its last in-sync replica failed); null otherwise. */
    private volatile String closedBecause;
    /** The node of the last in-sync replica whose failure closed this target; null otherwise. */
    private volatile String lostReplica;
    private volatile long lastFullReport;
    /** Whether the flush that ends a close succeeded; guarded by the gate's write lock. */
    private boolean drained;

    /**
     * @param inSync     channels to the in-sync replicas, opened with {@code epoch}; at least one
     * @param localNode  this node's name: its replica, if in sync, serves the reads
     * @param leaseValid whether this node's lease is valid now; IO is refused while it is not
     */
    public VolumeTarget(String volume, long epoch, long sizeBytes, List<ReplicaChannel> inSync, String localNode,
                        ReplicaStates states, BooleanSupplier leaseValid, IoObserver observer) {
        if (inSync.isEmpty()) {
            throw new IllegalArgumentException("volume " + volume + ": a coordinator needs an in-sync replica");
        }
        this.volume = volume;
        this.epoch = epoch;
        this.sizeBytes = sizeBytes;
        this.localNode = localNode;
        this.states = states;
        this.leaseValid = leaseValid;
        this.observer = observer;
        for (ReplicaChannel channel : inSync) {
            members.add(new Member(channel.node(), channel, ReplicaState.IN_SYNC, null));
        }
    }

    public String volume() {
        return volume;
    }

    public long epoch() {
        return epoch;
    }

    public boolean isOpen() {
        return !closed;
    }

    /**
     * The node whose replica, the last in sync, failed and closed this target: the volume can be opened again
     * once that node is back. Null if the target is open or closed for another reason.
     */
    public String lostReplica() {
        return lostReplica;
    }

    @Override
    public long sizeBytes() {
        return sizeBytes;
    }

    /**
     * Serves the volume at its new, larger size, once every replica has grown (a replica that has not
     * fails writes past its end, and leaves the in-sync set like any failed replica).
     */
    public void grow(long newSizeBytes) {
        if (newSizeBytes > sizeBytes) {
            sizeBytes = newSizeBytes;
        }
    }

    /** The nodes of the replicas in each state, as this coordinator sees them now. */
    public Map<String, ReplicaState> replicaStates() {
        Map<String, ReplicaState> view = new LinkedHashMap<>();
        synchronized (order) {
            members.forEach(m -> view.put(m.node, m.state));
        }
        return view;
    }

    /** The resyncs under way. */
    public List<ResyncProgress> progress() {
        List<ResyncProgress> list = new ArrayList<>();
        synchronized (order) {
            for (Member m : members) {
                if (m.state == ReplicaState.RESYNCING && m.progress != null && m.progress.started()) {
                    list.add(m.progress.snapshot(m.node));
                }
            }
        }
        return list;
    }

    // ---- requests ------------------------------------------------------------------------

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        run(IoObserver.Op.READ, dst.remaining(), () -> {
            for (;;) {
                Member source = readSource();
                ByteBuffer into = dst.duplicate();
                try {
                    await(source.channel.read(offset, into));
                    dst.position(dst.limit());
                    return;
                } catch (IOException e) {
                    if (isRequestError(e)) {
                        throw e;
                    }
                    // A failed replica leaves the set (committed) before the read is tried on another one.
                    failed(source, e, READ_FAILURE, READ_FAILURE);
                }
            }
        });
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        int length = src.remaining();
        mutate(IoObserver.Op.WRITE, offset, length, c -> c.write(offset, src.duplicate(), fua));
    }

    @Override
    public void writeZeroes(long offset, long length, boolean fua) throws IOException {
        mutate(IoObserver.Op.WRITE_ZEROES, offset, length, c -> c.writeZeroes(offset, length, fua));
    }

    @Override
    public void trim(long offset, long length) throws IOException {
        mutate(IoObserver.Op.TRIM, offset, length, c -> c.trim(offset, length));
    }

    @Override
    public void flush() throws IOException {
        run(IoObserver.Op.FLUSH, 0, this::flushActive);
    }

    /**
     * Flushes every replica that takes writes. Each flush seals the regions written on that replica since
     * its previous flush; once it succeeds they are durable there and drop out of what a failure of the
     * replica must resync.
     */
    private void flushActive() throws IOException {
        List<Member> targets;
        List<RoaringBitmap> sealed = new ArrayList<>();
        List<CompletableFuture<Void>> futures = new ArrayList<>();
        long number;
        synchronized (order) {
            targets = active();
            number = activity.flushIssued();
            for (Member m : targets) {
                sealed.add(m.seal());
                futures.add(m.channel.flush());
            }
        }
        IOException failure = null;
        for (int i = 0; i < targets.size(); i++) {
            Member member = targets.get(i);
            try {
                await(futures.get(i));
                synchronized (order) {
                    member.flushed(sealed.get(i));
                }
            } catch (IOException e) {
                failure = firstOf(failure, () -> failed(member, e, -1, -1));
            }
        }
        if (failure != null) {
            throw failure;
        }
        synchronized (order) {
            // Every replica still taking writes has everything issued before this flush durable: the extents
            // written before it may leave the activity logs.
            activity.settled(number);
        }
    }

    private void mutate(IoObserver.Op op, long offset, long length, Mutation mutation) throws IOException {
        run(op, length, () -> {
            if (length == 0) {
                return;
            }
            if (offset < 0 || length < 0 || offset > sizeBytes - length) {
                // Checked here too: a bad range must not be recorded as dirty nor fail a replica.
                throw new io.ballast.store.OutOfRangeException("volume " + volume + ": range [" + offset + ", "
                        + (offset + length) + ") is outside its " + sizeBytes + " bytes");
            }
            long first = offset / REGION_BYTES;
            long last = (offset + length - 1) / REGION_BYTES;
            regions.lockShared(first, last);
            try {
                List<Member> targets;
                List<CompletableFuture<Void>> futures = new ArrayList<>();
                synchronized (order) {
                    targets = active();
                    ActivityTracker.Marks marks = activity.writing(offset, length);
                    // One replica cannot differ from another: the logs matter from two on (a replica that
                    // joins gets every hot extent marked first, see resync).
                    boolean marking = marks != null && targets.size() > 1;
                    for (Member m : targets) {
                        // Recorded before it is issued: until a flush of this replica succeeds, the write
                        // may be lost there with its host's page cache, and a resync must look at it.
                        m.unflushed.getLast().add(first, last + 1);
                        // The mark goes first on the same ordered stream: durable there before the write lands.
                        CompletableFuture<Void> marked = marking
                                ? m.channel.markActivity(false, marks.add(), marks.remove()) : null;
                        CompletableFuture<Void> done = mutation.issue(m.channel);
                        futures.add(marked == null ? done : marked.thenCombine(done, (a, b) -> null));
                    }
                    for (Member m : members) {
                        if (m.state == ReplicaState.STALE && m.dirty != null) {
                            m.dirty.add(first, last + 1);
                        }
                    }
                }
                settle(targets, futures, first, last);
            } finally {
                regions.unlockShared(first, last);
            }
        });
    }

    /**
     * Waits for one request on every target. A failed in-sync replica leaves the set (committed) before
     * this returns; the request succeeds if it succeeded on every replica still in the set afterwards.
     *
     * <p>A request error (out of range, a full pool) that every replica gave is the caller's error. One that
     * only some replicas gave is theirs: they no longer hold what the others do, so they leave the set like
     * any failed replica.
     */
    private void settle(List<Member> targets, List<CompletableFuture<Void>> futures, long first, long last)
            throws IOException {
        IOException[] errors = new IOException[targets.size()];
        int requestErrors = 0;
        for (int i = 0; i < targets.size(); i++) {
            try {
                await(futures.get(i));
            } catch (IOException e) {
                errors[i] = e;
                requestErrors += isRequestError(e) ? 1 : 0;
            }
        }
        if (requestErrors == targets.size() && requestErrors > 0) {
            throw errors[0];
        }
        IOException failure = null;
        for (int i = 0; i < targets.size(); i++) {
            if (errors[i] != null) {
                Member member = targets.get(i);
                IOException cause = errors[i];
                failure = firstOf(failure, () -> failed(member, cause, first, last));
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    @FunctionalInterface
    private interface Step {
        void run() throws IOException;
    }

    /** Runs {@code step}; returns {@code failure}, or the step's failure if there was none before. */
    private static IOException firstOf(IOException failure, Step step) {
        try {
            step.run();
        } catch (IOException e) {
            return failure != null ? failure : e;
        }
        return failure;
    }

    private static boolean isRequestError(IOException e) {
        return e instanceof io.ballast.store.OutOfRangeException || e instanceof PoolFullException;
    }

    /**
     * Handles a replica's failure: a stale epoch fences this target; an in-sync replica leaves the in-sync
     * set by a committed change, and from then on the regions written are recorded for its resync.
     *
     * @throws IOException if the request cannot be acknowledged: fenced, or the removal was not committed
     */
    private void failed(Member member, IOException cause, long first, long last) throws IOException {
        if (cause instanceof StaleEpochException) {
            fence(member.node, cause);
        }
        changes.lock();
        try {
            ReplicaState state;
            synchronized (order) {
                state = member.state;
                if (state == ReplicaState.STALE) {
                    // Already out (another request saw the failure first): just record the regions.
                    if (member.dirty != null && first >= 0) {
                        member.dirty.add(first, last + 1);
                    }
                    return;
                }
            }
            if (state == ReplicaState.IN_SYNC) {
                log.warn("volume {}: replica on {} failed ({}); removing it from the in-sync set", volume, member.node,
                        cause.getMessage());
                try {
                    states.commit(member.node, ReplicaState.STALE);
                } catch (IOException commit) {
                    if (commit instanceof StaleEpochException) {
                        fence(member.node, commit);
                    }
                    // A request error (a full pool) leaves the channel working: the request fails, the target
                    // stays. Any other failure of the last in-sync replica leaves nothing to serve from.
                    if (!isRequestError(cause) && lastInSync(member)) {
                        lostLastReplica(member, cause);
                    }
                    throw new IOException("volume " + volume + ": replica on " + member.node + " failed ("
                            + cause.getMessage() + ") and its removal from the in-sync set could not be committed ("
                            + commit.getMessage() + "); IO fails until it can be", commit);
                }
            } else {
                // A resyncing replica is not in the set: no consensus is needed before acknowledging.
                log.warn("volume {}: replica on {} failed during its resync ({})", volume, member.node, cause.getMessage());
                commitQuietly(member.node, ReplicaState.STALE);
            }
            synchronized (order) {
                member.state = ReplicaState.STALE;
                // A replica that was in sync may lack what was written to it since its last successful flush
                // (its host's page cache may be gone) and what is written from now on. One that was resyncing
                // may hold any mix, and a failed read says nothing of where the damage is: their next resync
                // compares everything.
                member.dirty = state == ReplicaState.IN_SYNC && first != READ_FAILURE ? member.unflushedRegions()
                        : null;
                if (member.dirty != null && first >= 0) {
                    member.dirty.add(first, last + 1);
                }
                member.progress = null;
            }
            member.channel.close();
        } finally {
            changes.unlock();
        }
    }

    private boolean lastInSync(Member member) {
        synchronized (order) {
            return member.state == ReplicaState.IN_SYNC
                    && members.stream().filter(m -> m.state == ReplicaState.IN_SYNC).count() == 1;
        }
    }

    /**
     * The last in-sync replica failed, and it cannot leave the set: it holds the only complete copy. Its
     * channel is dead, and retrying the commit would fail forever, so this target closes. Opening the volume
     * again (an attach) takes a new epoch, whose channels wait out whatever IO of this one is still in flight
     * on the replica, and serves again once that replica's node is back.
     */
    private void lostLastReplica(Member member, IOException cause) throws TargetClosedException {
        closedBecause = "its last in-sync replica, on " + member.node + ", failed (" + cause.getMessage()
                + "); open it again to resume once that node is back";
        lostReplica = member.node;
        closed = true;
        log.warn("volume {}: epoch {} closed: {}", volume, epoch, closedBecause);
        member.channel.close();
        throw new TargetClosedException("volume " + volume + ": " + closedBecause);
    }

    private void fence(String node, IOException cause) throws TargetClosedException {
        fencedBy = node;
        closed = true;
        log.warn("volume {}: epoch {} is fenced ({}); this node no longer coordinates it", volume, epoch,
                cause.getMessage());
        throw new TargetClosedException("volume " + volume + " was attached elsewhere (epoch " + epoch
                + " is stale on the replica on " + node + "); this node no longer serves it");
    }

    private void commitQuietly(String node, ReplicaState state) {
        try {
            states.commit(node, state);
        } catch (IOException e) {
            log.warn("volume {}: could not record the replica on {} as {}: {}", volume, node, state, e.getMessage());
        }
    }

    /** Replicas that take writes: the in-sync ones and those resyncing. Caller holds {@link #order}. */
    private List<Member> active() {
        List<Member> list = new ArrayList<>(members.size());
        for (Member m : members) {
            if (m.state != ReplicaState.STALE) {
                list.add(m);
            }
        }
        return list;
    }

    /** The local replica if it is in sync, else the first in-sync one. */
    private Member readSource() throws IOException {
        synchronized (order) {
            Member any = null;
            for (Member m : members) {
                if (m.state == ReplicaState.IN_SYNC) {
                    if (m.node.equals(localNode)) {
                        return m;
                    }
                    if (any == null) {
                        any = m;
                    }
                }
            }
            if (any == null) {
                throw new IOException("volume " + volume + " has no in-sync replica left");
            }
            return any;
        }
    }

    // ---- membership ------------------------------------------------------------------------

    /** Replicas of the volume that are out of sync here and may be resynced: their nodes. */
    public List<String> staleReplicas() {
        List<String> list = new ArrayList<>();
        synchronized (order) {
            members.stream().filter(m -> m.state == ReplicaState.STALE).forEach(m -> list.add(m.node));
        }
        return list;
    }

    /**
     * Adds a replica that is not in sync (ha-update added it, or it was out of the set when this target
     * started); {@link #resync} brings it in. A replica already known is left as it is.
     */
    public void addStale(String node) {
        synchronized (order) {
            if (members.stream().noneMatch(m -> m.node.equals(node))) {
                members.add(new Member(node, null, ReplicaState.STALE, null));
            }
        }
    }

    /**
     * Forgets a replica the volume no longer has: its removal is committed already (ha-update dropped it,
     * or the leader replaced it after the grace period), so it goes whatever its state here; but the last
     * in-sync replica stays, as no committed change can have removed it.
     */
    public void remove(String node) {
        Member gone = null;
        synchronized (order) {
            long inSync = members.stream().filter(m -> m.state == ReplicaState.IN_SYNC).count();
            for (Member m : members) {
                if (m.node.equals(node) && (m.state != ReplicaState.IN_SYNC || inSync > 1)) {
                    gone = m;
                }
            }
            members.remove(gone);
        }
        if (gone != null && gone.channel != null) {
            gone.channel.close();
        }
    }

    /**
     * Brings a stale replica back into the in-sync set: mirrors new writes to it, compares the regions it
     * may have missed with an in-sync replica and copies those that differ, then commits it in sync. Runs
     * in the caller's thread until done; IO goes on meanwhile.
     *
     * @param channel a channel to the replica, opened with this target's epoch
     * @throws IOException if it failed; the replica is stale again and a later resync compares everything
     */
    public void resync(ReplicaChannel channel) throws IOException {
        resync(channel, quiesces.get());
    }

    /**
     * {@link #resync(ReplicaChannel)}, for a replica whose snapshots were brought up to date when
     * {@link #quiesceCount()} was {@code quiescesBefore}: it fails, and the replica stays stale, if a
     * snapshot was taken or was being taken since, as the replica would lack it.
     */
    public void resync(ReplicaChannel channel, long quiescesBefore) throws IOException {
        Member member;
        RoaringBitmap dirty;
        CompletableFuture<Void> joinMark;
        changes.lock();
        try {
            synchronized (order) {
                member = members.stream().filter(m -> m.node.equals(channel.node())).findFirst().orElse(null);
                if (member == null || member.state != ReplicaState.STALE) {
                    channel.close();
                    throw new IllegalStateException("volume " + volume + ": the replica on " + channel.node()
                            + " is not stale here");
                }
            }
            try {
                states.commit(member.node, ReplicaState.RESYNCING);
            } catch (IOException e) {
                channel.close();
                throw e;
            }
            synchronized (order) {
                // Before any write reaches it, every hot extent is marked in its log, and in the logs of the
                // replicas already taking writes (not marked while there was only one of them).
                long[] hot = activity.hot();
                for (Member m : active()) {
                    m.channel.markActivity(false, hot, NO_EXTENTS); // a failure fails the next write there
                }
                joinMark = channel.markActivity(true, hot, NO_EXTENTS);
                dirty = member.dirty;
                member.dirty = null; // from now on writes go to it; a failure makes the next resync a full one
                member.channel = channel;
                member.unflushed.clear();
                member.unflushed.addLast(new RoaringBitmap());
                member.progress = new Progress(dirty == null);
                member.state = ReplicaState.RESYNCING;
            }
        } finally {
            changes.unlock();
        }
        try {
            await(joinMark);
            // Writes issued before the join went to the other replicas only, and some may still be in flight:
            // wait for them, so that the extents read next include their blocks (later ones are mirrored).
            lockGate();
            gate.writeLock().unlock();
            Member source = readSource();
            CompletableFuture<List<Extent>> targetAsked = channel.allocatedExtents();
            List<Extent> sourceExtents = await(source.channel.allocatedExtents());
            RoaringBitmap targetHolds = RegionRuns.regionsOf(await(targetAsked));
            RegionRuns runs = dirty != null ? RegionRuns.of(dirty)
                    : RegionRuns.of(sourceExtents).or(RegionRuns.of(targetHolds));
            member.progress.start(runs.bytes(sizeBytes));
            AtomicLong copied = new AtomicLong();
            Window window = new Window(RESYNC_WINDOW);
            runs.forEachBatch(BATCH_REGIONS, (first, last) -> window.submit(() -> {
                long bytes = resyncBatch(source, channel, first, last, sourceExtents, targetHolds);
                member.progress.advance(Math.min(sizeBytes, (last + 1) * REGION_BYTES) - first * REGION_BYTES,
                        copied.addAndGet(bytes));
            }));
            window.finish();
            await(channel.flush());
            // Shared gate: no snapshot starts until the replica is in the set, and then it takes it too.
            gate.readLock().lock();
            changes.lock();
            try {
                synchronized (order) {
                    if (member.state != ReplicaState.RESYNCING || member.channel != channel) {
                        throw new IOException("the replica failed during its resync");
                    }
                }
                if (quiescesBefore % 2 != 0 || quiesces.get() != quiescesBefore) {
                    throw new IOException("a snapshot was taken during the resync, on the in-sync replicas only;"
                            + " the next resync copies it");
                }
                // In the set from the commit on: a failure after it takes the in-sync path in failed().
                states.commit(member.node, ReplicaState.IN_SYNC);
                synchronized (order) {
                    member.state = ReplicaState.IN_SYNC;
                    member.progress = null;
                }
            } finally {
                changes.unlock();
                gate.readLock().unlock();
            }
            log.info("volume {}: replica on {} is in sync again; {} bytes compared, {} copied", volume, member.node,
                    runs.bytes(sizeBytes), copied.get());
        } catch (IOException | RuntimeException e) {
            boolean mine;
            synchronized (order) {
                mine = member.channel == channel && member.state == ReplicaState.RESYNCING;
                if (mine) {
                    member.state = ReplicaState.STALE;
                    member.dirty = null;
                    member.progress = null;
                }
            }
            if (mine) {
                commitQuietly(member.node, ReplicaState.STALE);
            }
            channel.close();
            throw e instanceof IOException io ? io : new IOException(e.getMessage(), e);
        }
    }

    /**
     * Makes regions first..last of the replica behind {@code target} equal to {@code source}'s, under their
     * exclusive locks, so that no write to them is in flight meanwhile (see {@link ReplicaCopier#copyRegions}).
     *
     * @return the bytes copied
     */
    private long resyncBatch(Member source, ReplicaChannel target, long first, long last, List<Extent> sourceExtents,
                             RoaringBitmap targetHolds) throws IOException {
        regions.lockExclusive(first, last);
        try {
            return ReplicaCopier.copyRegions(source.channel, target, first, last, sizeBytes, sourceExtents, targetHolds);
        } finally {
            regions.unlockExclusive(first, last);
        }
    }

    /** Runs steps on virtual threads, at most {@code width} at a time; a failure stops the ones not started. */
    private final class Window {
        private final int width;
        private final java.util.concurrent.Semaphore slots;
        private final java.util.concurrent.atomic.AtomicReference<Exception> failure =
                new java.util.concurrent.atomic.AtomicReference<>();

        Window(int width) {
            this.width = width;
            this.slots = new java.util.concurrent.Semaphore(width);
        }

        void submit(Step step) throws IOException {
            acquire(1);
            if (failure.get() != null) {
                slots.release();
                finish(); // the steps still running end first: they hold region locks
            }
            Thread.ofVirtual().name("resync-" + volume).start(() -> {
                try {
                    step.run();
                } catch (IOException | RuntimeException e) {
                    failure.compareAndSet(null, e);
                } finally {
                    slots.release();
                }
            });
        }

        /** Waits for every step; throws the first failure. */
        void finish() throws IOException {
            acquire(width);
            slots.release(width);
            Exception e = failure.get();
            if (e != null) {
                throw e instanceof IOException io ? io : new IOException(e.getMessage(), e);
            }
        }

        private void acquire(int permits) throws IOException {
            try {
                slots.acquire(permits);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted during the resync of volume " + volume);
            }
        }
    }

    /**
     * Makes the in-sync replicas byte-identical where they may differ, before the first request: after a
     * coordinator died, writes it had in flight may have reached some replicas and not others, or been
     * lost with a replica's page cache. Those writes lie in the extents the replicas' activity logs mark,
     * so the regions of the union of their logs are compared, or, if a log is unknown, every region that
     * holds data on any replica. The first replica (the local one, if in sync) wins. Then the copies are
     * flushed and the logs cleared: from here on this coordinator marks what it writes.
     *
     * @return the bytes copied
     */
    public long reconcile() throws IOException {
        for (;;) {
            List<Member> inSync;
            synchronized (order) {
                inSync = members.stream().filter(m -> m.state == ReplicaState.IN_SYNC)
                        .sorted((a, b) -> Boolean.compare(!a.node.equals(localNode), !b.node.equals(localNode)))
                        .toList();
            }
            try {
                return reconcile(inSync);
            } catch (MemberFailure e) {
                // A replica that fails now (its node died during the takeover) leaves the set, committed, and
                // the others are reconciled without it; its resync compares everything. If it was the last
                // in-sync replica the commit is refused and the attach fails.
                failed(e.member, e.cause(), READ_FAILURE, READ_FAILURE);
            }
        }
    }

    private long reconcile(List<Member> inSync) throws IOException {
        long[] copied = {0};
        if (inSync.size() > 1) {
            RegionRuns runs = activeRegions(inSync);
            Member reference = inSync.getFirst();
            compare(inSync, runs, (from, to, sums) -> {
                for (int r = 0; r < sums[0].length; r++) {
                    long at = from + (long) r * REGION_BYTES;
                    int length = (int) Math.min(REGION_BYTES, to - at);
                    ByteBuffer data = null;
                    for (int i = 1; i < inSync.size(); i++) {
                        if (sums[i][r] != sums[0][r]) {
                            if (data == null) {
                                data = ByteBuffer.allocate(length);
                                awaitFrom(reference, reference.channel.read(at, data.duplicate()));
                            }
                            Member target = inSync.get(i);
                            awaitFrom(target, target.channel.write(at, data.duplicate(), false));
                            copied[0] += length;
                        }
                    }
                }
            });
            log.info("volume {}: reconciled {} in-sync replicas: {} bytes compared, {} copied", volume, inSync.size(),
                    runs.bytes(sizeBytes), copied[0]);
        }
        // Every in-sync replica, the reference too (and a lone one): what the dead coordinator left in a page
        // cache must be durable before the logs that mark it are emptied.
        for (Member m : inSync) {
            awaitFrom(m, m.channel.flush());
        }
        for (Member m : inSync) {
            awaitFrom(m, m.channel.markActivity(true, NO_EXTENTS, NO_EXTENTS));
        }
        return copied[0];
    }

    /** A request to one replica failed: the replica, not the operation, is at fault. */
    private static final class MemberFailure extends IOException {
        final transient Member member;

        MemberFailure(Member member, IOException cause) {
            super("the replica on " + member.node + " failed: " + cause.getMessage(), cause);
            this.member = member;
        }

        @Override
        public synchronized IOException getCause() {
            return (IOException) super.getCause();
        }

        IOException cause() {
            return getCause();
        }
    }

    private static <T> T awaitFrom(Member member, CompletableFuture<T> future) throws MemberFailure {
        try {
            return await(future);
        } catch (IOException e) {
            throw new MemberFailure(member, e);
        }
    }

    /** The regions the replicas' activity logs mark, or every region holding data if a log is unknown. */
    private RegionRuns activeRegions(List<Member> replicas) throws IOException {
        List<CompletableFuture<long[]>> asked = new ArrayList<>();
        replicas.forEach(m -> asked.add(m.channel.activeExtents()));
        List<Extent> marked = new ArrayList<>();
        for (int i = 0; i < asked.size(); i++) {
            long[] extents = awaitFrom(replicas.get(i), asked.get(i));
            if (extents == null) {
                log.warn("volume {}: the activity log of the replica on {} is damaged; comparing every region that"
                        + " holds data", volume, replicas.get(i).node);
                return RegionRuns.of(allocated(replicas));
            }
            for (long extent : extents) {
                long from = extent * ActivityTracker.EXTENT_BYTES;
                if (from < sizeBytes) {
                    marked.add(new Extent(from, Math.min(sizeBytes - from, ActivityTracker.EXTENT_BYTES)));
                }
            }
        }
        return RegionRuns.of(marked);
    }

    /** Compares the in-sync replicas region by region (under the region locks, while IO goes on). */
    public VerifyReport verify() throws IOException {
        List<Member> inSync;
        synchronized (order) {
            inSync = members.stream().filter(m -> m.state == ReplicaState.IN_SYNC).toList();
        }
        List<VerifyReport.Difference> listed = new ArrayList<>();
        long[] counts = {0, 0}; // regions compared, regions differing
        compareAll(inSync, (from, to, sums) -> {
            for (int r = 0; r < sums[0].length; r++) {
                counts[0]++;
                boolean same = true;
                for (int i = 1; i < inSync.size(); i++) {
                    same &= sums[i][r] == sums[0][r];
                }
                if (!same) {
                    counts[1]++;
                    if (listed.size() < VerifyReport.MAX_LISTED) {
                        long at = from + (long) r * REGION_BYTES;
                        Map<String, String> byNode = new LinkedHashMap<>();
                        for (int i = 0; i < inSync.size(); i++) {
                            byNode.put(inSync.get(i).node, HexFormat.of().toHexDigits(sums[i][r]));
                        }
                        listed.add(new VerifyReport.Difference(at, Math.min(REGION_BYTES, to - at), byNode));
                    }
                }
            }
        });
        return new VerifyReport(inSync.stream().map(m -> m.node).toList(), REGION_BYTES, counts[0], listed, counts[1]);
    }

    @FunctionalInterface
    private interface Compared {
        void accept(long from, long to, long[][] checksums) throws IOException;
    }

    /** Checksums of every member over the regions any of them holds data in, a batch at a time under lock. */
    private void compareAll(List<Member> replicas, Compared action) throws IOException {
        compare(replicas, RegionRuns.of(allocated(replicas)), action);
    }

    /** Checksums of every member over {@code runs}, a batch at a time under lock. */
    private void compare(List<Member> replicas, RegionRuns runs, Compared action) throws IOException {
        runs.forEachBatch(BATCH_REGIONS, (first, last) -> {
            long from = first * REGION_BYTES;
            long to = Math.min(sizeBytes, (last + 1) * REGION_BYTES);
            regions.lockExclusive(first, last);
            try {
                List<CompletableFuture<long[]>> asked = new ArrayList<>();
                replicas.forEach(m -> asked.add(m.channel.checksums(from, to - from, REGION_BYTES)));
                long[][] sums = new long[replicas.size()][];
                for (int i = 0; i < sums.length; i++) {
                    sums[i] = awaitFrom(replicas.get(i), asked.get(i));
                }
                action.accept(from, to, sums);
            } finally {
                regions.unlockExclusive(first, last);
            }
        });
    }

    private List<Extent> allocated(List<Member> replicas) throws IOException {
        List<Extent> all = new ArrayList<>();
        for (Member m : replicas) {
            all.addAll(awaitFrom(m, m.channel.allocatedExtents()));
        }
        return all;
    }

    // ---- quiesce, close --------------------------------------------------------------------

    @FunctionalInterface
    public interface Quiesced<T> {
        T run(List<String> inSyncNodes) throws IOException;
    }

    /**
     * Runs {@code action} with no request in flight and none starting: the same point of the write stream
     * on every replica, for a consistent snapshot. {@code action} gets the in-sync replicas' nodes.
     */
    public <T> T quiesced(Quiesced<T> action) throws IOException {
        lockGate();
        try {
            ensureServing();
            List<String> inSync = new ArrayList<>();
            synchronized (order) {
                members.stream().filter(m -> m.state == ReplicaState.IN_SYNC).forEach(m -> inSync.add(m.node));
            }
            quiesces.incrementAndGet(); // odd while it runs
            try {
                return action.run(inSync);
            } finally {
                quiesces.incrementAndGet();
            }
        } finally {
            gate.writeLock().unlock();
        }
    }

    /**
     * A count of the {@link #quiesced} actions (snapshots) begun and ended: odd while one runs. A resync that
     * brought a replica's snapshots up to date passes the count it read before to {@link #resync(ReplicaChannel,
     * long)}, which refuses to make the replica in sync if a snapshot was taken since, on the others only.
     */
    public long quiesceCount() {
        return quiesces.get();
    }

    /**
     * Stops accepting requests, waits for the ones in flight, and flushes every replica that takes writes,
     * so that a detach leaves every acknowledged write durable. If the flush fails the target stays closed
     * to IO and a later close tries again; once one succeeded, close does nothing more.
     */
    @Override
    public void close() throws IOException {
        lockGate();
        try {
            // Fenced, or closed by the loss of its last in-sync replica: there is nothing a flush could reach
            // that the next coordinator's reconcile does not flush anyway.
            boolean wasFenced = fencedBy != null || closedBecause != null;
            closed = true;
            if (!drained && !wasFenced) {
                flushActive(); // a failure leaves the channels open: a retried close flushes again
                drained = true;
                clearActivityLogs();
            }
            closeChannels();
        } finally {
            gate.writeLock().unlock();
        }
    }

    /**
     * Stops serving at once, without a flush: the volume was attached elsewhere since (the metadata shows a
     * newer epoch), so this node is not its coordinator any more, whether or not a replica said so yet.
     */
    public void abandon(String why) {
        fencedBy = why;
        closed = true;
        log.warn("volume {}: epoch {} abandoned: {}", volume, epoch, why);
        gate.writeLock().lock(); // waits for the requests in flight: each ends within its channel's timeout
        try {
            closeChannels();
        } finally {
            gate.writeLock().unlock();
        }
    }

    /**
     * After the last flush nothing is in flight: the logs are emptied, so the next attach has nothing to
     * reconcile. A failure only costs that attach a compare of what the logs still mark.
     */
    private void clearActivityLogs() {
        List<Member> targets;
        synchronized (order) {
            targets = active();
        }
        for (Member m : targets) {
            try {
                await(m.channel.markActivity(true, NO_EXTENTS, NO_EXTENTS));
            } catch (IOException e) {
                log.warn("volume {}: the activity log of the replica on {} could not be cleared at detach: {}",
                        volume, m.node, e.getMessage());
            }
        }
    }

    private void closeChannels() {
        synchronized (order) {
            members.stream().filter(m -> m.channel != null).forEach(m -> m.channel.close());
        }
    }

    private void lockGate() throws IOException {
        try {
            if (!gate.writeLock().tryLock(CLOSE_DRAIN_SECONDS, TimeUnit.SECONDS)) {
                throw new IOException("volume " + volume + ": requests still in flight after "
                        + CLOSE_DRAIN_SECONDS + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for the requests on volume " + volume);
        }
    }

    private void ensureServing() throws IOException {
        if (closed) {
            throw new TargetClosedException(closedBecause != null ? "volume " + volume + ": " + closedBecause
                    : "volume " + volume + " is no longer attached here (epoch " + epoch + ")"
                            + (fencedBy != null ? "; it was attached elsewhere since" : ""));
        }
        if (!leaseValid.getAsBoolean()) {
            throw new TargetClosedException("volume " + volume + ": this node's lease has lapsed (it cannot reach the"
                    + " cluster), so it serves no IO until it renews it");
        }
    }

    /**
     * A full pool fails every write that needs space, possibly thousands a second: say so in the log, but
     * once a minute per volume at most.
     */
    private void reportFull(PoolFullException e) {
        long now = System.nanoTime();
        long last = lastFullReport;
        if (last == 0 || now - last > FULL_REPORT_INTERVAL_NANOS) {
            lastFullReport = now;
            log.warn("volume {}: writes fail, the pool is full ({}); free space by trimming, deleting snapshots"
                    + " or volumes", volume, e.getMessage());
        }
    }

    @FunctionalInterface
    private interface Io {
        void run() throws IOException;
    }

    @FunctionalInterface
    private interface Mutation {
        CompletableFuture<Void> issue(ReplicaChannel channel);
    }

    /** Runs one request through the gate and reports it to the observer, failed or not. */
    private void run(IoObserver.Op op, long bytes, Io io) throws IOException {
        gate.readLock().lock();
        long start = System.nanoTime();
        boolean ok = false;
        try {
            ensureServing();
            io.run();
            ok = true;
        } catch (PoolFullException e) {
            reportFull(e);
            throw e;
        } finally {
            gate.readLock().unlock();
            observer.completed(op, bytes, System.nanoTime() - start, ok);
        }
    }

    static <T> T await(CompletableFuture<T> future) throws IOException {
        try {
            return future.get(REQUEST_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            throw new IOException(cause.getMessage(), cause);
        } catch (TimeoutException e) {
            throw new IOException("a replica did not answer in " + REQUEST_TIMEOUT_SECONDS + " s", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for a replica");
        }
    }

    /** One replica as this coordinator tracks it. Fields are guarded by {@link #order}. */
    private static final class Member {
        final String node;
        ReplicaChannel channel;
        ReplicaState state;
        /** Regions written while stale, or null when unknown (its next resync compares everything). */
        RoaringBitmap dirty;
        /**
         * Regions written to it and not yet covered by a successful flush of it, one map per flush issued
         * (the last one is being filled): a flush covers every write issued before it, so when it succeeds its
         * map and every older one are dropped.
         */
        final java.util.ArrayDeque<RoaringBitmap> unflushed = new java.util.ArrayDeque<>(List.of(new RoaringBitmap()));
        Progress progress;

        Member(String node, ReplicaChannel channel, ReplicaState state, RoaringBitmap dirty) {
            this.node = node;
            this.channel = channel;
            this.state = state;
            this.dirty = dirty;
        }

        /** A flush is issued: the map of the writes it covers is sealed, and a new one starts. */
        RoaringBitmap seal() {
            RoaringBitmap sealed = unflushed.getLast();
            unflushed.addLast(new RoaringBitmap());
            return sealed;
        }

        /** The flush that sealed {@code sealed} succeeded: that map and every older one are durable. */
        void flushed(RoaringBitmap sealed) {
            // By identity: RoaringBitmap.equals compares contents, and two empty maps are equal, so contains()
            // could find a newer map in place of one a later flush already dropped, and empty the queue.
            if (unflushed.stream().noneMatch(map -> map == sealed)) {
                return; // a later flush already dropped it
            }
            while (unflushed.getFirst() != sealed) {
                unflushed.removeFirst();
            }
            unflushed.removeFirst();
            if (unflushed.isEmpty()) {
                unflushed.addLast(new RoaringBitmap());
            }
        }

        /** Every region written and not known durable on it. */
        RoaringBitmap unflushedRegions() {
            RoaringBitmap all = new RoaringBitmap();
            unflushed.forEach(all::or);
            unflushed.clear();
            unflushed.addLast(new RoaringBitmap());
            return all;
        }
    }

    /** Counters of one resync, written by its thread and read by inspect. */
    private static final class Progress {
        private final boolean full;
        private final long startNanos = System.nanoTime();
        /** -1 until the regions to compare are known. */
        private volatile long toCheck = -1;
        private volatile long checked;
        private volatile long copied;

        Progress(boolean full) {
            this.full = full;
        }

        void start(long bytes) {
            toCheck = bytes;
        }

        boolean started() {
            return toCheck >= 0;
        }

        /** From the resync's batches, several at once. */
        synchronized void advance(long bytes, long copiedSoFar) {
            checked += bytes;
            copied = Math.max(copied, copiedSoFar);
        }

        ResyncProgress snapshot(String node) {
            double seconds = (System.nanoTime() - startNanos) / 1e9;
            double rate = seconds > 0 ? checked / seconds : 0;
            long eta = rate > 0 ? Math.round((toCheck - checked) / rate) : -1;
            return new ResyncProgress(node, full, toCheck, checked, copied, rate, eta);
        }
    }
}
