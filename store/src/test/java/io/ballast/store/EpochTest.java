package io.ballast.store;

import static io.ballast.store.PoolTest.filled;
import static io.ballast.store.PoolTest.read;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Fencing epochs: admitted durably, never lowered, kept by every rewrite of the manifest. */
class EpochTest {
    private static final int BLOCK = 4096;

    @TempDir
    Path dir;

    @Test
    void admittedEpochsSurviveReopen() throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.create("v", 16 * BLOCK);
            assertThat(r.epoch()).isZero();
            r.admitEpoch(3);
            assertThat(r.epoch()).isEqualTo(3);
        }
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.replica("v");
            assertThat(r.epoch()).isEqualTo(3);
            r.admitEpoch(5);
        }
        try (Pool pool = Pool.open(dir, 0)) {
            assertThat(pool.replica("v").epoch()).isEqualTo(5);
        }
    }

    @Test
    void aStaleEpochIsRefusedAndItsIoWritesNothing() throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.create("v", 16 * BLOCK);
            r.admitEpoch(7);
            assertThatThrownBy(() -> r.admitEpoch(5)).isExactlyInstanceOf(StaleEpochException.class)
                    .hasMessage("replica v has admitted epoch 7; epoch 5 is stale (the volume was attached elsewhere since)");
            assertThat(r.epoch()).isEqualTo(7);

            assertThatThrownBy(() -> r.fenced(6, () -> {
                r.write(0, filled(BLOCK, 1), true);
                return null;
            })).isExactlyInstanceOf(StaleEpochException.class).hasMessageContaining("epoch 6 is stale");
            assertThat(read(r, 0, BLOCK)).containsOnly(0);
            assertThat(r.usedBytes()).isZero();

            r.fenced(7, () -> {
                r.write(0, filled(BLOCK, 2), true);
                return null;
            });
            assertThat(r.fenced(7, () -> read(r, 0, BLOCK))).containsOnly(2);
        }
    }

    @Test
    void admittingTheCurrentEpochAgainWritesNothing() throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.create("v", 16 * BLOCK);
            r.admitEpoch(4);
            Path manifest = pool.manifestPath("v");
            // A rewrite is a new file renamed over the old one: a new inode and a fresh mtime.
            Files.setLastModifiedTime(manifest, FileTime.fromMillis(0));
            Object inode = Files.readAttributes(manifest, BasicFileAttributes.class).fileKey();
            byte[] before = Files.readAllBytes(manifest);

            r.admitEpoch(4);

            assertThat(Files.getLastModifiedTime(manifest)).isEqualTo(FileTime.fromMillis(0));
            assertThat(Files.readAttributes(manifest, BasicFileAttributes.class).fileKey()).isEqualTo(inode);
            assertThat(Files.readAllBytes(manifest)).isEqualTo(before);
        }
    }

    @Test
    void everyRewriteOfTheManifestKeepsTheEpochAndClonesStartAtZero() throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.create("v", 16 * BLOCK);
            r.admitEpoch(9);
            r.write(0, filled(BLOCK, 1), false);
            r.snapshot("s1");
            r.write(BLOCK, filled(BLOCK, 2), false);
            r.snapshot("s2");
            r.restore("s1");
            r.grow(32 * BLOCK);
            r.deleteSnapshot("s2");
            r.deleteSnapshot("s1"); // merged into the head
            r.snapshot("s3");
            Replica clone = pool.cloneFrom("v", "s3", "c");
            assertThat(r.epoch()).isEqualTo(9);
            assertThat(clone.epoch()).isZero();
            clone.admitEpoch(2);
            assertThat(manifestEpoch(pool, "v")).isEqualTo("9");
        }
        try (Pool pool = Pool.open(dir, 0)) {
            assertThat(pool.replica("v").epoch()).isEqualTo(9);
            assertThat(pool.replica("v").sizeBytes()).isEqualTo(32 * BLOCK);
            assertThat(pool.replica("c").epoch()).isEqualTo(2);
        }
    }

    @Test
    void aManifestFromBeforeEpochsReadsAsZero() throws IOException {
        Path manifest;
        try (Pool pool = Pool.open(dir, 0)) {
            pool.create("v", 16 * BLOCK);
            manifest = pool.manifestPath("v");
        }
        Properties p = DurableFiles.read(manifest);
        assertThat(p.remove("epoch")).isEqualTo("0");
        DurableFiles.write(manifest, p);
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.replica("v");
            assertThat(r.epoch()).isZero();
            r.admitEpoch(1);
            assertThat(manifestEpoch(pool, "v")).isEqualTo("1");
        }
    }

    @Test
    void aDeletedReplicaAdmitsNothingAndStaysDeleted() throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.create("v", 16 * BLOCK);
            pool.delete("v");
            assertThatThrownBy(() -> r.admitEpoch(1)).isInstanceOf(IOException.class).hasMessage("replica v is closed");
            assertThat(pool.manifestPath("v")).doesNotExist();
        }
    }

    @Test
    void concurrentAdmitsLeaveTheHighest() throws Exception {
        ExecutorService executor = Executors.newFixedThreadPool(4);
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.create("v", 16 * BLOCK);
            List<Future<?>> tasks = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int first = t;
                tasks.add(executor.submit(() -> {
                    for (long e = first; e < 60; e += 4) {
                        try {
                            r.admitEpoch(e);
                            // Admitted means nothing older is admitted afterwards.
                            assertThat(r.epoch()).isGreaterThanOrEqualTo(e);
                        } catch (StaleEpochException overtaken) {
                            assertThat(r.epoch()).isGreaterThan(e);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> task : tasks) {
                task.get();
            }
            assertThat(r.epoch()).isEqualTo(59);
        } finally {
            executor.shutdownNow();
        }
        try (Pool pool = Pool.open(dir, 0)) {
            assertThat(pool.replica("v").epoch()).isEqualTo(59);
        }
    }

    /**
     * Writers fenced by epoch 1 run back to back while epoch 2 is admitted: none of their IO may
     * still be running once admitEpoch has returned, or an old coordinator could change a replica
     * after the new one reconciled it.
     */
    @Test
    void noFencedIoRunsAfterANewerEpochIsAdmitted() throws Exception {
        int threads = 3;
        ExecutorService executor = Executors.newFixedThreadPool(threads);
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.create("v", 64 * BLOCK);
            AtomicBoolean admitted = new AtomicBoolean();
            AtomicInteger ran = new AtomicInteger();
            AtomicInteger late = new AtomicInteger();
            List<Future<?>> writers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long offset = (long) t * BLOCK;
                writers.add(executor.submit(() -> {
                    while (true) {
                        try {
                            r.fenced(1, () -> {
                                r.write(offset, filled(BLOCK, 1), false);
                                if (admitted.get()) {
                                    late.incrementAndGet();
                                }
                                ran.incrementAndGet();
                                return null;
                            });
                        } catch (StaleEpochException fenced) {
                            return null;
                        }
                    }
                }));
            }
            while (ran.get() < 100) {
                Thread.onSpinWait();
            }
            r.admitEpoch(2);
            admitted.set(true);
            for (Future<?> writer : writers) {
                writer.get();
            }
            assertThat(late).hasValue(0);
        } finally {
            executor.shutdownNow();
        }
    }

    private static String manifestEpoch(Pool pool, String replicaId) throws IOException {
        return DurableFiles.read(pool.manifestPath(replicaId)).getProperty("epoch");
    }
}
