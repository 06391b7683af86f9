package io.ballast.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The command line and the REST API against one real daemon: the happy paths and every bad input. */
class CliIT {
    @RegisterExtension
    // A 100 GiB pool promises at most 2 TiB (overcommit 20), whatever the disk under the test.
    static final DaemonExtension node = new DaemonExtension("--pool-size", "100G");
    static DaemonProcess daemon;
    static BallastCli cli;
    static Path dir;
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void bind() {
        daemon = node.daemon();
        cli = node.cli();
        dir = node.dir();
    }

    @Test
    void createInspectListDelete() {
        cli.run("volume", "create", "alpha", "--size", "1G", "--label", "app=db").ok();
        JsonNode v = cli.json("volume", "inspect", "alpha");
        assertThat(v.get("name").asText()).isEqualTo("alpha");
        assertThat(v.get("id").asText()).isNotBlank();
        assertThat(v.get("sizeBytes").asLong()).isEqualTo(1L << 30);
        assertThat(v.get("repl").asInt()).isEqualTo(1);
        // No class requested: the volume takes the class of the pool it landed on (this node has one pool,
        // whose class its fingerprint measured).
        assertThat(v.get("cos").asText()).isEqualTo(poolClass());
        assertThat(v.get("fs").asText()).isEqualTo("ext4");
        assertThat(v.get("state").asText()).isEqualTo("detached");
        assertThat(v.get("attachedNode").isNull()).isTrue();
        assertThat(v.get("replicas")).hasSize(1);
        assertThat(v.get("replicas").get(0).get("node").asText()).isEqualTo("node1");
        assertThat(v.get("replicas").get(0).get("state").asText()).isEqualTo("in-sync");
        assertThat(v.get("usedBytes").asLong()).isZero();
        assertThat(v.get("snapshots").isArray()).isTrue();
        assertThat(v.get("labels").get("app").asText()).isEqualTo("db");
        assertThat(java.time.Instant.parse(v.get("createdAt").asText())).isNotNull();

        assertThat(cli.run("volume", "list").ok().out()).contains("alpha");
        assertThat(names(cli.json("volume", "list"))).contains("alpha");
        cli.run("volume", "delete", "alpha").ok();
        assertThat(names(cli.json("volume", "list"))).doesNotContain("alpha");
    }

    @Test
    void inlineSpecCreatesTheVolumeItDescribes() {
        cli.run("volume", "create", "name=inline,size=64M,repl=1,cos=" + poolClass() + ",fs=xfs").ok();
        JsonNode v = cli.json("volume", "inspect", "inline");
        assertThat(v.get("sizeBytes").asLong()).isEqualTo(64L << 20);
        assertThat(v.get("fs").asText()).isEqualTo("xfs");
        assertThat(v.get("cos").asText()).isEqualTo(poolClass());
    }

    @Test
    void aClassOfServiceNoPoolHasIsRefusedWithTheReason() {
        String other = poolClass().equals("low") ? "high" : "low";
        expectError(cli.run("volume", "create", "classy", "--size", "1G", "--cos", other), 2,
                "need 1 node with a " + other + " pool");
    }

    private String poolClass() {
        return cli.json("pool", "list").get(0).get("cos").asText();
    }

    @Test
    void resizeGrowsAndRefusesToShrink() {
        cli.run("volume", "create", "grow", "--size", "64M").ok();
        cli.run("volume", "resize", "grow", "--size", "128M").ok();
        assertThat(cli.json("volume", "inspect", "grow").get("sizeBytes").asLong()).isEqualTo(128L << 20);
        expectError(cli.run("volume", "resize", "grow", "--size", "64M"), 2, "only grow");
    }

    @Test
    void badInputGetsOneClearLineAndTheRightExitStatus() {
        cli.run("volume", "create", "taken", "--size", "64M").ok();
        expectError(cli.run("volume", "inspect", "nope"), 2, "no volume named nope");
        expectError(cli.run("volume", "delete", "nope"), 2, "no volume named nope");
        expectError(cli.run("volume", "create", "taken", "--size", "64M"), 1, "already exists");
        expectError(cli.run("volume", "create", "odd", "--size", "4097"), 2, "multiple of 4 KiB");
        expectError(cli.run("volume", "create", "zero", "--size", "0"), 2, "greater than zero");
        expectError(cli.run("volume", "create", "gb", "--size", "10GB"), 2, "units are binary");
        expectError(cli.run("volume", "create", "zoned", "--size", "64M", "--zones", "z9"), 2, "found none");
        assertThat(cli.run("volume", "create", "--help").ok().out()).contains("Usage: ballast volume create");
        expectError(cli.run("volume", "create", "huge", "--size", "16T"), 2, "room for 16 TiB");
        expectError(cli.run("volume", "create", "huger", "--size", "17T"), 2, "largest volume");
        expectError(cli.run("volume", "create", "two", "--size", "64M", "--repl", "2"), 2, "need 2 nodes");
        expectError(cli.run("volume", "create", "name=bad,size"), 2, "not KEY=VALUE");
        expectError(cli.run("volume", "create", "name=bad,size=1G,colour=red"), 2, "unknown key 'colour'");
        expectError(cli.run("volume", "create", "nosize"), 2, "needs --size");
        expectError(cli.run("volume", "create", "bad name", "--size", "1G"), 2, "not valid");
        expectError(cli.run("volume", "frobnicate"), 2, "frobnicate");
        expectError(cli.run("snapshot", "delete", "taken"), 2, "VOLUME/NAME");
        expectError(cli.run("snapshot", "delete", "taken/none"), 2, "no snapshot none");
        expectError(cli.run("volume", "restore", "taken", "none"), 2, "no snapshot none");
        expectError(cli.run("-o", "yaml", "volume", "list"), 2, "yaml");
        Run.Result unreachable = Run.run(60, concat(DaemonProcess.programCommand(),
                "--endpoint", "http://127.0.0.1:" + DaemonProcess.freePort(), "volume", "list"));
        expectError(unreachable, 1, "cannot reach Ballast");
        Run.Result noScheme = Run.run(60, concat(DaemonProcess.programCommand(), "--endpoint", "localhost:9420",
                "volume", "list"));
        expectError(noScheme, 2, "not an http URL");
    }

    @Test
    void attachedVolumesCannotBeDeletedOrRestored() {
        cli.run("volume", "create", "busy", "--size", "64M").ok();
        cli.run("snapshot", "create", "busy", "s1").ok();
        String uri = cli.run("volume", "attach", "busy").ok().out().trim();
        assertThat(uri).isEqualTo(daemon.nbdUri("busy"));
        JsonNode v = cli.json("volume", "inspect", "busy");
        assertThat(v.get("state").asText()).isEqualTo("attached");
        assertThat(v.get("attachedNode").asText()).isEqualTo("node1");
        expectError(cli.run("volume", "delete", "busy"), 1, "attached on node1");
        expectError(cli.run("volume", "restore", "busy", "s1"), 1, "attached on node1");
        cli.run("volume", "detach", "busy").ok();
        cli.run("volume", "restore", "busy", "s1").ok();
        cli.run("volume", "delete", "busy").ok();
    }

    @Test
    void restErrorsUseTheDocumentedShapeAndStatus() throws Exception {
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> missing = http.send(HttpRequest.newBuilder(URI.create(daemon.endpoint()
                    + "/v1/volumes/nope")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(missing.statusCode()).isEqualTo(404);
            JsonNode error = JSON.readTree(missing.body()).get("error");
            assertThat(error.get("code").asText()).isEqualTo("NOT_FOUND");
            assertThat(error.get("message").asText()).contains("nope");

            HttpResponse<String> odd = post(http, "/v1/volumes", "{\"name\":\"odd\",\"sizeBytes\":4097}");
            assertThat(odd.statusCode()).isEqualTo(400);
            assertThat(JSON.readTree(odd.body()).get("error").get("message").asText()).contains("multiple of 4 KiB");

            HttpResponse<String> nullZone = post(http, "/v1/volumes", "{\"name\":\"z\",\"size\":\"4M\",\"zones\":[\"a\",null]}");
            assertThat(nullZone.statusCode()).isEqualTo(400);

            HttpResponse<String> noRoute = http.send(HttpRequest.newBuilder(URI.create(daemon.endpoint() + "/v1/nope"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(noRoute.statusCode()).isEqualTo(404);
            assertThat(JSON.readTree(noRoute.body()).get("error").get("code").asText()).isEqualTo("NOT_FOUND");

            HttpResponse<String> garbage = post(http, "/v1/volumes", "{not json");
            assertThat(garbage.statusCode()).isEqualTo(400);
            assertThat(JSON.readTree(garbage.body()).get("error").get("code").asText()).isEqualTo("INVALID");

            post(http, "/v1/volumes", "{\"name\":\"dup\",\"size\":\"4M\"}");
            HttpResponse<String> dup = post(http, "/v1/volumes", "{\"name\":\"dup\",\"size\":\"4M\"}");
            assertThat(dup.statusCode()).isEqualTo(409);
            assertThat(JSON.readTree(dup.body()).get("error").get("code").asText()).isEqualTo("CONFLICT");
        }
    }

    @Test
    void aTebibyteVolumeIsCreatedFastAndTakesNoSpace() throws Exception {
        cli.run("volume", "create", "warmup", "--size", "1G").ok();
        long poolUsedBefore = poolUsed();
        double[] before = createHistogram();
        cli.run("volume", "create", "tera", "--size", "1T").ok();
        double[] after = createHistogram();
        assertThat(after[1] - before[1]).isEqualTo(1);
        double seconds = after[0] - before[0];
        System.out.printf("1 TiB volume created in %.2f ms (measured inside the daemon)%n", seconds * 1000);
        // INTERFACE promise: creating a thin volume is constant time, whatever its size.
        assertThat(seconds).isLessThan(0.050);
        assertThat(cli.json("volume", "inspect", "tera").get("usedBytes").asLong()).isZero();
        assertThat(poolUsed()).isEqualTo(poolUsedBefore);
    }

    @Test
    void nodePoolStatusHealthAndMetrics() throws Exception {
        assertThat(cli.run("status").ok().out()).contains("node1").contains("up");
        JsonNode nodes = cli.json("node", "list");
        assertThat(nodes.get(0).get("name").asText()).isEqualTo("node1");
        assertThat(nodes.get(0).get("state").asText()).isEqualTo("up");
        assertThat(cli.json("node", "inspect", "node1").get("pools")).hasSize(1);
        expectError(cli.run("node", "inspect", "node9"), 2, "no node named node9");
        JsonNode pools = cli.json("pool", "list");
        assertThat(pools.get(0).get("capacityBytes").asLong()).isPositive();
        assertThat(pools.get(0).get("cos").asText()).isIn("low", "medium", "high");
        assertThat(cli.run("pool", "list").ok().out()).contains("CAPACITY");
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create(daemon.endpoint() + "/healthz"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(health.statusCode()).isEqualTo(200);
        }
        assertThat(metrics()).contains("ballast_pool_capacity_bytes{").contains("ballast_pool_used_bytes{");
    }

    static String metrics() throws Exception {
        return metricsOf(daemon);
    }

    static String metricsOfSafe(DaemonProcess daemon) {
        try {
            return metricsOf(daemon);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static String metricsOf(DaemonProcess daemon) throws Exception {
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(daemon.endpoint() + "/metrics"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).isEqualTo(200);
            return response.body();
        }
    }

    /** The sum and count of the daemon's own volume-create latency histogram. */
    private static double[] createHistogram() throws Exception {
        double sum = 0;
        double count = 0;
        for (String line : metrics().split("\n")) {
            if (line.startsWith("ballast_volume_create_seconds_sum")) {
                sum = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            } else if (line.startsWith("ballast_volume_create_seconds_count")) {
                count = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return new double[] {sum, count};
    }

    private static long poolUsed() {
        return cli.json("pool", "list").get(0).get("usedBytes").asLong();
    }

    private static HttpResponse<String> post(HttpClient http, String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(daemon.endpoint() + path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static void expectError(Run.Result result, int exit, String message) {
        assertThat(result.exit()).as("exit status of %s\nstderr: %s", result.command(), result.err()).isEqualTo(exit);
        assertThat(result.err()).as("stderr of %s", result.command()).contains(message).startsWith("error: ");
        assertThat(result.err()).as("no stack trace for a user's mistake").doesNotContain("\tat ").doesNotContain("Exception");
    }

    private static List<String> names(JsonNode volumes) {
        List<String> names = new java.util.ArrayList<>();
        volumes.forEach(v -> names.add(v.get("name").asText()));
        return names;
    }

    private static List<String> concat(List<String> head, String... tail) {
        List<String> all = new java.util.ArrayList<>(head);
        all.addAll(List.of(tail));
        return all;
    }
}
