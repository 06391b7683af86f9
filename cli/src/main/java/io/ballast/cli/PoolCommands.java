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

    @Command(name = "list", description = "List the storage pools with their class, capacity and use.")
    static final class ListPools implements Callable<Integer> {
        @ParentCommand
        PoolCommands parent;

        @Override
        public Integer call() {
            JsonNode pools = parent.cli.client().get("/v1/pools");
            Output output = parent.cli.output();
            List<List<String>> rows = new ArrayList<>();
            for (JsonNode p : pools) {
                rows.add(List.of(p.get("id").asText(), p.get("node").asText(), p.get("cos").asText(),
                        Sizes.format(p.get("capacityBytes").asLong()), Sizes.format(p.get("usedBytes").asLong()),
                        Sizes.format(p.get("availableBytes").asLong()),
                        Sizes.format(p.get("provisionedBytes").asLong()), Integer.toString(p.get("volumes").asInt()),
                        p.get("path").asText()));
            }
            output.table(pools, List.of("ID", "NODE", "COS", "CAPACITY", "USED", "AVAILABLE", "PROVISIONED", "VOLUMES", "PATH"), rows);
            return 0;
        }
    }
}
