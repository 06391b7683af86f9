package io.ballast.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.ballast.api.SnapshotRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "snapshot", description = "Point-in-time snapshots of volumes.",
        subcommands = {SnapshotCommands.Create.class, SnapshotCommands.ListSnapshots.class, SnapshotCommands.Delete.class})
final class SnapshotCommands {
    @ParentCommand
    Cli cli;

    @Command(name = "create", description = "Snapshot a volume (constant time, attached or not).")
    static final class Create implements Callable<Integer> {
        @ParentCommand
        SnapshotCommands parent;

        @Parameters(index = "0", paramLabel = "VOLUME", description = "the volume to snapshot")
        String volume;

        @Parameters(index = "1", paramLabel = "NAME", description = "the snapshot's name, new for this volume")
        String name;

        @Override
        public Integer call() {
            JsonNode s = parent.cli.client().post(VolumeCommands.path(volume) + "/snapshots", new SnapshotRequest(name));
            Output output = parent.cli.output();
            output.result(s, "created snapshot " + volume + "/" + name);
            return 0;
        }
    }

    @Command(name = "list", description = "List the snapshots of one volume, or of all.")
    static final class ListSnapshots implements Callable<Integer> {
        @ParentCommand
        SnapshotCommands parent;

        @Parameters(arity = "0..1", paramLabel = "VOLUME", description = "only this volume's snapshots (default: all)")
        String volume;

        @Override
        public Integer call() {
            JsonNode snapshots = parent.cli.client().get(volume == null ? "/v1/snapshots"
                    : VolumeCommands.path(volume) + "/snapshots");
            Output output = parent.cli.output();
            List<List<String>> rows = new ArrayList<>();
            for (JsonNode s : snapshots) {
                rows.add(List.of(s.get("volume").asText(), s.get("name").asText(), s.get("createdAt").asText()));
            }
            output.table(snapshots, List.of("VOLUME", "SNAPSHOT", "CREATED"), rows);
            return 0;
        }
    }

    @Command(name = "delete", description = "Delete a snapshot: VOLUME/NAME.")
    static final class Delete implements Callable<Integer> {
        @ParentCommand
        SnapshotCommands parent;

        @Parameters(paramLabel = "VOLUME/NAME", description = "the volume and the snapshot's name")
        String target;

        @Override
        public Integer call() {
            int slash = target.indexOf('/');
            if (slash <= 0 || slash == target.length() - 1 || target.indexOf('/', slash + 1) >= 0) {
                throw CliException.usage("snapshot '" + target + "' must be written VOLUME/NAME");
            }
            String volume = target.substring(0, slash);
            String name = target.substring(slash + 1);
            parent.cli.client().delete(VolumeCommands.path(volume) + "/snapshots/" + ApiClient.encode(name));
            parent.cli.output().result(java.util.Map.of("deleted", target), "deleted snapshot " + target);
            return 0;
        }
    }
}
