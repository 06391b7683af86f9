package io.ballast.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.IntFunction;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A cluster of Ballast daemons for one test, each its own JVM from the packaged program: node1..nodeN on
 * free loopback ports, data directories under the test's temporary directory, the first node creating
 * the cluster and the others joining through it. After the test, whatever happened, every node is
 * stopped by pid (SIGTERM, then SIGKILL) and the FUSE mounts of crashed nodes are removed; when the test
 * failed, the tail of every node's log is printed first.
 *
 * <p>Also the test's REST client ({@link #get}, {@link #post}, {@link #delete}) and its bounded waits
 * ({@link #await}), which say what they waited for and what they last saw when they time out.
 */
final class ClusterProcesses implements BeforeEachCallback, AfterEachCallback {
    /** Many daemons share a small host: a small heap, one GC thread, and C1 only (they start faster). */
    static final List<String> LIGHT_JVM = List.of("-Xmx256m", "-Xms32m", "-XX:ParallelGCThreads=1",
            "-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1");
    /** Nodes are reported down 2 s after their last heartbeat (the default is 5 s). */
    static final String LEASE = "2s";
    /** The class of service of every node's pool. */
    static final String POOL_CLASS = "medium";
    static final ObjectMapper JSON = new ObjectMapper();
    private static final int LOG_TAIL_LINES = 80;
    private static final java.util.regex.Pattern STACK_LINE =
            java.util.regex.Pattern.compile("^\\s+(at |\\.\\.\\. \\d+ more)");

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();
    private final List<DaemonProcess> nodes = new ArrayList<>();
    private Path dir;
    private long testStarted;

    /** A REST answer: the status and the body as text. */
    record Response(int status, String body) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON (HTTP " + status + "): " + body, e);
            }
        }

        /** The error's message, or "" for an answer that is not an error body. */
        String errorMessage() {
            try {
                JsonNode error = JSON.readTree(body).path("error");
                return error.path("message").asText("");
            } catch (IOException e) {
                return "";
            }
        }

        String errorCode() {
            try {
                return JSON.readTree(body).path("error").path("code").asText("");
            } catch (IOException e) {
                return "";
            }
        }

        @Override
        public String toString() {
            return "HTTP " + status + " " + body;
        }
    }

    // ---- lifecycle -------------------------------------------------------------------------

    @Override
    public void beforeEach(ExtensionContext context) {
        testStarted = System.nanoTime();
    }

    /**
     * Starts {@code count} nodes under {@code dir}: node1 first (it creates the cluster), then the others in
     * parallel, each joining through node1. {@code args} gives node i (1-based) its own extra arguments
     * (labels, say); every node gets {@code --lease 2s} and one 10 GiB pool of class {@link #POOL_CLASS}.
     */
    List<DaemonProcess> start(Path dir, int count, IntFunction<List<String>> args) {
        this.dir = dir;
        long begin = System.nanoTime();
        DaemonProcess first = create(1, args.apply(1), null);
        first.start();
        List<DaemonProcess> rest = new ArrayList<>();
        for (int i = 2; i <= count; i++) {
            rest.add(create(i, args.apply(i), first.apiAddress()));
        }
        startAll(rest);
        log("started %d nodes in %d ms: %s", count, millisSince(begin), describe());
        return List.copyOf(nodes);
    }

    List<DaemonProcess> start(Path dir, int count) {
        return start(dir, count, i -> List.of());
    }

    /** Starts the next nodes (node{N+1}, ...) in parallel, joining through {@code via}. */
    List<DaemonProcess> add(DaemonProcess via, List<List<String>> argsPerNode) {
        long begin = System.nanoTime();
        List<DaemonProcess> added = new ArrayList<>();
        for (List<String> args : argsPerNode) {
            added.add(create(nodes.size() + 1, args, via.apiAddress()));
        }
        startAll(added);
        log("added %s in %d ms", added.stream().map(n -> n.name).toList(), millisSince(begin));
        return added;
    }

    private DaemonProcess create(int index, List<String> args, String join) {
        String name = "node" + index;
        // One pool of a class given, not measured: on a busy host the fingerprint of the same disk comes out
        // high on one node and medium on the next, and a volume's replicas must all be of one class.
        List<String> all = new ArrayList<>(List.of("--lease", LEASE, "--pool-size", "10G",
                "--pool", dir.resolve(name).resolve("pools/default") + ":" + POOL_CLASS));
        if (join != null) {
            all.add("--join");
            all.add(join);
        }
        all.addAll(args);
        DaemonProcess node = new DaemonProcess(dir.resolve(name), name, LIGHT_JVM, all.toArray(String[]::new));
        nodes.add(node);
        return node;
    }

    /** Starts (or restarts, with the same data and ports) the given nodes in parallel, each awaited healthy. */
    void startAll(List<DaemonProcess> which) {
        List<CompletableFuture<Void>> starts = new ArrayList<>();
        for (DaemonProcess node : which) {
            starts.add(CompletableFuture.runAsync(node::start,
                    runnable -> Thread.ofPlatform().name("start-" + node.name).start(runnable)));
        }
        List<AssertionError> failures = new ArrayList<>();
        for (int i = 0; i < starts.size(); i++) {
            try {
                starts.get(i).join();
            } catch (RuntimeException e) {
                Throwable cause = e.getCause() != null ? e.getCause() : e;
                // The daemon's own error carries its whole log: keep its end, where the reason is.
                AssertionError failure = new AssertionError(which.get(i).name + ": " + shorten(cause.getMessage()));
                failure.setStackTrace(cause.getStackTrace());
                failures.add(failure);
            }
        }
        if (!failures.isEmpty()) {
            AssertionError error = new AssertionError("could not start " + failures.size() + " of " + which.size()
                    + " nodes; " + failures.getFirst().getMessage());
            failures.forEach(error::addSuppressed);
            throw error;
        }
    }

    /** SIGKILL: a crash, the process is gone when this returns. Its FUSE mount stays behind, as after a crash. */
    void kill(DaemonProcess node) {
        node.kill();
        if (node.alive()) {
            throw new AssertionError(node.name + " (pid " + node.pid() + ") survived SIGKILL");
        }
        log("killed %s (pid %d)", node.name, node.pid());
    }

    @Override
    public void afterEach(ExtensionContext context) {
        context.getExecutionException().ifPresent(e -> {
            dumpLogs(context.getDisplayName() + " failed: " + shorten(e.toString()));
            keepLogs(context.getRequiredTestMethod().getName());
        });
        List<CompletableFuture<Void>> stops = new ArrayList<>();
        for (DaemonProcess node : nodes) {
            // SIGTERM, 20 s, then SIGKILL; all nodes at once, so a slow one does not hold up the others.
            stops.add(CompletableFuture.runAsync(node::close, runnable -> Thread.ofPlatform().start(runnable)));
        }
        stops.forEach(CompletableFuture::join);
        for (DaemonProcess node : nodes) {
            unmountFuse(node.data.resolve("dev"));
        }
        if (dir != null) {
            HostCleanup.under(dir);
        }
        log("%s: %d ms in all", context.getDisplayName(), millisSince(testStarted));
    }

    /** A crashed daemon leaves its FUSE mount behind ("Transport endpoint is not connected"). */
    private static void unmountFuse(Path devDir) {
        String point = devDir.toAbsolutePath().toString();
        if (HostCleanup.mountPointsUnder(point).contains(point)) {
            if (Run.run(30, List.of("fusermount3", "-u", point)).exit() != 0) {
                Run.run(30, List.of("fusermount3", "-u", "-z", point));
            }
        }
    }

    /**
     * Prints the last lines of every node's log, without stack frames (Ratis logs a whole stack for every
     * failed request, which would leave nothing else in the tail).
     */
    void dumpLogs(String why) {
        StringBuilder out = new StringBuilder("\n===== " + why + "\n");
        for (DaemonProcess node : nodes) {
            List<String> lines = node.logText().lines().filter(l -> !STACK_LINE.matcher(l).find()).toList();
            out.append("----- ").append(node.name).append(" (").append(node.alive() ? "running" : "not running")
                    .append(", pid ").append(pidOf(node)).append(") last ").append(Math.min(LOG_TAIL_LINES, lines.size()))
                    .append(" of ").append(lines.size()).append(" lines (stack frames left out) of ").append(node.log())
                    .append('\n');
            lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size())
                    .forEach(l -> out.append("  ").append(l).append('\n'));
        }
        System.out.println(out);
    }

    /** Copies every node's whole log to app/target/cluster-it-logs/TEST/, where it outlives the test's directory. */
    private void keepLogs(String test) {
        Path kept = DaemonProcess.ROOT.resolve("app/target/cluster-it-logs").resolve(test);
        try {
            if (Files.isDirectory(kept)) {
                try (var old = Files.list(kept)) {
                    for (Path file : old.toList()) {
                        Files.delete(file);
                    }
                }
            }
            Files.createDirectories(kept);
            for (DaemonProcess node : nodes) {
                if (Files.exists(node.log())) {
                    Files.copy(node.log(), kept.resolve(node.name + ".log"), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            System.out.println("whole node logs kept in " + kept);
        } catch (IOException e) {
            System.out.println("could not keep the node logs in " + kept + ": " + e);
        }
    }

    /** At most the first 300 and the last 1,700 characters: a daemon's start failure carries its whole log. */
    static String shorten(String text) {
        if (text == null) {
            return "null";
        }
        return text.length() <= 2_000 ? text : text.substring(0, 300) + "\n[... " + (text.length() - 2_000)
                + " characters left out ...]\n" + text.substring(text.length() - 1_700);
    }

    private static String pidOf(DaemonProcess node) {
        try {
            return Long.toString(node.pid());
        } catch (RuntimeException e) {
            return "-";
        }
    }

    // ---- nodes ---------------------------------------------------------------------------

    List<DaemonProcess> nodes() {
        return List.copyOf(nodes);
    }

    DaemonProcess node(String name) {
        return nodes.stream().filter(n -> n.name.equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no node " + name + " in this test's cluster"));
    }

    List<DaemonProcess> running() {
        return nodes.stream().filter(DaemonProcess::alive).toList();
    }

    private String describe() {
        return nodes.stream().map(n -> n.name + "(pid " + n.pid() + ", api " + n.apiPort + ")").toList().toString();
    }

    // ---- REST ----------------------------------------------------------------------------

    Response get(DaemonProcess node, String path) {
        return send(node, HttpRequest.newBuilder(uri(node, path)).GET());
    }

    Response post(DaemonProcess node, String path, Object body) {
        String text;
        try {
            text = body instanceof String s ? s : JSON.writeValueAsString(body);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return send(node, HttpRequest.newBuilder(uri(node, path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(text)));
    }

    Response delete(DaemonProcess node, String path) {
        return send(node, HttpRequest.newBuilder(uri(node, path)).DELETE());
    }

    private static URI uri(DaemonProcess node, String path) {
        return URI.create(node.endpoint() + path);
    }

    /**
     * One request, answered within 40 s: every API call is bounded by the metadata's 10 s timeouts, so a
     * request that takes longer hangs, and the test says so instead of waiting forever.
     */
    private Response send(DaemonProcess node, HttpRequest.Builder request) {
        HttpRequest built = request.timeout(Duration.ofSeconds(40)).build();
        try {
            HttpResponse<String> response = http.send(built, HttpResponse.BodyHandlers.ofString());
            return new Response(response.statusCode(), response.body());
        } catch (java.net.http.HttpTimeoutException e) {
            throw new AssertionError(built.method() + " " + built.uri() + " on " + node.name
                    + " got no answer within 40 s (a hang)", e);
        } catch (IOException e) {
            throw new UncheckedIOException(built.method() + " " + built.uri() + " on " + node.name + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /** The request could not be sent or answered (the node is not listening, say). */
    static final class UncheckedIOException extends RuntimeException {
        UncheckedIOException(String message, IOException cause) {
            super(message, cause);
        }
    }

    /** {@code GET /v1/nodes} through {@code via}, which must answer 200. */
    JsonNode nodesView(DaemonProcess via) {
        Response r = get(via, "/v1/nodes");
        if (r.status() != 200) {
            throw new AssertionError("GET /v1/nodes on " + via.name + ": " + r);
        }
        return r.json();
    }

    /** The metadata role of each node as {@code via} sees it, e.g. {node1=leader, node2=voter}. */
    java.util.Map<String, String> roles(DaemonProcess via) {
        java.util.Map<String, String> roles = new java.util.TreeMap<>();
        nodesView(via).forEach(n -> roles.put(n.get("name").asText(), n.get("metadata").asText()));
        return roles;
    }

    /** The state (up or down) of each node as {@code via} sees it. */
    java.util.Map<String, String> states(DaemonProcess via) {
        java.util.Map<String, String> states = new java.util.TreeMap<>();
        nodesView(via).forEach(n -> states.put(n.get("name").asText(), n.get("state").asText()));
        return states;
    }

    // ---- waits ---------------------------------------------------------------------------

    /**
     * Polls {@code probe} every 200 ms until {@code done} accepts its value, for at most {@code timeout};
     * returns that value. A probe that throws counts as not done. On timeout the error names what was
     * awaited and the last value (or exception) seen.
     */
    static <T> T await(String what, Duration timeout, Supplier<T> probe, Predicate<T> done) {
        long begin = System.nanoTime();
        long deadline = begin + timeout.toNanos();
        Object last = "(nothing yet)";
        for (;;) {
            try {
                T value = probe.get();
                if (done.test(value)) {
                    log("waited %d ms for %s", millisSince(begin), what);
                    return value;
                }
                last = value;
            } catch (RuntimeException | AssertionError e) {
                last = e.toString();
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("waited " + timeout.toSeconds() + " s for " + what + "; last seen: " + last);
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for " + what, e);
            }
        }
    }

    static long millisSince(long nanos) {
        return (System.nanoTime() - nanos) / 1_000_000;
    }

    static void log(String format, Object... args) {
        System.out.printf("[cluster-it %tT] %s%n", System.currentTimeMillis(), String.format(format, args));
    }
}
