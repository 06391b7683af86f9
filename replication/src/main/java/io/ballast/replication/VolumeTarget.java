package io.ballast.replication;

import io.ballast.store.PoolFullException;
import io.ballast.store.Replica;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The single coordinator of one attached volume: every frontend request for the volume passes
 * through here. It carries the epoch of the attachment it serves (replicas will check it once
 * replication lands) and, once {@link #close closed} on detach, refuses IO: a closed target
 * never acknowledges another write.
 *
 * <p>On one host the volume has one replica, the local one, so a request is applied to it
 * directly. Replicated IO (ordered streams to remote replicas, the in-sync set) plugs in here
 * without changing the frontends.
 */
public final class VolumeTarget implements BlockTarget, Closeable {
    private static final long CLOSE_DRAIN_SECONDS = 30;

    private final String volume;
    private final long epoch;
    private final Replica replica;
    private final IoObserver observer;
    // Requests hold the read side while they run; close() takes the write side, so it waits for
    // in-flight requests to finish and no request can start after it.
    private static final Logger log = LoggerFactory.getLogger(VolumeTarget.class);
    private static final long FULL_REPORT_INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(1);

    private final ReentrantReadWriteLock gate = new ReentrantReadWriteLock();
    private volatile long lastFullReport;
    private volatile boolean closed;
    /** Whether the flush that ends a close succeeded; guarded by the gate's write lock. */
    private boolean drained;

    public VolumeTarget(String volume, long epoch, Replica replica, IoObserver observer) {
        this.volume = volume;
        this.epoch = epoch;
        this.replica = replica;
        this.observer = observer;
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

    @Override
    public long sizeBytes() {
        return replica.sizeBytes();
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        run(IoObserver.Op.READ, dst.remaining(), () -> replica.read(offset, dst));
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        run(IoObserver.Op.WRITE, src.remaining(), () -> replica.write(offset, src, fua));
    }

    @Override
    public void flush() throws IOException {
        run(IoObserver.Op.FLUSH, 0, replica::flush);
    }

    @Override
    public void trim(long offset, long length) throws IOException {
        run(IoObserver.Op.TRIM, length, () -> replica.trim(offset, length));
    }

    @Override
    public void writeZeroes(long offset, long length, boolean fua) throws IOException {
        run(IoObserver.Op.WRITE_ZEROES, length, () -> replica.writeZeroes(offset, length, fua));
    }

    /**
     * Stops accepting requests, waits for the ones in flight, and flushes, so that a detach
     * leaves every acknowledged write durable. If the flush fails the target stays closed to IO
     * and a later close tries the flush again; once one succeeded, close does nothing.
     */
    @Override
    public void close() throws IOException {
        try {
            if (!gate.writeLock().tryLock(CLOSE_DRAIN_SECONDS, TimeUnit.SECONDS)) {
                throw new IOException("volume " + volume + ": requests still in flight after "
                        + CLOSE_DRAIN_SECONDS + " s; not detached");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while detaching volume " + volume, e);
        }
        try {
            closed = true;
            if (!drained) {
                replica.flush();
                drained = true;
            }
        } finally {
            gate.writeLock().unlock();
        }
    }

    /**
     * A full pool fails every write that needs space, possibly thousands a second: say so in
     * the log, but once a minute per volume at most.
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

    /** Runs one request through the gate and reports it to the observer, failed or not. */
    private void run(IoObserver.Op op, long bytes, Io io) throws IOException {
        gate.readLock().lock();
        long start = System.nanoTime();
        boolean ok = false;
        try {
            if (closed) {
                throw new TargetClosedException("volume " + volume + " is no longer attached here (epoch " + epoch + ")");
            }
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
}
