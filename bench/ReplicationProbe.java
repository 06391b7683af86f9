/*
 * The measurements of bench/replication that fio cannot make: IO timed around a SIGKILL, a failover, and
 * a rebuild polled closely. Needs only the JDK: run it as a source file, `java bench/ReplicationProbe.java`.
 *
 *   stall    --nbd HOST:PORT --export NAME --span BYTES --kill-pid PID --before S --after S [--samples FILE]
 *            4 KiB writes at queue depth 1 to random offsets below --span, through one NBD connection, for
 *            --before seconds; then SIGKILL of PID from another thread (the writes go on); then --after
 *            seconds more. Reports the longest write around the kill, the latency before and after it, and
 *            how many distinct 64 KiB regions were written from the kill on (what the killed replica missed).
 *   failover --old-nbd HOST:PORT --api URL --node NAME --nbd HOST:PORT --export NAME --kill-pid PID
 *            [--before S] [--timeout S]
 *            Writes through --old-nbd (the coordinator) for --before seconds, SIGKILLs PID, then retries
 *            POST URL/v1/volumes/NAME/attach {"node": NAME} until it succeeds, then a first 4 KiB write
 *            through --nbd until one succeeds; then reads back the last write acknowledged before the kill.
 *   rebuild  --api URL --volume NAME --repl N [--poll-ms 20] [--timeout S] [--samples FILE]
 *            POST ha-update to --repl, then polls GET /v1/volumes/NAME until every replica is in-sync.
 *   wait-sync --api URL --volume NAME [--poll-ms 50] [--timeout S] [--samples FILE]
 *            Polls until every replica is in-sync (no ha-update first), e.g. after a replica node restarts.
 *
 * Every mode prints human lines on stderr and one machine line on stdout:
 *   RESULT key=value key=value ...
 */
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public class ReplicationProbe {
    static final int BLOCK = 4096;
    static final int REGION = 64 * 1024;

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            usage("no mode");
        }
        Map<String, String> opts = new HashMap<>();
        for (int i = 1; i < args.length; i += 2) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                usage("bad argument " + args[i]);
            }
            opts.put(args[i].substring(2), args[i + 1]);
        }
        switch (args[0]) {
            case "stall" -> stall(opts);
            case "failover" -> failover(opts);
            case "rebuild" -> rebuild(opts, true);
            case "wait-sync" -> rebuild(opts, false);
            default -> usage("unknown mode " + args[0]);
        }
    }

    static void usage(String why) {
        System.err.println("error: " + why + "; see the comment at the top of bench/ReplicationProbe.java");
        System.exit(2);
    }

    static String need(Map<String, String> opts, String key) {
        String v = opts.get(key);
        if (v == null) {
            usage("--" + key + " is required");
        }
        return v;
    }

    static void result(Map<String, Object> fields) {
        StringBuilder sb = new StringBuilder("RESULT");
        fields.forEach((k, v) -> sb.append(' ').append(k).append('=')
                .append(v instanceof Double d ? String.format(Locale.ROOT, "%.3f", d) : String.valueOf(v).replace(' ', '_')));
        System.out.println(sb);
    }

    static double ms(long nanos) {
        return nanos / 1e6;
    }

    // ---- a minimal NBD client (fixed newstyle, NBD_OPT_GO, simple replies) ----

    static final class Nbd implements AutoCloseable {
        final Socket socket;
        final DataInputStream in;
        final OutputStream out;
        final long size;
        long handle;

        Nbd(String hostPort, String export, int timeoutMs) throws IOException {
            int colon = hostPort.lastIndexOf(':');
            socket = new Socket();
            try {
                socket.connect(new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1))), timeoutMs);
                socket.setTcpNoDelay(true);
                socket.setSoTimeout(timeoutMs);
                in = new DataInputStream(socket.getInputStream());
                out = socket.getOutputStream();
                if (in.readLong() != 0x4e42444d41474943L || in.readLong() != 0x49484156454F5054L) {
                    throw new IOException("not an NBD newstyle server");
                }
                int serverFlags = in.readUnsignedShort();
                ByteBuffer hello = ByteBuffer.allocate(4 + 8 + 4 + 4 + 4 + export.length() * 4 + 2);
                hello.putInt(serverFlags & 3); // fixed newstyle, no zeroes (when the server offers them)
                byte[] name = export.getBytes(StandardCharsets.UTF_8);
                hello.putLong(0x49484156454F5054L).putInt(7 /* NBD_OPT_GO */).putInt(4 + name.length + 2)
                        .putInt(name.length).put(name).putShort((short) 0);
                out.write(hello.array(), 0, hello.position());
                out.flush();
                long exportSize = -1;
                while (true) {
                    if (in.readLong() != 0x3e889045565a9L) {
                        throw new IOException("bad option reply magic");
                    }
                    in.readInt(); // option
                    int type = in.readInt();
                    int length = in.readInt();
                    byte[] data = new byte[length];
                    in.readFully(data);
                    if (type == 1) { // ACK
                        break;
                    }
                    if (type < 0) {
                        throw new IOException("NBD_OPT_GO refused (" + Integer.toHexString(type) + "): "
                                + new String(data, StandardCharsets.UTF_8));
                    }
                    if (type == 3 && length >= 12 && ByteBuffer.wrap(data).getShort() == 0) {
                        exportSize = ByteBuffer.wrap(data, 2, 8).getLong();
                    }
                }
                size = exportSize;
            } catch (IOException | RuntimeException e) {
                socket.close();
                throw e;
            }
        }

        void write(long offset, byte[] data) throws IOException {
            request(1, offset, data.length, data);
        }

        byte[] read(long offset, int length) throws IOException {
            byte[] data = new byte[length];
            request(0, offset, length, null);
            in.readFully(data);
            return data;
        }

        private void request(int type, long offset, int length, byte[] data) throws IOException {
            long h = ++handle;
            ByteBuffer req = ByteBuffer.allocate(28 + (data == null ? 0 : data.length));
            req.putInt(0x25609513).putShort((short) 0).putShort((short) type).putLong(h).putLong(offset).putInt(length);
            if (data != null) {
                req.put(data);
            }
            out.write(req.array());
            out.flush();
            if (in.readInt() != 0x67446698) {
                throw new IOException("bad reply magic");
            }
            int error = in.readInt();
            long replyHandle = in.readLong();
            if (replyHandle != h) {
                throw new IOException("reply for handle " + replyHandle + ", expected " + h);
            }
            if (error != 0) { // a failed read carries no payload (simple replies)
                throw new NbdError(error);
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    static final class NbdError extends IOException {
        final int errno;

        NbdError(int errno) {
            super("NBD error " + errno);
            this.errno = errno;
        }
    }

    static void kill(long pid) {
        ProcessHandle handle = ProcessHandle.of(pid).orElseThrow(() -> new IllegalStateException("no process " + pid));
        if (!handle.destroyForcibly()) { // SIGKILL on Linux
            throw new IllegalStateException("could not SIGKILL " + pid);
        }
    }

    static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int i = (int) Math.ceil(p * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    // ---- stall: the longest write around a replica's death ----

    static void stall(Map<String, String> o) throws Exception {
        String nbdAddr = need(o, "nbd");
        String export = need(o, "export");
        long span = Long.parseLong(need(o, "span"));
        long pid = Long.parseLong(need(o, "kill-pid"));
        double before = Double.parseDouble(o.getOrDefault("before", "3"));
        double after = Double.parseDouble(o.getOrDefault("after", "10"));
        Path samples = o.containsKey("samples") ? Path.of(o.get("samples")) : null;
        long blocks = span / BLOCK;

        int cap = 2_000_000;
        long[] start = new long[cap];
        long[] lat = new long[cap];
        long[] off = new long[cap];
        byte[] data = new byte[BLOCK];
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        int n = 0;
        int errors = 0;
        String firstError = null;
        long[] killAt = {0};
        long[] killEpochMs = {0};
        try (Nbd nbd = new Nbd(nbdAddr, export, 60_000)) {
            long t0 = System.nanoTime();
            Thread killer = Thread.ofPlatform().daemon().start(() -> {
                try {
                    Thread.sleep((long) (before * 1000));
                    killAt[0] = System.nanoTime();
                    killEpochMs[0] = System.currentTimeMillis();
                    kill(pid);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            long end = t0 + (long) ((before + after) * 1e9);
            while (n < cap) {
                long now = System.nanoTime();
                if (now >= end) {
                    break;
                }
                long offset = rnd.nextLong(blocks) * BLOCK;
                rnd.nextBytes(data);
                try {
                    nbd.write(offset, data);
                } catch (NbdError e) {
                    errors++;
                    if (firstError == null) {
                        firstError = e.getMessage() + " at +" + String.format(Locale.ROOT, "%.3f", (now - t0) / 1e9) + " s";
                    }
                }
                start[n] = now;
                lat[n] = System.nanoTime() - now;
                off[n] = offset;
                n++;
            }
            killer.join();
        } catch (IOException e) {
            System.err.println("stall: the NBD connection failed after " + n + " writes: " + e);
            result(Map.of("ok", false, "writes", n, "error", String.valueOf(e.getMessage())));
            System.exit(1);
        }
        long kill = killAt[0];
        if (kill == 0) {
            System.err.println("stall: the kill never happened");
            System.exit(1);
        }
        List<Double> beforeLat = new ArrayList<>();
        List<Double> afterLat = new ArrayList<>();
        double maxAround = 0;
        double maxAroundAt = 0;
        double maxBefore = 0;
        BitSet missed = new BitSet();
        BitSet written = new BitSet();
        long windowFrom = kill - 1_000_000_000L;
        int writesAfter = 0;
        try (PrintWriter w = samples == null ? null : new PrintWriter(Files.newBufferedWriter(samples))) {
            if (w != null) {
                w.println("# start_s_from_kill latency_ms offset");
            }
            for (int i = 0; i < n; i++) {
                double l = ms(lat[i]);
                long end = start[i] + lat[i];
                if (w != null) {
                    w.printf(Locale.ROOT, "%.6f %.3f %d%n", (start[i] - kill) / 1e9, l, off[i]);
                }
                written.set((int) (off[i] / REGION));
                if (end < kill) {
                    beforeLat.add(l);
                    maxBefore = Math.max(maxBefore, l);
                } else {
                    // Written, or still in flight, when the replica died: the killed replica missed it.
                    missed.set((int) (off[i] / REGION));
                    if (start[i] > kill) {
                        afterLat.add(l);
                        writesAfter++;
                    }
                }
                if (end >= windowFrom && l > maxAround) {
                    maxAround = l;
                    maxAroundAt = (start[i] - kill) / 1e9;
                }
            }
        }
        double[] b = beforeLat.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double[] a = afterLat.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        // The longest write that completed in the second after the kill and later, i.e. the stall itself.
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("ok", errors == 0);
        r.put("writes", n);
        r.put("errors", errors);
        r.put("before_iops", b.length / before);
        r.put("before_p50_ms", percentile(b, 0.5));
        r.put("before_p99_ms", percentile(b, 0.99));
        r.put("before_max_ms", maxBefore);
        r.put("max_around_kill_ms", maxAround);
        r.put("max_started_s_from_kill", maxAroundAt);
        r.put("after_iops", writesAfter / after);
        r.put("after_p50_ms", percentile(a, 0.5));
        r.put("after_p99_ms", percentile(a, 0.99));
        r.put("missed_regions", missed.cardinality());
        r.put("missed_bytes", (long) missed.cardinality() * REGION);
        // This probe never flushes: everything it wrote may be lost with a killed host's page cache.
        r.put("written_bytes", (long) written.cardinality() * REGION);
        r.put("kill_epoch_ms", killEpochMs[0]);
        if (firstError != null) {
            r.put("first_error", firstError);
        }
        System.err.printf(Locale.ROOT, "stall: %d writes, %d errors; before the kill p50 %.3f ms p99 %.3f ms; longest write"
                + " around the kill %.1f ms (started %+.3f s from it); after it p50 %.3f ms, %.0f IOPS%n",
                n, errors, percentile(b, 0.5), percentile(b, 0.99), maxAround, maxAroundAt, percentile(a, 0.5), writesAfter / after);
        result(r);
    }

    // ---- failover: coordinator killed, attach and write elsewhere ----

    static void failover(Map<String, String> o) throws Exception {
        String oldNbd = need(o, "old-nbd");
        String api = need(o, "api").replaceAll("/+$", "");
        String node = need(o, "node");
        String nbdAddr = need(o, "nbd");
        String export = need(o, "export");
        long pid = Long.parseLong(need(o, "kill-pid"));
        double before = Double.parseDouble(o.getOrDefault("before", "2"));
        double timeout = Double.parseDouble(o.getOrDefault("timeout", "60"));

        // Writes through the old coordinator until the kill; remembers the last one acknowledged.
        long lastOffset = -1;
        byte[] lastData = null;
        int oldWrites = 0;
        try (Nbd nbd = new Nbd(oldNbd, export, 10_000)) {
            long blocks = Math.min(nbd.size, 256L << 20) / BLOCK;
            long end = System.nanoTime() + (long) (before * 1e9);
            ThreadLocalRandom rnd = ThreadLocalRandom.current();
            while (System.nanoTime() < end) {
                byte[] data = new byte[BLOCK];
                rnd.nextBytes(data);
                long offset = rnd.nextLong(blocks) * BLOCK;
                nbd.write(offset, data);
                lastOffset = offset;
                lastData = data;
                oldWrites++;
            }
        }
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(2)).build();
        long t0 = System.nanoTime();
        long killEpochMs = System.currentTimeMillis();
        kill(pid);
        long deadline = t0 + (long) (timeout * 1e9);
        Map<String, Integer> attachErrors = new LinkedHashMap<>();
        int attempts = 0;
        long attached = 0;
        String attachBody = "{\"node\":\"" + node + "\"}";
        while (System.nanoTime() < deadline) {
            attempts++;
            String why;
            try {
                HttpResponse<String> resp = http.send(HttpRequest.newBuilder(URI.create(api + "/v1/volumes/" + export + "/attach"))
                        .timeout(Duration.ofSeconds(15)).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(attachBody)).build(), HttpResponse.BodyHandlers.ofString());
                if (resp.statusCode() == 200) {
                    attached = System.nanoTime();
                    break;
                }
                why = resp.statusCode() + " " + resp.body().replaceAll("\\d+(\\.\\d+)?", "#");
            } catch (IOException e) {
                why = e.getClass().getSimpleName();
            }
            attachErrors.merge(why, 1, Integer::sum);
            Thread.sleep(100);
        }
        if (attached == 0) {
            System.err.println("failover: no attach on " + node + " within " + timeout + " s; answers: " + attachErrors);
            result(Map.of("ok", false, "attach_attempts", attempts));
            System.exit(1);
        }
        Map<String, Integer> writeErrors = new LinkedHashMap<>();
        long written = 0;
        int writeAttempts = 0;
        boolean readBack = false;
        while (System.nanoTime() < deadline) {
            writeAttempts++;
            try (Nbd nbd = new Nbd(nbdAddr, export, 10_000)) {
                byte[] data = new byte[BLOCK];
                ThreadLocalRandom.current().nextBytes(data);
                long offset = (lastOffset + 8 * BLOCK) % (Math.min(nbd.size, 256L << 20));
                nbd.write(offset, data);
                written = System.nanoTime();
                readBack = Arrays.equals(nbd.read(lastOffset, BLOCK), lastData);
                break;
            } catch (IOException e) {
                writeErrors.merge(String.valueOf(e.getMessage()).replaceAll("\\d+(\\.\\d+)?", "#"), 1, Integer::sum);
                Thread.sleep(50);
            }
        }
        if (written == 0) {
            System.err.println("failover: attached on " + node + " but no write through " + nbdAddr + " within " + timeout + " s: " + writeErrors);
            result(Map.of("ok", false, "kill_to_attach_s", (attached - t0) / 1e9));
            System.exit(1);
        }
        System.err.printf(Locale.ROOT, "failover: %d writes through the old coordinator, then SIGKILL; attach on %s after %.3f s"
                + " (%d attempts: %s); first write after %.3f s (%d attempts: %s); last write acknowledged before the kill read back %s%n",
                oldWrites, node, (attached - t0) / 1e9, attempts, attachErrors, (written - t0) / 1e9, writeAttempts, writeErrors,
                readBack ? "intact" : "DIFFERENT");
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("ok", readBack);
        r.put("kill_to_attach_s", (attached - t0) / 1e9);
        r.put("kill_to_write_s", (written - t0) / 1e9);
        r.put("attach_attempts", attempts);
        r.put("write_attempts", writeAttempts);
        r.put("read_back", readBack ? "intact" : "DIFFERENT");
        r.put("kill_epoch_ms", killEpochMs);
        result(r);
    }

    // ---- rebuild / wait-sync: ha-update, then poll until every replica is in sync ----

    static final Pattern STATE = Pattern.compile("\"state\"\\s*:\\s*\"(in-sync|stale|resyncing|[a-z-]+)\"");
    static final Pattern REPLICAS = Pattern.compile("\"replicas\"\\s*:\\s*\\[(.*?)\\]\\s*,\\s*\"usedBytes\"", Pattern.DOTALL);
    static final Pattern NUMBER = Pattern.compile("\"(bytesPerSecond|bytesChecked|bytesCopied|bytesToCheck|percent)\"\\s*:\\s*([0-9.eE+-]+)");

    static void rebuild(Map<String, String> o, boolean haUpdate) throws Exception {
        String api = need(o, "api").replaceAll("/+$", "");
        String volume = need(o, "volume");
        int pollMs = Integer.parseInt(o.getOrDefault("poll-ms", haUpdate ? "20" : "50"));
        double timeout = Double.parseDouble(o.getOrDefault("timeout", "600"));
        Path samples = o.containsKey("samples") ? Path.of(o.get("samples")) : null;
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(2)).build();
        URI get = URI.create(api + "/v1/volumes/" + volume);
        List<String> log = new ArrayList<>();
        long t0 = System.nanoTime();
        long posted = t0;
        if (haUpdate) {
            int repl = Integer.parseInt(need(o, "repl"));
            HttpResponse<String> resp = http.send(HttpRequest.newBuilder(URI.create(api + "/v1/volumes/" + volume + "/ha-update"))
                    .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"repl\":" + repl + "}")).build(), HttpResponse.BodyHandlers.ofString());
            posted = System.nanoTime();
            if (resp.statusCode() != 200) {
                System.err.println("rebuild: ha-update answered " + resp.statusCode() + ": " + resp.body());
                result(Map.of("ok", false, "status", resp.statusCode()));
                System.exit(1);
            }
            log.add(String.format(Locale.ROOT, "%.3f ha-update answered: %s", (posted - t0) / 1e9, resp.body()));
        }
        long deadline = t0 + (long) (timeout * 1e9);
        Map<String, Double> maxima = new HashMap<>();
        String last = "";
        long done = 0;
        int polls = 0;
        boolean sawResync = false;
        long resyncingAt = 0;
        long countingAt = 0;
        while (System.nanoTime() < deadline) {
            HttpResponse<String> resp;
            try {
                resp = http.send(HttpRequest.newBuilder(get).timeout(Duration.ofSeconds(10)).GET().build(),
                        HttpResponse.BodyHandlers.ofString());
            } catch (IOException e) {
                log.add(String.format(Locale.ROOT, "%.3f GET failed: %s", (System.nanoTime() - t0) / 1e9, e));
                Thread.sleep(pollMs);
                continue;
            }
            long now = System.nanoTime();
            polls++;
            String body = resp.body();
            Matcher rm = REPLICAS.matcher(body);
            String replicas = rm.find() ? rm.group(1) : body;
            Matcher sm = STATE.matcher(replicas);
            int total = 0;
            int inSync = 0;
            while (sm.find()) {
                total++;
                if (sm.group(1).equals("in-sync")) {
                    inSync++;
                }
            }
            Matcher nm = NUMBER.matcher(replicas);
            while (nm.find()) {
                sawResync = true;
                maxima.merge(nm.group(1), Double.parseDouble(nm.group(2)), Math::max);
                if (countingAt == 0 && nm.group(1).equals("bytesToCheck") && Double.parseDouble(nm.group(2)) > 0) {
                    countingAt = now;
                }
            }
            if (resyncingAt == 0 && replicas.contains("\"resyncing\"")) {
                resyncingAt = now;
            }
            if (!replicas.equals(last)) {
                log.add(String.format(Locale.ROOT, "%.3f %s", (now - t0) / 1e9, replicas));
                last = replicas;
            }
            if (resp.statusCode() == 200 && total > 0 && inSync == total) {
                done = now;
                break;
            }
            Thread.sleep(pollMs);
        }
        if (samples != null) {
            Files.write(samples, log);
        }
        if (done == 0) {
            System.err.println("rebuild: " + volume + " not in sync after " + timeout + " s; last replicas: " + last);
            result(Map.of("ok", false));
            System.exit(1);
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("ok", true);
        r.put("seconds", (done - t0) / 1e9);
        r.put("post_s", (posted - t0) / 1e9);
        r.put("polls", polls);
        r.put("saw_progress", sawResync);
        // When polls first showed the replica resyncing, and a region count to check (the resync past its setup).
        r.put("resyncing_at_s", resyncingAt == 0 ? -1.0 : (resyncingAt - t0) / 1e9);
        r.put("counting_at_s", countingAt == 0 ? -1.0 : (countingAt - t0) / 1e9);
        r.put("done_epoch_ms", System.currentTimeMillis() - (System.nanoTime() - done) / 1_000_000);
        maxima.forEach((k, v) -> r.put("max_" + k, v.longValue()));
        System.err.printf(Locale.ROOT, "%s: %s in sync %.3f s after start (%d polls)%n", haUpdate ? "rebuild" : "wait-sync",
                volume, (done - t0) / 1e9, polls);
        result(r);
    }
}
