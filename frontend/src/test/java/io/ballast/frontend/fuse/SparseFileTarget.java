package io.ballast.frontend.fuse;

import io.ballast.replication.BlockTarget;
import io.ballast.replication.TargetClosedException;
import io.ballast.store.OutOfRangeException;
import io.ballast.store.PoolFullException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A test volume backed by a sparse file, counting what reaches it. Trim and write-zeroes write
 * zeroes (a FileChannel cannot punch holes), which is what the volume would read back.
 */
final class SparseFileTarget implements BlockTarget, AutoCloseable {

    private static final ByteBuffer ZEROES = ByteBuffer.allocateDirect(1 << 20);

    private final FileChannel channel;
    private volatile long size;
    /** While set, writes fail as if the pool were full. */
    volatile boolean poolFull;
    /** While set, every call fails as if the volume had been detached. */
    volatile boolean detached;
    /** While set, reads run it first (to hold them inside the target). */
    volatile Runnable beforeRead;
    final AtomicInteger flushes = new AtomicInteger();
    final AtomicInteger trims = new AtomicInteger();
    final AtomicLong trimmedBytes = new AtomicLong();
    final AtomicInteger zeroWrites = new AtomicInteger();

    private SparseFileTarget(FileChannel channel, long size) {
        this.channel = channel;
        this.size = size;
    }

    static SparseFileTarget create(Path file, long size) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(size);
        }
        return new SparseFileTarget(FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE), size);
    }

    /** Grows the volume, as a resize would. */
    void grow(long newSize) {
        size = newSize;
    }

    @Override
    public long sizeBytes() {
        return size;
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        check(offset, dst.remaining());
        Runnable hook = beforeRead;
        if (hook != null) {
            hook.run();
        }
        while (dst.hasRemaining()) {
            int n = channel.read(dst, offset + dst.position());
            if (n < 0) {
                // Beyond the backing file's end (after a grow): the volume reads as zeroes there.
                dst.put(ZEROES.duplicate().limit(Math.min(ZEROES.capacity(), dst.remaining())));
            }
        }
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        check(offset, src.remaining());
        if (poolFull) {
            throw new PoolFullException("test pool is full");
        }
        long position = offset;
        while (src.hasRemaining()) {
            position += channel.write(src, position);
        }
        if (fua) {
            flush();
        }
    }

    @Override
    public void flush() throws IOException {
        check(0, 0);
        flushes.incrementAndGet();
        channel.force(false);
    }

    @Override
    public void trim(long offset, long length) throws IOException {
        check(offset, length);
        trims.incrementAndGet();
        trimmedBytes.addAndGet(length);
        zero(offset, length);
    }

    @Override
    public void writeZeroes(long offset, long length, boolean fua) throws IOException {
        check(offset, length);
        zeroWrites.incrementAndGet();
        zero(offset, length);
        if (fua) {
            flush();
        }
    }

    private void zero(long offset, long length) throws IOException {
        long end = offset + length;
        for (long position = offset; position < end; ) {
            ByteBuffer zeroes = ZEROES.duplicate().limit((int) Math.min(ZEROES.capacity(), end - position));
            position += channel.write(zeroes, position);
        }
    }

    private void check(long offset, long length) throws IOException {
        if (detached) {
            throw new TargetClosedException("test volume detached");
        }
        if (offset < 0 || length < 0 || offset + length > size) {
            throw new OutOfRangeException("offset " + offset + " length " + length + " beyond " + size);
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
