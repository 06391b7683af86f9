package io.ballast.replication;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A block device as a frontend (NBD, FUSE) sees it: the IO path of one attached volume.
 *
 * <p>Offsets and lengths are in bytes and need not be block aligned. Every method may be
 * called concurrently from many threads; the NBD contract applies: concurrent requests
 * that overlap have no defined order, but a {@link #flush} makes every write that was
 * acknowledged before it was called durable, and a write with {@code fua} is durable when
 * the call returns.
 *
 * <p>Failures are reported as {@link IOException}s whose type says what went wrong, so a
 * frontend can map them to its own error codes: {@code io.ballast.store.OutOfRangeException}
 * (EINVAL), {@code io.ballast.store.PoolFullException} (ENOSPC), {@link TargetClosedException}
 * (ESHUTDOWN) and any other {@code IOException} (EIO).
 */
public interface BlockTarget {

    /** The volume's size in bytes; a multiple of 4096. */
    long sizeBytes();

    /** Reads {@code dst.remaining()} bytes at {@code offset} into {@code dst}. */
    void read(long offset, ByteBuffer dst) throws IOException;

    /** Writes {@code src.remaining()} bytes at {@code offset}; with {@code fua}, durably. */
    void write(long offset, ByteBuffer src, boolean fua) throws IOException;

    /** Makes every write acknowledged before this call durable. */
    void flush() throws IOException;

    /** Discards a range: it reads back as zeroes afterwards and its space may be freed. */
    void trim(long offset, long length) throws IOException;

    /** Writes zeroes over a range, freeing space where it can; with {@code fua}, durably. */
    void writeZeroes(long offset, long length, boolean fua) throws IOException;
}
