package io.ballast.faults;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The campaign's Ballast cluster: one daemon per namespace of the {@link NetworkLab}, each a real JVM from
 * the packaged program, all on the same port numbers on their own addresses. Node 1 creates the cluster and
 * the others join through it. Nodes are killed, paused and restarted by pid, and every process is gone after
 * {@link #close}, whatever happened.
 */
final class Cluster implements AutoCloseable {
    static final int API_PORT = 9700;
    static final int PEER_PORT = 9702;
    static final int RAFT_PORT = 9703;
    static final int NBD_PORT = 10809;
    /** The ports other nodes connect to: a partition or a slow link applies to all of them. */
    static final List<Integer> NODE_PORTS = List.of(API_PORT, PEER_PORT, RAFT_PORT, NBD_PORT);
    /** Nodes are reported down 2 s after their last heartbeat (the default is 5 s): faults show quickly. */
    static final String LEASE = "2s";
    /** Several daemons share two cores: a small heap, one GC thread, C1 only (they start faster). */
    private static final List<String> JVM = List.of("--enable-native-access=ALL-UNNAMED",
            "--sun-misc-unsafe-memory-access=allow", "-XX:+UseParallelGC", "-Xmx256m", "-Xms32m",
            "-XX:ParallelGCThreads=1", "-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1");
    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);

    /** One daemon. Its state changes only through the cluster, from one thread at a time. */
    final class Node {
        final int index;
        final String name;
        final Path dir;
        private Process process;
        private boolean paused;

        private Node(int index) {
            this.index = index;
            this.name = "node" + index;
            this.dir = Cluster.this.dir.resolve(name);
        }

        String address() {
            return lab.address(index);
        }

        /** For reads that a client repeats elsewhere when this node does not answer soon. */
        Api api() {
            return new Api(address(), API_PORT, Duration.ofSeconds(3));
        }

        /** For changes (attach, detach, create, delete) and verify, which wait for metadata commits and replicas. */
        Api admin() {
            return new Api(address(), API_PORT, Duration.ofSeconds(30));
        }

        Path log() {
            return dir.resolve("daemon.log");
        }

        synchronized boolean running() {
            return process != null && process.isAlive();
        }

        synchronized boolean serving() {
            return running() && !paused;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private final NetworkLab lab;
    private final Path dir;
    private final Path jar;
    private final String poolSize;
    private final List<String> extraJvm;
    private final List<Node> nodes = new ArrayList<>();

    /**
     * @param extraJvm more JVM options for every daemon (the deliberately broken build's switch)
     */
    Cluster(NetworkLab lab, Path dir, int count, Path jar, String poolSize, List<String> extraJvm) {
        this.lab = lab;
        this.dir = dir;
        this.jar = jar;
        this.poolSize = poolSize;
        this.extraJvm = List.copyOf(extraJvm);
        for (int i = 1; i <= count; i++) {
            nodes.add(new Node(i));
        }
    }

    List<Node> nodes() {
        return List.copyOf(nodes);
    }

    Node node(String name) {
        return nodes.stream().filter(n -> n.name.equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no node " + name));
    }

    /** Node 1 first (it creates the cluster), then the others in parallel; each awaited healthy. */
    void startAll() throws IOException {
        start(nodes.getFirst());
        List<CompletableFuture<Void>> starts = new ArrayList<>();
        for (Node node : nodes.subList(1, nodes.size())) {
            starts.add(CompletableFuture.runAsync(() -> {
                try {
                    start(node);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, r -> Thread.ofPlatform().name("start-" + node.name).start(r)));
        }
        try {
            CompletableFuture.allOf(starts.toArray(CompletableFuture[]::new)).join();
        } catch (java.util.concurrent.CompletionException e) {
            throw e.getCause() instanceof java.io.UncheckedIOException io ? io.getCause()
                    : new IOException(e.getCause());
        }
    }

    /** Starts (or restarts, with the same data and ports) one node and waits until it answers. */
    void start(Node node) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.addAll(JVM);
        command.addAll(extraJvm);
        command.addAll(List.of("-jar", jar.toString(), "node", "start", "--data", node.dir.resolve("data").toString(),
                "--name", node.name, "--address", node.address(), "--api-port", Integer.toString(API_PORT),
                "--nbd-port", Integer.toString(NBD_PORT), "--peer-port", Integer.toString(PEER_PORT),
                "--raft-port", Integer.toString(RAFT_PORT), "--lease", LEASE, "--pool-size", poolSize,
                "--pool", node.dir.resolve("pools/default") + ":medium"));
        if (node.index != 1) {
            command.addAll(List.of("--join", lab.address(1) + ":" + API_PORT));
        }
        Files.createDirectories(node.dir);
        Process process = new ProcessBuilder(lab.inNamespace(node.index, command))
                .redirectInput(new File("/dev/null"))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(node.log().toFile()))
                .redirectErrorStream(true).start();
        synchronized (node) {
            node.process = process;
            node.paused = false;
        }
        awaitHealthy(node, process);
    }

    private void awaitHealthy(Node node, Process process) throws IOException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        URI health = URI.create("http://" + node.address() + ":" + API_PORT + "/healthz");
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build()) {
            while (System.nanoTime() < deadline) {
                if (!process.isAlive()) {
                    throw new IOException(node.name + " exited with " + process.exitValue() + " while starting; see "
                            + node.log());
                }
                try {
                    HttpResponse<Void> response = http.send(HttpRequest.newBuilder(health)
                            .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding());
                    if (response.statusCode() == 200) {
                        return;
                    }
                } catch (IOException notYet) {
                    // not listening yet
                }
                Thread.sleep(200);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while starting " + node.name);
        }
        throw new IOException(node.name + " did not answer /healthz within " + START_TIMEOUT.toSeconds() + " s; see "
                + node.log());
    }

    /** SIGKILL, and waits until the process is gone. */
    void kill(Node node) {
        Process process;
        synchronized (node) {
            process = node.process;
            node.paused = false;
        }
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** SIGSTOP: the process keeps its sockets and memory but runs nothing, as a host that hangs. */
    void pause(Node node) throws IOException {
        signal(node, "STOP");
        synchronized (node) {
            node.paused = true;
        }
    }

    void resume(Node node) throws IOException {
        signal(node, "CONT");
        synchronized (node) {
            node.paused = false;
        }
    }

    private void signal(Node node, String signal) throws IOException {
        long pid;
        synchronized (node) {
            if (node.process == null || !node.process.isAlive()) {
                return;
            }
            pid = node.process.pid();
        }
        Shell.run(List.of("kill", "-" + signal, Long.toString(pid)));
    }

    /** Every node's daemon is killed by pid (continued first, so that a paused one dies at once). */
    @Override
    public void close() {
        for (Node node : nodes) {
            try {
                resume(node);
            } catch (IOException | RuntimeException e) {
                System.err.println("faults: could not continue " + node.name + ": " + e.getMessage());
            }
            kill(node);
        }
    }
}
