package io.ballast.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random operations on real pool files, every read checked against an in-memory model of each
 * volume and its snapshots. Replay a failure with {@code -Dballast.seed=N}; the number of
 * operations is {@code -Dballast.ops=N}.
 */
class ModelTest {
    private static final int BLOCK = 4096;
    private static final int MAX_SIZE = 4 << 20;

    @TempDir
    Path dir;

    private Random random;
    private Pool pool;
    private final Map<String, byte[]> volumes = new LinkedHashMap<>();
    private final Map<String, LinkedHashMap<String, byte[]>> snapshots = new HashMap<>();
    private int nextName;

    @Test
    void randomOperationsMatchTheModel() throws Exception {
        long seed = Long.getLong("ballast.seed", new Random().nextLong());
        int operations = Integer.getInteger("ballast.ops", 20_000);
        random = new Random(seed);
        pool = Pool.open(dir, 0);
        try {
            create();
            for (int i = 0; i < operations; i++) {
                String op = null;
                try {
                    op = step();
                    if (i % 200 == 0) {
                        checkSpace();
                    }
                } catch (Throwable t) {
                    throw new AssertionError("seed " + seed + " (replay with -Dballast.seed=" + seed
                            + "), operation #" + i + " " + op + ": " + t, t);
                }
            }
            for (String id : List.copyOf(volumes.keySet())) {
                verifyVolume(id);
            }
            checkSpace();
            for (String id : List.copyOf(volumes.keySet())) {
                pool.delete(id);
                volumes.remove(id);
            }
            assertThat(pool.usedBytes()).as("seed %d: pool used after deleting everything", seed).isZero();
            assertThat(pool.layers()).as("seed %d", seed).isEmpty();
            try (Stream<Path> files = Files.list(dir.resolve("layers"))) {
                assertThat(files).as("seed %d: layer files left", seed).isEmpty();
            }
        } finally {
            pool.close();
        }
    }

    private String step() throws IOException {
        int dice = random.nextInt(1000);
        String id = pick(volumes.keySet().stream().toList());
        Replica r = pool.replica(id);
        byte[] model = volumes.get(id);
        if (dice < 320) {
            long[] range = range(model.length);
            byte[] data = new byte[(int) range[1]];
            random.nextBytes(data);
            r.write(range[0], ByteBuffer.wrap(data), random.nextInt(10) == 0);
            System.arraycopy(data, 0, model, (int) range[0], data.length);
            return "write " + id + " " + Arrays.toString(range);
        } else if (dice < 560) {
            long[] range = range(model.length);
            checkRead(r, model, (int) range[0], (int) range[1]);
            return "read " + id + " " + Arrays.toString(range);
        } else if (dice < 620) {
            long[] range = range(model.length);
            r.trim(range[0], range[1]);
            long from = (range[0] + BLOCK - 1) / BLOCK * BLOCK;
            long to = (range[0] + range[1]) / BLOCK * BLOCK;
            if (from < to) {
                Arrays.fill(model, (int) from, (int) to, (byte) 0);
            }
            return "trim " + id + " " + Arrays.toString(range);
        } else if (dice < 680) {
            long[] range = range(model.length);
            r.writeZeroes(range[0], range[1], random.nextBoolean());
            Arrays.fill(model, (int) range[0], (int) (range[0] + range[1]), (byte) 0);
            return "writeZeroes " + id + " " + Arrays.toString(range);
        } else if (dice < 710) {
            r.flush();
            return "flush " + id;
        } else if (dice < 760) {
            LinkedHashMap<String, byte[]> snaps = snapshots.get(id);
            if (snaps.size() >= 6) {
                return "skip snapshot";
            }
            String name = "s" + nextName++;
            r.snapshot(name);
            snaps.put(name, model.clone());
            checkSnapshotList(r);
            return "snapshot " + id + "@" + name;
        } else if (dice < 800) {
            LinkedHashMap<String, byte[]> snaps = snapshots.get(id);
            if (snaps.isEmpty()) {
                return "skip deleteSnapshot";
            }
            String name = pick(List.copyOf(snaps.keySet()));
            r.deleteSnapshot(name);
            snaps.remove(name);
            checkSnapshotList(r);
            checkSpace();
            return "deleteSnapshot " + id + "@" + name;
        } else if (dice < 830) {
            LinkedHashMap<String, byte[]> snaps = snapshots.get(id);
            if (snaps.isEmpty()) {
                return "skip restore";
            }
            String name = pick(List.copyOf(snaps.keySet()));
            r.restore(name);
            byte[] restored = Arrays.copyOf(snaps.get(name), model.length);
            volumes.put(id, restored);
            checkSnapshotList(r);
            return "restore " + id + "@" + name;
        } else if (dice < 850) {
            LinkedHashMap<String, byte[]> snaps = snapshots.get(id);
            if (snaps.isEmpty() || volumes.size() >= 6) {
                return "skip clone";
            }
            String name = pick(List.copyOf(snaps.keySet()));
            String cloneId = "c" + nextName++;
            Replica clone = pool.cloneFrom(id, name, cloneId);
            assertThat(clone.sizeBytes()).isEqualTo(model.length);
            volumes.put(cloneId, Arrays.copyOf(snaps.get(name), model.length));
            snapshots.put(cloneId, new LinkedHashMap<>());
            return "clone " + id + "@" + name + " -> " + cloneId;
        } else if (dice < 860) {
            if (model.length >= MAX_SIZE) {
                return "skip grow";
            }
            int newSize = model.length + BLOCK * (1 + random.nextInt(64));
            r.grow(newSize);
            volumes.put(id, Arrays.copyOf(model, newSize));
            assertThat(r.sizeBytes()).isEqualTo(newSize);
            return "grow " + id + " to " + newSize;
        } else if (dice < 875) {
            if (volumes.size() <= 1) {
                return "skip delete";
            }
            pool.delete(id);
            volumes.remove(id);
            snapshots.remove(id);
            checkSpace();
            return "delete " + id;
        } else if (dice < 890) {
            if (volumes.size() >= 6) {
                return "skip create";
            }
            return "create " + create();
        } else if (dice < 900) {
            long used = pool.usedBytes();
            Map<String, Long> replicaUsed = new HashMap<>();
            for (String v : volumes.keySet()) {
                replicaUsed.put(v, pool.replica(v).usedBytes());
            }
            pool.close();
            pool = Pool.open(dir, 0);
            assertThat(pool.replicaIds()).containsExactlyInAnyOrderElementsOf(volumes.keySet());
            // The index is rebuilt from the files' allocation: equal usage means the
            // in-memory index and the files agreed before the close.
            assertThat(pool.usedBytes()).as("pool used after reopen").isEqualTo(used);
            for (String v : volumes.keySet()) {
                assertThat(pool.replica(v).usedBytes()).as("used of " + v).isEqualTo(replicaUsed.get(v));
                assertThat(pool.replica(v).sizeBytes()).isEqualTo(volumes.get(v).length);
                checkSnapshotList(pool.replica(v));
            }
            return "reopen";
        } else {
            verifyVolume(id);
            return "verify " + id;
        }
    }

    private String create() throws IOException {
        String id = "r" + nextName++;
        int size = BLOCK * (64 + random.nextInt(256));
        Replica r = pool.create(id, size);
        assertThat(r.usedBytes()).isZero();
        volumes.put(id, new byte[size]);
        snapshots.put(id, new LinkedHashMap<>());
        return id;
    }

    /** Offset and length: aligned blocks, 512-byte sectors or arbitrary bytes, mostly small. */
    private long[] range(int size) {
        int kind = random.nextInt(3);
        int unit = kind == 0 ? BLOCK : kind == 1 ? 512 : 1;
        int units = size / unit;
        int maxLength = Math.max(1, Math.min(units, random.nextInt(8) == 0 ? 64 * BLOCK / unit : 3 * BLOCK / unit + 1));
        int length = random.nextInt(maxLength + 1);
        int offset = random.nextInt(units - length + 1);
        return new long[] {(long) offset * unit, (long) length * unit};
    }

    private void checkRead(Replica r, byte[] model, int offset, int length) throws IOException {
        ByteBuffer buffer = random.nextBoolean() ? ByteBuffer.allocate(length) : ByteBuffer.allocateDirect(length);
        r.read(offset, buffer);
        assertThat(buffer.hasRemaining()).isFalse();
        byte[] actual = new byte[length];
        buffer.flip().get(actual);
        int mismatch = Arrays.mismatch(actual, 0, length, model, offset, offset + length);
        if (mismatch >= 0) {
            throw new AssertionError("replica " + r.id() + " differs at byte " + (offset + mismatch)
                    + " (block " + (offset + mismatch) / BLOCK + "): read " + actual[mismatch]
                    + ", model " + model[offset + mismatch]);
        }
    }

    private void verifyVolume(String id) throws IOException {
        byte[] model = volumes.get(id);
        checkRead(pool.replica(id), model, 0, model.length);
    }

    private void checkSnapshotList(Replica r) {
        assertThat(r.snapshots()).containsExactlyElementsOf(snapshots.get(r.id()).keySet());
    }

    /** Pool usage is the sum of the distinct live layers' blocks; replica usage is never negative. */
    private void checkSpace() throws IOException {
        long blocks = 0;
        for (Layer layer : pool.layers()) {
            blocks += layer.blocks();
        }
        assertThat(pool.usedBytes()).as("pool used vs layers").isEqualTo(blocks * BLOCK);
        long sum = 0;
        for (String id : volumes.keySet()) {
            long used = pool.replica(id).usedBytes();
            assertThat(used).as("used of " + id).isNotNegative();
            sum += used;
        }
        assertThat(sum).isLessThanOrEqualTo(pool.usedBytes());
    }

    private <T> T pick(List<T> items) {
        return items.get(random.nextInt(items.size()));
    }
}
