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
import java.util.List;
import java.util.Optional;

/**
 * One daemon of a local cluster started by {@code ballast up}: node i is named node<i>, keeps its
 * files in DIR/node<i>/ and listens on the ports INTERFACE.md assigns it.
 */
record LocalNode(Path dir, String name, int apiPort, int peerPort, int raftPort, int nbdPort) {
    static final int NBD_BASE_PORT = 10809;

    static LocalNode of(Path data, int index, int basePort, int nbdBasePort) {
        int offset = 10 * (index - 1);
        return new LocalNode(data.resolve("node" + index), "node" + index, basePort + offset, basePort + offset + 2,
                basePort + offset + 3, nbdBasePort + offset);
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
        return List.of("node", "start", "--data", dir.toString(), "--name", name, "--address", "127.0.0.1",
                "--api-port", Integer.toString(apiPort), "--nbd-port", Integer.toString(nbdPort),
                "--peer-port", Integer.toString(peerPort), "--raft-port", Integer.toString(raftPort));
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

    /** The last lines of the node's log, to show why it did not start. */
    String logTail(int lines) {
        try {
            List<String> all = Files.readAllLines(logFile());
            return String.join(System.lineSeparator(), all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(no log at " + logFile() + ")";
        }
    }
}
