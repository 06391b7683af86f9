package io.ballast.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PoolTest {
    private static final int BLOCK = 4096;

    @TempDir
    Path dir;

    @Test
    void fullPoolRefusesNewBlocksKeepsDataAndRecoversAfterTrim() throws IOException {
        try (Pool pool = Pool.open(dir, 8 * BLOCK)) {
            Replica r = pool.create("v", 64 * BLOCK);
            for (int b = 0; b < 8; b++) {
                r.write((long) b * BLOCK, filled(BLOCK, b + 1), false);
            }
            assertThat(pool.usedBytes()).isEqualTo(8L * BLOCK);
            assertThatThrownBy(() -> r.write(8L * BLOCK, filled(BLOCK, 99), false))
                    .isInstanceOf(PoolFullException.class);
            // Partly over an existing block, partly over a new one: refused as a whole.
            assertThatThrownBy(() -> r.write(8L * BLOCK - 100, filled(200, 99), false))
                    .isInstanceOf(PoolFullException.class);
            assertThat(pool.usedBytes()).isEqualTo(8L * BLOCK);
            for (int b = 0; b < 8; b++) {
                assertThat(read(r, (long) b * BLOCK, BLOCK)).containsOnly(b + 1);
            }
            assertThat(read(r, 8L * BLOCK, BLOCK)).containsOnly(0);
            r.write(100, filled(50, 7), false); // overwrites need no space

            r.trim(2L * BLOCK, BLOCK);
            assertThat(pool.usedBytes()).isEqualTo(7L * BLOCK);
            r.write(8L * BLOCK, filled(BLOCK, 42), true);
            assertThat(read(r, 8L * BLOCK, BLOCK)).containsOnly(42);
            assertThat(read(r, 2L * BLOCK, BLOCK)).containsOnly(0);
        }
    }

    @Test
    void aPoolBelongsToOneOpener() throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            assertThatThrownBy(() -> Pool.open(dir, 0)).isInstanceOf(IOException.class)
                    .hasMessageContaining("already open");
        }
        Pool.open(dir, 0).close(); // closing released it
    }

    @Test
    void aMissingLayerFileFailsLoudlyInsteadOfReadingZeroes() throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.create("v", 16 * BLOCK);
            r.write(0, ByteBuffer.wrap(new byte[BLOCK]), true);
        }
        try (var files = Files.list(dir.resolve("layers"))) {
            for (Path data : files.filter(f -> f.toString().endsWith(".data")).toList()) {
                Files.delete(data);
            }
        }
        assertThatThrownBy(() -> Pool.open(dir, 0)).isInstanceOf(IOException.class)
                .hasMessageContaining("is missing");
    }

    @Test
    void oneTebibyteReplicaAllocatesNothing() throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.create("big", 1L << 40);
            assertThat(r.usedBytes()).isZero();
            assertThat(pool.usedBytes()).isZero();
            try (var files = Files.list(dir.resolve("layers"))) {
                for (Path f : files.filter(f -> f.toString().endsWith(".data")).toList()) {
                    assertThat(Files.size(f)).isZero();
                }
            }
            r.write((1L << 40) - BLOCK, filled(BLOCK, 5), false);
            assertThat(r.usedBytes()).isEqualTo(BLOCK);
            assertThat(read(r, (1L << 40) - BLOCK, BLOCK)).containsOnly(5);
            assertThatThrownBy(() -> r.read((1L << 40) - 10, ByteBuffer.allocate(11)))
                    .isInstanceOf(OutOfRangeException.class);
            assertThatThrownBy(() -> r.write(-1, ByteBuffer.allocate(1), false))
                    .isInstanceOf(OutOfRangeException.class);
        }
    }

    @Test
    void reopenRebuildsIndexFromTheFiles() throws IOException {
        String id;
        try (Pool pool = Pool.open(dir, 0)) {
            id = pool.id();
            Replica r = pool.create("v", 256 * BLOCK);
            r.write(0, filled(3 * BLOCK, 1), false);
            r.snapshot("s1");
            r.write(BLOCK + 512, filled(512, 2), false); // copy-up of a partial block
            r.write(100L * BLOCK, filled(BLOCK, 3), false);
            r.flush();
        }
        try (Pool pool = Pool.open(dir, 0)) {
            assertThat(pool.id()).isEqualTo(id);
            Replica r = pool.replica("v");
            assertThat(r.snapshots()).containsExactly("s1");
            assertThat(r.usedBytes()).isEqualTo(5L * BLOCK);
            assertThat(pool.usedBytes()).isEqualTo(5L * BLOCK);
            byte[] expected = new byte[101 * BLOCK];
            Arrays.fill(expected, 0, 3 * BLOCK, (byte) 1);
            Arrays.fill(expected, BLOCK + 512, BLOCK + 1024, (byte) 2);
            Arrays.fill(expected, 100 * BLOCK, 101 * BLOCK, (byte) 3);
            assertThat(read(r, 0, expected.length)).isEqualTo(expected);
        }
    }

    @Test
    void unalignedIoMergesWithLowerLayersAndZeroesExactly() throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.create("v", 16 * BLOCK);
            r.write(0, filled(4 * BLOCK, 1), false);
            r.snapshot("base");
            r.write(3000, filled(3000, 2), false); // spans blocks 0 and 1, both copied up
            r.writeZeroes(BLOCK * 2 + 1, BLOCK + 10, false);
            r.trim(3 * BLOCK + 100, 200); // a partial block: a no-op
            byte[] expected = new byte[4 * BLOCK];
            Arrays.fill(expected, (byte) 1);
            Arrays.fill(expected, 3000, 6000, (byte) 2);
            Arrays.fill(expected, 2 * BLOCK + 1, 3 * BLOCK + 11, (byte) 0);
            assertThat(read(r, 0, 4 * BLOCK)).isEqualTo(expected);
            assertThat(read(r, 4095, 3)).containsExactly(2, 2, 2);
            r.restore("base");
            assertThat(read(r, 0, 4 * BLOCK)).containsOnly(1);
        }
    }

    @Test
    void trimShadowsSnapshotDataAndPunchesOwnData() throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.create("v", 16 * BLOCK);
            r.write(0, filled(2 * BLOCK, 1), false);
            r.snapshot("s");
            r.write(4L * BLOCK, filled(BLOCK, 2), false);
            r.trim(0, 8L * BLOCK);
            assertThat(read(r, 0, 8 * BLOCK)).containsOnly(0);
            // Two blocks of zeroes shadow the snapshot; the head's own block was given back.
            assertThat(pool.usedBytes()).isEqualTo(4L * BLOCK);
            r.restore("s");
            assertThat(read(r, 0, 2 * BLOCK)).containsOnly(1);
            assertThat(pool.usedBytes()).isEqualTo(2L * BLOCK);
        }
    }

    @Test
    void snapshotsRestoreAndDeleteKeepLaterSnapshots() throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.create("v", 8 * BLOCK);
            r.write(0, filled(BLOCK, 1), false);
            r.snapshot("one");
            r.write(0, filled(BLOCK, 2), false);
            r.snapshot("two");
            r.write(0, filled(BLOCK, 3), false);
            assertThatThrownBy(() -> r.snapshot("two")).isInstanceOf(SnapshotExistsException.class);
            assertThatThrownBy(() -> r.restore("nope")).isInstanceOf(NoSuchSnapshotException.class);
            assertThat(r.snapshots()).containsExactly("one", "two");

            r.restore("one");
            assertThat(read(r, 0, BLOCK)).containsOnly(1);
            r.restore("two");
            assertThat(read(r, 0, BLOCK)).containsOnly(2);
            r.restore("one");
            r.write(BLOCK, filled(BLOCK, 4), false);
            // "one" has two children now (the head and "two"): deleting hides it.
            r.deleteSnapshot("one");
            assertThat(r.snapshots()).containsExactly("two");
            assertThat(read(r, 0, 2 * BLOCK)).containsExactly(concat(filled(BLOCK, 1), filled(BLOCK, 4)));
            // Once "two" is gone the hidden layer has one child and is merged into the head.
            int layersBefore = pool.layers().size();
            r.deleteSnapshot("two");
            assertThat(pool.layers()).hasSize(layersBefore - 2);
            assertThat(read(r, 0, 2 * BLOCK)).containsExactly(concat(filled(BLOCK, 1), filled(BLOCK, 4)));
            assertThat(pool.usedBytes()).isEqualTo(2L * BLOCK);
            assertThatThrownBy(() -> r.deleteSnapshot("two")).isInstanceOf(NoSuchSnapshotException.class);
        }
    }

    @Test
    void deletingTheSourceLeavesItsCloneIntact() throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            Replica source = pool.create("src", 8 * BLOCK);
            source.write(0, filled(2 * BLOCK, 1), false);
            source.snapshot("s");
            source.write(0, filled(BLOCK, 2), false);
            Replica clone = pool.cloneFrom("src", "s", "clone");
            assertThat(clone.sizeBytes()).isEqualTo(8 * BLOCK);
            assertThat(clone.usedBytes()).isZero();
            clone.write(BLOCK, filled(BLOCK, 3), false);
            assertThatThrownBy(() -> pool.cloneFrom("src", "s", "clone")).isInstanceOf(ReplicaExistsException.class);
            assertThatThrownBy(() -> pool.cloneFrom("src", "x", "c2")).isInstanceOf(NoSuchSnapshotException.class);

            pool.delete("src");
            assertThatThrownBy(() -> pool.replica("src")).isInstanceOf(NoSuchReplicaException.class);
            assertThatThrownBy(() -> source.read(0, ByteBuffer.allocate(1))).isInstanceOf(IOException.class);
            assertThat(read(clone, 0, 2 * BLOCK)).containsExactly(concat(filled(BLOCK, 1), filled(BLOCK, 3)));
            // The shared layer was merged into the clone's head: only the clone's data is left.
            assertThat(pool.layers()).hasSize(1);
            assertThat(pool.usedBytes()).isEqualTo(2L * BLOCK);
            assertThat(clone.usedBytes()).isEqualTo(2L * BLOCK);
        }
        try (Pool pool = Pool.open(dir, 0)) {
            assertThat(pool.replicaIds()).containsExactly("clone");
            assertThat(read(pool.replica("clone"), 0, 2 * BLOCK)).containsExactly(concat(filled(BLOCK, 1), filled(BLOCK, 3)));
            pool.delete("clone");
            assertThat(pool.usedBytes()).isZero();
        }
    }

    @Test
    void createValidatesAndGrowOnlyGrows() throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            assertThat(pool.capacityBytes()).isPositive();
            assertThatThrownBy(() -> pool.create("v", 1000)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> pool.create("v", 0)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> pool.create("../v", BLOCK)).isInstanceOf(IllegalArgumentException.class);
            Replica r = pool.create("v", BLOCK);
            assertThatThrownBy(() -> pool.create("v", BLOCK)).isInstanceOf(ReplicaExistsException.class);
            assertThatThrownBy(() -> r.grow(BLOCK + 1)).isInstanceOf(IllegalArgumentException.class);
            r.grow(4 * BLOCK);
            r.write(3L * BLOCK, filled(BLOCK, 9), false);
            assertThatThrownBy(() -> r.grow(2 * BLOCK)).isInstanceOf(IllegalArgumentException.class);
        }
        try (Pool pool = Pool.open(dir, 0)) {
            assertThat(pool.replica("v").sizeBytes()).isEqualTo(4 * BLOCK);
        }
    }

    @Test
    void aSnapshotKeepsItsTagAcrossReopenRestoreAndTheDeleteOfAnother() throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.create("v", 16 * BLOCK);
            r.write(0, filled(BLOCK, 1), false);
            r.snapshot("a", "tag-a");
            r.snapshot("b");
            r.snapshot("c", "tag-c");
            assertThat(r.snapshotsWithTags()).isEqualTo(new Replica.Snapshots(List.of("a", "b", "c"),
                    Arrays.asList("tag-a", null, "tag-c")));
            assertThatThrownBy(() -> r.snapshot("d", "")).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> r.snapshot("d", "x\ny")).isInstanceOf(IllegalArgumentException.class);
            r.deleteSnapshot("b");
            r.restore("a");
        }
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.replica("v");
            assertThat(r.snapshotsWithTags()).isEqualTo(new Replica.Snapshots(List.of("a", "c"),
                    List.of("tag-a", "tag-c")));
            r.deleteSnapshot("a");
            r.snapshot("a", "tag-a2"); // the name again: another snapshot
            assertThat(r.snapshotsWithTags().tags()).containsExactly("tag-c", "tag-a2");
        }
        try (Pool pool = Pool.open(dir, 0)) {
            assertThat(pool.replica("v").snapshotsWithTags().tags()).containsExactly("tag-c", "tag-a2");
        }
    }

    static ByteBuffer filled(int length, int value) {
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, (byte) value);
        return ByteBuffer.wrap(bytes);
    }

    static byte[] read(Replica r, long offset, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        r.read(offset, buffer);
        return buffer.array();
    }

    private static byte[] concat(ByteBuffer a, ByteBuffer b) {
        byte[] out = new byte[a.remaining() + b.remaining()];
        a.get(out, 0, a.remaining());
        b.get(out, out.length - b.remaining(), b.remaining());
        return out;
    }
}
