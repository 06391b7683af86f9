package io.ballast.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of a process writing to a pool, then a reopen: every block reported durable holds
 * that version or a later one, never an older one, never a torn block, and the replica has
 * admitted at least the last fencing epoch reported admitted. The same pool lives
 * through all rounds, so recovery from a previous crash is exercised too. Rounds:
 * {@code -Dballast.crash.rounds}; replay: {@code -Dballast.seed}.
 */
class CrashTest {
    @TempDir
    Path dir;

    @Test
    void flushedWritesSurviveKill9() throws Exception {
        long seed = Long.getLong("ballast.seed", new Random().nextLong());
        int rounds = Integer.getInteger("ballast.crash.rounds", 20);
        Random random = new Random(seed);
        Path pool = dir.resolve("pool");
        Map<Long, Long> durable = new HashMap<>();
        long admitted = 0;
        for (int round = 0; round < rounds; round++) {
            String context = "seed " + seed + " (replay with -Dballast.seed=" + seed + "), round " + round;
            List<String> lines = runAndKill(pool, random.nextLong(), (round + 1) * 1_000_000_000L,
                    100 + random.nextInt(700), context);
            for (String line : lines) {
                String[] words = line.split(" ");
                if (words[0].equals("EPOCH") && words[words.length - 1].equals("END")) {
                    admitted = Math.max(admitted, Long.parseLong(words[1]));
                }
                if (words[0].equals("DURABLE") && words[words.length - 1].equals("END")) {
                    for (int i = 1; i < words.length - 1; i++) {
                        int colon = words[i].indexOf(':');
                        durable.merge(Long.parseLong(words[i].substring(0, colon)),
                                Long.parseLong(words[i].substring(colon + 1)), Math::max);
                    }
                }
            }
            verify(pool, durable, admitted, context);
        }
        assertThat(durable).as("seed %d: no write was ever reported durable", seed).isNotEmpty();
        assertThat(admitted).as("seed %d: no epoch was ever reported admitted", seed).isPositive();
    }

    private List<String> runAndKill(Path pool, long seed, long firstVersion, long runMillis, String context)
            throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path stderr = dir.resolve("child.err");
        ProcessBuilder builder = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), CrashWriter.class.getName(),
                pool.toString(), Long.toString(seed), Long.toString(firstVersion))
                .redirectError(stderr.toFile());
        Process child = builder.start();
        List<String> lines = new ArrayList<>();
        try {
            Thread reader = Thread.ofPlatform().start(() -> {
                try (BufferedReader in = new BufferedReader(
                        new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = in.readLine()) != null; ) {
                        synchronized (lines) {
                            lines.add(line);
                        }
                    }
                } catch (IOException e) {
                    // the pipe breaks when the child is killed
                }
            });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!ready(lines) && child.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(ready(lines)).as(context + ": child did not start: " + Files.readString(stderr)).isTrue();
            Thread.sleep(runMillis);
            assertThat(child.isAlive()).as(context + ": child died: " + Files.readString(stderr)).isTrue();
            child.destroyForcibly();
            child.waitFor();
            reader.join();
        } finally {
            child.destroyForcibly();
        }
        synchronized (lines) {
            return List.copyOf(lines);
        }
    }

    private static boolean ready(List<String> lines) {
        synchronized (lines) {
            return !lines.isEmpty() && lines.getFirst().equals("READY");
        }
    }

    private static void verify(Path dir, Map<Long, Long> durable, long admitted, String context)
            throws IOException {
        try (Pool pool = Pool.open(dir, 0)) {
            if (durable.isEmpty() && admitted == 0 && !pool.replicaIds().contains(CrashWriter.REPLICA)) {
                return; // killed before anything was durable
            }
            Replica replica = pool.replica(CrashWriter.REPLICA);
            assertThat(replica.epoch()).as(context + ": epoch").isGreaterThanOrEqualTo(admitted);
            ByteBuffer block = ByteBuffer.allocate(4096);
            for (long b = 0; b < CrashWriter.BLOCKS; b++) {
                replica.read(b * 4096, block.clear());
                long expected = durable.getOrDefault(b, -1L);
                long version = block.getLong(8);
                boolean zero = block.getLong(0) == 0 && version == 0;
                if (zero) {
                    assertThat(expected).as(context + ": block " + b + " is zero").isEqualTo(-1L);
                    continue;
                }
                for (int i = 0; i < 4096; i += 16) {
                    assertThat(block.getLong(i)).as(context + ": block " + b + " word " + i).isEqualTo(b);
                    assertThat(block.getLong(i + 8)).as(context + ": block " + b + " torn at " + i).isEqualTo(version);
                }
                assertThat(version).as(context + ": block " + b + " older than durable").isGreaterThanOrEqualTo(expected);
            }
        }
    }
}
