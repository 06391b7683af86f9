package io.ballast.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.ballast.api.Sizes;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

@Command(name = "status", description = "Show the cluster: nodes, volumes, capacity.")
final class StatusCommand implements Callable<Integer> {
    @ParentCommand
    Cli cli;

    @Override
    public Integer call() {
        ApiClient client = cli.client();
        JsonNode cluster = client.get("/v1/cluster");
        JsonNode nodes = client.get("/v1/nodes");
        Output output = cli.output();
        List<List<String>> rows = new ArrayList<>();
        for (JsonNode node : nodes) {
            rows.add(List.of(node.get("name").asText(), node.get("state").asText(),
                    "http://" + node.get("address").asText() + ":" + node.get("apiPort").asInt(),
                    node.get("address").asText() + ":" + node.get("nbdPort").asInt()));
        }
        output.fieldsAndTable(new Status(cluster, nodes), List.of(
                new String[] {"cluster", Output.text(cluster, "clusterId")},
                new String[] {"endpoint", client.endpoint()},
                new String[] {"nodes", cluster.get("nodesUp").asInt() + " up of " + cluster.get("nodes").asInt()},
                new String[] {"volumes", cluster.get("volumes").asInt() + " (" + cluster.get("attached").asInt() + " attached)"},
                new String[] {"capacity", Sizes.format(cluster.get("capacityBytes").asLong())},
                new String[] {"used", Sizes.format(cluster.get("usedBytes").asLong())},
                new String[] {"provisioned", Sizes.format(cluster.get("provisionedBytes").asLong())}),
                List.of("NODE", "STATE", "API", "NBD"), rows);
        return 0;
    }

    /** What {@code status -o json} prints. */
    record Status(JsonNode cluster, JsonNode nodes) {}
}
