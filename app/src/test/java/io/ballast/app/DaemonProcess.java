package io.ballast.app;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A Ballast daemon run as its own JVM process from the packaged program, on free loopback
 * ports, the way an operator runs it. Tests stop it by pid, even when they fail.
 */
final class DaemonProcess implements AutoCloseable {
    static final Path ROOT = Path.of(System.getProperty("ballast.root", "..")).toAbsolutePath().normalize();
    static final Path JAR = ROOT.resolve("app/target/ballast.jar");
    static final String JAVA = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    static final List<String> JVM_OPTIONS = List.of("--enable-native-access=ALL-UNNAMED",
            "--sun-misc-unsafe-memory-access=allow", "-XX:+UseParallelGC");

    final Path data;
    final String name;
    final int apiPort;
    final int nbdPort;
    final int raftPort;
    final int peerPort;
    private final List<String> extraArgs;
    private final List<String> jvmOptions;
    private Process process;

    DaemonProcess(Path data, String... extraArgs) {
        this(data, "node1", List.of(), extraArgs);
    }

    /**
     * A daemon named {@code name} (one node of a cluster), with {@code jvmOptions} added after
     * {@link #JVM_OPTIONS} (a smaller heap, say, when a test runs many nodes on one host).
     */
    DaemonProcess(Path data, String name, List<String> jvmOptions, String... extraArgs) {
        this.data = data;
        this.name = name;
        this.apiPort = freePort();
        this.nbdPort = freePort();
        this.raftPort = freePort();
        this.peerPort = freePort();
        this.extraArgs = List.of(extraArgs);
        this.jvmOptions = List.copyOf(jvmOptions);
    }

    static List<String> programCommand() {
        return programCommand(List.of());
    }

    static List<String> programCommand(List<String> jvmOptions) {
        List<String> command = new ArrayList<>();
        command.add(JAVA);
        command.addAll(JVM_OPTIONS);
        command.addAll(jvmOptions);
        command.add("-jar");
        command.add(JAR.toString());
        return command;
    }

    DaemonProcess start() {
        if (!Files.exists(JAR)) {
            throw new AssertionError(JAR + " is missing: the end-to-end tests run after 'mvn package'");
        }
        List<String> command = programCommand(jvmOptions);
        command.addAll(List.of("node", "start", "--data", data.toString(), "--name", name, "--address", "127.0.0.1",
                "--api-port", Integer.toString(apiPort), "--nbd-port", Integer.toString(nbdPort),
                "--raft-port", Integer.toString(raftPort), "--peer-port", Integer.toString(peerPort)));
        command.addAll(extraArgs);
        try {
            Files.createDirectories(data);
            process = new ProcessBuilder(command).redirectInput(new File("/dev/null"))
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log().toFile()))
                    .redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new AssertionError("could not start the daemon: " + e.getMessage(), e);
        }
        awaitHealthy();
        return this;
    }

    Path log() {
        return data.resolve("test-node.log");
    }

    String endpoint() {
        return "http://127.0.0.1:" + apiPort;
    }

    String nbdUri(String volume) {
        return "nbd://127.0.0.1:" + nbdPort + "/" + volume;
    }

    long pid() {
        return process.pid();
    }

    private void awaitHealthy() {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        try (HttpClient http = HttpClient.newHttpClient()) {
            while (System.nanoTime() < deadline) {
                if (!process.isAlive()) {
                    throw new AssertionError("the daemon exited with " + process.exitValue() + ":\n" + logText());
                }
                try {
                    HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(endpoint() + "/healthz"))
                            .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                    if (response.statusCode() == 200) {
                        return;
                    }
                } catch (IOException notYet) {
                    // not listening yet
                }
                Thread.sleep(100);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        throw new AssertionError("the daemon was not healthy within 60 s:\n" + logText());
    }

    String logText() {
        try {
            return Files.exists(log()) ? Files.readString(log()) : "(no log)";
        } catch (IOException e) {
            return "(log unreadable: " + e.getMessage() + ")";
        }
    }

    /** SIGTERM and wait: a clean shutdown. */
    void stop() {
        if (process != null && process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(20, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor();
                    throw new AssertionError("the daemon did not stop within 20 s of SIGTERM:\n" + logText());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** SIGKILL: a crash. */
    void kill() {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    DaemonProcess restart() {
        stop();
        return start();
    }

    boolean alive() {
        return process != null && process.isAlive();
    }

    /** Waits up to {@code timeout} for the process to end by itself; true if it has. */
    boolean awaitExit(Duration timeout) {
        if (process == null) {
            return true;
        }
        try {
            return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !process.isAlive();
        }
    }

    /** The exit status of the process, which must have ended. */
    int exitValue() {
        return process.exitValue();
    }

    /** The host:port of the API, as {@code --join} takes it. */
    String apiAddress() {
        return "127.0.0.1:" + apiPort;
    }

    @Override
    public void close() {
        if (process != null && process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(20, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
            }
        }
    }

    /** Ports handed out by this JVM: the kernel may offer a port again once its probe socket closed. */
    private static final java.util.Set<Integer> HANDED_OUT = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** A free loopback port that no other node of this test run was given. */
    static int freePort() {
        for (;;) {
            try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
                if (HANDED_OUT.add(socket.getLocalPort())) {
                    return socket.getLocalPort();
                }
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        }
    }
}
