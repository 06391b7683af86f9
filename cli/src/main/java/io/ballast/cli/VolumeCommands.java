package io.ballast.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.ballast.api.AttachRequest;
import io.ballast.api.CloneRequest;
import io.ballast.api.HaUpdateRequest;
import io.ballast.api.MountRequest;
import io.ballast.api.ResizeRequest;
import io.ballast.api.RestoreRequest;
import io.ballast.api.Sizes;
import io.ballast.api.VolumeSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "volume", description = "Thin virtual volumes.",
        subcommands = {VolumeCommands.Create.class, VolumeCommands.ListVolumes.class, VolumeCommands.Inspect.class,
                VolumeCommands.Delete.class, VolumeCommands.Resize.class, VolumeCommands.HaUpdate.class,
                VolumeCommands.Attach.class,
                VolumeCommands.Detach.class, VolumeCommands.CloneVolume.class, VolumeCommands.Restore.class,
                VolumeCommands.Mount.class, VolumeCommands.Unmount.class, VolumeCommands.Verify.class})
final class VolumeCommands {
    @ParentCommand
    Cli cli;

    static String path(String name) {
        return "/v1/volumes/" + ApiClient.encode(name);
    }

    /** Prints one volume: JSON as the API returns it, or its fields. */
    static void show(Output output, JsonNode v) {
        List<String[]> fields = new ArrayList<>(List.of(
                new String[] {"name", v.get("name").asText()},
                new String[] {"id", v.get("id").asText()},
                new String[] {"size", Sizes.format(v.get("sizeBytes").asLong())},
                new String[] {"used", Sizes.format(v.get("usedBytes").asLong())},
                new String[] {"repl", v.get("repl").asText()},
                new String[] {"cos", v.get("cos").asText()},
                new String[] {"fs", v.get("fs").asText()},
                new String[] {"state", v.get("state").asText()},
                new String[] {"attached on", Output.text(v, "attachedNode")},
                new String[] {"nbd", Output.text(v, "nbd")},
                new String[] {"device", Output.text(v, "device")},
                new String[] {"mounts", v.get("mounts").size() == 0 ? "-" : join(v.get("mounts"))},
                new String[] {"snapshots", v.get("snapshots").size() == 0 ? "-" : join(v.get("snapshots"))},
                new String[] {"labels", v.get("labels").toString()},
                new String[] {"source", Output.text(v, "source")},
                new String[] {"created", v.get("createdAt").asText()}));
        if (v.hasNonNull("hostError")) {
            fields.add(new String[] {"problem", v.get("hostError").asText()});
        }
        for (JsonNode r : v.get("replicas")) {
            String line = r.get("node").asText() + " pool " + r.get("pool").asText() + " " + r.get("state").asText()
                    + ", " + Sizes.format(r.get("usedBytes").asLong()) + " used";
            JsonNode resync = r.get("resync");
            if (resync != null && !resync.isNull()) {
                long eta = resync.get("etaSeconds").asLong();
                line += String.format(", %s %.1f%% at %s/s, %s copied, %s", resync.get("full").asBoolean() ? "rebuild"
                        : "resync", resync.get("percent").asDouble(), Sizes.format(resync.get("bytesPerSecond").asLong()),
                        Sizes.format(resync.get("bytesCopied").asLong()), eta < 0 ? "ETA unknown" : "ETA " + eta + " s");
            }
            fields.add(new String[] {"replica", line});
        }
        output.fields(v, fields);
    }

    private static String join(JsonNode array) {
        List<String> items = new ArrayList<>();
        array.forEach(e -> items.add(e.asText()));
        return String.join(", ", items);
    }

    @Command(name = "create", description = {"Create a thin volume.",
            "NAME may also be an inline spec: 'name=NAME,size=SIZE,repl=N,cos=low|medium|high,fs=ext4'."})
    static final class Create implements Callable<Integer> {
        @ParentCommand
        VolumeCommands parent;

        @Parameters(paramLabel = "NAME", description = "the new volume's name, or an inline spec (see above)")
        String name;

        @Option(names = "--size", paramLabel = "SIZE", description = "e.g. 10G; a multiple of 4 KiB")
        String size;

        @Option(names = "--repl", paramLabel = "N", description = "replicas: 1, 2 or 3 (default 1)")
        Integer repl;

        @Option(names = "--cos", paramLabel = "CLASS", description = "class of service: low, medium, high (default: the cheapest class with room for every replica)")
        String cos;

        @Option(names = "--fs", paramLabel = "FS", description = "ext4, xfs or none (default ext4)")
        String fs;

        @Option(names = "--label", paramLabel = "K=V", description = "a label to keep with the volume (repeatable)")
        Map<String, String> labels = new LinkedHashMap<>();

        @Option(names = "--zones", split = ",", paramLabel = "Z",
                description = "place replicas only on nodes labelled with one of these zones (zone=Z)")
        List<String> zones;

        @Option(names = "--racks", split = ",", paramLabel = "R",
                description = "place replicas only on nodes labelled with one of these racks (rack=R)")
        List<String> racks;

        @Option(names = "--nodes", split = ",", paramLabel = "N", description = "place replicas only on these nodes")
        List<String> nodes;

        @Override
        public Integer call() {
            VolumeSpec spec;
            if (name.contains("=")) {
                if (size != null || repl != null || cos != null || fs != null) {
                    throw CliException.usage("give either an inline spec or --size/--repl/--cos/--fs options, not both");
                }
                try {
                    spec = VolumeSpec.parseInline(name);
                } catch (IllegalArgumentException e) {
                    throw CliException.usage(e.getMessage());
                }
                spec = new VolumeSpec(spec.name(), null, spec.size(), spec.repl(), spec.cos(), spec.fs(), labels,
                        zones, racks, nodes);
            } else {
                if (size == null) {
                    throw CliException.usage("volume create needs --size, e.g. --size 10G");
                }
                spec = new VolumeSpec(name, null, size, repl, cos, fs, labels, zones, racks, nodes);
            }
            try {
                spec = spec.withDefaults();
            } catch (IllegalArgumentException e) {
                throw CliException.usage(e.getMessage());
            }
            JsonNode volume = parent.cli.client().post("/v1/volumes", spec);
            Output output = parent.cli.output();
            output.result(volume, "created volume " + volume.get("name").asText() + " ("
                        + Sizes.format(volume.get("sizeBytes").asLong()) + ", id " + volume.get("id").asText() + ")");
            return 0;
        }
    }

    @Command(name = "list", description = "List the volumes.")
    static final class ListVolumes implements Callable<Integer> {
        @ParentCommand
        VolumeCommands parent;

        @Override
        public Integer call() {
            JsonNode volumes = parent.cli.client().get("/v1/volumes");
            Output output = parent.cli.output();
            List<List<String>> rows = new ArrayList<>();
            for (JsonNode v : volumes) {
                rows.add(List.of(v.get("name").asText(), Sizes.format(v.get("sizeBytes").asLong()),
                        Sizes.format(v.get("usedBytes").asLong()), v.get("repl").asText(), v.get("cos").asText(),
                        v.get("state").asText(), Output.text(v, "attachedNode"),
                        Integer.toString(v.get("snapshots").size())));
            }
            output.table(volumes, List.of("NAME", "SIZE", "USED", "REPL", "COS", "STATE", "NODE", "SNAPSHOTS"), rows);
            return 0;
        }
    }

    @Command(name = "inspect", description = "Show one volume.")
    static final class Inspect implements Callable<Integer> {
        @ParentCommand
        VolumeCommands parent;

        @Parameters(paramLabel = "NAME", description = "the volume")
        String name;

        @Override
        public Integer call() {
            show(parent.cli.output(), parent.cli.client().get(path(name)));
            return 0;
        }
    }

    @Command(name = "delete", description = "Delete a detached volume and its snapshots.")
    static final class Delete implements Callable<Integer> {
        @ParentCommand
        VolumeCommands parent;

        @Parameters(paramLabel = "NAME", description = "the volume")
        String name;

        @Override
        public Integer call() {
            parent.cli.client().delete(path(name));
            parent.cli.output().result(Map.of("deleted", name), "deleted volume " + name);
            return 0;
        }
    }

    @Command(name = "resize", description = "Grow a volume (volumes never shrink).")
    static final class Resize implements Callable<Integer> {
        @ParentCommand
        VolumeCommands parent;

        @Parameters(paramLabel = "NAME", description = "the volume")
        String name;

        @Option(names = "--size", required = true, paramLabel = "SIZE",
                description = "the new size, larger than now, e.g. 20G; a multiple of 4 KiB")
        String size;

        @Override
        public Integer call() {
            long bytes;
            try {
                bytes = Sizes.parseVolumeSize(size);
            } catch (IllegalArgumentException e) {
                throw CliException.usage(e.getMessage());
            }
            JsonNode v = parent.cli.client().post(path(name) + "/resize", new ResizeRequest(bytes, null));
            Output output = parent.cli.output();
            output.result(v, "volume " + name + " is now " + Sizes.format(v.get("sizeBytes").asLong()));
            return 0;
        }
    }

    @Command(name = "ha-update", description = {"Change how many replicas a volume keeps, and show the volume.",
            "More replicas are placed on other nodes and filled from the volume; fewer drop the surplus ones."})
    static final class HaUpdate implements Callable<Integer> {
        @ParentCommand
        VolumeCommands parent;

        @Parameters(paramLabel = "NAME", description = "the volume")
        String name;

        @Option(names = "--repl", paramLabel = "N", description = "the new number of replicas: 1, 2 or 3")
        Integer repl;

        @Override
        public Integer call() {
            if (repl == null) {
                throw CliException.usage("volume ha-update needs --repl N, the number of replicas (1, 2 or 3)");
            }
            if (repl < 1 || repl > VolumeSpec.MAX_REPL) {
                throw CliException.usage("--repl " + repl + " is out of range: use 1, 2 or 3");
            }
            show(parent.cli.output(), parent.cli.client().post(path(name) + "/ha-update", new HaUpdateRequest(repl)));
            return 0;
        }
    }

    @Command(name = "verify", description = {"Compare a volume's in-sync replicas region by region.",
            "Exits 0 when they are identical, 1 when any region differs (the regions are listed)."})
    static final class Verify implements Callable<Integer> {
        @ParentCommand
        VolumeCommands parent;

        @Parameters(paramLabel = "NAME", description = "the volume")
        String name;

        @Override
        public Integer call() {
            JsonNode v = parent.cli.client().post(path(name) + "/verify", Map.of());
            List<String> replicas = new ArrayList<>();
            v.get("replicas").forEach(r -> replicas.add(r.asText()));
            String compared = v.get("regionsCompared").asLong() + " regions of "
                    + Sizes.format(v.get("regionBytes").asLong()) + " holding data";
            if (v.get("identical").asBoolean()) {
                parent.cli.output().result(v, "volume " + name + ": replicas on " + String.join(", ", replicas)
                        + " are identical (" + compared + ")");
                return 0;
            }
            StringBuilder text = new StringBuilder("volume " + name + ": " + v.get("differing").asLong() + " of "
                    + compared + " differ between the replicas on " + String.join(", ", replicas) + ":");
            for (JsonNode d : v.get("differences")) {
                text.append("\n  offset ").append(d.get("offset").asLong()).append(" length ")
                        .append(d.get("length").asLong()).append(": ").append(d.get("checksums").toString());
            }
            parent.cli.output().result(v, text.toString());
            return 1;
        }
    }

    @Command(name = "attach", description = "Attach a volume to a node and print its NBD URI.")
    static final class Attach implements Callable<Integer> {
        @ParentCommand
        VolumeCommands parent;

        @Parameters(paramLabel = "NAME", description = "the volume")
        String name;

        @Option(names = "--node", paramLabel = "NODE", description = "the node to attach on (default: the endpoint's node)")
        String node;

        @Option(names = "--block", description = "also attach it on this host as a block device, and print that (/dev/loopN)")
        boolean block;

        @Override
        public Integer call() {
            ApiClient client = parent.cli.client();
            if (node != null) {
                client = new ApiClient(endpointOf(client, node));
            }
            JsonNode v = client.post(path(name) + "/attach", new AttachRequest(node, block ? true : null));
            Output output = parent.cli.output();
            output.result(v, block ? v.get("device").asText() : v.get("nbd").asText());
            return 0;
        }

        /** Attachment happens on the node that serves the request, so send it to that node's API. */
        private static String endpointOf(ApiClient client, String node) {
            for (JsonNode n : client.get("/v1/nodes")) {
                if (n.get("name").asText().equals(node)) {
                    return "http://" + n.get("address").asText() + ":" + n.get("apiPort").asInt();
                }
            }
            throw CliException.usage("no node named " + node + " (ballast node list)");
        }
    }

    @Command(name = "detach", description = "Detach a volume: flush it and disconnect its clients.")
    static final class Detach implements Callable<Integer> {
        @ParentCommand
        VolumeCommands parent;

        @Parameters(paramLabel = "NAME", description = "the volume")
        String name;

        @Override
        public Integer call() {
            JsonNode v = parent.cli.client().post(path(name) + "/detach", Map.of());
            parent.cli.output().result(v, "detached volume " + name);
            return 0;
        }
    }

    @Command(name = "clone", description = "Make a new volume from VOLUME (its content now) or VOLUME/SNAPSHOT.")
    static final class CloneVolume implements Callable<Integer> {
        @ParentCommand
        VolumeCommands parent;

        @Parameters(index = "0", paramLabel = "SOURCE", description = "VOLUME (its content now) or VOLUME/SNAPSHOT")
        String source;

        @Parameters(index = "1", paramLabel = "NEWNAME", description = "the new volume's name")
        String newName;

        @Override
        public Integer call() {
            String[] parts = source.split("/", -1);
            if (parts.length > 2 || parts[0].isEmpty() || parts.length == 2 && parts[1].isEmpty()) {
                throw CliException.usage("clone source '" + source + "' must be VOLUME or VOLUME/SNAPSHOT");
            }
            JsonNode v = parent.cli.client().post(path(parts[0]) + "/clone",
                    new CloneRequest(newName, parts.length == 2 ? parts[1] : null));
            Output output = parent.cli.output();
            output.result(v, "created volume " + newName + " from " + v.get("source").asText());
            return 0;
        }
    }

    @Command(name = "restore", description = "Bring a detached volume back to one of its snapshots.")
    static final class Restore implements Callable<Integer> {
        @ParentCommand
        VolumeCommands parent;

        @Parameters(index = "0", paramLabel = "VOLUME", description = "the volume, detached")
        String volume;

        @Parameters(index = "1", paramLabel = "SNAPSHOT", description = "one of its snapshots (snapshot list VOLUME)")
        String snapshot;

        @Override
        public Integer call() {
            JsonNode v = parent.cli.client().post(path(volume) + "/restore", new RestoreRequest(snapshot));
            parent.cli.output().result(v, "restored volume " + volume + " to snapshot " + snapshot);
            return 0;
        }
    }

    @Command(name = "mount", description = {"Attach a volume on this host and mount its filesystem at PATH.",
            "A blank volume gets the filesystem its fs names; a volume holding data is never formatted."})
    static final class Mount implements Callable<Integer> {
        @ParentCommand
        VolumeCommands parent;

        @Parameters(index = "0", paramLabel = "NAME", description = "the volume")
        String name;

        @Parameters(index = "1", paramLabel = "PATH", description = "an existing directory to mount it on")
        java.nio.file.Path path;

        @Override
        public Integer call() {
            String where = path.toAbsolutePath().normalize().toString();
            JsonNode v = parent.cli.client().post(path(name) + "/mount", new MountRequest(where));
            parent.cli.output().result(v, "mounted volume " + name + " (" + v.get("fs").asText() + ", "
                    + v.get("device").asText() + ") at " + where);
            return 0;
        }
    }

    @Command(name = "unmount", description = "Unmount a Ballast mount; the last one also detaches the volume.")
    static final class Unmount implements Callable<Integer> {
        @ParentCommand
        VolumeCommands parent;

        @Parameters(paramLabel = "PATH", description = "where the volume is mounted")
        java.nio.file.Path path;

        @Override
        public Integer call() {
            String where = path.toAbsolutePath().normalize().toString();
            JsonNode v = parent.cli.client().post("/v1/unmount", new MountRequest(where));
            parent.cli.output().result(v, "unmounted " + where + (v.get("state").asText().equals("detached")
                    ? " and detached volume " + v.get("name").asText() : ""));
            return 0;
        }
    }
}
