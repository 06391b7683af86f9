package io.ballast.store;

import static io.ballast.store.Layer.BLOCK;
import static io.ballast.store.Layer.OFFSET_MASK;
import static io.ballast.store.Layer.SHIFT;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;

/**
 * One volume's replica: block IO over its chain of layers, plus the snapshot operations, which
 * the pool carries out because they change the layer tree that replicas share.
 *
 * <p>Locking: every IO holds the shared side of {@link #structure}; a change of the chain
 * (snapshot, restore, the switch at the end of a merge, delete, close) holds the exclusive
 * side, so an IO sees one chain from start to end. Writers to the head also lock the stripes
 * of the blocks they touch, one chunk of at most {@link #CHUNK_BLOCKS} at a time, which makes
 * "read old block, merge, write whole block" atomic against other writers and against a merge
 * copying into the head, while plain reads take no stripe at all.
 *
 * <p>Fencing: the replica keeps the highest attach epoch it has admitted in its manifest. IO run
 * {@link #fenced} by an older epoch fails, and admitting a newer one waits for fenced IO in flight,
 * so once {@link #admitEpoch} returns, the coordinator of an older attachment can change nothing.
 */
public final class Replica {
    /**
     * Most blocks a write or discard holds stripes for at once. The stripes are shared by
     * every replica of the pool, so one request over thousands of blocks (NBD allows 32 MiB
     * writes and 4 GiB trims) would lock them all and stall IO on every volume of the pool
     * until it finished. NBD does not make a request atomic, so large ones go chunk by chunk,
     * each with its own stripes and its own exact space reservation; a failure leaves the
     * chunks before it done. Chunks are aligned to multiples of this, so a chunk boundary
     * inside a request is always a block boundary.
     */
    static final int CHUNK_BLOCKS = 256;

    private static final ThreadLocal<ByteBuffer> SCRATCH =
            ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(BLOCK));
    /** Most bytes {@link #checksums} reads at once. */
    private static final int CHECKSUM_READ_BYTES = 1 << 20;
    /** Checksums of all-zero regions by length, for power-of-two lengths only: 31 entries at most. */
    private static final ConcurrentHashMap<Integer, Long> ZERO_CHECKSUMS = new ConcurrentHashMap<>();
    /** The manifest key of the admitted epoch; manifests written before fencing lack it and read as 0. */
    private static final String EPOCH = "epoch";

    private final Pool pool;
    private final String id;
    final int salt;
    final ReentrantReadWriteLock structure = new ReentrantReadWriteLock();
    final AtomicLong ownBlocks = new AtomicLong();
    private volatile long size;
    /** Head first, then each parent down to the root; replaced, never mutated. */
    private volatile Layer[] chain;
    private volatile Snapshots named = new Snapshots(List.of(), Collections.emptyList());
    /** Snapshot name to layer, oldest first; guarded by the pool's structure lock. */
    private Map<String, Layer> snapshotLayers = Map.of();
    private volatile boolean closed;
    /**
     * The highest epoch admitted. It is in the manifest before it changes here, and it changes only
     * under the exclusive side of {@link #structure}, so fenced IO sees one value from start to end.
     */
    private volatile long epoch;
    /**
     * Serializes writes of the manifest: the pool's structural changes (under its lock) and
     * {@link #admitEpoch} (not under it, so an attach never waits for a merge the pool is doing).
     */
    private final ReentrantLock manifestLock = new ReentrantLock();
    /** The manifest as last written; guarded by manifestLock. */
    private Properties manifest;
    /** Set by the pool before the replica is published. */
    private ActivityLog activityLog;

    Replica(Pool pool, String id, long size, int salt) {
        this.pool = pool;
        this.id = id;
        this.size = size;
        this.salt = salt;
    }

    public String id() {
        return id;
    }

    public long sizeBytes() {
        return size;
    }

    public long usedBytes() {
        return ownBlocks.get() * BLOCK;
    }

    /** The highest attach epoch admitted; 0 until the first. */
    public long epoch() {
        return epoch;
    }

    /**
     * Admits the fencing epoch of a new attachment: from then on, IO {@link #fenced} by an older
     * epoch fails. The epoch is in the manifest, durably, before this returns and before
     * {@link #epoch()} shows it, so the fence survives a crash. Admitting the current epoch again
     * writes nothing. The exclusive lock waits for the IO in flight and keeps new IO out while the
     * manifest is written: an attach is rare, and the IO it holds up is the old coordinator's.
     *
     * @throws StaleEpochException if a newer epoch was admitted already
     */
    public void admitEpoch(long newEpoch) throws IOException {
        Lock exclusive = structure.writeLock();
        exclusive.lock();
        try {
            ensureOpen();
            checkEpoch(newEpoch);
            if (newEpoch == epoch) {
                return;
            }
            manifestLock.lock();
            try {
                persistManifest((Properties) manifest.clone(), newEpoch);
                epoch = newEpoch;
            } finally {
                manifestLock.unlock();
            }
        } finally {
            exclusive.unlock();
        }
    }

    /**
     * Runs {@code io}, IO on this replica, for the attachment of {@code epoch}: fails with
     * {@link StaleEpochException} if a newer epoch was admitted, and no newer one can be admitted
     * while io runs. Checking {@link #epoch()} first and doing the IO after would let a request
     * that passed the check land after the next coordinator had taken over and reconciled the
     * replicas. {@code io} must not snapshot, restore, delete a snapshot or admit an epoch: those
     * take the exclusive lock this holds the shared side of.
     */
    public <T> T fenced(long epoch, Io<T> io) throws IOException {
        Lock shared = structure.readLock();
        shared.lock();
        try {
            checkEpoch(epoch);
            return io.run();
        } finally {
            shared.unlock();
        }
    }

    /** The size of the extents {@link #activeExtents} and {@link #markActivity} count in. */
    public static int activityExtentBytes() {
        return ActivityLog.EXTENT_BYTES;
    }

    /**
     * The extents of {@link #activityExtentBytes} that this replica's coordinators marked hot and did not
     * unmark since, sorted: where the replica may differ from the others after a coordinator died. Null
     * if the log is unknown (a crash tore it), in which case any region may differ.
     */
    public long[] activeExtents() throws IOException {
        ensureOpen();
        return activityLog.extents();
    }

    /**
     * Marks extents hot and unmarks others in the activity log, durably before it returns; with
     * {@code replace} the log becomes exactly {@code add}. A coordinator marks an extent before it writes
     * into it (see {@link ActivityLog}).
     */
    public void markActivity(boolean replace, long[] add, long[] remove) throws IOException {
        ensureOpen();
        activityLog.update(replace, add, remove);
    }

    void activity(ActivityLog log) {
        activityLog = log;
    }

    ActivityLog activityLog() {
        return activityLog;
    }

    /** IO run {@link #fenced}. */
    @FunctionalInterface
    public interface Io<T> {
        T run() throws IOException;
    }

    public void read(long offset, ByteBuffer dst) throws IOException {
        int length = dst.remaining();
        checkRange(offset, length);
        Lock shared = structure.readLock();
        shared.lock();
        try {
            ensureOpen();
            Layer[] layers = chain;
            long end = offset + length;
            long position = offset;
            long block = offset >>> SHIFT;
            Layer source = topmost(layers, 0, block);
            // Coalesce consecutive blocks that come from the same layer into one pread.
            while (position < end) {
                long runEnd = Math.min(end, (block + 1) << SHIFT);
                Layer next = null;
                while (runEnd < end) {
                    next = topmost(layers, 0, ++block);
                    if (next != source) {
                        break;
                    }
                    runEnd = Math.min(end, (block + 1) << SHIFT);
                }
                int n = (int) (runEnd - position);
                if (source == null) {
                    Layer.fillZeroes(dst, n);
                } else {
                    source.read(dst, position, n);
                }
                position = runEnd;
                source = next;
            }
        } finally {
            shared.unlock();
        }
    }

    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        int length = src.remaining();
        checkRange(offset, length);
        if (length == 0) {
            return;
        }
        Lock shared = structure.readLock();
        shared.lock();
        try {
            ensureOpen();
            Layer[] layers = chain;
            long end = offset + length;
            int srcStart = src.position();
            for (long position = offset; position < end; ) {
                long chunkEnd = chunkEnd(position, end);
                writeChunk(layers, position, src, srcStart + (int) (position - offset), (int) (chunkEnd - position));
                position = chunkEnd;
            }
            src.position(src.limit());
            if (fua) {
                layers[0].force();
            }
        } finally {
            shared.unlock();
        }
    }

    /** fdatasync of the head; a snapshot syncs the head it freezes, so no other layer can be dirty. */
    public void flush() throws IOException {
        Lock shared = structure.readLock();
        shared.lock();
        try {
            ensureOpen();
            chain[0].sync();
        } finally {
            shared.unlock();
        }
    }

    /**
     * Discards the whole 4 KiB blocks inside the range; they read as zeroes afterwards. Partial
     * blocks at the edges are left alone, as NBD allows. A block that a snapshot below still
     * holds must be shadowed by a block of zeroes in the head, which needs space, so trim can
     * fail with PoolFullException when the volume has snapshots.
     */
    public void trim(long offset, long length) throws IOException {
        discard(offset, length, false, false);
    }

    /** Makes exactly the range read as zeroes, deallocating whole blocks where it can. */
    public void writeZeroes(long offset, long length, boolean fua) throws IOException {
        discard(offset, length, true, fua);
    }

    /**
     * Checksums of the content over {@code [offset, offset + length)}, one per region of
     * {@code regionBytes} (a power of two of at least 4 KiB; the last region may be shorter): of
     * exactly what {@link #read} returns, holes as zeroes, whatever layers hold the blocks. A
     * checksum is {@code (long) CRC32C << 32 | CRC32} of the region's bytes (both CRCs are hardware
     * accelerated), a function of the content alone, so equal content gives equal checksums on
     * every node. A region that no layer holds a block of is not read: its checksum is that of
     * zeroes.
     *
     * <p>Concurrent writes may or may not show; each region is checksummed over one chain.
     */
    public long[] checksums(long offset, long length, int regionBytes) throws IOException {
        if (regionBytes < BLOCK || Integer.bitCount(regionBytes) != 1) {
            throw new IllegalArgumentException("region size must be a power of two of at least " + BLOCK
                    + " bytes: " + regionBytes);
        }
        checkRange(offset, length);
        long regions = (length + regionBytes - 1) / regionBytes;
        if (regions > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(regions + " regions of " + regionBytes + " bytes are too many for"
                    + " one answer; ask for less at a time");
        }
        long[] sums = new long[(int) regions];
        long end = offset + length;
        CRC32C crc32c = new CRC32C();
        CRC32 crc32 = new CRC32();
        ByteBuffer buffer = null; // allocated at the first region that holds data
        Lock shared = structure.readLock();
        for (int i = 0; i < sums.length; i++) {
            long start = offset + (long) i * regionBytes;
            int n = (int) Math.min(regionBytes, end - start);
            shared.lock();
            try {
                ensureOpen();
                if (!holdsAny(chain, start, start + n)) {
                    sums[i] = zeroChecksum(n);
                    continue;
                }
                if (buffer == null) {
                    buffer = ByteBuffer.allocateDirect(Math.min(regionBytes, CHECKSUM_READ_BYTES));
                }
                crc32c.reset();
                crc32.reset();
                for (long position = start; position < start + n; ) {
                    int chunk = (int) Math.min(buffer.capacity(), start + n - position);
                    read(position, buffer.clear().limit(chunk));
                    crc32c.update(buffer.flip());
                    crc32.update(buffer.rewind());
                    position += chunk;
                }
                sums[i] = checksum(crc32c, crc32);
            } finally {
                shared.unlock();
            }
        }
        return sums;
    }

    /**
     * The ranges where some layer of the chain holds a block, 4 KiB aligned, sorted, adjacent ones
     * merged: what a full rebuild must copy. They come from the layers' in-memory indexes; blocks
     * of zeroes that shadow a snapshot's data after a trim count as data.
     */
    public List<Extent> allocatedExtents() throws IOException {
        Lock shared = structure.readLock();
        shared.lock();
        try {
            ensureOpen();
            List<BlockIndex> indexes = new ArrayList<>();
            for (Layer layer : chain) {
                indexes.add(layer.index);
            }
            return BlockIndex.extentsOfUnion(indexes);
        } finally {
            shared.unlock();
        }
    }

    public void snapshot(String name) throws IOException {
        pool.snapshot(this, name, null);
    }

    /**
     * A snapshot with a tag: its identity across the replicas of a volume, so that a name deleted and taken
     * again while a replica was away is not mistaken for the snapshot that replica still has.
     */
    public void snapshot(String name, String tag) throws IOException {
        pool.snapshot(this, name, tag);
    }

    /** The snapshot names, oldest first. */
    public List<String> snapshots() {
        return named.names();
    }

    /** The snapshot names, oldest first, with their tags, as one consistent view. */
    public Snapshots snapshotsWithTags() {
        return named;
    }

    /**
     * A replica's snapshots.
     *
     * @param names oldest first
     * @param tags  the tag of each name, in the same order; null where a snapshot has none
     */
    public record Snapshots(List<String> names, List<String> tags) {
    }

    public void deleteSnapshot(String name) throws IOException {
        pool.deleteSnapshot(this, name);
    }

    public void restore(String snapshotName) throws IOException {
        pool.restore(this, snapshotName);
    }

    public void grow(long newSizeBytes) throws IOException {
        pool.grow(this, newSizeBytes);
    }

    @Override
    public String toString() {
        return "Replica[" + id + "]";
    }

    private void discard(long offset, long length, boolean exact, boolean fua) throws IOException {
        checkRange(offset, length);
        if (length == 0) {
            return;
        }
        Lock shared = structure.readLock();
        shared.lock();
        try {
            ensureOpen();
            Layer[] layers = chain;
            long end = offset + length;
            for (long position = offset; position < end; ) {
                long chunkEnd = chunkEnd(position, end);
                discardChunk(layers, position, chunkEnd, exact);
                position = chunkEnd;
            }
            if (fua) {
                layers[0].force();
            }
        } finally {
            shared.unlock();
        }
    }

    /** The end of the chunk that {@code position} is in, or {@code end} if that comes first. */
    private static long chunkEnd(long position, long end) {
        long nextChunk = ((position >>> SHIFT) / CHUNK_BLOCKS + 1) * CHUNK_BLOCKS;
        return Math.min(end, nextChunk << SHIFT);
    }

    /** Writes src[srcOffset, srcOffset+length), which lies within one chunk, at {@code offset}. */
    private void writeChunk(Layer[] layers, long offset, ByteBuffer src, int srcOffset, int length)
            throws IOException {
        Layer head = layers[0];
        long first = offset >>> SHIFT;
        long last = (offset + length - 1) >>> SHIFT;
        pool.stripes.lock(salt, first, last);
        try {
            long fresh = 0;
            for (long b = first; b <= last; b++) {
                if (!head.holds(b)) {
                    fresh++;
                }
            }
            pool.space.reserve(fresh);
            try {
                writeRange(layers, offset, src, srcOffset, length);
            } catch (IOException | RuntimeException e) {
                undo(head, first, last, fresh, e);
                throw e;
            }
            long added = 0;
            for (long b = first; b <= last; b++) {
                if (head.markPresent(b)) {
                    added++;
                }
            }
            pool.space.release(fresh - added);
        } finally {
            pool.stripes.unlock(salt, first, last);
        }
    }

    /** Discards [offset, end), which lies within one chunk; see {@link #trim} and {@link #writeZeroes}. */
    private void discardChunk(Layer[] layers, long offset, long end, boolean exact) throws IOException {
        long wholeFirst = (offset + OFFSET_MASK) >>> SHIFT;
        long wholeEnd = end >>> SHIFT; // exclusive
        if (!exact && wholeFirst >= wholeEnd) {
            return; // only part of a block, which trim leaves alone
        }
        Layer head = layers[0];
        long first = offset >>> SHIFT;
        long last = (end - 1) >>> SHIFT;
        pool.stripes.lock(salt, first, last);
        try {
            long fresh = 0;
            for (long b = first; b <= last; b++) {
                boolean whole = b >= wholeFirst && b < wholeEnd;
                if (!head.holds(b) && (whole || exact) && topmost(layers, 1, b) != null) {
                    fresh++; // a shadow block of zeroes, or a partial block copied up
                }
            }
            pool.space.reserve(fresh);
            Reservation reservation = new Reservation(fresh);
            try {
                long position = offset;
                if (exact && (offset & OFFSET_MASK) != 0) {
                    long to = Math.min(end, wholeFirst << SHIFT);
                    zeroPartial(layers, offset, (int) (to - offset), reservation);
                    position = to;
                }
                if (wholeFirst < wholeEnd) {
                    discardWhole(layers, wholeFirst, wholeEnd, reservation);
                    position = wholeEnd << SHIFT;
                }
                if (exact && position < end) {
                    zeroPartial(layers, position, (int) (end - position), reservation);
                }
            } catch (IOException | RuntimeException e) {
                undo(head, first, last, reservation.left, e);
                throw e;
            }
            pool.space.release(reservation.left);
        } finally {
            pool.stripes.unlock(salt, first, last);
        }
    }

    /**
     * Whole blocks: where no lower layer holds the block, the head gives it back to the
     * filesystem. Where one does, a hole in the head would let the old data show through, so
     * the head keeps real zero bytes. A separate "zeroed" bitmap would save that space but would
     * need persisting and fsyncing of its own; zero bytes keep the single rule that a layer's
     * allocation is its index.
     */
    private void discardWhole(Layer[] layers, long from, long to, Reservation reservation) throws IOException {
        Layer head = layers[0];
        long b = from;
        while (b < to) {
            boolean shadow = topmost(layers, 1, b) != null;
            boolean inHead = head.holds(b);
            long runStart = b;
            b++;
            // Extend the run while the next block needs the same treatment.
            while (b < to && (topmost(layers, 1, b) != null) == shadow && (shadow || head.holds(b) == inHead)) {
                b++;
            }
            if (shadow) {
                head.writeZeroBlocks(runStart, b - runStart);
                for (long x = runStart; x < b; x++) {
                    if (head.markPresent(x)) {
                        reservation.left--;
                    }
                }
            } else if (inHead) {
                head.punch(runStart, b - runStart);
                pool.space.release(b - runStart);
            }
        }
    }

    /** Zeroes part of one block. */
    private void zeroPartial(Layer[] layers, long position, int length, Reservation reservation)
            throws IOException {
        long block = position >>> SHIFT;
        if (topmost(layers, 0, block) == null) {
            return; // reads as zeroes already
        }
        writePartial(layers, position, Layer.zeros(), 0, length);
        if (layers[0].markPresent(block)) {
            reservation.left--;
        }
    }

    /** Writes src[srcOffset, srcOffset+length) at volume offset {@code offset} into the head. */
    private void writeRange(Layer[] layers, long offset, ByteBuffer src, int srcOffset, int length)
            throws IOException {
        long end = offset + length;
        long position = offset;
        if ((position & OFFSET_MASK) != 0 || end - position < BLOCK) {
            long blockEnd = Math.min(end, ((position >>> SHIFT) + 1) << SHIFT);
            writePartial(layers, position, src, srcOffset, (int) (blockEnd - position));
            position = blockEnd;
        }
        long wholeEnd = end & ~OFFSET_MASK;
        if (position < wholeEnd) {
            layers[0].write(src, srcOffset + (int) (position - offset), position, (int) (wholeEnd - position));
            position = wholeEnd;
        }
        if (position < end) {
            writePartial(layers, position, src, srcOffset + (int) (position - offset), (int) (end - position));
        }
    }

    /**
     * Part of one block. If the head holds the block, the bytes go straight into it. Otherwise
     * the block is copied up: the old content comes from the topmost lower layer (or zeroes),
     * the new bytes are merged in, and the whole block is written with one pwrite, so the head
     * never holds a partially written block.
     */
    private void writePartial(Layer[] layers, long position, ByteBuffer src, int srcOffset, int length)
            throws IOException {
        long block = position >>> SHIFT;
        Layer head = layers[0];
        if (head.holds(block)) {
            head.write(src, srcOffset, position, length);
            return;
        }
        ByteBuffer scratch = SCRATCH.get().clear();
        Layer below = topmost(layers, 1, block);
        if (below == null) {
            Layer.fillZeroes(scratch, BLOCK);
        } else {
            below.read(scratch, block << SHIFT, BLOCK);
        }
        scratch.put((int) (position & OFFSET_MASK), src, srcOffset, length);
        head.write(scratch, 0, block << SHIFT, BLOCK);
    }

    /**
     * After a failed write (Layer.write already reports ENOSPC as PoolFullException): gives
     * back the new blocks the index does not record, so none surfaces half-written at the
     * next open, and their reservation.
     */
    private void undo(Layer head, long first, long last, long unusedReservation, Exception failure) {
        pool.space.release(unusedReservation);
        try {
            head.punchAbsent(first, last);
        } catch (IOException e) {
            failure.addSuppressed(e);
        }
    }

    /** Blocks reserved from the pool's space and not yet turned into allocations. */
    private static final class Reservation {
        long left;

        Reservation(long blocks) {
            left = blocks;
        }
    }

    /** Whether some layer holds a block of the byte range [start, end). */
    private static boolean holdsAny(Layer[] layers, long start, long end) {
        long first = start >>> SHIFT;
        long endBlock = (end + OFFSET_MASK) >>> SHIFT;
        for (Layer layer : layers) {
            if (layer.holdsAny(first, endBlock)) {
                return true;
            }
        }
        return false;
    }

    private static long zeroChecksum(int length) {
        return Integer.bitCount(length) == 1
                ? ZERO_CHECKSUMS.computeIfAbsent(length, Replica::checksumOfZeroes)
                : checksumOfZeroes(length);
    }

    private static long checksumOfZeroes(int length) {
        CRC32C crc32c = new CRC32C();
        CRC32 crc32 = new CRC32();
        ByteBuffer zeros = Layer.zeros();
        for (int left = length; left > 0; ) {
            int n = Math.min(left, zeros.capacity());
            crc32c.update(zeros.slice(0, n));
            crc32.update(zeros.slice(0, n));
            left -= n;
        }
        return checksum(crc32c, crc32);
    }

    private static long checksum(CRC32C crc32c, CRC32 crc32) {
        return crc32c.getValue() << 32 | crc32.getValue();
    }

    private static Layer topmost(Layer[] layers, int from, long block) {
        for (int i = from; i < layers.length; i++) {
            if (layers[i].holds(block)) {
                return layers[i];
            }
        }
        return null;
    }

    private void checkRange(long offset, long length) throws OutOfRangeException {
        long limit = size;
        if (offset < 0 || length < 0 || offset > limit || length > limit - offset) {
            throw new OutOfRangeException("offset " + offset + " length " + length
                    + " outside replica " + id + " of " + limit + " bytes");
        }
    }

    private void ensureOpen() throws IOException {
        if (closed) {
            throw new IOException("replica " + id + " is closed");
        }
    }

    private void checkEpoch(long requested) throws StaleEpochException {
        long admitted = epoch;
        if (requested < admitted) {
            throw new StaleEpochException("replica " + id + " has admitted epoch " + admitted + "; epoch " + requested
                    + " is stale (the volume was attached elsewhere since)");
        }
    }

    // ---- state changed by the pool, under its structure lock ----

    Layer head() {
        return chain[0];
    }

    /** Recomputes the chain from the head's parent links; the caller holds the exclusive lock. */
    void rebuildChain(Layer head) {
        List<Layer> layers = new ArrayList<>();
        for (Layer l = head; l != null; l = l.parent) {
            layers.add(l);
        }
        chain = layers.toArray(Layer[]::new);
    }

    void setSize(long newSize) {
        size = newSize;
    }

    Map<String, Layer> snapshotLayers() {
        return snapshotLayers;
    }

    void setSnapshots(LinkedHashMap<String, Layer> snapshots) {
        snapshotLayers = Collections.unmodifiableMap(snapshots);
        List<String> tags = new java.util.ArrayList<>(snapshots.size());
        snapshots.values().forEach(layer -> tags.add(layer.snapshotTag));
        named = new Snapshots(List.copyOf(snapshots.keySet()), Collections.unmodifiableList(tags));
    }

    void setClosed(boolean value) {
        closed = value;
    }

    // ---- the manifest: size, chain and snapshots from the pool, the epoch from here ----

    /** At open, before the replica is published: the manifest as found on disk. */
    void loaded(Properties found) {
        manifest = found;
        epoch = Long.parseLong(found.getProperty(EPOCH, "0"));
    }

    /**
     * Writes a new manifest from the pool's structural change, durably, with the admitted epoch
     * added: the pool builds the manifest afresh, and no rewrite may lose the fence.
     */
    void writeManifest(Properties next) throws IOException {
        manifestLock.lock();
        try {
            persistManifest(next, epoch);
        } finally {
            manifestLock.unlock();
        }
    }

    /** The caller holds manifestLock. */
    private void persistManifest(Properties next, long withEpoch) throws IOException {
        next.setProperty(EPOCH, Long.toString(withEpoch));
        DurableFiles.write(pool.manifestPath(id), next);
        manifest = next;
    }
}
