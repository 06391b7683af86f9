package io.ballast.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One sparse file of a replica's chain: block {@code n} lives at byte {@code n * 4096}, and a
 * block is present exactly when the file has it allocated. Every write to a layer file covers
 * whole 4 KiB blocks or lands inside a block the layer already holds, so the allocation never
 * describes half a block and the index rebuilt from SEEK_DATA is exact.
 *
 * <p>The tree fields ({@link #parent}, {@link #children}, {@link #headOf},
 * {@link #snapshotName}, {@link #freed}) are guarded by the pool's structure lock; IO threads
 * never read them, they read the replica's chain array instead.
 */
final class Layer {
    static final int BLOCK = 4096;
    static final int SHIFT = 12;
    static final long OFFSET_MASK = BLOCK - 1;

    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(256 * BLOCK).asReadOnlyBuffer();

    final String id;
    final String ownerId;
    final Path dataFile;
    final Path metaFile;
    final BlockIndex index;
    private final FileChannel channel;
    private final AtomicLong ownerBlocks;
    /**
     * Writes and punches that have reached the page cache. A sync covers the count it reads
     * before fdatasync; counting after the write (never before) is what makes a write that
     * finishes during a sync wait for the next one instead of being marked synced.
     */
    private final AtomicLong changes = new AtomicLong();
    private final ReentrantLock syncLock = new ReentrantLock();
    /** The change count the last successful fdatasync covered; guarded by syncLock. */
    private long synced;
    /** The first fdatasync failure; guarded by syncLock. */
    private IOException syncFailure;
    private int punchFd = -1;

    Layer parent;
    final List<Layer> children = new ArrayList<>(2);
    Replica headOf;
    String snapshotName;
    /** The tag given with the snapshot's name (its identity across replicas), or null. */
    String snapshotTag;
    boolean freed;

    private Layer(String id, String ownerId, Path dataFile, Path metaFile, FileChannel channel,
            BlockIndex index, AtomicLong ownerBlocks) {
        this.id = id;
        this.ownerId = ownerId;
        this.dataFile = dataFile;
        this.metaFile = metaFile;
        this.channel = channel;
        this.index = index;
        this.ownerBlocks = ownerBlocks;
    }

    /** Creates an empty layer file; the caller makes the directory entry durable. */
    static Layer create(String id, String ownerId, Path dataFile, Path metaFile,
            AtomicLong ownerBlocks) throws IOException {
        FileChannel channel = FileChannel.open(dataFile, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.READ, StandardOpenOption.WRITE);
        return new Layer(id, ownerId, dataFile, metaFile, channel, new BlockIndex(), ownerBlocks);
    }

    /**
     * Opens an existing layer file and rebuilds its index from the file's allocation. Ranges
     * are rounded outward to whole blocks; they are block-aligned anyway on a filesystem
     * whose block size divides 4 KiB.
     */
    static Layer open(String id, String ownerId, Path dataFile, Path metaFile,
            AtomicLong ownerBlocks) throws IOException {
        if (!Files.exists(dataFile)) {
            // Recreating it empty would silently show the blocks of lower layers, or zeroes.
            throw new IOException("layer " + id + " of replica " + ownerId + ": data file " + dataFile
                    + " is missing; the replica cannot be opened without it");
        }
        FileChannel channel = FileChannel.open(dataFile, StandardOpenOption.READ, StandardOpenOption.WRITE);
        BlockIndex index = new BlockIndex();
        try {
            Native.scanData(dataFile, (start, end) ->
                    index.addRange(start >>> SHIFT, (end + OFFSET_MASK) >>> SHIFT));
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        ownerBlocks.addAndGet(index.cardinality());
        return new Layer(id, ownerId, dataFile, metaFile, channel, index, ownerBlocks);
    }

    boolean holds(long block) {
        return index.contains(block);
    }

    /** Whether the layer holds any block of [first, end). */
    boolean holdsAny(long first, long end) {
        return index.containsAny(first, end);
    }

    /** Records a block just written; returns whether it is new to this layer. */
    boolean markPresent(long block) {
        if (index.add(block)) {
            ownerBlocks.incrementAndGet();
            return true;
        }
        return false;
    }

    /** Fills {@code length} bytes of dst from file offset {@code position}. */
    void read(ByteBuffer dst, long position, int length) throws IOException {
        int limit = dst.limit();
        int start = dst.position();
        dst.limit(start + length);
        try {
            while (dst.hasRemaining()) {
                int n = channel.read(dst, position + (dst.position() - start));
                if (n < 0) {
                    fillZeroes(dst, dst.remaining()); // past the end of a sparse file
                }
            }
        } finally {
            dst.limit(limit);
        }
    }

    /** Writes the bytes src[offset, offset+length) at file offset {@code position}. */
    void write(ByteBuffer src, int offset, long position, int length) throws IOException {
        ByteBuffer slice = src.slice(offset, length);
        try {
            while (slice.hasRemaining()) {
                channel.write(slice, position + slice.position());
            }
        } catch (IOException e) {
            throw translate(e);
        } finally {
            // Even a failed write may have changed the page cache: the next sync must cover it.
            changes.incrementAndGet();
        }
    }

    /** Writes zero bytes over blocks [first, first+count). */
    void writeZeroBlocks(long first, long count) throws IOException {
        long position = first << SHIFT;
        long end = (first + count) << SHIFT;
        while (position < end) {
            int n = (int) Math.min(ZEROS.capacity(), end - position);
            write(ZEROS, 0, position, n);
            position += n;
        }
    }

    /** Deallocates blocks [first, first+count) and drops them from the index. */
    void punch(long first, long count) throws IOException {
        try {
            Native.punchHole(punchFd(), first << SHIFT, count << SHIFT);
        } finally {
            changes.incrementAndGet();
        }
        long removed = 0;
        for (long b = first; b < first + count; b++) {
            if (index.remove(b)) {
                removed++;
            }
        }
        ownerBlocks.addAndGet(-removed);
    }

    /**
     * Deallocates every block of [first, last] that is not in the index: after a failed write
     * it returns the file to what the index says, so a half-written new block never surfaces
     * at the next open.
     */
    void punchAbsent(long first, long last) throws IOException {
        long runStart = -1;
        for (long b = first; b <= last + 1; b++) {
            boolean absent = b <= last && !index.contains(b);
            if (absent && runStart < 0) {
                runStart = b;
            } else if (!absent && runStart >= 0) {
                Native.punchHole(punchFd(), runStart << SHIFT, (b - runStart) << SHIFT);
                runStart = -1;
            }
        }
    }

    /**
     * fdatasync if anything changed since the last successful one. The lock makes a concurrent
     * caller wait for an fdatasync in progress, then sync again if changes arrived meanwhile.
     */
    void sync() throws IOException {
        syncLock.lock();
        try {
            long covered = changes.get();
            if (covered != synced || syncFailure != null) {
                forceLocked(covered);
            }
        } finally {
            syncLock.unlock();
        }
    }

    /** fdatasync now, whatever changed (a FUA write). */
    void force() throws IOException {
        syncLock.lock();
        try {
            forceLocked(changes.get());
        } finally {
            syncLock.unlock();
        }
    }

    /**
     * After a failed fdatasync the kernel may have dropped the dirty pages and cleared their
     * error, so a later fdatasync can succeed without the data being on disk (PostgreSQL's
     * "fsyncgate"). The first failure therefore fails every later sync of this layer, until
     * the node is restarted and the data read back from disk is what counts.
     */
    private void forceLocked(long covered) throws IOException {
        if (syncFailure != null) {
            throw new IOException("layer " + id + ": an earlier fdatasync failed (" + syncFailure.getMessage()
                    + "), so writes since then may not be on disk; restart the node", syncFailure);
        }
        try {
            channel.force(false);
            synced = covered;
        } catch (IOException e) {
            syncFailure = e;
            throw translate(e);
        }
    }

    long blocks() {
        return index.cardinality();
    }

    void close() throws IOException {
        try {
            sync();
        } finally {
            closeQuietly();
        }
    }

    /** Closes and removes the files; the caller has already unlinked the layer from the tree. */
    void destroy() throws IOException {
        closeQuietly();
        ownerBlocks.addAndGet(-index.cardinality());
        Files.deleteIfExists(metaFile);
        Files.deleteIfExists(dataFile);
    }

    private synchronized void closeQuietly() throws IOException {
        if (punchFd >= 0) {
            Native.close(punchFd);
            punchFd = -1;
        }
        channel.close();
    }

    /** Only heads are ever punched, so the extra descriptor is opened on first use. */
    private synchronized int punchFd() throws IOException {
        if (punchFd < 0) {
            punchFd = Native.open(dataFile, true);
        }
        return punchFd;
    }

    static void fillZeroes(ByteBuffer dst, int length) {
        int position = dst.position();
        while (length > 0) {
            int n = Math.min(length, ZEROS.capacity());
            dst.put(position, ZEROS, 0, n);
            position += n;
            length -= n;
        }
        dst.position(position);
    }

    static ByteBuffer zeros() {
        return ZEROS;
    }

    /**
     * The filesystem's ENOSPC surfaces as an IOException that carries only strerror's text,
     * which follows the locale; callers want PoolFullException.
     */
    static IOException translate(IOException e) {
        String message = String.valueOf(e.getMessage());
        if (!(e instanceof PoolFullException)
                && (message.contains(Native.ENOSPC_MESSAGE) || message.contains("No space left"))) {
            PoolFullException full = new PoolFullException("filesystem full: " + e.getMessage());
            full.initCause(e);
            return full;
        }
        return e;
    }

    @Override
    public String toString() {
        return "Layer[" + id + (snapshotName != null ? " " + snapshotName : "") + "]";
    }
}
