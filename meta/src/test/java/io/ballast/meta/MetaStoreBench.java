package io.ballast.meta;

import static io.ballast.meta.Fixtures.freePort;
import static io.ballast.meta.Fixtures.node;
import static io.ballast.meta.Fixtures.volume;

import io.ballast.meta.Command.CreateVolume;
import io.ballast.meta.Command.Heartbeat;
import io.ballast.meta.Command.RegisterNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Measurements, not tests: prints latencies and asserts nothing about time. Opt in with
 * {@code -Dballast.bench=true}, e.g. {@code mvn -q -B -pl meta test -Dtest=MetaStoreBench -Dballast.bench=true}.
 */
@EnabledIfSystemProperty(named = "ballast.bench", matches = "true")
class MetaStoreBench {
    @TempDir
    Path dir;

    @Test
    void submitLatencyStartupAndClose() throws IOException {
        MetaConfig config = new MetaConfig(dir.resolve("meta"), "n1", "127.0.0.1", freePort());
        long t0 = System.nanoTime();
        MetaStore store = MetaStore.open(config);
        report("open (first start, cold JVM)", System.nanoTime() - t0);
        store.submit(new RegisterNode(node("n1")));
        for (int i = 0; i < 2_000; i++) {
            store.submit(new Heartbeat("n1", i));
        }
        long[] submit = new long[1_000];
        for (int i = 0; i < submit.length; i++) {
            long s = System.nanoTime();
            store.submit(new CreateVolume(volume("v" + i)));
            submit[i] = System.nanoTime() - s;
        }
        percentiles("submit CreateVolume", submit);
        long[] read = new long[1_000];
        for (int i = 0; i < read.length; i++) {
            long s = System.nanoTime();
            store.state();
            read[i] = System.nanoTime() - s;
        }
        percentiles("state() linearizable read", read);
        t0 = System.nanoTime();
        store.close();
        report("close", System.nanoTime() - t0);
        t0 = System.nanoTime();
        try (MetaStore reopened = MetaStore.open(config)) {
            report("open (restart, warm JVM, " + reopened.localState().volumes().size() + " volumes)", System.nanoTime() - t0);
        }
    }

    @Test
    void submitLatencyAt5000Volumes() throws IOException {
        MetaConfig config = new MetaConfig(dir.resolve("meta5k"), "n1", "127.0.0.1", freePort());
        try (MetaStore store = MetaStore.open(config)) {
            for (int i = 0; i < 5_000; i++) {
                store.submit(new CreateVolume(volume(String.format("pre-%05d", i))));
            }
            long[] submit = new long[1_000];
            for (int i = 0; i < submit.length; i++) {
                long s = System.nanoTime();
                store.submit(new CreateVolume(volume("v" + i)));
                submit[i] = System.nanoTime() - s;
            }
            percentiles("submit CreateVolume at 5,000+ volumes", submit);
        }
    }

    @Test
    void stateCopyCostAt5000Volumes() {
        ClusterState state = ClusterState.empty("bench");
        long index = 0;
        for (int i = 0; i < 5_000; i++) {
            state = ClusterStateTransitions.apply(state, new CreateVolume(volume(String.format("v%05d", i))), ++index).state();
        }
        // Warm up, then time creating (and deleting, to stay at 5,000) one more volume.
        ClusterState base = state;
        for (int round = 0; round < 3; round++) {
            int n = 20_000;
            long[] t = new long[n];
            for (int i = 0; i < n; i++) {
                long s = System.nanoTime();
                ClusterState next = ClusterStateTransitions.apply(base, new CreateVolume(volume("extra" + i)), ++index).state();
                t[i] = System.nanoTime() - s;
                if (next.volumes().size() != 5_001) {
                    throw new AssertionError();
                }
            }
            percentiles("apply CreateVolume on 5,000 volumes (round " + round + ")", t);
        }
    }

    private static void report(String what, long nanos) {
        System.out.printf("BENCH %-55s %8.2f ms%n", what, nanos / 1e6);
    }

    private static void percentiles(String what, long[] nanos) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        System.out.printf("BENCH %-55s n=%d p50=%.3f ms p99=%.3f ms max=%.3f ms mean=%.3f ms%n", what, sorted.length,
                sorted[sorted.length / 2] / 1e6, sorted[(int) (sorted.length * 0.99)] / 1e6, sorted[sorted.length - 1] / 1e6,
                Arrays.stream(sorted).average().orElse(0) / 1e6);
    }
}
