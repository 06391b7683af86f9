package io.ballast.faults;

import com.fasterxml.jackson.databind.JsonNode;
import io.ballast.faults.Cluster.Node;
import io.ballast.faults.Workload.Volume;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Injects one fault at a time on a seeded schedule, holds it, heals it, and rests before the next: node
 * kills and restarts, pauses, isolation and splits of the network, slow links, full pools, a coordinator
 * killed while a flush is on the wire, and moving a volume to another node. Each choice comes from the seed;
 * what it lands on (which node coordinates a volume just then) comes from the cluster, so a replay repeats
 * the schedule but not every timing.
 *
 * <p>Every fault is written to the timeline as it starts and ends. {@link #healAll} undoes whatever is
 * still in place: the network, paused and dead nodes, filled pools.
 */
final class Nemesis {
    /** The faults, and how often each is drawn. */
    enum Kind {
        KILL(3), PAUSE(2), ISOLATE(2), SPLIT(1), SLOW_LINK(2), FULL_POOL(1), KILL_MID_FLUSH(2), REATTACH(2);

        final int weight;

        Kind(int weight) {
            this.weight = weight;
        }
    }

    private static final long MiB = 1 << 20;

    private final Cluster cluster;
    private final NetworkLab lab;
    private final Workload workload;
    private final List<Volume> volumes;
    private final Random random;
    private final Set<Kind> kinds;
    private final History clock;
    private final PrintStream timeline;
    private final Map<Kind, Integer> counts = new EnumMap<>(Kind.class);
    private final List<Filler> fillers = new ArrayList<>();
    private int fillerCount;

    /** @param kinds the faults to draw from (weighted as {@link Kind} says) */
    Nemesis(Cluster cluster, NetworkLab lab, Workload workload, List<Volume> volumes, Set<Kind> kinds, long seed,
            History clock, PrintStream timeline) {
        if (kinds.isEmpty()) {
            throw new IllegalArgumentException("no faults to inject");
        }
        this.kinds = java.util.EnumSet.copyOf(kinds);
        this.cluster = cluster;
        this.lab = lab;
        this.workload = workload;
        this.volumes = List.copyOf(volumes);
        this.random = new Random(seed);
        this.clock = clock;
        this.timeline = timeline;
    }

    /** Injects faults until {@code duration} has passed (the one in progress is finished and healed). */
    void run(Duration duration) throws InterruptedException {
        long deadline = System.nanoTime() + duration.toNanos();
        while (System.nanoTime() < deadline) {
            Thread.sleep(between(1000, 2500));
            if (System.nanoTime() >= deadline) {
                break;
            }
            Kind kind = draw();
            counts.merge(kind, 1, Integer::sum);
            try {
                inject(kind);
            } catch (IOException | RuntimeException e) {
                // The fault did not go as planned (a node did not answer, nothing to move): healAll undoes
                // whatever of it is still in place.
                note("%s: %s", kind, e);
            }
        }
    }

    Map<Kind, Integer> counts() {
        return Map.copyOf(counts);
    }

    int total() {
        return counts.values().stream().mapToInt(Integer::intValue).sum();
    }

    private Kind draw() {
        int total = 0;
        for (Kind k : kinds) {
            total += k.weight;
        }
        int pick = random.nextInt(total);
        for (Kind k : kinds) {
            pick -= k.weight;
            if (pick < 0) {
                return k;
            }
        }
        throw new AssertionError();
    }

    private void inject(Kind kind) throws IOException, InterruptedException {
        switch (kind) {
            case KILL -> {
                Node node = victim();
                note("kill -9 %s", node);
                cluster.kill(node);
                hold(2000, 6000);
                restart(node);
            }
            case PAUSE -> {
                Node node = victim();
                long millis = between(500, 5000);
                note("SIGSTOP %s for %d ms", node, millis);
                cluster.pause(node);
                Thread.sleep(millis);
                cluster.resume(node);
                note("SIGCONT %s", node);
            }
            case ISOLATE -> {
                Node node = victim();
                note("isolate %s from the other nodes", node);
                lab.isolate(node.index);
                hold(3000, 8000);
                lab.heal();
                note("healed the network");
            }
            case SPLIT -> {
                List<Node> nodes = new ArrayList<>(cluster.nodes());
                Collections.shuffle(nodes, random);
                Set<Integer> side = new HashSet<>();
                for (Node n : nodes.subList(0, Math.max(1, (nodes.size() - 1) / 2))) {
                    side.add(n.index);
                }
                note("split the cluster: nodes %s | the rest", side);
                lab.split(side);
                hold(3000, 8000);
                lab.heal();
                note("healed the network");
            }
            case SLOW_LINK -> {
                Node a = victim();
                List<Node> others = new ArrayList<>(cluster.nodes());
                others.remove(a);
                Node b = others.get(random.nextInt(others.size()));
                long delay = between(20, 200);
                note("slow link %s <-> %s: %d ms each way", a, b, delay);
                lab.slow(a.index, b.index, Duration.ofMillis(delay));
                hold(3000, 8000);
                lab.heal();
                note("healed the network");
            }
            case FULL_POOL -> {
                Volume volume = volumes.get(random.nextInt(volumes.size()));
                Node node = replicaNode(volume);
                fill(node);
                hold(2000, 5000);
                drainFillers();
            }
            case KILL_MID_FLUSH -> {
                Volume volume = volumes.get(random.nextInt(volumes.size()));
                CountDownLatch killed = new CountDownLatch(1);
                String[] victim = new String[1];
                java.util.function.Consumer<String> kill = nodeName -> {
                    victim[0] = nodeName;
                    cluster.kill(cluster.node(nodeName));
                    killed.countDown();
                };
                workload.onNextFlush(volume, kill);
                if (!killed.await(5, TimeUnit.SECONDS)) {
                    if (workload.cancelFlushHook(volume, kill)) {
                        note("kill mid-flush of %s: no flush within 5 s, skipped", volume.name());
                        return;
                    }
                    if (!killed.await(30, TimeUnit.SECONDS)) { // a flush took it just now: the kill is under way
                        throw new IOException("kill mid-flush of " + volume.name() + ": the kill did not finish");
                    }
                }
                note("kill -9 %s with a flush of %s on the wire", victim[0], volume.name());
                hold(2000, 5000);
                restart(cluster.node(victim[0]));
            }
            case REATTACH -> {
                Volume volume = volumes.get(random.nextInt(volumes.size()));
                String from = attachedNode(volume);
                List<Node> others = cluster.nodes().stream().filter(n -> !n.name.equals(from) && n.serving()).toList();
                Node to = others.get(random.nextInt(others.size()));
                note("move %s from %s to %s", volume.name(), from, to);
                workload.moveTo(volume, to.name);
                try {
                    move(volume, to);
                } finally {
                    workload.moveTo(volume, null);
                }
                note("%s attached on %s", volume.name(), to);
            }
        }
    }

    /**
     * Detaches {@code volume} and attaches it on {@code to}. A writer whose connection the detach cut may
     * reopen the volume on its old node before the writers learn where it goes; then detach again.
     */
    private void move(Volume volume, Node to) throws IOException {
        for (int attempt = 1; ; attempt++) {
            String at = attachedNode(volume);
            if (to.name.equals(at)) {
                return;
            }
            try {
                if (at != null) {
                    to.admin().post("/v1/volumes/" + volume.name() + "/detach", Map.of());
                }
                to.admin().post("/v1/volumes/" + volume.name() + "/attach", Map.of("node", to.name));
                return;
            } catch (Api.ApiError e) {
                if (e.status != 409 || attempt == 3) {
                    throw e;
                }
            }
        }
    }

    /** A node to hurt: half the time the coordinator of a volume, else any node. */
    private Node victim() {
        if (random.nextBoolean()) {
            String attached = attachedNode(volumes.get(random.nextInt(volumes.size())));
            if (attached != null) {
                return cluster.node(attached);
            }
        }
        List<Node> nodes = cluster.nodes();
        return nodes.get(random.nextInt(nodes.size()));
    }

    private String attachedNode(Volume volume) {
        JsonNode view = anyView(volume);
        return view == null ? null : view.path("attachedNode").asText(null);
    }

    private Node replicaNode(Volume volume) {
        JsonNode view = anyView(volume);
        if (view == null) {
            return victim();
        }
        List<String> holders = new ArrayList<>();
        view.path("replicas").forEach(r -> holders.add(r.path("node").asText()));
        return cluster.node(holders.get(random.nextInt(holders.size())));
    }

    private JsonNode anyView(Volume volume) {
        for (Node node : cluster.nodes()) {
            if (node.serving()) {
                try {
                    return node.api().get("/v1/volumes/" + volume.name());
                } catch (IOException e) {
                    // ask the next
                }
            }
        }
        return null;
    }

    // ---- full pools --------------------------------------------------------------------------------

    /** A volume on one node's pool, written until that pool refuses, and the client holding it. */
    private record Filler(String name, Node node) {}

    /** Fills {@code node}'s pool: a repl 1 volume placed there, written until the pool refuses. */
    private void fill(Node node) throws IOException {
        long available = -1;
        for (JsonNode pool : node.api().get("/v1/pools")) {
            if (pool.path("node").asText().equals(node.name)) {
                available = pool.path("availableBytes").asLong();
            }
        }
        if (available < 0) {
            throw new IOException(node + " has no pool");
        }
        String name = "filler-" + (++fillerCount);
        long size = (available / MiB + 64) * MiB;
        note("fill the pool of %s: %d MiB free, volume %s", node, available / MiB, name);
        node.admin().post("/v1/volumes", Map.of("name", name, "sizeBytes", size, "repl", 1, "nodes", List.of(node.name)));
        fillers.add(new Filler(name, node));
        long written = 0;
        byte[] chunk = new byte[(int) MiB];
        java.util.Arrays.fill(chunk, (byte) 0x5a);
        try (NbdClient client = NbdClient.connect(node.address(), Cluster.NBD_PORT, name, 5000, 10_000)) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (written < size && System.nanoTime() < deadline) {
                client.sendWrite(written, chunk);
                client.awaitReply("fill");
                written += chunk.length;
            }
            note("%s: wrote %d MiB and the pool still takes more", name, written / MiB);
        } catch (NbdClient.ErrorReply full) {
            note("%s: pool of %s full after %d MiB (errno %d)", name, node, written / MiB, full.errno);
        }
    }

    private void drainFillers() {
        for (Filler filler : List.copyOf(fillers)) {
            try {
                Api api = filler.node.serving() ? filler.node.admin() : servingAdmin();
                api.post("/v1/volumes/" + filler.name + "/detach", Map.of());
                api.delete("/v1/volumes/" + filler.name);
                fillers.remove(filler);
                note("deleted %s: the pool of %s has room again", filler.name, filler.node);
            } catch (IOException e) {
                note("could not delete %s yet: %s", filler.name, e.getMessage());
            }
        }
    }

    private Api servingAdmin() throws IOException {
        return cluster.nodes().stream().filter(Node::serving).findFirst()
                .orElseThrow(() -> new IOException("no node is serving")).admin();
    }

    // ---- healing ---------------------------------------------------------------------------------

    private void restart(Node node) throws IOException {
        note("restart %s", node);
        cluster.start(node);
        note("%s is back", node);
    }

    /**
     * Undoes every fault still in place: the network, paused and dead nodes, filled pools. Returns what could
     * not be undone; a run checked with a fault in place would prove nothing.
     */
    List<String> healAll() {
        List<String> problems = new ArrayList<>();
        try {
            lab.heal();
        } catch (IOException | RuntimeException e) {
            note("heal the network: %s", e.getMessage());
            problems.add("the network could not be healed: " + e.getMessage());
        }
        for (Node node : cluster.nodes()) {
            try {
                if (node.running() && !node.serving()) {
                    cluster.resume(node);
                    note("SIGCONT %s", node);
                } else if (!node.running()) {
                    restart(node);
                }
            } catch (IOException e) {
                note("could not bring %s back: %s", node, e.getMessage());
                problems.add(node + " could not be brought back: " + e.getMessage());
            }
        }
        for (int attempt = 0; attempt < 10 && !fillers.isEmpty(); attempt++) {
            drainFillers();
            if (!fillers.isEmpty()) {
                sleepQuietly(1000);
            }
        }
        fillers.forEach(f -> problems.add(f.name + " still fills the pool of " + f.node));
        return problems;
    }

    private void hold(long minMillis, long maxMillis) throws InterruptedException {
        Thread.sleep(between(minMillis, maxMillis));
    }

    private long between(long min, long max) {
        return min + random.nextLong(max - min + 1);
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void note(String format, Object... args) {
        timeline.printf("%8.3f s  %s%n", clock.now() / 1e9, String.format(format, args));
        timeline.flush();
    }
}
