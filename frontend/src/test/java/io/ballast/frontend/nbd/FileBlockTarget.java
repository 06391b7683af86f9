package io.ballast.frontend.nbd;

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

/** A test target backed by a sparse file; trim and write-zeroes simply write zeroes. */
final class FileBlockTarget implements BlockTarget, AutoCloseable {

    private static final ByteBuffer ZEROES = ByteBuffer.allocateDirect(1 << 20);

    private final FileChannel channel;
    private final long size;
    /** While set, writes fail as if the pool were full. */
    volatile boolean poolFull;
    /** While set, every call fails as if the volume had been detached. */
    volatile boolean detached;
    /** Reads served so far. */
    final AtomicInteger reads = new AtomicInteger();

    private FileBlockTarget(FileChannel channel, long size) {
        this.channel = channel;
        this.size = size;
    }

    static FileBlockTarget create(Path file, long size) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(size);
        }
        return new FileBlockTarget(FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE), size);
    }

    @Override
    public long sizeBytes() {
        return size;
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        check(offset, dst.remaining());
        reads.incrementAndGet();
        while (dst.hasRemaining()) {
            if (channel.read(dst, offset + dst.position()) < 0) {
                throw new IOException("unexpected end of file");
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
        channel.force(false);
    }

    @Override
    public void trim(long offset, long length) throws IOException {
        writeZeroes(offset, length, false);
    }

    @Override
    public void writeZeroes(long offset, long length, boolean fua) throws IOException {
        check(offset, length);
        long end = offset + length;
        for (long position = offset; position < end; ) {
            ByteBuffer zeroes = ZEROES.duplicate().limit((int) Math.min(ZEROES.capacity(), end - position));
            position += channel.write(zeroes, position);
        }
        if (fua) {
            flush();
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
