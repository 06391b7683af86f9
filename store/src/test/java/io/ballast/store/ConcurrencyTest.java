package io.ballast.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * After every snapshot, threads race to write their own 512-byte sector of the same 4 KiB
 * blocks, so every block is copied up from the snapshot by several writers at once, while a
 * merge of an older snapshot runs into the head. Each thread owns one sector of every block,
 * so the final content is known and a lost read-modify-write update shows.
 */
class ConcurrencyTest {
    private static final int THREADS = 8;
    private static final int BLOCKS = 32;
    private static final int ROUNDS = 60;

    @TempDir
    Path dir;

    @Test
    void concurrentPartialWritesToOneBlockAreNotLost() throws Exception {
        long seed = Long.getLong("ballast.seed", new Random().nextLong());
        ExecutorService executor = Executors.newFixedThreadPool(THREADS + 1);
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.create("v", BLOCKS * 4096L);
            CyclicBarrier start = new CyclicBarrier(THREADS + 1);
            for (int round = 1; round <= ROUNDS; round++) {
                r.snapshot("s" + round);
                byte value = (byte) round;
                List<Future<?>> tasks = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    int sector = t;
                    Random random = new Random(seed + round * THREADS + t);
                    tasks.add(executor.submit(() -> {
                        ByteBuffer data = ByteBuffer.allocate(512);
                        Arrays.fill(data.array(), value);
                        start.await();
                        for (int i = 0; i < BLOCKS; i++) {
                            int block = (i + random.nextInt(4)) % BLOCKS;
                            r.write(block * 4096L + sector * 512L, data.clear(), false);
                        }
                        for (int block = 0; block < BLOCKS; block++) {
                            r.write(block * 4096L + sector * 512L, data.clear(), false);
                        }
                        return null;
                    }));
                }
                tasks.add(executor.submit(() -> {
                    start.await();
                    if (r.snapshots().size() > 2) {
                        r.deleteSnapshot(r.snapshots().getFirst());
                    }
                    return null;
                }));
                for (Future<?> f : tasks) {
                    f.get();
                }
                ByteBuffer block = ByteBuffer.allocate(4096);
                for (int b = 0; b < BLOCKS; b++) {
                    r.read(b * 4096L, block.clear());
                    for (int i = 0; i < 4096; i++) {
                        assertThat(block.get(i)).as("seed %d round %d block %d byte %d", seed, round, b, i)
                                .isEqualTo(value);
                    }
                }
            }
        } finally {
            executor.shutdownNow();
        }
    }
}
