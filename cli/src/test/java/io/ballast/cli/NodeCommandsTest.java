package io.ballast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.ballast.api.Json;
import io.ballast.api.NodeView;
import io.ballast.api.PoolView;
import io.ballast.api.Sizes;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code node list}, {@code node inspect} and {@code node remove} against canned API answers. */
class NodeCommandsTest {
    private static final long GIB = 1L << 30;

    private StubApi api;

    @BeforeEach
    void start() throws Exception {
        api = new StubApi();
    }

    @AfterEach
    void stop() {
        api.close();
    }

    private static NodeView node(String name, String state, String metadata, int apiPort, Map<String, String> labels) {
        PoolView pool = new PoolView(name + "-p1", name, "/data/" + name + "/pools/p1", "medium", 100 * GIB, 10 * GIB,
                90 * GIB, 20 * GIB, 2);
        return new NodeView(name, state, metadata, "127.0.0.1", apiPort, apiPort + 1389, apiPort + 2, apiPort + 3,
                labels, List.of(pool), 100 * GIB, 10 * GIB, "2025-01-02T03:04:05Z");
    }

    private static Map<String, String> labels(String... keysAndValues) {
        Map<String, String> labels = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            labels.put(keysAndValues[i], keysAndValues[i + 1]);
        }
        return labels;
    }

    private static String json(Object value) throws Exception {
        return Json.mapper().writeValueAsString(value);
    }

    private CliRun ballast(String... args) {
        String[] all = new String[args.length + 2];
        all[0] = "--endpoint";
        all[1] = api.endpoint();
        System.arraycopy(args, 0, all, 2, args.length);
        return CliRun.run(all);
    }

    @Test
    void listShowsMetadataRoleZoneAndRackColumns() throws Exception {
        api.answer("GET /v1/nodes", 200, json(List.of(
                node("node1", "up", "leader", 9420, labels("zone", "z1", "rack", "r1")),
                node("node2", "up", "voter", 9430, labels("zone", "z2")),
                node("node3", "down", "client", 9440, labels("team", "storage")))));

        CliRun run = ballast("node", "list");

        assertThat(run.exit()).as(run.err()).isZero();
        List<String> lines = run.lines();
        assertThat(lines.getFirst().split(" {2,}")).containsExactly("NAME", "STATE", "METADATA", "ADDRESS", "API",
                "NBD", "ZONE", "RACK", "POOLS", "CAPACITY", "USED", "LAST HEARTBEAT");
        assertThat(lines).hasSize(4);
        assertThat(lines.get(1).split(" {2,}")).containsExactly("node1", "up", "leader", "127.0.0.1", "9420", "10809",
                "z1", "r1", "1", "100 GiB", "10 GiB", "2025-01-02T03:04:05Z");
        assertThat(lines.get(2).split(" {2,}")).containsExactly("node2", "up", "voter", "127.0.0.1", "9430", "10819",
                "z2", "-", "1", "100 GiB", "10 GiB", "2025-01-02T03:04:05Z");
        assertThat(lines.get(3).split(" {2,}")).containsExactly("node3", "down", "client", "127.0.0.1", "9440",
                "10829", "-", "-", "1", "100 GiB", "10 GiB", "2025-01-02T03:04:05Z");
    }

    @Test
    void listRowsToleratesNodesWithoutMetadataOrLabels() throws Exception {
        JsonNode nodes = Json.mapper().readTree("[{\"name\":\"old\",\"state\":\"up\",\"address\":\"10.0.0.1\","
                + "\"apiPort\":9420,\"nbdPort\":10809,\"labels\":null,\"pools\":[],\"capacityBytes\":0,"
                + "\"usedBytes\":0,\"lastHeartbeat\":null}]");

        assertThat(NodeCommands.listRows(nodes)).containsExactly(List.of("old", "up", "-", "10.0.0.1", "9420",
                "10809", "-", "-", "0", Sizes.format(0), Sizes.format(0), "-"));
    }

    @Test
    void listAsJsonIsWhatTheApiSays() throws Exception {
        api.answer("GET /v1/nodes", 200, json(List.of(node("node1", "up", "leader", 9420, labels("zone", "z1")))));

        CliRun run = ballast("node", "list", "-o", "json");

        assertThat(run.exit()).isZero();
        JsonNode printed = Json.mapper().readTree(run.out());
        assertThat(printed.get(0).get("metadata").asText()).isEqualTo("leader");
        assertThat(printed.get(0).get("labels").get("zone").asText()).isEqualTo("z1");
    }

    @Test
    void inspectShowsMetadataRoleAndLabelsAsKeyValue() throws Exception {
        api.answer("GET /v1/nodes/node2", 200, json(node("node2", "up", "voter", 9430, labels("zone", "z2", "rack", "r7"))));

        CliRun run = ballast("node", "inspect", "node2");

        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.lines()).contains("metadata:       voter", "labels:         zone=z2, rack=r7",
                "ports:          api 9430, nbd 10819, peer 9432, raft 9433",
                "pool:           node2-p1 /data/node2/pools/p1 (medium, 10 GiB used of 100 GiB)");
    }

    @Test
    void inspectOfANodeWithoutLabelsSaysSo() throws Exception {
        api.answer("GET /v1/nodes/node1", 200, json(node("node1", "up", "none", 9420, Map.of())));

        CliRun run = ballast("node", "inspect", "node1");

        assertThat(run.lines()).contains("metadata:       none", "labels:         -");
    }

    @Test
    void removeDeletesTheNodeAndSaysSo() {
        api.answer("DELETE /v1/nodes/node3", 204, null);

        CliRun run = ballast("node", "remove", "node3");

        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.out()).isEqualTo("node node3 removed" + System.lineSeparator());
        assertThat(api.requests).containsExactly(new StubApi.Request("DELETE", "/v1/nodes/node3", ""));
    }

    @Test
    void removeAsJson() throws Exception {
        api.answer("DELETE /v1/nodes/node3", 204, null);

        CliRun run = ballast("node", "remove", "node3", "-o", "json");

        assertThat(run.exit()).isZero();
        assertThat(Json.mapper().readTree(run.out()).get("removed").asText()).isEqualTo("node3");
    }

    @Test
    void aRefusedRemovalIsTheClustersFailureWithItsMessage() {
        api.answer("DELETE /v1/nodes/node1", 409, "{\"error\":{\"code\":\"conflict\",\"message\":"
                + "\"node1 holds the only replica of volume db; raise its repl first\"}}");

        CliRun run = ballast("node", "remove", "node1");

        assertThat(run.exit()).isEqualTo(1);
        assertThat(run.out()).isEmpty();
        assertThat(run.err()).isEqualTo("error: node1 holds the only replica of volume db; raise its repl first"
                + System.lineSeparator());
    }

    @Test
    void removingAnUnknownNodeIsBadInput() {
        api.answer("DELETE /v1/nodes/nodeX", 404, "{\"error\":{\"code\":\"not_found\",\"message\":\"no node named nodeX\"}}");

        CliRun run = ballast("node", "remove", "nodeX");

        assertThat(run.exit()).isEqualTo(2);
        assertThat(run.err()).contains("no node named nodeX");
    }

    @Test
    void removeNeedsANode() {
        CliRun run = ballast("node", "remove");

        assertThat(run.exit()).isEqualTo(2);
        assertThat(run.err()).contains("NODE");
        assertThat(api.requests).isEmpty();
    }

    @Test
    void removeEncodesTheName() {
        api.answer("DELETE /v1/nodes/a%20b", 204, null);

        assertThat(ballast("node", "remove", "a b").exit()).isZero();
    }
}
