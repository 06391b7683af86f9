package io.ballast.cli;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * One daemon of a local cluster started by {@code ballast up}: node i is named node<i>, keeps its
 * files in DIR/node<i>/ and listens on the ports INTERFACE.md assigns it. {@code join} is the API
 * address (HOST:PORT) of the node whose cluster it joins, or null for node1, which founds the cluster.
 */
record LocalNode(Path dir, String name, int apiPort, int peerPort, int raftPort, int nbdPort, String join) {
    static final int NBD_BASE_PORT = 10809;

    private static final Pattern STACK_FRAME = Pattern.compile("\\s+(at .*|\\.\\.\\. \\d+ more)");

    /** Ports above node1's that node i takes: API P+10(i-1) and peer, raft +2, +3. */
    static final int PORTS_PER_NODE = 10;

    static LocalNode of(Path data, int index, int basePort, int nbdBasePort) {
        if (index < 1) {
            throw new IllegalArgumentException("node index " + index + " is not 1 or more");
        }
        int offset = PORTS_PER_NODE * (index - 1);
        // Every node but the first joins node1's cluster. A node that is already a member ignores
        // --join, so it is passed on every start, and a node restarted after 'down' is not refused.
        return new LocalNode(data.resolve("node" + index), "node" + index, basePort + offset, basePort + offset + 2,
                basePort + offset + 3, nbdBasePort + offset, index == 1 ? null : "127.0.0.1:" + basePort);
    }

    /** A node found under DIR by its directory alone (enough to find and stop its process). */
    static LocalNode at(Path dir) {
        return new LocalNode(dir, dir.getFileName().toString(), 0, 0, 0, 0, null);
    }

    /**
     * The node directories (node1, node2, ...) under {@code data}, in the order of their numbers
     * (node2 before node10); none when {@code data} does not exist.
     */
    static List<Path> dirsUnder(Path data) throws IOException {
        if (!Files.isDirectory(data)) {
            return List.of();
        }
        try (Stream<Path> dirs = Files.list(data)) {
            return dirs.filter(d -> index(d) > 0 && Files.isDirectory(d))
                    .sorted(Comparator.comparingInt(LocalNode::index)).toList();
        }
    }

    /** The i of a DIR/node<i> directory, or 0 for any other path. */
    static int index(Path dir) {
        Path fileName = dir.getFileName();
        String name = fileName == null ? "" : fileName.toString();
        if (!name.matches("node[1-9][0-9]{0,5}")) {
            return 0;
        }
        return Integer.parseInt(name.substring("node".length()));
    }

    Path pidFile() {
        return dir.resolve("node.pid");
    }

    Path logFile() {
        return dir.resolve("node.log");
    }

    String apiUrl() {
        return "http://127.0.0.1:" + apiPort;
    }

    List<String> startArguments() {
        List<String> arguments = new ArrayList<>(List.of("node", "start", "--data", dir.toString(), "--name", name,
                "--address", "127.0.0.1", "--api-port", Integer.toString(apiPort), "--nbd-port",
                Integer.toString(nbdPort), "--peer-port", Integer.toString(peerPort), "--raft-port",
                Integer.toString(raftPort)));
        if (join != null) {
            arguments.addAll(List.of("--join", join));
        }
        return List.copyOf(arguments);
    }

    /** The running daemon of this node, if its pid file names a live Ballast process. */
    Optional<ProcessHandle> process() {
        try {
            if (!Files.exists(pidFile())) {
                return Optional.empty();
            }
            long pid = Long.parseLong(Files.readString(pidFile(), StandardCharsets.US_ASCII).trim());
            return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).filter(LocalNode::isBallast);
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** Guards against a stale pid file whose pid now belongs to some other program. */
    private static boolean isBallast(ProcessHandle process) {
        try {
            String cmdline = Files.readString(Path.of("/proc", Long.toString(process.pid()), "cmdline"))
                    .replace('\0', ' ');
            return cmdline.contains("io.ballast") || cmdline.contains("ballast.jar");
        } catch (IOException e) {
            return false;
        }
    }

    /** Whether the API port answers /healthz as this node (not another node on the same port). */
    boolean answersAsItself() {
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build()) {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(apiUrl() + "/healthz"))
                    .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200 && response.body().contains("\"node\":\"" + name + "\"");
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * The last lines of the node's log, to show why it did not start; without stack frames
     * ("\tat ...", "\t... 12 more"), which would push out the lines that say what went wrong.
     */
    String logTail(int lines) {
        try {
            List<String> all = Files.readAllLines(logFile()).stream()
                    .filter(line -> !STACK_FRAME.matcher(line).matches()).toList();
            return String.join(System.lineSeparator(), all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(no log at " + logFile() + ")";
        }
    }
}
