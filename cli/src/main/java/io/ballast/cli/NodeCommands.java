package io.ballast.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.ballast.api.Sizes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code ballast node ...}; {@code node start} is added by the launcher, which has the daemon. */
@Command(name = "node", description = "Nodes of the cluster.",
        subcommands = {NodeCommands.ListNodes.class, NodeCommands.InspectNode.class, NodeCommands.RemoveNode.class})
public final class NodeCommands {
    static final List<String> LIST_HEADER = List.of("NAME", "STATE", "METADATA", "ADDRESS", "API", "NBD", "ZONE",
            "RACK", "POOLS", "CAPACITY", "USED", "LAST HEARTBEAT");

    @ParentCommand
    Cli cli;

    /** One row of {@code node list} per node, in {@link #LIST_HEADER}'s order; "-" for what a node lacks. */
    static List<List<String>> listRows(JsonNode nodes) {
        List<List<String>> rows = new ArrayList<>();
        for (JsonNode n : nodes) {
            JsonNode pools = n.path("pools");
            rows.add(List.of(n.get("name").asText(), Output.text(n, "state"), Output.text(n, "metadata"),
                    Output.text(n, "address"), Integer.toString(n.path("apiPort").asInt()),
                    Integer.toString(n.path("nbdPort").asInt()), Output.text(n.path("labels"), "zone"),
                    Output.text(n.path("labels"), "rack"), Integer.toString(pools.size()),
                    Sizes.format(n.path("capacityBytes").asLong()), Sizes.format(n.path("usedBytes").asLong()),
                    Output.text(n, "lastHeartbeat")));
        }
        return rows;
    }

    /** {@code node inspect}'s fields for people. */
    static List<String[]> inspectFields(JsonNode n) {
        List<String[]> fields = new ArrayList<>(List.of(
                new String[] {"name", n.get("name").asText()},
                new String[] {"state", Output.text(n, "state")},
                new String[] {"metadata", Output.text(n, "metadata")},
                new String[] {"address", Output.text(n, "address")},
                new String[] {"ports", "api " + n.path("apiPort").asInt() + ", nbd " + n.path("nbdPort").asInt()
                        + ", peer " + n.path("peerPort").asInt() + ", raft " + n.path("raftPort").asInt()},
                new String[] {"labels", labels(n.path("labels"))},
                new String[] {"capacity", Sizes.format(n.path("capacityBytes").asLong())},
                new String[] {"used", Sizes.format(n.path("usedBytes").asLong())},
                new String[] {"last heartbeat", Output.text(n, "lastHeartbeat")}));
        for (JsonNode p : n.path("pools")) {
            // The id in the value, not the key: pool ids are UUIDs, and a key that long pushes every value right.
            fields.add(new String[] {"pool", p.get("id").asText() + " " + Output.text(p, "path") + " ("
                    + Output.text(p, "cos") + ", " + Sizes.format(p.path("usedBytes").asLong()) + " used of "
                    + Sizes.format(p.path("capacityBytes").asLong()) + ")"});
        }
        return fields;
    }

    /** Labels as k=v, k=v in the order the node gives them, or "-" when it has none. */
    static String labels(JsonNode labels) {
        List<String> pairs = new ArrayList<>();
        labels.properties().forEach(e -> pairs.add(e.getKey() + "=" + e.getValue().asText()));
        return pairs.isEmpty() ? "-" : String.join(", ", pairs);
    }

    @Command(name = "list", description = {"List the nodes: state (up, or down when its lease expired), part in the"
            + " metadata group (leader, voter or client), endpoints, zone and rack labels, capacity and use."})
    static final class ListNodes implements Callable<Integer> {
        @ParentCommand
        NodeCommands parent;

        @Override
        public Integer call() {
            JsonNode nodes = parent.cli.client().get("/v1/nodes");
            parent.cli.output().table(nodes, LIST_HEADER, listRows(nodes));
            return 0;
        }
    }

    @Command(name = "inspect", description = "Show one node: its metadata role, endpoints, labels and pools.")
    static final class InspectNode implements Callable<Integer> {
        @ParentCommand
        NodeCommands parent;

        @Parameters(paramLabel = "NODE", description = "the node's name (ballast node list)")
        String name;

        @Override
        public Integer call() {
            JsonNode n = parent.cli.client().get("/v1/nodes/" + ApiClient.encode(name));
            parent.cli.output().fields(n, inspectFields(n));
            return 0;
        }
    }

    @Command(name = "remove", description = {"Decommission a node: take it out of the cluster for good.",
            "The cluster refuses when that would lose data, e.g. when the node holds the only replica of a volume;"
                    + " give such a volume another replica first (ballast volume ha-update NAME --repl 2)."})
    static final class RemoveNode implements Callable<Integer> {
        @ParentCommand
        NodeCommands parent;

        @Parameters(paramLabel = "NODE", description = "the node's name (ballast node list)")
        String name;

        @Override
        public Integer call() {
            parent.cli.client().delete("/v1/nodes/" + ApiClient.encode(name));
            parent.cli.output().result(Map.of("removed", name), "node " + name + " removed");
            return 0;
        }
    }
}
