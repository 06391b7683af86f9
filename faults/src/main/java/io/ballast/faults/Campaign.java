package io.ballast.faults;

import com.fasterxml.jackson.databind.JsonNode;
import io.ballast.faults.Blocks.Content;
import io.ballast.faults.Checker.Verdict;
import io.ballast.faults.History.Op;
import io.ballast.faults.Workload.Volume;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * {@code bench/faults}: runs of a fault campaign, each on a fresh cluster in fresh namespaces, judged by the
 * {@link Checker}; the last line sums them up and the exit status is 0 only when every run passed. A failed
 * run keeps its evidence (history, fault timeline, daemon logs, verdicts) and says how to replay it.
 */
public final class Campaign {
    /** The switch of the deliberately broken build (see the node module's {@code Breakage}). */
    static final String BROKEN = "-Dballast.test.breakage=ack-without-replica";
    private static final long VOLUME_BYTES = 128L << 20;
    private static final Duration CONVERGENCE = Duration.ofSeconds(120);

    /** The campaign's settings, from the command line. */
    record Settings(long seed, int runs, int durationSeconds, int nodes, Path evidence, Path jar, boolean broken,
                    int writers, String poolSize, boolean keep, Set<Nemesis.Kind> faults) {}

    /** What one run counted. */
    record RunResult(boolean passed, int faults, Map<Nemesis.Kind, Integer> faultsByKind, long writesAcked,
                     long flushesAcked, long readsChecked, long lost, long diverged, String failure) {}

    public static void main(String[] args) {
        if (List.of(args).contains("--help") || List.of(args).contains("-h")) {
            System.out.println(usage());
            return;
        }
        Settings settings;
        try {
            settings = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.err.println(usage());
            System.exit(2);
            return;
        }
        System.exit(new Campaign().run(settings) ? 0 : 1);
    }

    static String usage() {
        return "usage: bench/faults [--seed S] [--runs N] [--duration SECONDS] [--nodes K] [--evidence DIR]"
                + " [--writers N] [--pool-size SIZE] [--broken] [--keep]"
                + " [--faults KIND,...] (kinds: " + java.util.Arrays.stream(Nemesis.Kind.values()).map(Campaign::optionName)
                        .collect(java.util.stream.Collectors.joining(",")) + ")";
    }

    static Settings parse(String[] args) {
        long seed = System.currentTimeMillis() % 1_000_000;
        int runs = 1;
        int duration = 60;
        int nodes = 3;
        int writers = 3;
        String poolSize = "512M";
        Path evidence = Path.of("faults-evidence");
        Path jar = Path.of(System.getProperty("ballast.jar", "app/target/ballast.jar"));
        boolean broken = false;
        boolean keep = false;
        Set<Nemesis.Kind> faults = java.util.EnumSet.allOf(Nemesis.Kind.class);
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("--broken")) {
                broken = true;
                continue;
            }
            if (arg.equals("--keep")) {
                keep = true; // the evidence of passing runs too
                continue;
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(arg + " needs a value");
            }
            String value = args[++i];
            try {
                switch (arg) {
                    case "--seed" -> seed = Long.parseLong(value);
                    case "--runs" -> runs = positive(arg, Integer.parseInt(value));
                    case "--duration" -> duration = positive(arg, Integer.parseInt(value));
                    case "--nodes" -> nodes = Integer.parseInt(value);
                    case "--writers" -> writers = positive(arg, Integer.parseInt(value));
                    case "--pool-size" -> poolSize = value;
                    case "--evidence" -> evidence = Path.of(value);
                    case "--jar" -> jar = Path.of(value);
                    case "--faults" -> faults = kinds(value);
                    default -> throw new IllegalArgumentException("unknown option " + arg);
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(arg + " takes a number, not " + value);
            }
        }
        if (nodes < 3 || nodes > 9) {
            throw new IllegalArgumentException("--nodes takes 3 to 9 (a repl 3 volume and a metadata quorum"
                    + " that survives one fault)");
        }
        return new Settings(seed, runs, duration, nodes, evidence.toAbsolutePath(), jar.toAbsolutePath(), broken,
                writers, poolSize, keep, faults);
    }

    /** "kill,slow-link" as fault kinds. */
    private static Set<Nemesis.Kind> kinds(String list) {
        Set<Nemesis.Kind> kinds = java.util.EnumSet.noneOf(Nemesis.Kind.class);
        for (String name : list.split(",")) {
            try {
                kinds.add(Nemesis.Kind.valueOf(name.trim().toUpperCase(java.util.Locale.ROOT).replace('-', '_')));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--faults: no fault " + name.trim());
            }
        }
        return kinds;
    }

    static String optionName(Nemesis.Kind kind) {
        return kind.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    private static int positive(String option, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(option + " must be at least 1");
        }
        return value;
    }

    boolean run(Settings settings) {
        if (!Files.isRegularFile(settings.jar())) {
            System.err.println("error: " + settings.jar() + " is missing; build with 'mvn -DskipTests install'");
            return false;
        }
        Leftovers.remove();
        System.out.printf("fault campaign: seed %d, %d run(s) of %d s, %d nodes%s; evidence of failed runs in %s%n",
                settings.seed(), settings.runs(), settings.durationSeconds(), settings.nodes(),
                settings.broken() ? ", DELIBERATELY BROKEN BUILD (" + BROKEN + ")" : "", settings.evidence());
        List<RunResult> results = new ArrayList<>();
        for (int i = 0; i < settings.runs(); i++) {
            long seed = settings.seed() + i;
            RunResult result = new Run(settings, i + 1, seed).execute();
            results.add(result);
            System.out.printf("run %d/%d (seed %d): %s  faults %d %s, writes acked %d, flushes acked %d, reads"
                            + " checked %d, lost %d, diverged %d%s%n", i + 1, settings.runs(), seed,
                    result.passed() ? "PASS" : "FAIL", result.faults(), result.faultsByKind(), result.writesAcked(),
                    result.flushesAcked(), result.readsChecked(), result.lost(), result.diverged(), result.failure() == null ? "" : "  -- " + result.failure());
        }
        Map<Nemesis.Kind, Integer> byKind = new EnumMap<>(Nemesis.Kind.class);
        results.forEach(r -> r.faultsByKind().forEach((k, v) -> byKind.merge(k, v, Integer::sum)));
        long passed = results.stream().filter(RunResult::passed).count();
        System.out.printf("passed %d of %d runs; faults by type: %s%n", passed, results.size(), byKind);
        System.out.printf("runs: %d, faults: %d, writes acked: %d, flushes acked: %d, lost: %d, diverged: %d%n",
                results.size(), results.stream().mapToInt(RunResult::faults).sum(),
                results.stream().mapToLong(RunResult::writesAcked).sum(),
                results.stream().mapToLong(RunResult::flushesAcked).sum(),
                results.stream().mapToLong(RunResult::lost).sum(),
                results.stream().mapToLong(RunResult::diverged).sum());
        return passed == results.size();
    }

    /** One run: a fresh lab and cluster, the workload under the nemesis, then healing, convergence, the check. */
    private static final class Run {
        private final Settings settings;
        private final int number;
        private final long seed;
        private final Path dir;
        private final List<String> problems = new ArrayList<>();

        Run(Settings settings, int number, long seed) {
            this.settings = settings;
            this.number = number;
            this.seed = seed;
            this.dir = settings.evidence().resolve("run-" + seed + "-" + ProcessHandle.current().pid());
        }

        RunResult execute() {
            History history = new History();
            List<Volume> volumes = volumes();
            NetworkLab lab = null;
            Cluster cluster = null;
            Nemesis nemesis = null;
            Workload workload = null;
            List<Verdict> verdicts = new ArrayList<>();
            long diverged = 0;
            Thread cleanup = null;
            try (PrintStream timeline = timeline()) {
                lab = NetworkLab.create(Leftovers.prefix(), settings.nodes(), Leftovers.subnet(), Cluster.NODE_PORTS);
                cluster = new Cluster(lab, dir, settings.nodes(), settings.jar(), settings.poolSize(),
                        settings.broken() ? List.of(BROKEN) : List.of());
                NetworkLab lab0 = lab;
                Cluster cluster0 = cluster;
                cleanup = new Thread(() -> {
                    cluster0.close();
                    lab0.close();
                });
                Runtime.getRuntime().addShutdownHook(cleanup);
                cluster.startAll();
                Api api = cluster.nodes().getFirst().admin();
                for (Volume v : volumes) {
                    api.post("/v1/volumes", Map.of("name", v.name(), "sizeBytes", VOLUME_BYTES, "repl", v.repl()));
                }
                workload = new Workload(cluster, history, volumes, settings.writers(), seed);
                workload.start();
                nemesis = new Nemesis(cluster, lab, workload, volumes, settings.faults(), seed, history, timeline);
                Thread.sleep(2000);
                nemesis.run(Duration.ofSeconds(settings.durationSeconds()));
                problems.addAll(nemesis.healAll());
                Thread.sleep(2000); // a little load on the healed cluster too
                stop(workload);
                workload = null;
                timelineNote(timeline, history, "faults over, workload stopped; waiting for the replicas to converge");
                converge(cluster, volumes, timeline, history);
                List<Op> ops = history.ops();
                List<History.Read> reads = history.reads();
                for (Volume v : volumes) {
                    verdicts.add(Checker.check(v.name(), v.index(), ops, reads, readBack(cluster, v)));
                    diverged += verify(cluster, v);
                }
                timelineNote(timeline, history, "checked");
            } catch (Exception e) {
                problems.add("the run did not complete: " + e);
            } finally {
                if (workload != null) {
                    stop(workload);
                }
                if (cluster != null) {
                    cluster.close();
                }
                if (lab != null) {
                    lab.close();
                }
                if (cleanup != null) {
                    try {
                        Runtime.getRuntime().removeShutdownHook(cleanup);
                    } catch (IllegalStateException shuttingDown) {
                        // the hook runs anyway
                    }
                }
            }
            // A stale read is a flushed write lost to a reader; a garbled block lost whatever was written there.
            long lost = verdicts.stream().mapToLong(v -> v.lost() + v.staleReads() + v.corrupt()).sum();
            for (Verdict v : verdicts) {
                if (!v.passed()) {
                    problems.add(v.volume() + ": lost " + v.lost() + ", stale reads " + v.staleReads() + ", corrupt "
                            + v.corrupt() + ", overlapping epochs "
                            + v.overlaps());
                }
            }
            if (diverged > 0) {
                problems.add(diverged + " regions differ between replicas");
            }
            boolean passed = problems.isEmpty();
            keepEvidence(passed, history, verdicts);
            int faults = nemesis == null ? 0 : nemesis.total();
            Map<Nemesis.Kind, Integer> byKind = nemesis == null ? Map.of() : new TreeMap<>(nemesis.counts());
            return new RunResult(passed, faults, byKind,
                    // From the history, not the verdicts: a run that could not be checked still did its work.
                    history.ops().stream().filter(op -> op.acked() && !op.flush()).count(),
                    history.ops().stream().filter(op -> op.acked() && op.flush()).count(),
                    verdicts.stream().mapToLong(Verdict::readsChecked).sum(), lost, diverged,
                    passed ? null : String.join("; ", problems) + "; evidence: " + dir
                            + "; replay: " + replayCommand());
        }

        private List<Volume> volumes() {
            long blocks = VOLUME_BYTES / Blocks.SIZE;
            return List.of(new Volume(1, "fv2", 2, blocks), new Volume(2, "fv3", 3, blocks));
        }

        private PrintStream timeline() throws IOException {
            Files.createDirectories(dir);
            OutputStream file = Files.newOutputStream(dir.resolve("timeline.txt"));
            String prefix = "  [run " + number + "] ";
            OutputStream both = new OutputStream() {
                private boolean lineStart = true;

                @Override
                public void write(int b) throws IOException {
                    file.write(b);
                    if (lineStart) {
                        System.out.print(prefix);
                    }
                    System.out.write(b);
                    lineStart = b == '\n';
                }

                @Override
                public void flush() throws IOException {
                    file.flush();
                    System.out.flush();
                }

                @Override
                public void close() throws IOException {
                    file.close();
                }
            };
            return new PrintStream(both, true, StandardCharsets.UTF_8);
        }

        private static void timelineNote(PrintStream timeline, History clock, String text) {
            timeline.printf("%8.3f s  %s%n", clock.now() / 1e9, text);
        }

        /**
         * Waits, bounded, until every volume has all its replicas in sync; a volume that does not get there is
         * a failed run (a replica that cannot rejoin is a disaster too).
         */
        private void converge(Cluster cluster, List<Volume> volumes, PrintStream timeline, History clock)
                throws InterruptedException {
            long deadline = System.nanoTime() + CONVERGENCE.toNanos();
            List<String> waiting = List.of();
            while (System.nanoTime() < deadline) {
                waiting = new ArrayList<>();
                for (Volume v : volumes) {
                    String state = replicaStates(cluster, v);
                    if (!state.equals("in-sync x" + v.repl())) {
                        waiting.add(v.name() + ": " + state);
                    }
                }
                if (waiting.isEmpty()) {
                    timelineNote(timeline, clock, "every replica is in sync");
                    return;
                }
                Thread.sleep(500);
            }
            problems.add("not converged within " + CONVERGENCE.toSeconds() + " s: " + waiting);
        }

        private static String replicaStates(Cluster cluster, Volume volume) {
            for (Cluster.Node node : cluster.nodes()) {
                try {
                    JsonNode view = node.api().get("/v1/volumes/" + volume.name());
                    TreeSet<String> states = new TreeSet<>();
                    int[] inSync = {0};
                    view.path("replicas").forEach(r -> {
                        String state = r.path("state").asText();
                        states.add(r.path("node").asText() + "=" + state);
                        inSync[0] += state.equals("in-sync") && !r.hasNonNull("resync") ? 1 : 0;
                    });
                    return inSync[0] == view.path("replicas").size() ? "in-sync x" + inSync[0] : states.toString();
                } catch (IOException e) {
                    // ask the next node
                }
            }
            return "no node answers";
        }

        /** Stops the writers; one still running fails the run (it could write into the next one). */
        private void stop(Workload workload) {
            try {
                List<String> running = workload.stop();
                if (!running.isEmpty()) {
                    problems.add("writers still running after the workload stopped: " + running);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                problems.add("interrupted while stopping the writers");
            }
        }

        /**
         * Reads back every block of the volume, through whichever node it is attached to: the written ones to
         * judge, the others to prove no write strayed there.
         */
        private static Map<Long, Content> readBack(Cluster cluster, Volume volume) throws IOException {
            Cluster.Node node = cluster.nodes().getFirst();
            String attached = node.api().get("/v1/volumes/" + volume.name()).path("attachedNode").asText(null);
            if (attached != null) {
                node = cluster.node(attached);
            }
            Map<Long, Content> contents = new TreeMap<>();
            try (NbdClient client = NbdClient.connect(node.address(), Cluster.NBD_PORT, volume.name(), 30_000, 30_000)) {
                byte[] run = new byte[256 * Blocks.SIZE];
                for (long start = 0; start < volume.blocks(); start += 256) {
                    client.read(start * Blocks.SIZE, run);
                    for (int i = 0; i < 256 && start + i < volume.blocks(); i++) {
                        contents.put(start + i, Blocks.parse(run, i));
                    }
                }
            }
            return contents;
        }

        /** The regions that differ between the volume's replicas, by the product's own verify. */
        private long verify(Cluster cluster, Volume volume) throws IOException {
            JsonNode report = cluster.nodes().getFirst().admin().post("/v1/volumes/" + volume.name() + "/verify", Map.of());
            if (report.path("replicas").size() != volume.repl()) {
                problems.add(volume.name() + ": verify compared " + report.path("replicas") + ", not " + volume.repl()
                        + " replicas");
            }
            if (!report.path("identical").asBoolean(false) && report.path("differing").asLong() == 0) {
                problems.add(volume.name() + ": verify says the replicas are not identical: " + report);
            }
            return report.path("differing").asLong();
        }

        private void keepEvidence(boolean passed, History history, List<Verdict> verdicts) {
            try {
                if (passed && !settings.keep()) {
                    deleteTree(dir);
                    return;
                }
                history.save(dir);
                StringBuilder text = new StringBuilder();
                text.append("seed ").append(seed).append(", run ").append(number).append('\n');
                text.append("replay: ").append(replayCommand()).append('\n');
                problems.forEach(p -> text.append("problem: ").append(p).append('\n'));
                for (Verdict v : verdicts) {
                    text.append(v).append('\n');
                    v.examples().forEach(e -> text.append("  ").append(e).append('\n'));
                }
                Files.writeString(dir.resolve("verdict.txt"), text);
                // The pools are large and say less than the logs and the history: the logs stay.
                try (Stream<Path> nodes = Files.list(dir)) {
                    for (Path node : nodes.filter(Files::isDirectory).toList()) {
                        deleteTree(node.resolve("pools"));
                    }
                }
            } catch (IOException e) {
                System.err.println("faults: could not write the evidence in " + dir + ": " + e.getMessage());
            }
        }

        private String replayCommand() {
            return "bench/faults --seed " + seed + " --runs 1 --duration " + settings.durationSeconds() + " --nodes "
                    + settings.nodes() + " --writers " + settings.writers() + " --pool-size " + settings.poolSize()
                    + (settings.broken() ? " --broken" : "")
                    + (settings.faults().size() < Nemesis.Kind.values().length ? " --faults " + settings.faults().stream()
                            .map(Campaign::optionName).collect(java.util.stream.Collectors.joining(",")) : "");
        }
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
