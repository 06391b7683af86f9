/*
 * Creates volumes one after another through one node's REST API and reports the latency of each
 * POST /v1/volumes as the client sees it (System.nanoTime around the request: HTTP, the node's
 * create path and its reply). Needs only the JDK: run it as a source file, `java bench/ClusterScale.java`.
 *
 * Usage: java bench/ClusterScale.java --endpoint URL --label TEXT [--prefix scale-] [--start 1]
 *            [--count 5000] [--size 1G] [--repl 1] [--samples FILE]
 *
 * Volumes are named PREFIX00001, PREFIX00002, ... from --start on. Any answer but 201 stops the run
 * with its status and body. Prints one human line and one machine line:
 *   RESULT label=TEXT count=N p50_ms=.. p90_ms=.. p99_ms=.. max_ms=.. mean_ms=.. over_200ms=N total_s=.. per_s=..
 * --samples writes every latency (ms, one a line, in request order) for a later look.
 */
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

public class ClusterScale {
    public static void main(String[] args) throws Exception {
        String endpoint = null;
        String label = null;
        String prefix = "scale-";
        int start = 1;
        int count = 5000;
        String size = "1G";
        int repl = 1;
        Path samples = null;
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--endpoint" -> endpoint = value;
                case "--label" -> label = value;
                case "--prefix" -> prefix = value;
                case "--start" -> start = Integer.parseInt(value);
                case "--count" -> count = Integer.parseInt(value);
                case "--size" -> size = value;
                case "--repl" -> repl = Integer.parseInt(value);
                case "--samples" -> samples = Path.of(value);
                default -> usage("unknown argument " + args[i]);
            }
            i++;
        }
        if (endpoint == null || label == null || count < 1) {
            usage("--endpoint and --label are required, --count at least 1");
        }

        URI uri = URI.create(endpoint.replaceAll("/+$", "") + "/v1/volumes");
        // One HTTP/1.1 connection, kept alive: the latency is the create's, not a TCP handshake's.
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        long[] nanos = new long[count];
        long begin = System.nanoTime();
        for (int k = 0; k < count; k++) {
            String name = prefix + String.format(Locale.ROOT, "%05d", start + k);
            String body = "{\"name\":" + quote(name) + ",\"size\":" + quote(size) + ",\"repl\":" + repl + "}";
            HttpRequest request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(60))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build();
            long t0 = System.nanoTime();
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            nanos[k] = System.nanoTime() - t0;
            if (response.statusCode() != 201) {
                System.err.println("error: create " + name + " (" + (k + 1) + " of " + count + ") answered "
                        + response.statusCode() + ": " + response.body());
                System.exit(1);
            }
            if ((k + 1) % 1000 == 0 && k + 1 < count) {
                System.err.printf(Locale.ROOT, "  %s: %d of %d created, %.1f s%n", label, k + 1, count,
                        (System.nanoTime() - begin) / 1e9);
            }
        }
        double totalSeconds = (System.nanoTime() - begin) / 1e9;

        if (samples != null) {
            List<String> lines = new ArrayList<>(count);
            for (long n : nanos) {
                lines.add(String.format(Locale.ROOT, "%.3f", n / 1e6));
            }
            Files.write(samples, lines);
        }
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        double mean = Arrays.stream(sorted).average().orElse(0) / 1e6;
        double p50 = percentile(sorted, 50), p90 = percentile(sorted, 90), p99 = percentile(sorted, 99);
        double max = sorted[count - 1] / 1e6;
        long over200 = Arrays.stream(sorted).filter(n -> n > 200_000_000L).count();
        System.out.printf(Locale.ROOT, "%s: %d creates (%s, repl %d) in %.1f s, %.0f/s; ms p50 %.1f  p90 %.1f  p99 %.1f"
                + "  max %.1f  mean %.1f; over 200 ms: %d%n", label, count, size, repl, totalSeconds, count / totalSeconds,
                p50, p90, p99, max, mean, over200);
        System.out.printf(Locale.ROOT, "RESULT label=%s count=%d p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f"
                + " mean_ms=%.2f over_200ms=%d total_s=%.2f per_s=%.1f%n", label.replace(' ', '_'), count, p50, p90, p99,
                max, mean, over200, totalSeconds, count / totalSeconds);
    }

    /** Nearest-rank percentile, in milliseconds. */
    static double percentile(long[] sorted, double p) {
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))] / 1e6;
    }

    static String quote(String s) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }

    static void usage(String problem) {
        System.err.println("error: " + problem);
        System.err.println("usage: java bench/ClusterScale.java --endpoint URL --label TEXT [--prefix scale-]"
                + " [--start 1] [--count 5000] [--size 1G] [--repl 1] [--samples FILE]");
        System.exit(2);
    }
}
