package io.ballast.faults;

import com.fasterxml.jackson.databind.JsonNode;
import io.ballast.faults.History.Op;
import io.ballast.faults.History.Outcome;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Writers over NBD, several per volume, as applications on whatever node the volume is attached to: each
 * writes self-describing blocks ({@link Blocks}) one request at a time, flushes now and then, and records
 * every request and its outcome in the {@link History}. Writers of one volume overlap: most writes fall in
 * a small hot range that all of them share, the rest anywhere (so that a full pool bites). One request in
 * five is a read, recorded with the writes it found, so that a stale read (a coordinator that serves after
 * it was fenced, a replica behind) shows even where a later write covers it by the end.
 *
 * <p>After any failure a writer drops its connection and finds the volume again, as an orchestrator would:
 * it asks any node where the volume is attached and connects there, or, when the volume is detached or that
 * node does not answer, connects to another node, which attaches the volume (taking it over if its node is
 * down) or refuses while the volume is attached to a node that is up.
 */
final class Workload {
    /** One volume under load. */
    record Volume(int index, String name, int repl, long blocks) {}

    static final int HOT_BLOCKS = 256;
    private static final int MAX_BLOCKS_PER_WRITE = 8;
    private static final long FLUSH_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(250);
    private static final int HANDSHAKE_TIMEOUT_MILLIS = 5_000;
    private static final int IO_TIMEOUT_MILLIS = 10_000;
    private static final long RETRY_PAUSE_MILLIS = 200;

    private final Cluster cluster;
    private final History history;
    private final List<Volume> volumes;
    private final int writersPerVolume;
    private final long seed;
    private final List<Thread> writers = new ArrayList<>();
    private final List<AtomicReference<Consumer<String>>> flushHooks = new ArrayList<>();
    /** Per volume, the node a writer opens it on when it is attached nowhere: where the nemesis moves it. */
    private final List<AtomicReference<String>> homes = new ArrayList<>();
    private volatile boolean stopping;

    Workload(Cluster cluster, History history, List<Volume> volumes, int writersPerVolume, long seed) {
        this.cluster = cluster;
        this.history = history;
        this.volumes = List.copyOf(volumes);
        this.writersPerVolume = writersPerVolume;
        this.seed = seed;
        for (int i = 0; i < volumes.size(); i++) {
            flushHooks.add(new AtomicReference<>());
            homes.add(new AtomicReference<>());
        }
    }

    void start() {
        for (Volume volume : volumes) {
            for (int w = 0; w < writersPerVolume; w++) {
                Random random = new Random(seed * 31 + volume.index() * 1009L + w);
                String name = "writer-" + volume.name() + "-" + w;
                writers.add(Thread.ofPlatform().name(name).daemon().start(() -> writeUntilStopped(volume, random)));
            }
        }
    }

    /**
     * The next flush sent to {@code volume} calls {@code action} with the node it went to, right after the
     * flush is on the wire and before its reply: how the nemesis kills a coordinator mid-flush.
     */
    void onNextFlush(Volume volume, Consumer<String> action) {
        flushHooks.get(volumes.indexOf(volume)).set(action);
    }

    /** Withdraws {@code action} unless a flush already took it; returns whether it was withdrawn. */
    boolean cancelFlushHook(Volume volume, Consumer<String> action) {
        return flushHooks.get(volumes.indexOf(volume)).compareAndSet(action, null);
    }

    /**
     * While the nemesis moves {@code volume} to {@code node}, writers try to open it there first: a client
     * that follows its container to another host. {@code null} ends the move: writers go where it is attached.
     */
    void moveTo(Volume volume, String node) {
        homes.get(volumes.indexOf(volume)).set(node);
    }

    /**
     * Stops every writer after its current request or connection attempt. Returns the writers still running
     * after a bounded wait: a writer that outlives its run could write into the next run's cluster.
     */
    List<String> stop() throws InterruptedException {
        stopping = true;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        List<String> running = new ArrayList<>();
        for (Thread writer : writers) {
            long left = deadline - System.nanoTime();
            if (left > 0) {
                writer.join(Duration.ofNanos(left));
            }
            if (writer.isAlive()) {
                running.add(writer.getName());
            }
        }
        return running;
    }

    private void writeUntilStopped(Volume volume, Random random) {
        Connection connection = null;
        long lastFlush = System.nanoTime();
        while (!stopping) {
            if (connection == null) {
                connection = connect(volume, random);
                if (connection == null) {
                    pause();
                    continue;
                }
                if (stopping) {
                    break;
                }
            }
            boolean ok;
            if (System.nanoTime() - lastFlush > FLUSH_INTERVAL_NANOS || random.nextInt(24) == 0) {
                lastFlush = System.nanoTime();
                ok = flush(volume, connection);
            } else if (random.nextInt(5) == 0) {
                ok = read(volume, connection, random);
            } else {
                ok = write(volume, connection, random);
            }
            if (!ok) {
                connection.client.close();
                connection = null;
            }
        }
        if (connection != null) {
            connection.client.close();
        }
    }

    /** An NBD connection to the coordinator of one epoch. */
    private record Connection(NbdClient client, String node, long epoch) {}

    /** How many blocks the next request covers: mostly one or two, sometimes up to eight. */
    private static int blocks(Random random) {
        return 1 + (random.nextInt(4) == 0 ? random.nextInt(MAX_BLOCKS_PER_WRITE) : random.nextInt(2));
    }

    /** Where the next request starts: mostly in the shared hot range. */
    private static long first(Volume volume, int blocks, Random random) {
        return random.nextInt(10) < 6 ? random.nextLong(HOT_BLOCKS - blocks) : random.nextLong(volume.blocks() - blocks);
    }

    private boolean read(Volume volume, Connection connection, Random random) {
        int blocks = blocks(random);
        long first = first(volume, blocks, random);
        byte[] data = new byte[blocks * Blocks.SIZE];
        Reply reply = call(connection, client -> client.read(first * Blocks.SIZE, data));
        Outcome outcome = reply.outcome();
        long[] seen = new long[outcome == Outcome.ACKED ? blocks : 0];
        for (int i = 0; i < seen.length; i++) {
            long block = first + i;
            seen[i] = switch (Blocks.parse(data, i)) {
                case Blocks.Zero z -> History.ZEROS;
                case Blocks.Written w when w.volume() == volume.index() && w.block() == block -> w.write();
                default -> History.GARBLED;
            };
        }
        history.record(new History.Read(volume.index(), first, connection.node, connection.epoch, reply.sent(),
                reply.replied(), outcome, seen));
        return outcome == Outcome.ACKED;
    }

    private boolean write(Volume volume, Connection connection, Random random) {
        int blocks = blocks(random);
        long first = first(volume, blocks, random);
        long id = history.nextWriteId();
        byte[] data = new byte[blocks * Blocks.SIZE];
        Blocks.fill(data, volume.index(), first, id);
        return exchange(id, volume, first, blocks, connection, client -> {
            client.sendWrite(first * Blocks.SIZE, data);
            client.awaitReply("write");
        });
    }

    private boolean flush(Volume volume, Connection connection) {
        return exchange(0, volume, 0, 0, connection, client -> {
            client.sendFlush();
            Consumer<String> hook = flushHooks.get(volumes.indexOf(volume)).getAndSet(null);
            if (hook != null) {
                hook.accept(connection.node);
            }
            client.awaitReply("flush");
        });
    }

    /** One request and its reply on the wire. */
    private interface Request {
        void run(NbdClient client) throws IOException;
    }

    /** Sends one write or flush and records it; returns whether it was acknowledged. */
    private boolean exchange(long id, Volume volume, long first, int blocks, Connection connection, Request request) {
        Reply reply = call(connection, request);
        history.record(new Op(id, volume.index(), first, blocks, connection.node, connection.epoch, reply.sent(),
                reply.replied(), reply.outcome()));
        return reply.outcome() == Outcome.ACKED;
    }

    /** When a request was sent and answered, and how. */
    private record Reply(long sent, long replied, Outcome outcome) {}

    /**
     * Sends one request: acknowledged, failed (an error reply: a write may or may not have landed), or
     * unknown (no reply, {@code replied} -1).
     */
    private Reply call(Connection connection, Request request) {
        long sent = history.now();
        try {
            request.run(connection.client);
            return new Reply(sent, history.now(), Outcome.ACKED);
        } catch (NbdClient.ErrorReply e) {
            return new Reply(sent, history.now(), Outcome.FAILED);
        } catch (IOException e) {
            return new Reply(sent, -1, Outcome.UNKNOWN);
        }
    }

    /**
     * Finds where the volume is attached and connects there, learning the epoch; or connects to another node
     * when it is detached or its node does not answer. Returns null when nothing worked this time.
     */
    private Connection connect(Volume volume, Random random) {
        List<Cluster.Node> nodes = new ArrayList<>(cluster.nodes());
        Collections.shuffle(nodes, random);
        String attached = null;
        for (Cluster.Node node : nodes) {
            try {
                attached = node.api().get("/v1/volumes/" + volume.name()).path("attachedNode").asText(null);
                break;
            } catch (IOException e) {
                // this node does not answer: ask the next
            }
        }
        List<Cluster.Node> candidates = new ArrayList<>();
        String home = homes.get(volumes.indexOf(volume)).get();
        if (home != null) {
            candidates.add(cluster.node(home));
        }
        if (attached != null && !attached.equals(home)) {
            candidates.add(cluster.node(attached));
        }
        nodes.stream().filter(n -> !candidates.contains(n)).findFirst().ifPresent(candidates::add);
        for (Cluster.Node node : candidates) {
            Connection connection = connect(volume, node);
            if (connection != null) {
                return connection;
            }
        }
        return null;
    }

    private Connection connect(Volume volume, Cluster.Node node) {
        NbdClient client = null;
        try {
            client = NbdClient.connect(node.address(), Cluster.NBD_PORT, volume.name(), HANDSHAKE_TIMEOUT_MILLIS,
                    IO_TIMEOUT_MILLIS);
            // The connection serves the epoch it opened with, the one this node holds now, unless the volume
            // moved meanwhile: then its requests fail, and which epoch it would have named does not matter.
            JsonNode view = node.api().get("/v1/volumes/" + volume.name());
            if (!node.name.equals(view.path("attachedNode").asText(null))) {
                client.close();
                return null;
            }
            return new Connection(client, node.name, view.path("epoch").asLong());
        } catch (IOException e) {
            if (client != null) {
                client.close();
            }
            return null;
        }
    }

    private static void pause() {
        try {
            Thread.sleep(RETRY_PAUSE_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
