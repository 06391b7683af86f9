package io.ballast.faults;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * The self-describing content of one 4 KiB block: which volume and block it was written to, by which write,
 * and a checksum over the whole block. A block read back names its write, so the checker needs no copy of
 * the data, and a torn, misplaced or garbled block is told from an old one.
 *
 * <pre>
 *   0  magic "BFLT"   4  volume   8  block   16  write id   24  filler derived from the write id
 *   4092  CRC32C of bytes 0..4091
 * </pre>
 */
final class Blocks {
    static final int SIZE = 4096;
    private static final int MAGIC = 0x42464c54;
    private static final int CRC_AT = SIZE - 4;

    /** What a block read back holds. */
    sealed interface Content {}

    /** Never written (or trimmed): all zeros. */
    record Zero() implements Content {}

    /** Written by write {@code write}, for {@code volume} at {@code block}. */
    record Written(int volume, long block, long write) implements Content {}

    /** Neither zeros nor an intact block: torn, garbled or from somewhere else entirely. */
    record Corrupt(String why) implements Content {}

    private Blocks() {}

    /** Fills {@code blocks} blocks of {@code into}, starting at {@code firstBlock}, as write {@code write}. */
    static void fill(byte[] into, int volume, long firstBlock, long write) {
        ByteBuffer buffer = ByteBuffer.wrap(into);
        for (int i = 0; i < into.length / SIZE; i++) {
            int at = i * SIZE;
            buffer.putInt(at, MAGIC).putInt(at + 4, volume).putLong(at + 8, firstBlock + i).putLong(at + 16, write);
            long x = write * 0x9E3779B97F4A7C15L + firstBlock + i;
            for (int p = at + 24; p < at + CRC_AT; p += 8) {
                x ^= x << 13;
                x ^= x >>> 7;
                x ^= x << 17;
                buffer.putLong(p, x); // the last one spills into the CRC's place, which is written next
            }
            CRC32C crc = new CRC32C();
            crc.update(into, at, CRC_AT);
            buffer.putInt(at + CRC_AT, (int) crc.getValue());
        }
    }

    /** Reads block {@code index} of {@code from} (a buffer of whole blocks). */
    static Content parse(byte[] from, int index) {
        int at = index * SIZE;
        ByteBuffer buffer = ByteBuffer.wrap(from);
        boolean zero = true;
        for (int p = at; p < at + SIZE && zero; p += 8) {
            zero = buffer.getLong(p) == 0;
        }
        if (zero) {
            return new Zero();
        }
        if (buffer.getInt(at) != MAGIC) {
            return new Corrupt("no block header");
        }
        CRC32C crc = new CRC32C();
        crc.update(from, at, CRC_AT);
        if (buffer.getInt(at + CRC_AT) != (int) crc.getValue()) {
            return new Corrupt("checksum mismatch (a torn or garbled block) of write " + buffer.getLong(at + 16));
        }
        return new Written(buffer.getInt(at + 4), buffer.getLong(at + 8), buffer.getLong(at + 16));
    }
}
