package io.ballast.store;

import static io.ballast.store.PoolTest.filled;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checksums of a replica's content, checked against checksums of the same bytes in memory. */
class ChecksumTest {
    private static final int BLOCK = 4096;
    private static final int REGION = 16 * BLOCK;

    @TempDir
    Path dir;

    @Test
    void equalContentInTwoPoolsGivesEqualChecksumsAndDifferencesShowInTheirRegions() throws IOException {
        byte[] content = new byte[64 * REGION];
        Random random = new Random(1);
        for (int i = 0; i < 40; i++) {
            int at = random.nextInt(content.length - 3 * BLOCK);
            byte[] data = new byte[1 + random.nextInt(3 * BLOCK)];
            random.nextBytes(data);
            System.arraycopy(data, 0, content, at, data.length);
        }
        try (Pool poolA = Pool.open(dir.resolve("a"), 0); Pool poolB = Pool.open(dir.resolve("b"), 0)) {
            Replica a = poolA.create("v", content.length);
            Replica b = poolB.create("v", content.length);
            // The same bytes, laid out differently: one write in a; in b, odd pieces in two layers.
            a.write(0, ByteBuffer.wrap(content), false);
            for (int at = 0; at < content.length; at += 3000) {
                b.write(at, ByteBuffer.wrap(content, at, Math.min(3000, content.length - at)), false);
                if (at == 30 * 3000) {
                    b.snapshot("half");
                }
            }
            assertThat(a.checksums(0, content.length, REGION)).containsExactly(b.checksums(0, content.length, REGION))
                    .containsExactly(expected(content, 0, content.length, REGION));

            b.write(3L * REGION + 17, ByteBuffer.wrap(new byte[] {(byte) (content[3 * REGION + 17] + 1)}), false);
            b.write(40L * REGION + REGION - 1, ByteBuffer.wrap(new byte[] {(byte) (content[41 * REGION - 1] ^ 1)}),
                    false);
            long[] sumsA = a.checksums(0, content.length, REGION);
            long[] sumsB = b.checksums(0, content.length, REGION);
            List<Integer> differing = new ArrayList<>();
            for (int i = 0; i < sumsA.length; i++) {
                if (sumsA[i] != sumsB[i]) {
                    differing.add(i);
                }
            }
            assertThat(differing).containsExactly(3, 40);
        }
    }

    @Test
    void holesZeroesWrittenAndTrimmedRangesChecksumAlike() throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.create("v", 6L * REGION);
            // region 0 stays a hole
            r.writeZeroes(REGION, REGION, false);
            r.write(2L * REGION, ByteBuffer.wrap(new byte[REGION]), false); // zero bytes, allocated
            r.write(3L * REGION, filled(REGION, 7), false);
            r.trim(3L * REGION, REGION);
            r.write(4L * REGION, filled(REGION, 8), false);
            r.snapshot("s");
            r.trim(4L * REGION, REGION); // shadowed by blocks of zeroes in the head
            r.write(5L * REGION, filled(REGION, 9), false);
            r.writeZeroes(5L * REGION, REGION, false);

            long zeroes = expected(new byte[REGION], 0, REGION, REGION)[0];
            assertThat(r.checksums(0, 6L * REGION, REGION)).containsOnly(zeroes).hasSize(6);
        }
    }

    @Test
    void aSnapshotChainChecksumsLikeAFlatCopy() throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            int size = 32 * REGION;
            Replica layered = pool.create("layered", size);
            layered.write(0, filled(size / 2, 1), false);
            layered.snapshot("s1");
            layered.write(5L * BLOCK + 100, filled(20 * BLOCK, 2), false);
            layered.snapshot("s2");
            layered.trim(40L * BLOCK, 10L * BLOCK);
            layered.write(200L * BLOCK - 10, filled(30, 3), false);
            assertThat(layered.allocatedExtents()).isNotEmpty();

            byte[] content = new byte[size];
            layered.read(0, ByteBuffer.wrap(content));
            Replica flat = pool.create("flat", size);
            flat.write(0, ByteBuffer.wrap(content), false);

            for (int region : new int[] {BLOCK, REGION, 1 << 20}) {
                assertThat(layered.checksums(0, size, region)).as("regions of %d", region)
                        .containsExactly(flat.checksums(0, size, region))
                        .containsExactly(expected(content, 0, size, region));
            }
        }
    }

    @Test
    void regionsStartAtTheOffsetAndTheLastMayBeShort() throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            int size = 8 * REGION;
            Replica r = pool.create("v", size);
            byte[] content = new byte[size];
            new Random(2).nextBytes(content);
            Arrays.fill(content, 2 * REGION, 5 * REGION, (byte) 0);
            r.write(0, ByteBuffer.wrap(content, 0, 2 * REGION), false);
            r.write(5L * REGION, ByteBuffer.wrap(content, 5 * REGION, 3 * REGION), false);

            long offset = REGION + 1234;
            long length = 5L * REGION + 99;
            long[] sums = r.checksums(offset, length, REGION);
            assertThat(sums).hasSize(6).containsExactly(expected(content, offset, length, REGION));
            assertThat(r.checksums(size - 10, 10, REGION)).containsExactly(expected(content, size - 10, 10, REGION));
            assertThat(r.checksums(size, 0, REGION)).isEmpty();
        }
    }

    @Test
    void badRangesAndRegionSizesAreRefused() throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.create("v", 4L * REGION);
            assertThatThrownBy(() -> r.checksums(0, 4L * REGION + 1, REGION)).isInstanceOf(OutOfRangeException.class);
            assertThatThrownBy(() -> r.checksums(-1, 1, REGION)).isInstanceOf(OutOfRangeException.class);
            assertThatThrownBy(() -> r.checksums(0, -1, REGION)).isInstanceOf(OutOfRangeException.class);
            for (int bad : new int[] {0, -4096, 2048, 3 * BLOCK, Integer.MIN_VALUE}) {
                assertThatThrownBy(() -> r.checksums(0, BLOCK, bad)).as("region %d", bad)
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("power of two");
            }
        }
    }

    /** Reading a tebibyte would take minutes; answering from the indexes takes well under a second. */
    @Test
    void holesAreAnsweredWithoutReading() throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            long size = 1L << 40;
            Replica r = pool.create("v", size);
            r.write(0, filled(BLOCK, 1), false);
            r.snapshot("s");
            r.write(size - BLOCK, filled(BLOCK, 2), false);
            long start = System.nanoTime();
            long[] sums = r.checksums(0, size, 1 << 20);
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(millis).as("milliseconds for 1 TiB of holes").isLessThan(5_000);

            long zeroes = expected(new byte[1 << 20], 0, 1 << 20, 1 << 20)[0];
            assertThat(sums).hasSize(1 << 20);
            assertThat(Arrays.stream(sums).filter(s -> s != zeroes).count()).isEqualTo(2);
            assertThat(sums[0]).isNotEqualTo(zeroes);
            assertThat(sums[sums.length - 1]).isNotEqualTo(zeroes);
        }
    }

    /**
     * Checksums and extents taken while writers write and trim and snapshots come and go (their
     * deletion merges into the head): nothing fails, and once quiet the checksums are exact.
     */
    @Test
    void checksumsAndExtentsRunBesideWritesAndMerges() throws Exception {
        int size = 128 * BLOCK;
        ExecutorService executor = Executors.newFixedThreadPool(2);
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.create("v", size);
            AtomicBoolean stop = new AtomicBoolean();
            List<Future<?>> writers = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                Random random = new Random(t);
                writers.add(executor.submit(() -> {
                    while (!stop.get()) {
                        long offset = (long) random.nextInt(size / BLOCK - 4) * BLOCK + random.nextInt(100);
                        if (random.nextInt(4) == 0) {
                            r.trim(offset, 3L * BLOCK);
                        } else {
                            r.write(offset, filled(2 * BLOCK, random.nextInt(256)), false);
                        }
                    }
                    return null;
                }));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
            for (int i = 0; System.nanoTime() < deadline; i++) {
                assertThat(r.checksums(0, size, REGION)).hasSize(size / REGION);
                assertThat(r.allocatedExtents()).allSatisfy(e -> assertThat(e.end()).isLessThanOrEqualTo(size));
                if (i % 10 == 0) {
                    r.snapshot("s" + i);
                }
                if (r.snapshots().size() > 2) {
                    r.deleteSnapshot(r.snapshots().getFirst());
                }
            }
            stop.set(true);
            for (Future<?> writer : writers) {
                writer.get();
            }
            byte[] content = new byte[size];
            r.read(0, ByteBuffer.wrap(content));
            assertThat(r.checksums(0, size, REGION)).containsExactly(expected(content, 0, size, REGION));
            checkExtentsCover(r.allocatedExtents(), content);
        } finally {
            executor.shutdownNow();
        }
    }

    /**
     * Random writes, trims, zeroing, snapshots and restores, with the checksums of random ranges
     * and region sizes compared to those of a byte-array model after each step, for a bounded time.
     * Replay a failure with {@code -Dballast.seed=N}.
     */
    @Test
    void randomContentMatchesTheModel() throws IOException {
        long seed = Long.getLong("ballast.seed", new Random().nextLong());
        Random random = new Random(seed);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(4);
        int size = 256 * BLOCK;
        byte[] model = new byte[size];
        LinkedHashMap<String, byte[]> snapshots = new LinkedHashMap<>();
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.create("v", size);
            for (int step = 0; step < 3_000 && System.nanoTime() < deadline; step++) {
                String op = null;
                try {
                    op = mutate(random, r, model, snapshots, step);
                    int region = BLOCK << random.nextInt(6);
                    int offset = random.nextBoolean() ? 0 : random.nextInt(size);
                    int length = random.nextInt(size - offset + 1);
                    assertThat(r.checksums(offset, length, region))
                            .as("checksums of [%d, +%d) in regions of %d", offset, length, region)
                            .containsExactly(expected(model, offset, length, region));
                    checkExtentsCover(r.allocatedExtents(), model);
                } catch (Throwable t) {
                    throw new AssertionError("seed " + seed + " (replay with -Dballast.seed=" + seed + "), step "
                            + step + " " + op + ": " + t, t);
                }
            }
        }
    }

    private static String mutate(Random random, Replica r, byte[] model, LinkedHashMap<String, byte[]> snapshots,
            int step) throws IOException {
        int dice = random.nextInt(100);
        int unit = random.nextBoolean() ? BLOCK : 1;
        int offset = random.nextInt(model.length / unit) * unit;
        int length = Math.min(model.length - offset, (1 + random.nextInt(12 * BLOCK / unit)) * unit);
        String range = " [" + offset + ", +" + length + ")";
        if (dice < 55) {
            byte[] data = new byte[length];
            random.nextBytes(data);
            if (random.nextInt(4) == 0) {
                Arrays.fill(data, (byte) 0); // allocated zeroes must checksum like holes
            }
            r.write(offset, ByteBuffer.wrap(data), false);
            System.arraycopy(data, 0, model, offset, length);
            return "write" + range;
        } else if (dice < 70) {
            r.trim(offset, length);
            int from = (offset + BLOCK - 1) / BLOCK * BLOCK;
            int to = (offset + length) / BLOCK * BLOCK;
            if (from < to) {
                Arrays.fill(model, from, to, (byte) 0);
            }
            return "trim" + range;
        } else if (dice < 80) {
            r.writeZeroes(offset, length, false);
            Arrays.fill(model, offset, offset + length, (byte) 0);
            return "writeZeroes" + range;
        } else if (dice < 88) {
            if (snapshots.size() >= 4) {
                String oldest = snapshots.keySet().iterator().next();
                r.deleteSnapshot(oldest);
                snapshots.remove(oldest);
                return "deleteSnapshot " + oldest;
            }
            String name = "s" + step;
            r.snapshot(name);
            snapshots.put(name, model.clone());
            return "snapshot " + name;
        } else if (dice < 92 && !snapshots.isEmpty()) {
            String name = new ArrayList<>(snapshots.keySet()).get(random.nextInt(snapshots.size()));
            r.restore(name);
            System.arraycopy(snapshots.get(name), 0, model, 0, model.length);
            return "restore " + name;
        }
        return "nothing";
    }

    /** Every non-zero byte of the model lies in an extent; extents are aligned, sorted and apart. */
    private static void checkExtentsCover(List<Extent> extents, byte[] model) {
        long previousEnd = -1;
        for (Extent e : extents) {
            assertThat(e.offset() % BLOCK).isZero();
            assertThat(e.length() % BLOCK).isZero();
            assertThat(e.offset()).as("sorted and merged").isGreaterThan(previousEnd);
            previousEnd = e.end();
        }
        int next = 0;
        for (Extent e : extents) {
            assertThat(allZero(model, next, (int) e.offset())).as("zero before %s", e).isTrue();
            next = (int) e.end();
        }
        assertThat(allZero(model, next, model.length)).as("zero after the last extent").isTrue();
    }

    private static boolean allZero(byte[] bytes, int from, int to) {
        for (int i = from; i < to; i++) {
            if (bytes[i] != 0) {
                return false;
            }
        }
        return true;
    }

    /** The checksums of {@code content[offset, offset + length)} by the definition, computed here. */
    static long[] expected(byte[] content, long offset, long length, int region) {
        long[] sums = new long[(int) ((length + region - 1) / region)];
        for (int i = 0; i < sums.length; i++) {
            int start = (int) (offset + (long) i * region);
            int n = (int) Math.min(region, offset + length - start);
            CRC32C crc32c = new CRC32C();
            crc32c.update(content, start, n);
            CRC32 crc32 = new CRC32();
            crc32.update(content, start, n);
            sums[i] = crc32c.getValue() << 32 | crc32.getValue();
        }
        return sums;
    }
}
