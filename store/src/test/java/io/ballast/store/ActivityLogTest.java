package io.ballast.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A replica's activity log: durable across a restart, unknown when torn, and gone with its replica. */
class ActivityLogTest {
    private static final long SIZE = 64L << 20;

    @TempDir
    Path dir;

    @Test
    void marksSurviveAReopenAndReplaceMakesTheLogExact() throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.create("vol", SIZE);
            assertThat(r.activeExtents()).isEmpty();
            r.markActivity(false, new long[] {9, 2, 2}, new long[0]);
            r.markActivity(false, new long[] {4}, new long[] {9, 100});
            assertThat(r.activeExtents()).containsExactly(2, 4);
        }
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.replica("vol");
            assertThat(r.activeExtents()).containsExactly(2, 4);
            r.markActivity(true, new long[] {7}, new long[0]);
            assertThat(r.activeExtents()).containsExactly(7);
        }
        try (Pool pool = Pool.open(dir, 0)) {
            assertThat(pool.replica("vol").activeExtents()).containsExactly(7);
        }
    }

    @Test
    void everyTornVersionOfTheFileReadsAsUnknownOrAsAWholeVersion() throws IOException {
        Path file = dir.resolve("log");
        ActivityLog log = ActivityLog.create(file);
        log.update(false, new long[] {1, 2, 3}, new long[0]);
        byte[] whole = Files.readAllBytes(file);
        for (int cut = 0; cut < whole.length; cut++) {
            assertThat(ActivityLog.parse(java.util.Arrays.copyOf(whole, cut))).as("cut at %d", cut).isNull();
        }
        for (int i = 0; i < whole.length; i++) {
            byte[] flipped = whole.clone();
            flipped[i] ^= 0x10;
            assertThat(ActivityLog.parse(flipped)).as("bit flipped in byte %d", i).isNull();
        }
        byte[] longer = java.util.Arrays.copyOf(whole, whole.length + 16); // the tail of an older, longer version
        assertThat(ActivityLog.parse(longer)).containsExactly(1, 2, 3);
    }

    @Test
    void anUnknownLogStaysUnknownUntilReplaced() throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            pool.create("vol", SIZE).markActivity(false, new long[] {1}, new long[0]);
        }
        Files.write(dir.resolve("replicas/vol.activity"), new byte[] {'B', 'A', 'L', 'L'});
        try (Pool pool = Pool.open(dir, 0)) {
            Replica r = pool.replica("vol");
            assertThat(r.activeExtents()).isNull();
            r.markActivity(false, new long[] {5}, new long[0]);
            assertThat(r.activeExtents()).as("a mark says nothing of the other extents").isNull();
            r.markActivity(true, new long[0], new long[0]);
            assertThat(r.activeExtents()).isEmpty();
        }
    }

    @Test
    void aDeletedReplicasLogGoesWithItAndANewReplicaStartsEmpty() throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            pool.create("vol", SIZE).markActivity(false, new long[] {1}, new long[0]);
            pool.delete("vol");
            assertThat(dir.resolve("replicas/vol.activity")).doesNotExist();
            Files.write(dir.resolve("replicas/vol.activity"), Files.readAllBytes(writeLog(dir.resolve("other"))));
            assertThat(pool.create("vol", SIZE).activeExtents()).as("not a leftover's marks").isEmpty();
        }
    }

    private static Path writeLog(Path file) throws IOException {
        ActivityLog.create(file).update(false, new long[] {3}, new long[0]);
        return file;
    }
}
