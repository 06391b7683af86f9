package io.ballast.store;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Places a pool in a class of service by measuring its directory with a short random-IO
 * benchmark, the IO a database in a volume feels: 4 KiB writes at random 4 KiB-aligned
 * offsets of a sparse probe file, each followed by fdatasync, then 4 KiB O_DIRECT reads of
 * blocks written. Each phase stops after a time budget or a number of operations, whichever
 * comes first, so the whole takes about 300 ms on slow storage and less on fast storage.
 *
 * <p>Only the fsynced writes decide the class: they are what storage differs in most, by two
 * orders of magnitude between an NVMe drive and a spinning disk, and what a volume's FLUSH and
 * FUA wait for. Like the layers' own writes, they allocate blocks in a sparse file, so the
 * filesystem's metadata commits are part of the cost. The reads are recorded as information.
 *
 * <p>The probe file is deleted when the measurement ends, whether it succeeded or not.
 */
public final class PoolFingerprint {
    private static final Logger log = LoggerFactory.getLogger(PoolFingerprint.class);

    public static final String LOW = "low";
    public static final String MEDIUM = "medium";
    public static final String HIGH = "high";
    /** The classes of service, slowest first. */
    public static final List<String> CLASSES = List.of(LOW, MEDIUM, HIGH);

    /*
     * Thresholds on fsynced 4 KiB random writes per second (one at a time, queue depth 1):
     *
     * - high, at least 2000/s, i.e. at most 0.5 ms per write: NVMe drives and good SSDs, whose
     *   flush completes in tens to hundreds of microseconds (and tmpfs, where it is free).
     * - medium, at least 300/s, i.e. at most 3.3 ms: SATA SSDs and cloud block storage
     *   (network-attached volumes take one to a few milliseconds per synchronous write).
     * - low, below: spinning disks (a seek and a rotation, 5 to 15 ms per flush) and network
     *   filesystems.
     */
    /** Fsynced random 4 KiB writes per second from which a pool is of class high. */
    public static final double HIGH_MIN_SYNC_WRITE_IOPS = 2000;
    /** Fsynced random 4 KiB writes per second from which a pool is of class medium. */
    public static final double MEDIUM_MIN_SYNC_WRITE_IOPS = 300;

    /** The probe file in the pool's directory; it exists only while a measurement runs. */
    static final String PROBE = "fingerprint.probe";
    private static final int BLOCK = Layer.BLOCK;
    private static final long PROBE_SIZE = 64L << 20;
    private static final long WRITE_BUDGET_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
    private static final int MAX_WRITES = 2000;
    private static final long READ_BUDGET_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final int MAX_READS = 2000;

    private PoolFingerprint() {}

    /** The class of service of storage that takes this many fsynced random 4 KiB writes per second. */
    public static String classify(double syncWriteIops) {
        if (syncWriteIops >= HIGH_MIN_SYNC_WRITE_IOPS) {
            return HIGH;
        }
        if (syncWriteIops >= MEDIUM_MIN_SYNC_WRITE_IOPS) {
            return MEDIUM;
        }
        return LOW; // also NaN
    }

    /**
     * Measures the filesystem of the directory. The probe file is deleted but the deletion is
     * not made durable here: the caller persists the result in the same directory, which does.
     */
    static Fingerprint measure(Path dir) throws IOException {
        Path probe = dir.resolve(PROBE);
        Files.deleteIfExists(probe); // left behind by a crash during an earlier measurement
        try {
            long[] written = new long[MAX_WRITES];
            SplittableRandom random = new SplittableRandom();
            double writeIops;
            int writes = 0;
            try (FileChannel channel = FileChannel.open(probe, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE)) {
                ByteBuffer block = ByteBuffer.allocateDirect(BLOCK);
                byte[] content = new byte[BLOCK];
                random.nextBytes(content); // not zeroes, which some filesystems would not store
                block.put(content).flip();
                // Untimed: the file's creation and final size are durable before the timed
                // writes, which then land inside it.
                writeFully(channel, block, PROBE_SIZE - BLOCK);
                channel.force(true);
                long start = System.nanoTime();
                long elapsed;
                do {
                    long offset = random.nextLong(PROBE_SIZE / BLOCK - 1) * BLOCK;
                    writeFully(channel, block, offset);
                    channel.force(false);
                    written[writes++] = offset;
                    elapsed = System.nanoTime() - start;
                } while (writes < MAX_WRITES && elapsed < WRITE_BUDGET_NANOS);
                writeIops = perSecond(writes, elapsed);
            }
            double readIops = measureReads(probe, written, writes, random);
            return new Fingerprint(classify(writeIops), writeIops, readIops, System.currentTimeMillis());
        } finally {
            Files.deleteIfExists(probe);
        }
    }

    /**
     * Random reads of written blocks, with O_DIRECT so that they reach the device rather than
     * the page cache. 0 where the filesystem refuses O_DIRECT.
     */
    private static double measureReads(Path probe, long[] written, int count, SplittableRandom random)
            throws IOException {
        FileChannel channel;
        try {
            channel = FileChannel.open(probe, StandardOpenOption.READ, ExtendedOpenOption.DIRECT);
        } catch (IOException | UnsupportedOperationException e) {
            log.debug("no O_DIRECT on {}, random reads not measured: {}", probe, e.toString());
            return 0;
        }
        try (channel) {
            // O_DIRECT needs the buffer's address aligned like the offsets and the length.
            ByteBuffer buffer = ByteBuffer.allocateDirect(2 * BLOCK).alignedSlice(BLOCK);
            int reads = 0;
            long start = System.nanoTime();
            long elapsed;
            do {
                buffer.clear().limit(BLOCK);
                readFully(channel, buffer, written[random.nextInt(count)]);
                reads++;
                elapsed = System.nanoTime() - start;
            } while (reads < MAX_READS && elapsed < READ_BUDGET_NANOS);
            return perSecond(reads, elapsed);
        }
    }

    /** Whole operations per second; finer digits would be noise. */
    private static double perSecond(int operations, long nanos) {
        return Math.rint(operations * 1e9 / Math.max(nanos, 1));
    }

    private static void writeFully(FileChannel channel, ByteBuffer block, long offset) throws IOException {
        ByteBuffer b = block.duplicate();
        while (b.hasRemaining()) {
            channel.write(b, offset + b.position());
        }
    }

    private static void readFully(FileChannel channel, ByteBuffer buffer, long offset) throws IOException {
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, offset + buffer.position()) < 0) {
                throw new IOException("the probe file ends before the block written at " + offset);
            }
        }
    }
}
