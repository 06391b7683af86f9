package io.ballast.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ballast.replication.peer.PoolReplicaControl;
import io.ballast.store.Pool;
import io.ballast.store.Replica;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A resync or rebuild gives the replica every snapshot of the volume, with its content, before its head:
 * real replicas in real pools (one pool per "node"), in-process channels, and the sequence the node's
 * coordinator runs (read the count of snapshots, replay the snapshots, resync the head with that count).
 * Each snapshot's content is compared through a clone of it on each replica.
 */
class SnapshotReplayTest {
    private static final long SIZE = 16L << 20;
    private static final int BLOCK = 4096;
    private static final int REGION = 65536;

    @TempDir
    Path dir;

    private final Map<String, Pool> pools = new HashMap<>();
    private final List<String> commits = Collections.synchronizedList(new ArrayList<>());

    @AfterEach
    void closePools() throws IOException {
        for (Pool pool : pools.values()) {
            pool.close();
        }
    }

    private Pool pool(String node) throws IOException {
        Pool pool = Pool.open(dir.resolve(node), 0);
        pools.put(node, pool);
        return pool;
    }

    private SnapshotReplay.Place place(String node, long epoch) {
        Pool pool = pools.get(node);
        return new SnapshotReplay.Place(node, pool.id(), new PoolReplicaControl(node, Map.of(pool.id(), pool)),
                id -> LocalReplicaChannel.open(node, pool.replica(id), epoch));
    }

    private VolumeTarget target(long epoch, String... nodes) throws IOException {
        List<ReplicaChannel> channels = new ArrayList<>();
        for (String node : nodes) {
            channels.add(LocalReplicaChannel.open(node, pools.get(node).replica("vol"), epoch));
        }
        return new VolumeTarget("vol", epoch, SIZE, channels, nodes[0], (node, state) -> commits.add(node + "=" + state),
                () -> true, IoObserver.NONE);
    }

    /** What the node's coordinator does for a stale replica (Coordinators.resync), from the replica on n1. */
    private SnapshotReplay.Result resync(VolumeTarget target, String stale) throws IOException {
        long quiesces = target.quiesceCount();
        SnapshotReplay.Result result = SnapshotReplay.replay("vol", "vol", SIZE, place("n1", target.epoch()),
                place(stale, target.epoch()));
        target.resync(LocalReplicaChannel.open(stale, pools.get(stale).replica("vol"), target.epoch()), quiesces);
        return result;
    }

    /** A snapshot as the node takes one of an attached volume: quiesced, on the in-sync replicas, one tag. */
    private void snapshot(VolumeTarget target, String name) throws IOException {
        String tag = java.util.UUID.randomUUID().toString();
        target.quiesced(inSync -> {
            for (String node : inSync) {
                pools.get(node).replica("vol").snapshot(name, tag);
            }
            return null;
        });
    }

    private static ByteBuffer pattern(long seed, int length) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return ByteBuffer.wrap(bytes);
    }

    /** Every byte of the volume as snapshot {@code name} of the replica on {@code node} reads. */
    private byte[] view(String node, String name) throws IOException {
        Pool pool = pools.get(node);
        Replica clone = pool.cloneFrom("vol", name, "view-" + name);
        try {
            ByteBuffer all = ByteBuffer.allocate((int) SIZE);
            clone.read(0, all);
            return all.array();
        } finally {
            pool.delete(clone.id());
        }
    }

    private long[] viewChecksums(String node, String name) throws IOException {
        Pool pool = pools.get(node);
        Replica clone = pool.cloneFrom("vol", name, "sums-" + name);
        try {
            return clone.checksums(0, SIZE, REGION);
        } finally {
            pool.delete(clone.id());
        }
    }

    private void assertSameSnapshots(String expected, String actual) throws IOException {
        Replica from = pools.get(expected).replica("vol");
        Replica to = pools.get(actual).replica("vol");
        assertThat(to.snapshotsWithTags()).as("names and tags").isEqualTo(from.snapshotsWithTags());
        for (String name : from.snapshots()) {
            assertThat(viewChecksums(actual, name)).as("checksums of snapshot %s", name)
                    .isEqualTo(viewChecksums(expected, name));
            assertThat(view(actual, name)).as("snapshot %s", name).isEqualTo(view(expected, name));
        }
    }

    @Test
    void aReplicaRebuiltFromScratchGetsEverySnapshotWithItsContent() throws IOException {
        pool("n1").create("vol", SIZE);
        VolumeTarget target = target(1, "n1");
        target.write(0, pattern(1, 3 << 20), false);
        target.write(9L << 20, pattern(2, 5 * BLOCK), false);
        snapshot(target, "s1");
        target.write(1L << 20, pattern(3, 64 * BLOCK), false);
        target.writeZeroes(2L << 20, 16 * BLOCK, false); // zeroes that shadow s1's data
        target.trim(9L << 20, 2 * BLOCK);
        snapshot(target, "s2");
        target.write(12L << 20, pattern(4, 1 << 20), false);
        snapshot(target, "s3");
        target.write(5 * BLOCK, pattern(5, BLOCK), false); // the head only
        target.flush();

        pool("n2").create("vol", SIZE); // the new replica, placed by a rebuild
        target.addStale("n2");
        SnapshotReplay.Result result = resync(target, "n2");

        assertThat(result.copied()).containsExactly("s1", "s2", "s3");
        assertThat(result.deleted()).isEmpty();
        assertThat(target.replicaStates()).containsEntry("n2", ReplicaState.IN_SYNC);
        assertSameSnapshots("n1", "n2");
        assertThat(view("n2", "s2")).isNotEqualTo(view("n2", "s1"));
        assertThat(target.verify().identical()).as("the heads").isTrue();
        target.close();
    }

    @Test
    void aStaleReplicaThatMissedTwoSnapshotsAndHasWritesOfItsOwnGetsThemRight() throws IOException {
        pool("n1").create("vol", SIZE);
        pool("n2").create("vol", SIZE);
        VolumeTarget target = target(1, "n1", "n2");
        target.write(0, pattern(1, 2 << 20), false);
        snapshot(target, "s1");
        snapshot(target, "gone"); // deleted while n2 is away
        target.write(4L << 20, pattern(2, 1 << 20), false);
        target.flush();
        pools.remove("n2").close(); // n2 fails: the next write takes it out of the set
        target.write(64 * BLOCK, pattern(3, 8 * BLOCK), false);
        assertThat(target.replicaStates()).containsEntry("n2", ReplicaState.STALE);
        pools.get("n1").replica("vol").deleteSnapshot("gone");
        snapshot(target, "s2");
        target.write(6L << 20, pattern(4, 1 << 20), false);
        target.trim(0, 32 * BLOCK);
        snapshot(target, "s3");
        target.write(8L << 20, pattern(5, 64 * BLOCK), false);
        target.flush();

        // n2 comes back with data of its own that no snapshot and no head of the volume has: a write that
        // reached it and not n1, in a region no write has touched since, and over s1's data.
        Replica b = pool("n2").replica("vol");
        b.write(10L << 20, pattern(6, 4 * BLOCK), false);
        b.write(REGION, pattern(7, BLOCK), false);
        b.flush();
        assertThat(b.snapshots()).containsExactly("s1", "gone");

        SnapshotReplay.Result result = resync(target, "n2");

        assertThat(result.deleted()).containsExactly("gone");
        assertThat(result.copied()).containsExactly("s2", "s3");
        assertThat(commits).containsExactly("n2=STALE", "n2=RESYNCING", "n2=IN_SYNC");
        assertSameSnapshots("n1", "n2");
        assertThat(target.verify().identical()).as("the heads").isTrue();
        assertThat(view("n2", "s3")).isEqualTo(view("n1", "s3"));
        target.close();
    }

    @Test
    void aSnapshotNameDeletedAndTakenAgainWhileTheReplicaWasAwayGetsTheNewContent() throws IOException {
        pool("n1").create("vol", SIZE);
        pool("n2").create("vol", SIZE);
        VolumeTarget target = target(1, "n1", "n2");
        target.write(0, pattern(1, 1 << 20), false);
        snapshot(target, "daily");
        pools.remove("n2").close();
        target.write(0, pattern(2, 1 << 20), false);
        assertThat(target.replicaStates()).containsEntry("n2", ReplicaState.STALE);
        pools.get("n1").replica("vol").deleteSnapshot("daily");
        snapshot(target, "daily"); // the same name, other data
        target.flush();
        pool("n2");
        byte[] old = view("n2", "daily");

        SnapshotReplay.Result result = resync(target, "n2");

        assertThat(result.deleted()).containsExactly("daily");
        assertThat(result.copied()).containsExactly("daily");
        assertSameSnapshots("n1", "n2");
        assertThat(view("n2", "daily")).isNotEqualTo(old);
        target.close();
    }

    @Test
    void aSnapshotTakenDuringTheResyncKeepsTheReplicaOutOfTheSetUntilTheNextResyncCopiesIt() throws IOException {
        pool("n1").create("vol", SIZE);
        VolumeTarget target = target(1, "n1");
        target.write(0, pattern(1, 1 << 20), false);
        snapshot(target, "s1");
        target.write(0, pattern(2, 64 * BLOCK), false);
        pool("n2").create("vol", SIZE);
        target.addStale("n2");

        long quiesces = target.quiesceCount();
        SnapshotReplay.replay("vol", "vol", SIZE, place("n1", 1), place("n2", 1));
        snapshot(target, "s2"); // after the lists were compared: on n1 only
        assertThatThrownBy(() -> target.resync(LocalReplicaChannel.open("n2", pools.get("n2").replica("vol"), 1),
                quiesces)).hasMessageContaining("a snapshot was taken during the resync");
        assertThat(target.replicaStates()).containsEntry("n2", ReplicaState.STALE);
        assertThat(pools.get("n2").replica("vol").snapshots()).containsExactly("s1");

        SnapshotReplay.Result next = resync(target, "n2"); // the controller's next round
        assertThat(next.copied()).containsExactly("s2");
        assertThat(target.replicaStates()).containsEntry("n2", ReplicaState.IN_SYNC);
        assertSameSnapshots("n1", "n2");
        assertThat(target.verify().identical()).isTrue();
        target.close();
    }

    @Test
    void aReplicaThatMissedAResizeGrowsFirst() throws IOException {
        pool("n1").create("vol", SIZE);
        pool("n2").create("vol", SIZE / 2);
        pools.get("n1").replica("vol").write(SIZE - BLOCK, pattern(1, BLOCK), false);
        pools.get("n1").replica("vol").snapshot("s1", "t1");
        SnapshotReplay.replay("vol", "vol", SIZE, place("n1", 1), place("n2", 1));
        assertThat(pools.get("n2").replica("vol").sizeBytes()).isEqualTo(SIZE);
        assertSameSnapshots("n1", "n2");
    }
}
