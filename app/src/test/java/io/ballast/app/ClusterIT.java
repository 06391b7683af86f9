package io.ballast.app;

import static io.ballast.app.ClusterProcesses.await;
import static io.ballast.app.ClusterProcesses.log;
import static io.ballast.app.ClusterProcesses.millisSince;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cluster of real daemons (each its own JVM, on loopback ports): how it forms, spreads replicas, survives
 * losing its metadata leader, refuses writes and reads without a quorum and recovers without a split brain,
 * grows from 5 to 7 nodes and shrinks again, and changes a volume's replica count. Every wait is bounded and
 * says what it waited for; every node is stopped by pid after each test, and a failure prints each node's log.
 */
class ClusterIT {
    @TempDir
    Path tmp;

    @RegisterExtension
    final ClusterProcesses cluster = new ClusterProcesses();

    // ---- 1. formation ----------------------------------------------------------------------

    @Test
    void threeNodesFormOneClusterAndSpreadReplicasAcrossZones() {
        List<DaemonProcess> n = cluster.start(tmp, 3, i -> List.of("--label", "zone=z" + i, "--label", "rack=r" + i));
        awaitRoles(n.getFirst(), 3, 3, 0, Duration.ofSeconds(20));

        // Every node tells the same story: one cluster, one leader, three nodes up.
        Set<String> clusterIds = new HashSet<>();
        Set<String> leaders = new HashSet<>();
        for (DaemonProcess node : n) {
            JsonNode view = ok(cluster.get(node, "/v1/cluster"), 200).json();
            assertThat(view.get("nodes").asInt()).as("nodes seen by %s", node.name).isEqualTo(3);
            assertThat(view.get("nodesUp").asInt()).as("nodes up seen by %s", node.name).isEqualTo(3);
            clusterIds.add(view.get("clusterId").asText());
            leaders.add(view.path("leader").asText(""));
        }
        assertThat(clusterIds).as("cluster ids").hasSize(1);
        assertThat(leaders).as("leaders named by the three nodes").hasSize(1).doesNotContain("");
        Map<String, String> zones = new LinkedHashMap<>();
        for (JsonNode node : cluster.nodesView(n.get(2))) {
            zones.put(node.get("name").asText(), node.path("labels").path("zone").asText());
            assertThat(node.path("labels").path("rack").asText()).isEqualTo("r" + node.get("name").asText().substring(4));
        }
        assertThat(zones).isEqualTo(Map.of("node1", "z1", "node2", "z2", "node3", "z3"));

        JsonNode spread = ok(cluster.post(n.get(1), "/v1/volumes", Map.of("name", "spread", "size", "64M", "repl", 3)),
                201).json();
        List<String> holders = replicaNodes(spread);
        assertThat(holders).as("replicas of a repl-3 volume").hasSize(3).doesNotHaveDuplicates();
        assertThat(holders.stream().map(zones::get).toList()).as("zones of its replicas")
                .containsExactlyInAnyOrder("z1", "z2", "z3");
        assertThat(replicaStates(spread)).as("replica states of a new volume").containsOnly("in-sync");
        // Any node answers for it, with the same replicas.
        assertThat(replicaNodes(ok(cluster.get(n.get(2), "/v1/volumes/spread"), 200).json()))
                .containsExactlyInAnyOrderElementsOf(holders);

        // Three replicas in two zones cannot be spread: refused with the reason, as a client error.
        ClusterProcesses.Response narrow = cluster.post(n.get(2), "/v1/volumes", Map.of("name", "narrow", "size", "64M",
                "repl", 3, "zones", List.of("z1", "z2")));
        log("repl 3 in zones z1,z2: %s", narrow);
        assertThat(narrow.status()).as("status of %s", narrow).isIn(400, 503, 507);
        assertThat(narrow.errorMessage()).startsWith("need 3 nodes");
        assertThat(cluster.get(n.getFirst(), "/v1/volumes/narrow").status()).as("the refused volume").isEqualTo(404);

        // The command line says the same in one line, with a failure exit status.
        Run.Result cli = new BallastCli(n.getFirst()).run("volume", "create", "narrow", "--size", "64M", "--repl", "3",
                "--zones", "z1,z2");
        assertThat(cli.exit()).as("exit status; stderr: %s", cli.err()).isIn(1, 2);
        assertThat(cli.err()).contains("need 3 nodes").doesNotContain("Exception").doesNotContain("\tat ");
    }

    // ---- 2. leader loss ----------------------------------------------------------------------

    @Test
    void losingTheLeaderKeepsTheClusterWritableAndTheNodeComesBack() {
        List<DaemonProcess> n = cluster.start(tmp, 3);
        awaitRoles(n.getFirst(), 3, 3, 0, Duration.ofSeconds(20));
        String leaderName = ok(cluster.get(n.getFirst(), "/v1/cluster"), 200).json().get("leader").asText();
        DaemonProcess leader = cluster.node(leaderName);
        List<DaemonProcess> survivors = n.stream().filter(d -> d != leader).toList();
        DaemonProcess survivor = survivors.getFirst();

        long killed = System.nanoTime();
        cluster.kill(leader);
        ClusterProcesses.Response created = createRetrying(survivor,
                Map.of("name", "after-failover", "size", "64M", "repl", 1), killed, Duration.ofSeconds(10));
        long failoverMs = millisSince(killed);
        log("leader %s killed: a volume was created through %s %d ms later", leaderName, survivor.name, failoverMs);
        assertThat(created.status()).as("create through %s after the leader died: %s", survivor.name, created)
                .isEqualTo(201);
        assertThat(failoverMs).as("ms from the leader's death to a created volume").isLessThan(10_000);
        assertThat(replicaNodes(created.json())).doesNotContain(leaderName);

        // Two replicas: they can only go to the two survivors, even while the dead node still looks up.
        ClusterProcesses.Response both = createRetrying(survivors.get(1),
                Map.of("name", "on-survivors", "size", "64M", "repl", 2), System.nanoTime(), Duration.ofSeconds(20));
        assertThat(both.status()).as("repl 2 with one node dead: %s", both).isEqualTo(201);
        assertThat(replicaNodes(both.json())).containsExactlyInAnyOrder(survivors.get(0).name, survivors.get(1).name);

        await(leaderName + " reported down by " + survivor.name, Duration.ofSeconds(15),
                () -> cluster.states(survivor), s -> "down".equals(s.get(leaderName)));
        long downMs = millisSince(killed);
        log("%s reported down %d ms after SIGKILL (lease %s)", leaderName, downMs, ClusterProcesses.LEASE);
        JsonNode view = ok(cluster.get(survivor, "/v1/cluster"), 200).json();
        assertThat(view.get("leader").asText()).as("new leader").isIn(survivors.get(0).name, survivors.get(1).name);
        assertThat(view.get("nodesUp").asInt()).isEqualTo(2);

        long restarting = System.nanoTime();
        cluster.startAll(List.of(leader));
        await(leaderName + " reported up again by " + survivor.name, Duration.ofSeconds(15),
                () -> cluster.states(survivor), s -> "up".equals(s.get(leaderName)));
        log("%s restarted and reported up in %d ms", leaderName, millisSince(restarting));
        // The restarted node caught up: it knows the volumes created while it was dead.
        assertThat(ok(cluster.get(leader, "/v1/volumes/after-failover"), 200).json().get("name").asText())
                .isEqualTo("after-failover");
        assertThat(volumeNames(leader)).containsExactlyInAnyOrder("after-failover", "on-survivors");
        assertThat(cluster.states(leader)).as("states seen by the restarted node")
                .isEqualTo(Map.of("node1", "up", "node2", "up", "node3", "up"));
    }

    // ---- 3. quorum loss ----------------------------------------------------------------------

    @Test
    void withoutAQuorumWritesAndReadsFailCleanlyAndTheClusterRecoversWithoutSplitBrain() {
        List<DaemonProcess> n = cluster.start(tmp, 3);
        awaitRoles(n.getFirst(), 3, 3, 0, Duration.ofSeconds(20));
        ok(cluster.post(n.getFirst(), "/v1/volumes", Map.of("name", "before", "size", "64M")), 201);
        // Keep the leader and kill both followers: the leader must not go on answering from its own copy.
        String leaderName = ok(cluster.get(n.getFirst(), "/v1/cluster"), 200).json().get("leader").asText();
        DaemonProcess survivor = cluster.node(leaderName);
        List<DaemonProcess> victims = n.stream().filter(d -> d != survivor).toList();
        victims.forEach(cluster::kill);

        long writing = System.nanoTime();
        ClusterProcesses.Response write = cluster.post(survivor, "/v1/volumes", Map.of("name", "during", "size", "64M"));
        long writeMs = millisSince(writing);
        log("create without quorum on %s: %s after %d ms", survivor.name, write, writeMs);
        assertThat(write.status()).as("create without quorum: %s", write).isEqualTo(503);
        assertThat(write.errorMessage()).contains("no quorum");
        assertThat(writeMs).as("ms until the create without quorum failed").isLessThan(30_000);

        // Reads after the failed write: never the survivor's own, possibly stale, copy. Both at once.
        List<CompletableFuture<String>> reads = new ArrayList<>();
        for (String path : List.of("/v1/volumes", "/v1/volumes/before")) {
            reads.add(CompletableFuture.supplyAsync(() -> {
                long reading = System.nanoTime();
                ClusterProcesses.Response read = cluster.get(survivor, path);
                long readMs = millisSince(reading);
                log("GET %s without quorum on %s: %s after %d ms", path, survivor.name, read, readMs);
                assertThat(read.status()).as("GET %s without quorum, after a failed write: %s", path, read)
                        .isEqualTo(503);
                assertThat(read.errorMessage()).contains("no quorum");
                assertThat(readMs).as("ms until GET %s failed", path).isLessThan(30_000);
                return path;
            }, r -> Thread.ofPlatform().start(r)));
        }
        reads.forEach(ClusterIT::join);

        long restarting = System.nanoTime();
        cluster.startAll(victims);
        log("restarted %s in %d ms", victims.stream().map(v -> v.name).toList(), millisSince(restarting));
        for (DaemonProcess node : n) {
            await("all nodes up as seen by " + node.name, Duration.ofSeconds(20), () -> cluster.states(node),
                    s -> s.equals(Map.of("node1", "up", "node2", "up", "node3", "up")));
        }
        // No split brain: every node lists the same volumes. The failed create "may still commit", so
        // "during" may exist, but then everywhere.
        Map<String, Set<String>> lists = new LinkedHashMap<>();
        for (DaemonProcess node : n) {
            lists.put(node.name, volumeNames(node));
        }
        log("volumes after recovery: %s", lists);
        assertThat(new HashSet<>(lists.values())).as("volume lists per node %s", lists).hasSize(1);
        assertThat(lists.get("node1")).contains("before").isSubsetOf("before", "during");
        // And the recovered cluster takes writes again, seen everywhere: through a restarted node, and
        // through the survivor, whose own requests failed while there was no quorum.
        ok(cluster.post(victims.getFirst(), "/v1/volumes", Map.of("name", "after", "size", "64M")), 201);
        ClusterProcesses.Response again = createRetrying(survivor, Map.of("name", "after-on-survivor", "size", "64M"),
                System.nanoTime(), Duration.ofSeconds(20));
        assertThat(again.status()).as("create through the survivor %s after the quorum is back: %s", survivor.name,
                again).isEqualTo(201);
        for (DaemonProcess node : n) {
            assertThat(volumeNames(node)).as("volumes on %s", node.name).contains("before", "after",
                    "after-on-survivor");
        }
        // Its heartbeats are written again too: the others see its last heartbeat move on.
        DaemonProcess other = victims.getFirst();
        String before = lastHeartbeat(other, survivor.name);
        await("a newer heartbeat of " + survivor.name + " than " + before + " seen by " + other.name,
                Duration.ofSeconds(5), () -> lastHeartbeat(other, survivor.name), beat -> !beat.equals(before));
    }

    private String lastHeartbeat(DaemonProcess via, String node) {
        for (JsonNode view : cluster.nodesView(via)) {
            if (view.get("name").asText().equals(node)) {
                return view.get("lastHeartbeat").asText();
            }
        }
        throw new AssertionError(via.name + " does not list " + node);
    }

    // ---- 4. five nodes, then seven, then six -------------------------------------------------

    @Test
    void fiveNodesHaveThreeVotersSevenHaveFiveAndRemovingOneShrinksTheGroup() {
        List<DaemonProcess> n = cluster.start(tmp, 5);
        awaitRoles(n.getFirst(), 5, 3, 2, Duration.ofSeconds(20));

        // A write through a client (a node that does not vote) reaches the leader; a read there sees it at once.
        DaemonProcess listener = cluster.node(cluster.roles(n.getFirst()).entrySet().stream()
                .filter(e -> e.getValue().startsWith("client")).findFirst().orElseThrow().getKey());
        JsonNode viaListener = ok(cluster.post(listener, "/v1/volumes", Map.of("name", "via-listener", "size", "64M")),
                201).json();
        ok(cluster.get(listener, "/v1/volumes/via-listener"), 200);
        for (DaemonProcess node : n) {
            assertThat(volumeNames(node)).as("volumes on %s", node.name).contains("via-listener");
        }

        // A node that does not vote has no members in its own Raft log: restarted, it finds them again.
        cluster.kill(listener);
        long restarting = System.nanoTime();
        cluster.startAll(List.of(listener));
        log("client %s killed and restarted in %d ms", listener.name, millisSince(restarting));
        assertThat(volumeNames(listener)).as("volumes on the restarted client %s", listener.name).contains("via-listener");

        long growing = System.nanoTime();
        cluster.add(n.get(2), List.of(List.of(), List.of()));
        // Bounded generously: on a loaded 2-core host a node that misses its 2 s lease is replaced as a voter
        // and the group takes another round of steps. How long it took is logged, not asserted.
        awaitRoles(n.getFirst(), 7, 5, 2, Duration.ofSeconds(60));
        log("5 -> 7 nodes: 5 voters %d ms after the two nodes were started", millisSince(growing));

        // The node to remove: a voter that does not lead, so that the voters must shrink and move, and that does not
        // hold the one replica of via-listener, which would (rightly) refuse the remove.
        Map<String, String> roles = cluster.roles(n.getFirst());
        List<String> holders = replicaNodes(viaListener);
        String victimName = roles.entrySet().stream().filter(e -> e.getValue().equals("voter")).map(Map.Entry::getKey)
                .filter(name -> !holders.contains(name)).max(String::compareTo).orElseThrow();
        DaemonProcess victim = cluster.node(victimName);
        DaemonProcess via = cluster.node(roles.entrySet().stream().filter(e -> e.getValue().equals("leader"))
                .findFirst().orElseThrow().getKey());
        log("removing %s through %s; roles %s", victimName, via.name, roles);

        JsonNode pinned = ok(cluster.post(via, "/v1/volumes", Map.of("name", "pinned", "size", "64M", "repl", 1,
                "nodes", List.of(victimName))), 201).json();
        assertThat(replicaNodes(pinned)).containsExactly(victimName);
        ClusterProcesses.Response refused = cluster.delete(via, "/v1/nodes/" + victimName);
        log("remove %s while it holds the only replica of pinned: %s", victimName, refused);
        assertThat(refused.status()).as("remove the only holder of a volume: %s", refused).isEqualTo(409);
        assertThat(refused.errorMessage()).contains(victimName).contains("only in-sync replica").contains("pinned");
        Run.Result cli = new BallastCli(via).run("node", "remove", victimName);
        log("ballast node remove %s: exit %d, stderr %s", victimName, cli.exit(), cli.err().strip());
        assertThat(cli.exit()).as("exit status; stderr: %s", cli.err()).isEqualTo(1);
        assertThat(cli.err()).contains("only in-sync replica").contains("pinned").doesNotContain("\tat ");
        assertThat(victim.alive()).as("%s after a refused remove", victimName).isTrue();

        assertThat(cluster.delete(via, "/v1/volumes/pinned").status()).isEqualTo(204);
        long removing = System.nanoTime();
        ClusterProcesses.Response removed = cluster.delete(via, "/v1/nodes/" + victimName);
        assertThat(removed.status()).as("remove %s: %s", victimName, removed).isEqualTo(204);
        assertThat(victim.awaitExit(Duration.ofSeconds(20))).as("%s exited by itself after its removal", victimName)
                .isTrue();
        log("removed %s exited with %d, %d ms after the remove", victimName, victim.exitValue(), millisSince(removing));
        for (DaemonProcess node : cluster.running()) {
            assertThat(cluster.states(node).keySet()).as("nodes listed by %s", node.name).hasSize(6)
                    .doesNotContain(victimName);
        }
        awaitRoles(via, 6, 3, 3, Duration.ofSeconds(20));
        log("7 -> 6 nodes: back to 3 voters %d ms after the remove", millisSince(removing));
        // Still writable, and every remaining node agrees.
        ok(cluster.post(cluster.running().getLast(), "/v1/volumes", Map.of("name", "after-remove", "size", "64M")), 201);
        for (DaemonProcess node : cluster.running()) {
            assertThat(volumeNames(node)).as("volumes on %s", node.name).containsExactlyInAnyOrder("via-listener",
                    "after-remove");
        }
    }

    // ---- 5. ha-update ---------------------------------------------------------------------

    @Test
    void haUpdateAddsAStaleReplicaElsewhereAndDropsItAgain() {
        List<DaemonProcess> n = cluster.start(tmp, 3);
        awaitRoles(n.getFirst(), 3, 3, 0, Duration.ofSeconds(20));
        JsonNode one = ok(cluster.post(n.getFirst(), "/v1/volumes", Map.of("name", "grow", "size", "64M")), 201).json();
        assertThat(one.get("replicas")).hasSize(1);
        String original = one.get("replicas").get(0).get("node").asText();
        String originalPool = one.get("replicas").get(0).get("pool").asText();

        JsonNode two = ok(cluster.post(n.get(1), "/v1/volumes/grow/ha-update", Map.of("repl", 2)), 200).json();
        log("ha-update grow to 2: %s", two.get("replicas"));
        assertThat(two.get("repl").asInt()).isEqualTo(2);
        assertThat(replicaNodes(two)).as("replicas after ha-update to 2").hasSize(2).doesNotHaveDuplicates()
                .contains(original);
        for (JsonNode replica : two.get("replicas")) {
            String expected = replica.get("node").asText().equals(original) ? "in-sync" : "stale";
            assertThat(replica.get("state").asText()).as("state of the replica on %s", replica.get("node").asText())
                    .isEqualTo(expected);
        }
        // Every node sees the same replica set.
        for (DaemonProcess node : n) {
            assertThat(replicaNodes(ok(cluster.get(node, "/v1/volumes/grow"), 200).json())).as("replicas seen by %s",
                    node.name).containsExactlyInAnyOrderElementsOf(replicaNodes(two));
        }

        JsonNode back = ok(cluster.post(n.get(2), "/v1/volumes/grow/ha-update", Map.of("repl", 1)), 200).json();
        log("ha-update grow to 1: %s", back.get("replicas"));
        assertThat(back.get("repl").asInt()).isEqualTo(1);
        assertThat(back.get("replicas")).hasSize(1);
        JsonNode kept = back.get("replicas").get(0);
        assertThat(kept.get("node").asText()).isEqualTo(original);
        assertThat(kept.get("pool").asText()).isEqualTo(originalPool);
        assertThat(kept.get("state").asText()).isEqualTo("in-sync");

        // Attach, detach and restore through a node that holds no replica: each runs on the owner, where
        // its volume lock orders restore against attach.
        DaemonProcess other = n.stream().filter(d -> !d.name.equals(original)).findFirst().orElseThrow();
        ok(cluster.post(other, "/v1/volumes/grow/snapshots", Map.of("name", "s1")), 201);
        JsonNode attached = ok(cluster.post(other, "/v1/volumes/grow/attach", Map.of("node", original)), 200).json();
        assertThat(attached.get("attachedNode").asText()).isEqualTo(original);
        ClusterProcesses.Response refused = cluster.post(other, "/v1/volumes/grow/restore", Map.of("snapshot", "s1"));
        assertThat(refused.status()).as(refused.body()).isEqualTo(409);
        assertThat(refused.body()).contains("detach it before restoring");
        ok(cluster.post(other, "/v1/volumes/grow/detach", Map.of()), 200);
        JsonNode restored = ok(cluster.post(other, "/v1/volumes/grow/restore", Map.of("snapshot", "s1")), 200).json();
        assertThat(restored.get("state").asText()).isEqualTo("detached");
    }

    // ---- helpers ---------------------------------------------------------------------------

    /**
     * Waits until {@code via} lists {@code nodes} nodes, all up, with exactly one leader, {@code voters - 1}
     * other voters and {@code listeners} clients (nodes that do not vote).
     */
    private Map<String, String> awaitRoles(DaemonProcess via, int nodes, int voters, int listeners, Duration timeout) {
        String what = nodes + " nodes up with 1 leader, " + (voters - 1) + " voters and " + listeners
                + " clients, as " + via.name + " sees them";
        return await(what, timeout, () -> {
            JsonNode view = cluster.nodesView(via);
            Map<String, String> roles = new java.util.TreeMap<>();
            view.forEach(n -> roles.put(n.get("name").asText(), n.get("metadata").asText() + "/"
                    + n.get("state").asText()));
            return roles;
        }, roles -> roles.size() == nodes
                && roles.values().stream().allMatch(r -> r.endsWith("/up"))
                && count(roles, "leader/") == 1
                && count(roles, "voter/") == voters - 1
                && count(roles, "client/") == listeners);
    }

    private static long count(Map<String, String> roles, String prefix) {
        return roles.values().stream().filter(r -> r.startsWith(prefix)).count();
    }

    /**
     * Creates a volume through {@code via}, retrying on 503 (and on a node that does not answer) until
     * {@code timeout} after {@code since}. A retry that finds the name taken after a 503 takes the volume as
     * created: a write that timed out may still have committed.
     */
    private ClusterProcesses.Response createRetrying(DaemonProcess via, Map<String, Object> spec, long since,
                                                     Duration timeout) {
        long deadline = since + timeout.toNanos();
        String name = (String) spec.get("name");
        boolean unsure = false;
        String lastBody = "";
        List<String> attempts = new ArrayList<>();
        for (;;) {
            ClusterProcesses.Response response;
            try {
                response = cluster.post(via, "/v1/volumes", spec);
            } catch (ClusterProcesses.UncheckedIOException e) {
                response = new ClusterProcesses.Response(-1, e.getMessage());
            }
            attempts.add(response.status() + " after " + millisSince(since) + " ms");
            if (response.status() == 409 && unsure) {
                ClusterProcesses.Response existing = cluster.get(via, "/v1/volumes/" + name);
                if (existing.status() == 200) {
                    response = new ClusterProcesses.Response(201, existing.body());
                }
            }
            if (response.status() != 503 && response.status() != -1 || System.nanoTime() > deadline) {
                log("create %s through %s: %s", name, via.name, attempts);
                if (response.status() != 201) {
                    log("last answer: %s", response);
                }
                return response;
            }
            if (!unsure || !response.body().equals(lastBody)) {
                log("create %s through %s: %s, retrying", name, via.name, response);
            }
            unsure = true;
            lastBody = response.body();
            sleep(200);
        }
    }

    /** The future's value; an assertion that failed inside it fails the test as itself. */
    private static <T> T join(CompletableFuture<T> future) {
        try {
            return future.join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof AssertionError a) {
                throw a;
            }
            throw e;
        }
    }

    private static ClusterProcesses.Response ok(ClusterProcesses.Response response, int status) {
        assertThat(response.status()).as("HTTP status of %s", response).isEqualTo(status);
        return response;
    }

    private static List<String> replicaNodes(JsonNode volume) {
        List<String> nodes = new ArrayList<>();
        volume.get("replicas").forEach(r -> nodes.add(r.get("node").asText()));
        return nodes;
    }

    private static List<String> replicaStates(JsonNode volume) {
        List<String> states = new ArrayList<>();
        volume.get("replicas").forEach(r -> states.add(r.get("state").asText()));
        return states;
    }

    private Set<String> volumeNames(DaemonProcess node) {
        Set<String> names = new TreeSet<>();
        ok(cluster.get(node, "/v1/volumes"), 200).json().forEach(v -> names.add(v.get("name").asText()));
        return names;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}
