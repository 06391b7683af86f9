package io.ballast.cli;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Stands in for {@code ballast node start} in tests of {@code up} and {@code down}: takes the same
 * arguments, writes {@code node.pid}, and answers {@code /healthz} as its node once it is "ready".
 * Like the daemon, a node that is already a member is ready only when a majority of the members
 * (nodes under the same DIR that were ready once) are running; a new node is ready once the node
 * it joins answers, and node1 (no --join) founds the cluster.
 *
 * <p>In its directory: {@code args} gets its arguments; a file {@code fail} makes it print that
 * file and exit 1; {@code stop-millis} makes its shutdown (on SIGTERM) take that long.
 */
public final class FakeDaemon {
    private FakeDaemon() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> options = new HashMap<>();
        for (int i = 2; i + 1 < args.length; i += 2) {
            options.put(args[i], args[i + 1]);
        }
        Path dir = Path.of(options.get("--data"));
        String name = options.get("--name");
        String join = options.get("--join");
        Files.write(dir.resolve("args"), List.of(args));
        if (Files.exists(dir.resolve("fail"))) {
            System.out.println("error: node " + name + " could not start: " + Files.readString(dir.resolve("fail")));
            System.exit(1);
        }
        Files.writeString(dir.resolve("node.pid"), Long.toString(ProcessHandle.current().pid()));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                Path stop = dir.resolve("stop-millis");
                Thread.sleep(Files.exists(stop) ? Long.parseLong(Files.readString(stop).trim()) : 0);
            } catch (IOException | InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            System.out.println("stopped");
        }));
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(),
                Integer.parseInt(options.get("--api-port"))), 0);
        boolean[] ready = {false};
        server.createContext("/healthz", exchange -> {
            synchronized (ready) {
                if (!ready[0] && canBeReady(dir, join)) {
                    Files.writeString(dir.resolve("member"), "");
                    System.out.println("ready");
                    ready[0] = true;
                }
            }
            byte[] body = (ready[0] ? "{\"status\":\"ok\",\"node\":\"" + name + "\"}"
                    : "{\"status\":\"waiting for quorum\"}").getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(ready[0] ? 200 : 503, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
        System.out.println("node " + name + " started, join " + join);
        Thread.currentThread().join();
    }

    private static boolean canBeReady(Path dir, String join) throws IOException {
        if (Files.exists(dir.resolve("member"))) {
            List<Path> members;
            try (Stream<Path> nodes = Files.list(dir.getParent())) {
                members = nodes.filter(d -> Files.exists(d.resolve("member"))).toList();
            }
            long alive = members.stream().filter(FakeDaemon::alive).count();
            return alive * 2 > members.size();
        }
        if (join == null) {
            return true;
        }
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build()) {
            return http.send(HttpRequest.newBuilder(URI.create("http://" + join + "/healthz")).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    private static boolean alive(Path nodeDir) {
        try {
            long pid = Long.parseLong(Files.readString(nodeDir.resolve("node.pid")).trim());
            return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        } catch (IOException | NumberFormatException e) {
            return false;
        }
    }
}
