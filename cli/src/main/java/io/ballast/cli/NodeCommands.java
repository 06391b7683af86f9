package io.ballast.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.ballast.api.Sizes;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code ballast node ...}; {@code node start} is added by the launcher, which has the daemon. */
@Command(name = "node", description = "Nodes of the cluster.", subcommands = {NodeCommands.ListNodes.class, NodeCommands.InspectNode.class})
public final class NodeCommands {
    @ParentCommand
    Cli cli;

    @Command(name = "list", description = "List the nodes.")
    static final class ListNodes implements Callable<Integer> {
        @ParentCommand
        NodeCommands parent;

        @Override
        public Integer call() {
            JsonNode nodes = parent.cli.client().get("/v1/nodes");
            Output output = parent.cli.output();
            List<List<String>> rows = new ArrayList<>();
            for (JsonNode n : nodes) {
                rows.add(List.of(n.get("name").asText(), n.get("state").asText(), n.get("address").asText(),
                        Integer.toString(n.get("apiPort").asInt()), Integer.toString(n.get("nbdPort").asInt()),
                        Integer.toString(n.get("pools").size()), Sizes.format(n.get("capacityBytes").asLong()),
                        Sizes.format(n.get("usedBytes").asLong()), Output.text(n, "lastHeartbeat")));
            }
            output.table(nodes, List.of("NAME", "STATE", "ADDRESS", "API", "NBD", "POOLS", "CAPACITY", "USED",
                    "LAST HEARTBEAT"), rows);
            return 0;
        }
    }

    @Command(name = "inspect", description = "Show one node.")
    static final class InspectNode implements Callable<Integer> {
        @ParentCommand
        NodeCommands parent;

        @Parameters(paramLabel = "NODE")
        String name;

        @Override
        public Integer call() {
            JsonNode n = parent.cli.client().get("/v1/nodes/" + ApiClient.encode(name));
            Output output = parent.cli.output();
            List<String[]> fields = new ArrayList<>(List.of(
                    new String[] {"name", n.get("name").asText()},
                    new String[] {"state", n.get("state").asText()},
                    new String[] {"address", n.get("address").asText()},
                    new String[] {"ports", "api " + n.get("apiPort").asInt() + ", nbd " + n.get("nbdPort").asInt()
                            + ", peer " + n.get("peerPort").asInt() + ", raft " + n.get("raftPort").asInt()},
                    new String[] {"labels", n.get("labels").toString()},
                    new String[] {"capacity", Sizes.format(n.get("capacityBytes").asLong())},
                    new String[] {"used", Sizes.format(n.get("usedBytes").asLong())},
                    new String[] {"last heartbeat", Output.text(n, "lastHeartbeat")}));
            for (JsonNode p : n.get("pools")) {
                fields.add(new String[] {"pool " + p.get("id").asText(), p.get("path").asText() + " ("
                        + p.get("cos").asText() + ", " + Sizes.format(p.get("usedBytes").asLong()) + " used of "
                        + Sizes.format(p.get("capacityBytes").asLong()) + ")"});
            }
            output.fields(n, fields);
            return 0;
        }
    }
}
