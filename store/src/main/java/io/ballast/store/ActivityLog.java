package io.ballast.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * A replica's activity log: the extents of {@link #EXTENT_BYTES} that its coordinator marked hot,
 * kept durably in one small file next to the replica's manifest. The coordinator marks an extent
 * before it sends a write into it, on the same ordered stream, and unmarks it once every write to it
 * is durable on every replica; so after the coordinator dies, the union of the in-sync replicas' logs
 * covers every region where they may differ, and the next coordinator compares those alone (as DRBD
 * does with its activity log) instead of every region holding data.
 *
 * <pre>
 * file = "BALLASTA" u32 version, u32 extent bytes, u32 count, u64 extent[count], u32 CRC32C of all before it
 * </pre>
 *
 * A new version is written in place and fdatasynced before {@link #update} returns, one fsync per
 * change. A write torn by a crash fails its CRC, and a log that fails it (or names another extent
 * size) is <em>unknown</em>: {@link #extents} returns null and the next coordinator compares every
 * region holding data. Since the data write that follows a mark is applied only after the mark is
 * durable, a crash that leaves the previous version intact left that write unapplied too. A missing
 * file is an unknown log: the pool creates the log before a replica's manifest, so only a replica made
 * before the log existed lacks one.
 */
final class ActivityLog {
    /** The unit of the log: large, so that random writes over a working set rarely add an extent. */
    static final int EXTENT_BYTES = 4 * 1024 * 1024;
    static final String SUFFIX = ".activity";

    private static final byte[] MAGIC = "BALLASTA".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final int VERSION = 1;
    private static final int HEADER_BYTES = MAGIC.length + 3 * Integer.BYTES;

    private final Path file;
    /** Sorted, no duplicates; null while unknown. Guarded by this. */
    private long[] extents;

    private ActivityLog(Path file, long[] extents) {
        this.file = file;
        this.extents = extents;
    }

    /** Reads the log of a replica; a missing file is an empty log, a damaged one an unknown log. */
    static ActivityLog open(Path file) throws IOException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return new ActivityLog(file, null); // a replica of a version before the log: anything may differ
        }
        return new ActivityLog(file, parse(bytes));
    }

    /** A log that starts empty, whatever a replica of the same id left behind. */
    static ActivityLog create(Path file) throws IOException {
        ActivityLog log = new ActivityLog(file, null);
        log.update(true, new long[0], new long[0]);
        return log;
    }

    /** The extents marked, sorted; null if the log is unknown (damaged by a crash). */
    synchronized long[] extents() {
        return extents == null ? null : extents.clone();
    }

    /**
     * Marks {@code add} and unmarks {@code remove}, or with {@code replace} makes the log exactly
     * {@code add}; durable when this returns. An update that changes nothing writes nothing. An unknown
     * log stays unknown until it is replaced: marking an extent says nothing of the others.
     */
    synchronized void update(boolean replace, long[] add, long[] remove) throws IOException {
        for (long extent : add) {
            if (extent < 0) {
                throw new IllegalArgumentException("a negative activity extent: " + extent);
            }
        }
        long[] next;
        if (replace) {
            next = Arrays.stream(add).sorted().distinct().toArray();
        } else if (extents == null) {
            return;
        } else {
            long[] removed = Arrays.stream(remove).sorted().toArray();
            next = java.util.stream.LongStream.concat(Arrays.stream(extents), Arrays.stream(add)).sorted().distinct()
                    .filter(e -> Arrays.binarySearch(removed, e) < 0).toArray();
        }
        if (extents != null && Arrays.equals(next, extents)) {
            return;
        }
        try {
            write(next);
        } catch (IOException | RuntimeException e) {
            // The file may hold either version, or a torn one: only a replace makes the log known again.
            extents = null;
            throw e;
        }
        extents = next;
    }

    private void write(long[] next) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(HEADER_BYTES + next.length * Long.BYTES + Integer.BYTES);
        buffer.put(MAGIC).putInt(VERSION).putInt(EXTENT_BYTES).putInt(next.length);
        for (long extent : next) {
            buffer.putLong(extent);
        }
        CRC32C crc = new CRC32C();
        crc.update(buffer.array(), 0, buffer.position());
        buffer.putInt((int) crc.getValue());
        buffer.flip();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            while (buffer.hasRemaining()) {
                channel.write(buffer, buffer.position());
            }
            // Bytes past the end of a shorter version are harmless (the CRC ends the log) but are cut off.
            channel.truncate(buffer.limit());
            channel.force(false);
        }
    }

    /** The extents of a log file's bytes, or null if they are not a whole log of this extent size. */
    static long[] parse(byte[] bytes) {
        ByteBuffer in = ByteBuffer.wrap(bytes);
        if (bytes.length < HEADER_BYTES + Integer.BYTES
                || !Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            return null;
        }
        in.position(MAGIC.length);
        int version = in.getInt();
        int extentBytes = in.getInt();
        long count = Integer.toUnsignedLong(in.getInt());
        if (version != VERSION || extentBytes != EXTENT_BYTES
                || HEADER_BYTES + count * Long.BYTES + Integer.BYTES > bytes.length) {
            return null;
        }
        int end = HEADER_BYTES + (int) count * Long.BYTES;
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, end);
        if ((int) crc.getValue() != ByteBuffer.wrap(bytes, end, Integer.BYTES).getInt()) {
            return null;
        }
        long[] extents = new long[(int) count];
        for (int i = 0; i < extents.length; i++) {
            extents[i] = in.getLong();
        }
        return extents;
    }

    void delete() throws IOException {
        Files.deleteIfExists(file);
    }
}
