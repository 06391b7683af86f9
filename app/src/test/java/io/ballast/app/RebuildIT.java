package io.ballast.app;

import static io.ballast.app.ClusterProcesses.await;
import static io.ballast.app.ClusterProcesses.log;
import static io.ballast.app.ClusterProcesses.millisSince;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node that stays down past the grace period (shortened to 3 s here, 10 min by default) loses its
 * replicas: the metadata leader places new ones on other nodes, and the volume's coordinator rebuilds them
 * from the surviving replica while IO goes on. When the node comes back, its old replica is gone.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class RebuildIT {
    @TempDir
    Path tmp;

    @RegisterExtension
    final ClusterProcesses cluster = new ClusterProcesses();

    @Test
    void aNodeDownPastTheGracePeriodHasItsReplicaRebuiltOnAnotherNode() {
        List<DaemonProcess> n = cluster.start(tmp, 4, i -> List.of("--rebuild-grace", "3s"));
        await("4 nodes up", Duration.ofSeconds(30), () -> cluster.states(n.getFirst()),
                states -> states.size() == 4 && states.values().stream().allMatch("up"::equals));
        DaemonProcess node1 = n.get(0);
        DaemonProcess node2 = n.get(1);
        ok(cluster.post(node1, "/v1/volumes", Map.of("name", "vol", "size", "128M", "repl", 2,
                "nodes", List.of("node1", "node2"))), 201);
        ok(cluster.post(node1, "/v1/volumes/vol/attach", Map.of("node", "node1")), 200);
        String uri = node1.nbdUri("vol");
        // Dense data, then the 4 KiB written / 4 KiB hole pattern over another 4 MiB.
        List<String> commands = new ArrayList<>(List.of("write -P 0x61 0 8M"));
        for (long off = 16L << 20; off < (20L << 20); off += 8192) {
            commands.add("write -P 0x62 " + off + " 4k");
        }
        commands.add("flush");
        qemu(uri, commands);
        // Two snapshots with different data, which the rebuilt replica must carry too.
        ok(cluster.post(node1, "/v1/volumes/vol/snapshots", Map.of("name", "s1")), 201);
        qemu(uri, List.of("write -P 0x64 0 1M", "flush"));
        ok(cluster.post(node1, "/v1/volumes/vol/snapshots", Map.of("name", "s2")), 201);
        qemu(uri, List.of("write -P 0x65 2M 1M", "flush"));
        // A second volume, written and then detached: no coordinator will be there to rebuild it.
        ok(cluster.post(node1, "/v1/volumes", Map.of("name", "cold", "size", "64M", "repl", 2,
                "nodes", List.of("node1", "node2"))), 201);
        ok(cluster.post(node1, "/v1/volumes/cold/attach", Map.of("node", "node1")), 200);
        qemu(node1.nbdUri("cold"), List.of("write -P 0x71 0 4M", "write -P 0x72 40M 2M", "flush"));
        ok(cluster.post(node1, "/v1/volumes/cold/detach", Map.of()), 200);

        long killed = System.nanoTime();
        cluster.kill(node2);
        qemu(uri, List.of("write -P 0x63 64M 1M", "flush")); // IO goes on with the one replica left
        JsonNode rebuilt = await("the replica on node2 replaced elsewhere and in sync", Duration.ofSeconds(90),
                () -> cluster.get(node1, "/v1/volumes/vol").json(),
                v -> !nodes(v).contains("node2") && nodes(v).size() == 2
                        && states(v).stream().allMatch("in-sync"::equals));
        log("node2 killed; its replica rebuilt on %s and in sync %d ms later (grace 3 s, lease %s)",
                nodes(rebuilt), millisSince(killed), ClusterProcesses.LEASE);
        assertThat(nodes(rebuilt)).contains("node1").doesNotContain("node2");

        Run.Result verify = new BallastCli(node1).run("volume", "verify", "vol");
        assertThat(verify.exit()).as("volume verify: %s %s", verify.out(), verify.err()).isZero();
        // The snapshots are on the rebuilt replica, with their data: a clone of each stands on every in-sync
        // replica of vol, and reads through the new node come from the clone on the rebuilt replica.
        String rebuiltNode = nodes(rebuilt).stream().filter(name -> !name.equals("node1")).findFirst().orElseThrow();
        DaemonProcess rebuiltHolder = n.stream().filter(d -> d.name.equals(rebuiltNode)).findFirst().orElseThrow();
        ok(cluster.post(node1, "/v1/volumes/vol/clone", Map.of("name", "c1", "snapshot", "s1")), 201);
        ok(cluster.post(node1, "/v1/volumes/vol/clone", Map.of("name", "c2", "snapshot", "s2")), 201);
        for (String clone : List.of("c1", "c2")) {
            assertThat(nodes(cluster.get(node1, "/v1/volumes/" + clone).json())).contains(rebuiltNode);
            Run.Result same = new BallastCli(node1).run("volume", "verify", clone);
            assertThat(same.exit()).as("volume verify %s: %s %s", clone, same.out(), same.err()).isZero();
            ok(cluster.post(rebuiltHolder, "/v1/volumes/" + clone + "/attach", Map.of("node", rebuiltNode)), 200);
        }
        qemu(rebuiltHolder.nbdUri("c1"), List.of("read -P 0x61 0 8M"));
        qemu(rebuiltHolder.nbdUri("c2"), List.of("read -P 0x64 0 1M", "read -P 0x61 1M 7M"));
        List<String> reads = new ArrayList<>(List.of("read -P 0x64 0 1M", "read -P 0x61 1M 1M",
                "read -P 0x65 2M 1M", "read -P 0x61 3M 5M", "read -P 0x63 64M 1M"));
        for (long off = 16L << 20; off < (20L << 20); off += 8192) {
            reads.add("read -P 0x62 " + off + " 4k");
            reads.add("read -P 0 " + (off + 4096) + " 4k");
        }
        qemu(uri, reads);

        // The detached volume's replica was replaced too, and rebuilt without an attach.
        JsonNode cold = await("the detached volume's replica on node2 replaced and rebuilt", Duration.ofSeconds(90),
                () -> cluster.get(node1, "/v1/volumes/cold").json(),
                v -> !nodes(v).contains("node2") && nodes(v).size() == 2
                        && states(v).stream().allMatch("in-sync"::equals));
        log("detached volume cold: replicas %s in sync %d ms after node2 was killed, attached: %s", nodes(cold),
                millisSince(killed), cold.path("attachedNode").asText("no"));
        assertThat(cold.path("attachedNode").isMissingNode() || cold.path("attachedNode").isNull()
                || cold.path("attachedNode").asText().isEmpty()).as("still detached: %s", cold).isTrue();
        Run.Result coldVerify = new BallastCli(node1).run("volume", "verify", "cold");
        assertThat(coldVerify.exit()).as("volume verify cold: %s %s", coldVerify.out(), coldVerify.err()).isZero();
        String newNode = nodes(cold).stream().filter(name -> !name.equals("node1")).findFirst().orElseThrow();
        DaemonProcess holder = n.stream().filter(d -> d.name.equals(newNode)).findFirst().orElseThrow();
        ok(cluster.post(holder, "/v1/volumes/cold/attach", Map.of("node", newNode)), 200);
        qemu(holder.nbdUri("cold"), List.of("read -P 0x71 0 4M", "read -P 0x72 40M 2M", "read -P 0 4M 36M"));

        // Back after its replica was replaced: it starts, and the volume does not take it back.
        cluster.startAll(List.of(node2));
        await("node2 up again", Duration.ofSeconds(30), () -> cluster.states(node1),
                states -> "up".equals(states.get("node2")));
        assertThat(nodes(cluster.get(node2, "/v1/volumes/vol").json())).doesNotContain("node2");
    }

    @Test
    void aReplicaBackAfterASnapshotNameWasDeletedAndTakenAgainGetsTheNewSnapshot() {
        List<DaemonProcess> n = cluster.start(tmp, 3, i -> List.of());
        await("3 nodes up", Duration.ofSeconds(30), () -> cluster.states(n.getFirst()),
                states -> states.size() == 3 && states.values().stream().allMatch("up"::equals));
        DaemonProcess node1 = n.get(0);
        DaemonProcess node2 = n.get(1);
        ok(cluster.post(node1, "/v1/volumes", Map.of("name", "vol", "size", "64M", "repl", 2,
                "nodes", List.of("node1", "node2"))), 201);
        ok(cluster.post(node1, "/v1/volumes/vol/attach", Map.of("node", "node1")), 200);
        String uri = node1.nbdUri("vol");
        qemu(uri, List.of("write -P 0x61 0 2M", "flush"));
        ok(cluster.post(node1, "/v1/volumes/vol/snapshots", Map.of("name", "daily")), 201);

        cluster.kill(node2);
        qemu(uri, List.of("write -P 0x62 0 1M", "flush")); // takes node2's replica out of the set
        await("the replica on node2 stale", Duration.ofSeconds(30), () -> cluster.get(node1, "/v1/volumes/vol").json(),
                v -> states(v).contains("stale"));
        // The name again, for other data, while node2 still holds the old snapshot of that name.
        assertThat(cluster.delete(node1, "/v1/volumes/vol/snapshots/daily").status()).isEqualTo(204);
        ok(cluster.post(node1, "/v1/volumes/vol/snapshots", Map.of("name", "daily")), 201);
        qemu(uri, List.of("write -P 0x63 1M 1M", "flush"));

        cluster.startAll(List.of(node2));
        await("node2's replica in sync again", Duration.ofSeconds(60),
                () -> cluster.get(node1, "/v1/volumes/vol").json(),
                v -> nodes(v).contains("node2") && states(v).stream().allMatch("in-sync"::equals));
        // A clone of the snapshot stands on both replicas; read through node2, it comes from node2's copy.
        ok(cluster.post(node1, "/v1/volumes/vol/clone", Map.of("name", "dc", "snapshot", "daily")), 201);
        Run.Result verify = new BallastCli(node1).run("volume", "verify", "dc");
        assertThat(verify.exit()).as("volume verify dc: %s %s", verify.out(), verify.err()).isZero();
        ok(cluster.post(node2, "/v1/volumes/dc/attach", Map.of("node", "node2")), 200);
        qemu(node2.nbdUri("dc"), List.of("read -P 0x62 0 1M", "read -P 0x61 1M 1M"));
    }

    private static List<String> nodes(JsonNode volume) {
        List<String> list = new ArrayList<>();
        volume.get("replicas").forEach(r -> list.add(r.get("node").asText()));
        return list;
    }

    private static List<String> states(JsonNode volume) {
        List<String> list = new ArrayList<>();
        volume.get("replicas").forEach(r -> list.add(r.get("state").asText()));
        return list;
    }

    private static void qemu(String uri, List<String> commands) {
        List<String> command = new ArrayList<>(List.of("qemu-io", "-f", "raw", uri));
        for (String c : commands) {
            command.add("-c");
            command.add(c);
        }
        Run.Result result = Run.run(120, command);
        assertThat(result.exit()).as("qemu-io %s: %s %s", commands.getFirst(), result.out(), result.err()).isZero();
        assertThat(result.out() + result.err()).as("qemu-io output").doesNotContain("Pattern verification failed")
                .doesNotContain("failed");
    }

    private static ClusterProcesses.Response ok(ClusterProcesses.Response response, int status) {
        assertThat(response.status()).as("%s", response).isEqualTo(status);
        return response;
    }
}
