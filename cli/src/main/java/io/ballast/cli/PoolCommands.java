package io.ballast.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.ballast.api.Sizes;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

@Command(name = "pool", description = "Storage pools.", subcommands = PoolCommands.ListPools.class)
final class PoolCommands {
    @ParentCommand
    Cli cli;

    static final List<String> LIST_HEADER = List.of("ID", "NODE", "COS", "CAPACITY", "USED", "AVAILABLE",
            "PROVISIONED", "VOLUMES", "PATH");

    /** One row of {@code pool list} per pool, in {@link #LIST_HEADER}'s order. */
    static List<List<String>> listRows(JsonNode pools) {
        List<List<String>> rows = new ArrayList<>();
        for (JsonNode p : pools) {
            rows.add(List.of(p.get("id").asText(), Output.text(p, "node"), Output.text(p, "cos"),
                    Sizes.format(p.path("capacityBytes").asLong()), Sizes.format(p.path("usedBytes").asLong()),
                    Sizes.format(p.path("availableBytes").asLong()), Sizes.format(p.path("provisionedBytes").asLong()),
                    Integer.toString(p.path("volumes").asInt()), Output.text(p, "path")));
        }
        return rows;
    }

    @Command(name = "list", description = {"List the storage pools: class of service (COS: low, medium, high),"
            + " capacity, used, available to writes, provisioned to volumes, how many volumes, and path."})
    static final class ListPools implements Callable<Integer> {
        @ParentCommand
        PoolCommands parent;

        @Override
        public Integer call() {
            JsonNode pools = parent.cli.client().get("/v1/pools");
            parent.cli.output().table(pools, LIST_HEADER, listRows(pools));
            return 0;
        }
    }
}
