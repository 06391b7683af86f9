package io.ballast.app;

import static io.ballast.app.ClusterProcesses.await;
import static io.ballast.app.ClusterProcesses.log;
import static io.ballast.app.ClusterProcesses.millisSince;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Synchronous replication end to end: three real daemons (each its own JVM, on loopback ports, lease 2 s), volumes
 * with up to three replicas, and a real NBD client, qemu-io, connected to the node where a volume is attached.
 * A replica dies under a stream of writes and catches up copying only what changed; the coordinator dies and
 * another node takes the volume over with every flushed write; a paused coordinator that wakes up after the
 * takeover is fenced; the replica count goes up and down under an attached volume; a snapshot taken during writes
 * is the same on every replica. Every wait is bounded and says what it waited for; the fixture stops every node
 * by pid after each test, and a failure prints each node's log.
 */
@Timeout(value = 240, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ReplicationIT {
    private static final long MiB = 1L << 20;
    private static final long KiB = 1L << 10;
    /** The region size that resync and verify compare by. */
    private static final long REGION = 64 * KiB;

    @TempDir
    Path tmp;

    @RegisterExtension
    final ClusterProcesses cluster = new ClusterProcesses();

    // ---- 1. a replica dies under writes ---------------------------------------------------------------

    @Test
    void writesCarryOnWhenAReplicaDiesAndItCatchesUpCopyingOnlyWhatChanged() {
        List<DaemonProcess> n = startThree();
        DaemonProcess node1 = n.get(0);
        DaemonProcess node2 = n.get(1);
        DaemonProcess node3 = n.get(2);
        long size = 256 * MiB;
        createVolume(node1, "vol", "256M", 3);
        attach(node2, "vol", node1);
        String uri = node1.nbdUri("vol");

        // 64 MiB written before the outage: a resync that copied everything would copy at least these.
        long prefilling = System.nanoTime();
        qemuOk(uri, "write -P 0x5a 128M 64M", "flush");
        log("wrote 64 MiB through node1 to 3 replicas in %d ms", millisSince(prefilling));

        // 4 KiB FUA writes to 64 slots 1 MiB apart: while node3 is away they dirty at most 64 regions of 64 KiB.
        PatternWriter writer = new PatternWriter(uri, 0, MiB, 64, 20, true);
        long killed;
        long stale;
        SyncReport sync;
        try (writer) {
            writer.awaitWrites(20, 0, Duration.ofSeconds(20));
            killed = System.nanoTime();
            cluster.kill(node3);
            writer.awaitWrites(20, killed, Duration.ofSeconds(30));
            // node3's replica was committed out of the in-sync set, and the volume says it is degraded.
            JsonNode degraded = await("node3's replica of vol stale and vol degraded, as node2 sees it",
                    Duration.ofSeconds(20), () -> volume(node2, "vol"),
                    v -> "stale".equals(replicaStates(v).get("node3")) && "degraded".equals(v.path("state").asText()));
            stale = millisSince(killed);
            log("node3 killed: its replica stale and vol degraded %d ms later; replicas %s", stale,
                    replicaStates(degraded));
            writer.awaitWrites(20, System.nanoTime(), Duration.ofSeconds(30));

            long restarting = System.nanoTime();
            cluster.startAll(List.of(node3));
            log("node3 restarted in %d ms (%d ms after it was killed); %d writes so far", millisSince(restarting),
                    millisSince(killed), writer.writes().size());
            sync = awaitInSync(node2, "vol", 3, Duration.ofSeconds(60));
            log("vol in sync again %d ms after node3 was restarted", millisSince(restarting));
            // The writes go on after the rejoin, to all three replicas.
            writer.awaitWrites(20, System.nanoTime(), Duration.ofSeconds(30));
        }
        writer.report("replica loss", killed);
        assertThat(writer.failures()).as("failed writes (of %d) while node3 died and came back",
                writer.writes().size()).isEmpty();
        long gap = writer.longestGap();
        assertThat(writer.okAfter(killed)).as("writes acknowledged after node3 was killed").isGreaterThan(40);
        assertThat(gap).as("longest gap in ms between acknowledged writes (goal <= 2000)").isLessThan(10_000);

        // What the resync copied: the coordinator's own account, else the largest progress seen.
        long copied = copiedBytes(node1, "node3", sync);
        assertThat(copied).as("bytes the resync of node3 copied (64 slots of 4 KiB were written while it was away,"
                + " 64 MiB before)").isLessThan(16 * MiB).isLessThan(size / 16);

        JsonNode verify = verify(node2, "vol", 3);
        log("verify vol: %s", verify);
        List<String> reads = new ArrayList<>(List.of("read -P 0x5a 128M 64M"));
        writer.lastPatterns().forEach((offset, pattern) -> reads.add("read -P " + pattern + " " + offset + " 4k"));
        qemuOk(uri, reads.toArray(String[]::new));
        log("all %d slots and the 64 MiB read back through node1", writer.lastPatterns().size());
    }

    // ---- 2. the coordinator dies ------------------------------------------------------------------------

    @Test
    void anotherNodeTakesOverWithEveryFlushedWriteWhenTheCoordinatorDies() {
        List<DaemonProcess> n = startThree();
        DaemonProcess node1 = n.get(0);
        DaemonProcess node2 = n.get(1);
        DaemonProcess node3 = n.get(2);
        createVolume(node1, "vol", "256M", 3);
        long firstEpoch = attach(node1, "vol", node1).path("epoch").asLong();
        Map<Long, Integer> patterns = new LinkedHashMap<>();
        for (int i = 0; i < 12; i++) {
            patterns.put(i * 20 * MiB + i * 4 * KiB, 0x21 + i);
        }
        List<String> writes = new ArrayList<>();
        patterns.forEach((offset, pattern) -> writes.add("write -P " + pattern + " " + offset + " 64k"));
        writes.add("write -P 0x7e 240M 4M");
        writes.add("flush");
        qemuOk(node1.nbdUri("vol"), writes.toArray(String[]::new));

        long killed = System.nanoTime();
        cluster.kill(node1);
        JsonNode attached = attachRetrying(node2, "vol", node2, killed, Duration.ofSeconds(60));
        long attachMs = millisSince(killed);
        // The first IO through node2: a read of the first pattern.
        long firstOffset = patterns.keySet().iterator().next();
        String firstRead = "read -P " + patterns.get(firstOffset) + " " + firstOffset + " 64k";
        await("a read of a flushed pattern through node2", Duration.ofSeconds(30),
                () -> Run.run(60, List.of("qemu-io", "-f", "raw", "-c", firstRead, node2.nbdUri("vol"))),
                r -> r.exit() == 0 && !(r.out() + r.err()).contains("failed"));
        long firstIoMs = millisSince(killed);
        log("coordinator node1 killed: attached on node2 after %d ms, first IO through node2 after %d ms (goal <= 5000,"
                + " lease %s)", attachMs, firstIoMs, ClusterProcesses.LEASE);
        assertThat(firstIoMs).as("ms from the coordinator's death to the first IO through node2").isLessThan(15_000);

        // node2 compared what the replicas' activity logs marked: the 13 extents of 4 MiB that node1 wrote into
        // (12 patterns, one 4 MiB write), not every region of the volume.
        Matcher reconciled = Pattern.compile("volume vol: reconciled 2 in-sync replicas: (\\d+) bytes compared, (\\d+)"
                + " copied").matcher(node2.logText());
        assertThat(reconciled.find()).as("node2 logs its reconcile of vol").isTrue();
        log("reconcile on node2: %s", reconciled.group());
        assertThat(Long.parseLong(reconciled.group(1))).as("bytes the reconcile compared").isEqualTo(13 * 4 * MiB);

        JsonNode view = volume(node2, "vol");
        log("vol after the takeover: state %s, epoch %d (was %d), replicas %s", view.path("state").asText(),
                view.path("epoch").asLong(), firstEpoch, replicaStates(view));
        assertThat(view.path("attachedNode").asText()).isEqualTo("node2");
        assertThat(view.path("epoch").asLong()).as("epoch of the takeover").isGreaterThan(firstEpoch);
        assertThat(attached.path("epoch").asLong()).as("epoch in the attach answer").isGreaterThan(firstEpoch);
        assertThat(replicaStates(view).get("node1")).as("node1's replica after the takeover").isNotEqualTo("in-sync");
        assertThat(replicaStates(view).get("node2")).isEqualTo("in-sync");
        assertThat(replicaStates(view).get("node3")).isEqualTo("in-sync");
        assertThat(view.path("state").asText()).isEqualTo("degraded");

        List<String> reads = new ArrayList<>();
        patterns.forEach((offset, pattern) -> reads.add("read -P " + pattern + " " + offset + " 64k"));
        reads.add("read -P 0x7e 240M 4M");
        qemuOk(node2.nbdUri("vol"), reads.toArray(String[]::new));
        // The new coordinator takes writes.
        qemuOk(node2.nbdUri("vol"), "write -P 0x6d 250M 1M", "flush");
        reads.add("read -P 0x6d 250M 1M");
        verify(node3, "vol", 2);

        // node1 comes back; the coordinator on node2 resyncs its replica, which missed the last write.
        long restarting = System.nanoTime();
        cluster.startAll(List.of(node1));
        SyncReport sync = awaitInSync(node2, "vol", 3, Duration.ofSeconds(60));
        log("node1's replica in sync %d ms after node1 was restarted", millisSince(restarting));
        copiedBytes(node2, "node1", sync);
        verify(node2, "vol", 3);
        qemuOk(node2.nbdUri("vol"), reads.toArray(String[]::new));
    }

    // ---- 2b. the last in-sync replica's node restarts ----------------------------------------------------

    /**
     * Found by the fault campaign: a coordinator whose last in-sync replica failed kept that dead channel, so
     * every request failed even after the replica's node was back, until someone detached the volume (seed
     * 104); and once it closed instead, it stayed closed until a client opened the volume again, so its stale
     * replica was never resynced (seed 123).
     */
    @Test
    void aCoordinatorWhoseLastInSyncReplicaRestartedServesAgain() {
        // Four nodes, three of them metadata voters: the replicas go on the one that does not vote and on one
        // voter, so that both dying leaves a quorum; the coordinator is one of the other two.
        List<DaemonProcess> n = cluster.start(tmp, 4);
        Map<String, String> roles = await("4 nodes up with 3 voters", Duration.ofSeconds(30),
                () -> cluster.roles(n.getFirst()), r -> r.size() == 4
                        && r.values().stream().filter(role -> !role.equals("client")).count() == 3);
        DaemonProcess lastReplica = n.stream().filter(d -> roles.get(d.name).equals("client")).findFirst().orElseThrow();
        // The stale one is not the leader: its death must not also wait for an election.
        DaemonProcess staleReplica = n.stream().filter(d -> roles.get(d.name).equals("voter")).findFirst()
                .orElseThrow();
        DaemonProcess coordinator = n.stream().filter(d -> d != lastReplica && d != staleReplica).findFirst()
                .orElseThrow();
        log("replicas on %s (stale first) and %s (the last in sync), coordinator %s; roles %s", staleReplica.name,
                lastReplica.name, coordinator.name, roles);
        JsonNode created = ok(cluster.post(coordinator, "/v1/volumes", Map.of("name", "vol", "size", "64M", "repl", 2,
                "nodes", List.of(staleReplica.name, lastReplica.name))), 201).json();
        assertThat(replicaStates(created).keySet()).containsExactlyInAnyOrder(staleReplica.name, lastReplica.name);
        attach(coordinator, "vol", coordinator);
        String uri = coordinator.nbdUri("vol");
        qemuOk(uri, "write -P 0x31 0 1M", "flush");

        cluster.kill(staleReplica); // it leaves the in-sync set at the next write: the other is the last one
        // The write that finds it dead may fail while its removal commits; the next one goes through.
        await("a write through the coordinator after the stale replica's node died", Duration.ofSeconds(30),
                () -> Run.run(60, List.of("qemu-io", "-f", "raw", "-c", "write -P 0x32 1M 1M", "-c", "flush", uri)),
                r -> r.exit() == 0 && !(r.out() + r.err()).contains("failed"));
        assertThat(replicaStates(volume(coordinator, "vol")).get(staleReplica.name)).isEqualTo("stale");

        long epoch = volume(coordinator, "vol").path("epoch").asLong();
        long killed = System.nanoTime();
        cluster.kill(lastReplica);
        Run.Result refused = Run.run(60, List.of("qemu-io", "-f", "raw", "-c", "write -P 0x33 2M 1M", uri));
        log("a write with the last in-sync replica's node dead: exit %d, %s", refused.exit(),
                (refused.out() + refused.err()).strip());
        assertThat(refused.exit() != 0 || (refused.out() + refused.err()).contains("failed"))
                .as("a write with no in-sync replica reachable fails").isTrue();
        cluster.startAll(List.of(lastReplica));
        log("%s restarted %d ms after it was killed", lastReplica.name, millisSince(killed));

        // With no client at all, the coordinator's node opens the volume again for a new epoch once the last
        // replica's node is back, and brings the stale replica back in sync when its node returns.
        JsonNode reopened = await("vol open again at a new epoch, with no client", Duration.ofSeconds(30),
                () -> volume(coordinator, "vol"), v -> v.path("epoch").asLong() > epoch
                        && coordinator.name.equals(v.path("attachedNode").asText()));
        log("vol reattached on %s at epoch %d (was %d) %d ms after the last replica's node was killed",
                coordinator.name, reopened.path("epoch").asLong(), epoch, millisSince(killed));
        cluster.startAll(List.of(staleReplica));
        awaitInSync(coordinator, "vol", 2, Duration.ofSeconds(60));
        log("both replicas in sync %d ms after the last replica's node was killed", millisSince(killed));

        qemuOk(uri, "read -P 0x31 0 1M", "read -P 0x32 1M 1M", "write -P 0x34 3M 1M", "flush");
        qemuOk(uri, "read -P 0x34 3M 1M");
        verify(coordinator, "vol", 2);
    }

    // ---- 3. a paused coordinator is fenced --------------------------------------------------------------

    @Test
    void aPausedCoordinatorThatWakesAfterATakeoverIsFenced() {
        List<DaemonProcess> n = startThree();
        DaemonProcess node1 = n.get(0);
        DaemonProcess node2 = n.get(1);
        createVolume(node1, "vol", "64M", 3);
        attach(node2, "vol", node1);
        try (QemuIoSession old = QemuIoSession.open(node1.nbdUri("vol"))) {
            old.ok("write -f -P 0xa1 0 1M"); // A
            old.ok("read -P 0xa1 0 1M");
            boolean paused = false;
            try {
                signal(node1, "STOP");
                paused = true;
                long stopped = System.nanoTime();
                await("node1 down as node2 sees it", Duration.ofSeconds(30), () -> cluster.states(node2),
                        s -> "down".equals(s.get("node1")));
                log("node1 reported down %d ms after SIGSTOP", millisSince(stopped));
                attachRetrying(node2, "vol", node2, stopped, Duration.ofSeconds(60));
                qemuOk(node2.nbdUri("vol"), "write -P 0xb2 0 1M", "flush"); // B
                log("pattern B written through node2 %d ms after node1 was paused", millisSince(stopped));

                signal(node1, "CONT");
                paused = false;
                long resumed = System.nanoTime();
                QemuIoSession.Reply write = old.run("write -f -P 0xc3 0 1M", Duration.ofSeconds(60));
                log("after SIGCONT, the old client's write through node1: %s (%d ms after SIGCONT)", write,
                        millisSince(resumed));
                assertThat(write.text()).as("the old client's write through the fenced node1: %s", write)
                        .contains("write failed");
                QemuIoSession.Reply read = old.run("read -P 0xb2 0 1M", Duration.ofSeconds(60));
                log("then its read through node1: %s", read);
                assertThat(read.text()).as("the old client's read through the fenced node1 (if it ran, it must not"
                        + " have served node1's stale copy): %s", read).doesNotContain("Pattern verification failed")
                        .contains("read failed");
            } finally {
                if (paused) {
                    signal(node1, "CONT");
                }
            }
        }
        qemuOk(node2.nbdUri("vol"), "read -P 0xb2 0 1M");
        // A new client of node1 is refused too, with the node where the volume now is.
        Run.Result fresh = Run.run(60, List.of("qemu-io", "-f", "raw", "-c", "read 0 4k", node1.nbdUri("vol")));
        log("a new qemu-io through node1: exit %d, %s", fresh.exit(), (fresh.out() + fresh.err()).strip());
        assertThat(fresh.exit()).as("exit status of a new client of node1: %s", fresh).isNotZero();
        assertThat(fresh.out() + fresh.err()).contains("node2");
        JsonNode view = volume(node2, "vol");
        assertThat(view.path("attachedNode").asText()).isEqualTo("node2");
        log("node1 %s after SIGCONT; vol %s", node1.alive() ? "running" : "exited", replicaStates(view));

        // node1 is up again: node2's coordinator resyncs its replica (which may hold the refused write) from B.
        if (node1.alive()) {
            awaitInSync(node2, "vol", 3, Duration.ofSeconds(60));
            verify(node2, "vol", 3);
        } else {
            verify(node2, "vol", 2);
        }
        qemuOk(node2.nbdUri("vol"), "read -P 0xb2 0 1M");
    }

    // ---- 4. ha-update up and down -----------------------------------------------------------------------

    @Test
    void raisingTheReplicaCountRebuildsNewReplicasAndLoweringItDropsOne() {
        List<DaemonProcess> n = startThree();
        DaemonProcess node1 = n.get(0);
        DaemonProcess node2 = n.get(1);
        JsonNode one = ok(cluster.post(node1, "/v1/volumes", Map.of("name", "ha", "size", "128M", "repl", 1,
                "nodes", List.of("node1"))), 201).json();
        assertThat(replicaStates(one).keySet()).containsExactly("node1");
        attach(node2, "ha", node1);
        String uri = node1.nbdUri("ha");
        List<String> reads = new ArrayList<>(List.of("read -P 0x31 0 16M", "read -P 0x32 64M 4M",
                "read -P 0x33 " + (128 * MiB - 64 * KiB) + " 64k"));
        qemuOk(uri, "write -P 0x31 0 16M", "write -P 0x32 64M 4M", "write -P 0x33 " + (128 * MiB - 64 * KiB) + " 64k",
                "flush");

        long raising = System.nanoTime();
        JsonNode three = ok(cluster.post(node2, "/v1/volumes/ha/ha-update", Map.of("repl", 3)), 200).json();
        log("ha-update ha to 3 in %d ms: %s", millisSince(raising), replicaStates(three));
        assertThat(three.path("repl").asInt()).isEqualTo(3);
        assertThat(replicaStates(three)).as("replicas after ha-update to 3").hasSize(3)
                .containsEntry("node1", "in-sync");
        // Written while the new replicas are rebuilt: mirrored to them, or copied by the rebuild.
        qemuOk(uri, "write -P 0x34 32M 1M", "flush");
        reads.add("read -P 0x34 32M 1M");
        SyncReport sync = awaitInSync(node2, "ha", 3, Duration.ofSeconds(60));
        log("ha rebuilt to 3 in-sync replicas %d ms after the ha-update", millisSince(raising));
        // A rebuild copies the regions that hold data (20 MiB before it began, 21 MiB with the write during it), not
        // the whole 128 MiB.
        for (String added : List.of("node2", "node3")) {
            assertThat(copiedBytes(node1, added, sync)).as("bytes the rebuild of %s's replica copied", added)
                    .isGreaterThanOrEqualTo(20 * MiB).isLessThan(32 * MiB);
        }
        verify(node2, "ha", 3);
        qemuOk(uri, reads.toArray(String[]::new));

        JsonNode two = ok(cluster.post(node2, "/v1/volumes/ha/ha-update", Map.of("repl", 2)), 200).json();
        log("ha-update ha to 2: %s", replicaStates(two));
        assertThat(two.path("repl").asInt()).isEqualTo(2);
        assertThat(replicaStates(two)).as("replicas after ha-update to 2").hasSize(2);
        assertThat(replicaStates(two).values()).as("states of the replicas kept").containsOnly("in-sync");
        // At once: the coordinator writes to the two replicas kept, and verify compares those two.
        qemuOk(uri, "write -P 0x35 48M 1M", "flush");
        reads.add("read -P 0x35 48M 1M");
        verify(node2, "ha", 2);
        qemuOk(uri, reads.toArray(String[]::new));
        assertThat(replicaStates(volume(node1, "ha"))).as("replicas after the writes").isEqualTo(replicaStates(two));
    }

    // ---- 5. a snapshot during writes --------------------------------------------------------------------

    @Test
    void aSnapshotTakenDuringWritesIsTheSameOnEveryReplicaAndSoIsItsClone() {
        List<DaemonProcess> n = startThree();
        DaemonProcess node1 = n.get(0);
        DaemonProcess node2 = n.get(1);
        DaemonProcess node3 = n.get(2);
        createVolume(node1, "snap", "128M", 3);
        attach(node2, "snap", node1);
        // Every write to its own 4 KiB, 64 KiB apart, never twice: each is either in the snapshot or not.
        PatternWriter writer = new PatternWriter(node1.nbdUri("snap"), 0, REGION, 1024, 10, false);
        long snapping;
        long snapped;
        try (writer) {
            writer.awaitWrites(30, 0, Duration.ofSeconds(20));
            snapping = System.nanoTime();
            // Through node2: forwarded to node1, where the write stream is quiesced on every replica.
            ok(cluster.post(node2, "/v1/volumes/snap/snapshots", Map.of("name", "s1")), 201);
            snapped = System.nanoTime();
            log("snapshot s1 of snap taken through node2 in %d ms, %d writes in", millisSince(snapping),
                    writer.writes().size());
            writer.awaitWrites(30, snapped, Duration.ofSeconds(20));
        }
        writer.report("snapshot", snapping);
        assertThat(writer.failures()).as("failed writes around the snapshot").isEmpty();
        assertThat(writer.writes().size()).as("writes (each to a slot of its own)").isLessThan(1024);

        JsonNode clone = ok(cluster.post(node3, "/v1/volumes/snap/clone", Map.of("name", "snapclone",
                "snapshot", "s1")), 201).json();
        log("clone snapclone of snap/s1: replicas %s", replicaStates(clone));
        assertThat(replicaStates(clone)).as("replicas of the clone").hasSize(3).containsOnlyKeys("node1", "node2",
                "node3").doesNotContainValue("stale");
        verify(node3, "snapclone", 3);
        verify(node2, "snap", 3);

        // The clone holds every write acknowledged before the snapshot was asked for and none asked after it
        // returned; one in between is either there whole or not at all.
        int before = 0;
        int after = 0;
        int between = 0;
        int inBetweenPresent = 0;
        try (QemuIoSession reader = QemuIoSession.open(node3.nbdUri("snapclone"))) {
            for (PatternWriter.Write w : writer.writes()) {
                String read = "read -P " + w.pattern() + " " + w.offset() + " 4k";
                String zero = "read -P 0 " + w.offset() + " 4k";
                if (w.ended() < snapping) {
                    before++;
                    assertThat(reader.run(read).failed()).as("write %s, acknowledged before the snapshot, in the"
                            + " clone", w).isFalse();
                } else if (w.started() > snapped) {
                    after++;
                    assertThat(reader.run(zero).failed()).as("write %s, sent after the snapshot, not in the clone",
                            w).isFalse();
                } else {
                    between++;
                    if (!reader.run(read).failed()) {
                        inBetweenPresent++;
                    } else {
                        assertThat(reader.run(zero).failed()).as("write %s, during the snapshot, whole or absent in"
                                + " the clone", w).isFalse();
                    }
                }
            }
        }
        log("clone checked: %d writes before the snapshot in it, %d after it absent, %d during it (%d in it)", before,
                after, between, inBetweenPresent);
        List<String> reads = new ArrayList<>();
        writer.lastPatterns().forEach((offset, pattern) -> reads.add("read -P " + pattern + " " + offset + " 4k"));
        qemuOk(node1.nbdUri("snap"), reads.toArray(String[]::new));
    }

    // ---- helpers ----------------------------------------------------------------------------------------

    /** Three nodes, all up, with one leader and two voters, as node1 sees them. */
    private List<DaemonProcess> startThree() {
        List<DaemonProcess> n = cluster.start(tmp, 3);
        await("3 nodes up with 1 leader and 2 voters, as node1 sees them", Duration.ofSeconds(30), () -> {
            Map<String, String> roles = new TreeMap<>();
            cluster.nodesView(n.getFirst()).forEach(node -> roles.put(node.get("name").asText(),
                    node.get("metadata").asText() + "/" + node.get("state").asText()));
            return roles;
        }, roles -> roles.size() == 3 && roles.values().stream().allMatch(r -> r.endsWith("/up"))
                && roles.values().stream().filter(r -> r.startsWith("leader/")).count() == 1
                && roles.values().stream().filter(r -> r.startsWith("voter/")).count() == 2);
        return n;
    }

    private JsonNode createVolume(DaemonProcess via, String name, String size, int repl) {
        JsonNode created = ok(cluster.post(via, "/v1/volumes", Map.of("name", name, "size", size, "repl", repl)), 201)
                .json();
        assertThat(replicaStates(created)).as("replicas of the new volume %s", name).hasSize(repl)
                .doesNotContainValue("stale");
        return created;
    }

    /** Attaches through {@code via} on {@code on}, which must answer at once. */
    private JsonNode attach(DaemonProcess via, String volume, DaemonProcess on) {
        JsonNode attached = ok(cluster.post(via, "/v1/volumes/" + volume + "/attach", Map.of("node", on.name)), 200)
                .json();
        assertThat(attached.path("attachedNode").asText()).isEqualTo(on.name);
        log("%s attached on %s (epoch %d)", volume, on.name, attached.path("epoch").asLong());
        return attached;
    }

    /**
     * Attaches on {@code on} through itself, retrying while the cluster refuses (the old node not yet reported
     * down, no leader yet) until {@code timeout} after {@code since}; logs every distinct answer.
     */
    private JsonNode attachRetrying(DaemonProcess via, String volume, DaemonProcess on, long since, Duration timeout) {
        long deadline = since + timeout.toNanos();
        String lastAnswer = "";
        for (;;) {
            ClusterProcesses.Response response;
            try {
                response = cluster.post(via, "/v1/volumes/" + volume + "/attach", Map.of("node", on.name));
            } catch (ClusterProcesses.UncheckedIOException e) {
                response = new ClusterProcesses.Response(-1, e.getMessage());
            }
            if (response.status() == 200) {
                log("attach %s on %s: answered %d ms after %s", volume, on.name, millisSince(since),
                        lastAnswer.isEmpty() ? "the first try" : "retries; last refusal: " + lastAnswer);
                return response.json();
            }
            String answer = response.status() + " " + response.errorMessage();
            if (!answer.equals(lastAnswer)) {
                log("attach %s on %s, %d ms in: %s", volume, on.name, millisSince(since), response);
                lastAnswer = answer;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("could not attach " + volume + " on " + on.name + " within "
                        + timeout.toSeconds() + " s; last answer: " + response);
            }
            sleep(200);
        }
    }

    private JsonNode volume(DaemonProcess via, String name) {
        return ok(cluster.get(via, "/v1/volumes/" + name), 200).json();
    }

    /** The state of each replica by node, e.g. {node1=in-sync, node3=stale}. */
    private static Map<String, String> replicaStates(JsonNode volume) {
        Map<String, String> states = new TreeMap<>();
        volume.path("replicas").forEach(r -> states.put(r.get("node").asText(), r.get("state").asText()));
        return states;
    }

    /** What a wait for every replica in sync saw: how long it took and the resync progress each replica showed. */
    record SyncReport(long millis, Map<String, Long> maxCopied, Map<String, JsonNode> lastProgress,
                      List<String> transitions) {}

    /**
     * Waits until {@code volume} has {@code replicas} replicas, all in-sync, as {@code via} sees it; logs each
     * replica's state changes and its resync progress (at most once a second each) on the way.
     */
    private SyncReport awaitInSync(DaemonProcess via, String volume, int replicas, Duration timeout) {
        long begin = System.nanoTime();
        long deadline = begin + timeout.toNanos();
        Map<String, String> states = new TreeMap<>();
        Map<String, Long> maxCopied = new TreeMap<>();
        Map<String, JsonNode> lastProgress = new TreeMap<>();
        Map<String, Long> progressLogged = new TreeMap<>();
        List<String> transitions = new ArrayList<>();
        Object last = "(nothing yet)";
        for (;;) {
            try {
                JsonNode view = volume(via, volume);
                last = replicaStates(view) + " state " + view.path("state").asText();
                for (JsonNode replica : view.path("replicas")) {
                    String node = replica.path("node").asText();
                    String state = replica.path("state").asText();
                    JsonNode resync = replica.path("resync");
                    if (!state.equals(states.put(node, state))) {
                        String line = String.format("+%d ms %s %s%s", millisSince(begin), node, state,
                                resync.isObject() ? " " + resync : "");
                        transitions.add(line);
                        log("%s of %s: %s", via.name, volume, line);
                    }
                    if (resync.isObject()) {
                        lastProgress.put(node, resync);
                        maxCopied.merge(node, resync.path("bytesCopied").asLong(), Math::max);
                        long now = System.nanoTime();
                        if (now - progressLogged.getOrDefault(node, 0L) > 1_000_000_000L) {
                            progressLogged.put(node, now);
                            log("%s resync of %s: %s", node, volume, resync);
                        }
                    }
                }
                if (view.path("replicas").size() == replicas && states.size() == replicas
                        && states.values().stream().allMatch("in-sync"::equals)) {
                    long took = millisSince(begin);
                    log("waited %d ms for %d in-sync replicas of %s; transitions %s", took, replicas, volume,
                            transitions);
                    assertThat(view.path("state").asText()).as("state of %s with every replica in sync", volume)
                            .isEqualTo("attached");
                    return new SyncReport(took, maxCopied, lastProgress, transitions);
                }
            } catch (RuntimeException e) {
                last = e.toString();
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("waited " + timeout.toSeconds() + " s for " + replicas + " in-sync replicas of "
                        + volume + "; transitions " + transitions + "; last seen: " + last);
            }
            sleep(200);
        }
    }

    private static final Pattern IN_SYNC_AGAIN = Pattern.compile(
            "replica on (\\S+) is in sync again; ([\\d,]+) bytes compared, ([\\d,]+) copied");

    /**
     * The bytes the resync of {@code node}'s replica copied: from the coordinator's log line ("replica on NODE is in
     * sync again; X bytes compared, Y copied"), else the largest {@code bytesCopied} its progress showed.
     */
    private long copiedBytes(DaemonProcess coordinator, String node, SyncReport sync) {
        long compared = -1;
        long copied = -1;
        String line = null;
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (copied < 0 && System.nanoTime() < deadline) {
            Matcher m = IN_SYNC_AGAIN.matcher(coordinator.logText());
            while (m.find()) {
                if (m.group(1).equals(node)) {
                    line = m.group();
                    compared = Long.parseLong(m.group(2).replace(",", ""));
                    copied = Long.parseLong(m.group(3).replace(",", ""));
                }
            }
            if (copied < 0) {
                sleep(200);
            }
        }
        Long polled = sync.maxCopied().get(node);
        log("resync of %s's replica: %s; largest bytesCopied seen while it ran: %s; last progress %s", node,
                line == null ? "no 'in sync again' line in " + coordinator.name + "'s log" : "'" + line + "'",
                polled, sync.lastProgress().get(node));
        if (copied >= 0) {
            log("resync of %s: %.1f MiB compared, %.2f MiB copied", node, compared / (double) MiB, copied / (double) MiB);
            return copied;
        }
        assertThat(polled).as("bytes copied by the resync of %s: neither the log line nor any progress shows them",
                node).isNotNull();
        return polled;
    }

    /**
     * {@code ballast volume verify NAME} through {@code via}: must exit 0 and report {@code replicas} replicas
     * identical.
     */
    private JsonNode verify(DaemonProcess via, String volume, int replicas) {
        long begin = System.nanoTime();
        Run.Result result = new BallastCli(via).run("volume", "verify", volume, "-o", "json");
        log("ballast volume verify %s through %s: exit %d in %d ms: %s %s", volume, via.name, result.exit(),
                millisSince(begin), result.out().strip(), result.err().strip());
        assertThat(result.exit()).as("exit status of volume verify %s (0: identical); stdout %s stderr %s", volume,
                result.out(), result.err()).isEqualTo(0);
        JsonNode json;
        try {
            json = ClusterProcesses.JSON.readTree(result.out());
        } catch (java.io.IOException e) {
            throw new AssertionError("volume verify -o json printed no JSON: " + result.out(), e);
        }
        JsonNode identical = json.path("identical");
        if (identical.isBoolean()) {
            assertThat(identical.asBoolean()).as("identical in %s", json).isTrue();
        }
        JsonNode differing = json.path("differing");
        if (differing.isNumber()) {
            assertThat(differing.asLong()).as("differing in %s", json).isZero();
        }
        assertThat(json.path("differences").size()).as("differences in %s", json).isZero();
        JsonNode compared = json.path("replicas");
        assertThat(compared.isArray() ? compared.size() : compared.asInt()).as("replicas compared in %s", json)
                .isEqualTo(replicas);
        return json;
    }

    /** One qemu-io run of {@code commands} on {@code uri}, which must all succeed. */
    private static void qemuOk(String uri, String... commands) {
        List<String> command = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
        for (String c : commands) {
            command.add("-c");
            command.add(c);
        }
        command.add(uri);
        Run.Result result = Run.run(120, command);
        String output = result.out() + result.err();
        if (result.exit() != 0 || output.contains("failed")) {
            List<String> failed = output.lines().filter(l -> l.contains("failed") || l.contains("qemu-io:"))
                    .limit(10).toList();
            throw new AssertionError("qemu-io on " + uri + " failed (exit " + result.exit() + "): " + failed
                    + "\ncommands: " + List.of(commands).subList(0, Math.min(commands.length, 20)));
        }
    }

    private static void signal(DaemonProcess node, String signal) {
        Run.run(10, List.of("kill", "-" + signal, Long.toString(node.pid()))).ok();
        log("sent SIG%s to %s (pid %d)", signal, node.name, node.pid());
    }

    private static ClusterProcesses.Response ok(ClusterProcesses.Response response, int status) {
        assertThat(response.status()).as("HTTP status of %s", response).isEqualTo(status);
        return response;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /**
     * A qemu-io session that writes 4 KiB FUA writes of changing patterns to {@code slots} offsets
     * {@code stride} apart from {@code base}, one after another with a pause between them, in a thread of its own,
     * and records when each was sent and acknowledged. Without {@code wrap} it stops after one write per slot.
     */
    static final class PatternWriter implements AutoCloseable {
        record Write(int seq, long offset, int pattern, long started, long ended, String error) {
            @Override
            public String toString() {
                return "#" + seq + " -P " + pattern + " at " + offset + (error == null ? "" : " (" + error + ")");
            }
        }

        private final QemuIoSession session;
        private final long base;
        private final long stride;
        private final int slots;
        private final long pauseMillis;
        private final boolean wrap;
        private final List<Write> writes = new CopyOnWriteArrayList<>();
        private final Thread thread;
        private volatile boolean stop;

        PatternWriter(String uri, long base, long stride, int slots, long pauseMillis, boolean wrap) {
            this.session = QemuIoSession.open(uri);
            this.base = base;
            this.stride = stride;
            this.slots = slots;
            this.pauseMillis = pauseMillis;
            this.wrap = wrap;
            this.thread = Thread.ofPlatform().name("pattern-writer").start(this::run);
        }

        private void run() {
            for (int seq = 0; !stop && (wrap || seq < slots); seq++) {
                long offset = base + (seq % slots) * stride;
                int pattern = 1 + seq % 255;
                long started = System.nanoTime();
                String error;
                try {
                    QemuIoSession.Reply reply = session.run("write -f -P " + pattern + " " + offset + " 4k",
                            Duration.ofSeconds(30));
                    error = reply.failed() ? reply.toString() : null;
                } catch (AssertionError e) {
                    writes.add(new Write(seq, offset, pattern, started, System.nanoTime(), e.getMessage()));
                    log("pattern writer stops: %s", e.getMessage());
                    return;
                }
                writes.add(new Write(seq, offset, pattern, started, System.nanoTime(), error));
                if (error != null) {
                    log("write #%d failed: %s", seq, error);
                }
                try {
                    Thread.sleep(pauseMillis);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        List<Write> writes() {
            return List.copyOf(writes);
        }

        List<Write> failures() {
            return writes.stream().filter(w -> w.error() != null).toList();
        }

        long okAfter(long nanos) {
            return writes.stream().filter(w -> w.error() == null && w.ended() > nanos).count();
        }

        /** Waits until {@code count} writes were acknowledged after {@code since} (a nanoTime; 0 for any). */
        void awaitWrites(int count, long since, Duration timeout) {
            await(count + " more acknowledged writes", timeout, () -> {
                if (!thread.isAlive()) {
                    throw new AssertionError("the pattern writer stopped after " + writes.size() + " writes; failures "
                            + failures());
                }
                return okAfter(since);
            }, c -> c >= count);
        }

        /** The pattern each slot holds, by offset: the last acknowledged write to it. */
        Map<Long, Integer> lastPatterns() {
            Map<Long, Integer> last = new TreeMap<>();
            writes.stream().filter(w -> w.error() == null).forEach(w -> last.put(w.offset(), w.pattern()));
            return last;
        }

        /** The longest time in ms between two consecutive acknowledgements. */
        long longestGap() {
            return gap()[0];
        }

        /** {gap ms, end of the write before it (nanoTime), end of the write after it}. */
        private long[] gap() {
            long[] longest = {0, 0, 0};
            Long previous = null;
            for (Write w : writes) {
                if (w.error() != null) {
                    continue;
                }
                if (previous != null && (w.ended() - previous) / 1_000_000 > longest[0]) {
                    longest = new long[] {(w.ended() - previous) / 1_000_000, previous, w.ended()};
                }
                previous = w.ended();
            }
            return longest;
        }

        /** Logs the writes' count, latency and longest gap, with times relative to {@code event} (a nanoTime). */
        void report(String what, long event) {
            long[] gap = gap();
            List<Long> latencies = writes.stream().filter(w -> w.error() == null)
                    .map(w -> (w.ended() - w.started()) / 1_000).sorted().toList();
            long p50 = latencies.isEmpty() ? 0 : latencies.get(latencies.size() / 2);
            long max = latencies.isEmpty() ? 0 : latencies.getLast();
            log("%s: %d writes (%d failed), %d acknowledged after the event; latency p50 %d us, max %d ms; longest gap"
                    + " between acknowledgements %d ms, from %+d ms to %+d ms relative to the event", what,
                    writes.size(), failures().size(), okAfter(event), p50, max / 1000, gap[0],
                    (gap[1] - event) / 1_000_000, (gap[2] - event) / 1_000_000);
        }

        /** Stops writing (the write under way finishes) and closes the session. */
        @Override
        public void close() {
            stop = true;
            try {
                thread.join(Duration.ofSeconds(40));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            session.close();
        }
    }
}
