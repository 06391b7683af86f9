package io.ballast.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Requests over more than {@link Replica#CHUNK_BLOCKS} blocks, which Replica splits. */
class ChunkedRequestTest {
    private static final int BLOCK = 4096;
    private static final int CHUNK = Replica.CHUNK_BLOCKS;

    @TempDir
    Path dir;

    @Test
    void multiChunkWriteTrimAndWriteZeroesOverASnapshotReadBackRight() throws IOException {
        int blocks = 5 * CHUNK;
        byte[] model = random(blocks * BLOCK, 1);
        long used;
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.create("v", (long) blocks * BLOCK);
            r.write(0, ByteBuffer.wrap(model), false);
            r.snapshot("s1");
            byte[] snapshot = model.clone();

            // Unaligned at both ends, so each request starts and ends with a partial block.
            byte[] data = random(2 * CHUNK * BLOCK + 1000, 2);
            long offset = (long) (CHUNK / 2) * BLOCK + 123;
            r.write(offset, ByteBuffer.wrap(data), false);
            System.arraycopy(data, 0, model, (int) offset, data.length);
            assertThat(read(r, 0, model.length)).isEqualTo(model);

            long zeroFrom = (long) (CHUNK + 10) * BLOCK + 7;
            long zeroLength = 2L * CHUNK * BLOCK + 5000;
            r.writeZeroes(zeroFrom, zeroLength, true);
            Arrays.fill(model, (int) zeroFrom, (int) (zeroFrom + zeroLength), (byte) 0);
            assertThat(read(r, 0, model.length)).isEqualTo(model);

            // Trim zeroes only the whole blocks inside the range; the partial edges keep data.
            long trimFrom = (long) (3 * CHUNK + 5) * BLOCK + 100;
            long trimEnd = (long) (5 * CHUNK - 3) * BLOCK + 9;
            r.trim(trimFrom, trimEnd - trimFrom);
            Arrays.fill(model, (int) (trimFrom + BLOCK - 100), (int) (trimEnd - 9), (byte) 0);
            assertThat(read(r, 0, model.length)).isEqualTo(model);

            Replica clone = pool.cloneFrom("v", "s1", "c");
            assertThat(read(clone, 0, snapshot.length)).as("the snapshot").isEqualTo(snapshot);
            used = pool.usedBytes();
        }
        try (Pool pool = Pool.open(dir, 0)) {
            assertThat(pool.usedBytes()).as("accounting matches the files").isEqualTo(used);
            assertThat(read(pool.replica("v"), 0, model.length)).isEqualTo(model);
        }
    }

    @Test
    void fullPoolMidRequestKeepsTheChunksBeforeAndExactAccounting() throws IOException {
        int blocks = 4 * CHUNK;
        byte[] model = random(blocks * BLOCK, 3);
        long used;
        try (Pool pool = Pool.open(dir, (long) (blocks + CHUNK + 44) * BLOCK)) {
            Replica r = pool.create("v", (long) blocks * BLOCK);
            r.write(0, ByteBuffer.wrap(model), false);
            r.snapshot("s1");

            // Shadow zeroes for the first chunk fit; the second chunk's do not.
            assertThatThrownBy(() -> r.writeZeroes(0, (long) blocks * BLOCK, false)).isInstanceOf(PoolFullException.class);
            Arrays.fill(model, 0, CHUNK * BLOCK, (byte) 0);
            assertThat(pool.usedBytes()).isEqualTo((long) (blocks + CHUNK) * BLOCK);
            assertThat(read(r, 0, model.length)).isEqualTo(model);

            // 44 blocks left: the 12 up to the chunk boundary are written, the next 48 refused.
            byte[] data = random(60 * BLOCK, 4);
            long offset = (long) (2 * CHUNK - 12) * BLOCK;
            assertThatThrownBy(() -> r.write(offset, ByteBuffer.wrap(data), false)).isInstanceOf(PoolFullException.class);
            System.arraycopy(data, 0, model, (int) offset, 12 * BLOCK);
            assertThat(pool.usedBytes()).isEqualTo((long) (blocks + CHUNK + 12) * BLOCK);
            assertThat(read(r, 0, model.length)).isEqualTo(model);
            used = pool.usedBytes();
        }
        try (Pool pool = Pool.open(dir, 0)) {
            assertThat(pool.usedBytes()).as("accounting matches the files").isEqualTo(used);
            assertThat(read(pool.replica("v"), 0, model.length)).isEqualTo(model);
        }
    }

    /**
     * The test holds the stripe of one block in the third chunk of a write-zeroes: the writer
     * finishes the first two chunks and waits there, holding only the third chunk's stripes
     * below that block, so another replica's write elsewhere goes through meanwhile.
     */
    @Test
    void aLargeWriteZeroesHoldsOneChunksStripesAtATime() throws Exception {
        int blocks = 4 * CHUNK;
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.create("v", (long) blocks * BLOCK);
            Replica other = pool.create("w", 4096L * BLOCK);
            r.write(0, ByteBuffer.wrap(random(blocks * BLOCK, 5)), false);
            r.snapshot("s1"); // so write-zeroes writes shadow blocks, which take pool space
            long before = pool.usedBytes();

            long held = 2L * CHUNK + 10;
            pool.stripes.lock(r.salt, held, held);
            CompletableFuture<Void> zeroes;
            try {
                zeroes = CompletableFuture.runAsync(() -> {
                    try {
                        r.writeZeroes(0, (long) blocks * BLOCK, false);
                    } catch (IOException e) {
                        throw new RuntimeException(e);
                    }
                });
                // Stripes are taken in ascending order: the writer holds those of the third chunk's blocks whose
                // stripe comes before the held one. That is the 10 blocks before it, unless the chunk's stripes
                // wrap around the end of the table (a salt in 6% of runs), when the wrapped ones come first.
                long heldStripe = (r.salt + held) & 4095;
                long taken = java.util.stream.LongStream.range(2L * CHUNK, 3L * CHUNK)
                        .filter(b -> ((r.salt + b) & 4095) < heldStripe).count();
                awaitTrue(() -> pool.usedBytes() == before + 2L * CHUNK * BLOCK
                        && pool.stripes.lockedStripes() == taken + 1);

                // A stripe far from all of r's: with every stripe taken this would wait.
                long block = (r.salt + 2048L - other.salt) & 4095;
                other.write(block * BLOCK, ByteBuffer.wrap(random(BLOCK, 6)), false);
                assertThat(zeroes).isNotDone();
            } finally {
                pool.stripes.unlock(r.salt, held, held);
            }
            zeroes.get(30, TimeUnit.SECONDS);
            assertThat(read(r, 0, blocks * BLOCK)).containsOnly(0);
            assertThat(pool.stripes.lockedStripes()).isZero();
        }
    }

    private static byte[] random(int length, long seed) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    private static byte[] read(Replica r, long offset, int length) throws IOException {
        ByteBuffer dst = ByteBuffer.allocate(length);
        r.read(offset, dst);
        return dst.array();
    }

    private static void awaitTrue(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition still false after 30 s").isLessThan(deadline);
            Thread.sleep(5);
        }
    }
}
