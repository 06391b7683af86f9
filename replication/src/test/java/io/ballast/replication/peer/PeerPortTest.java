package io.ballast.replication.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ballast.replication.PoolReplicaChannels;
import io.ballast.store.NoSuchReplicaException;
import io.ballast.store.NoSuchSnapshotException;
import io.ballast.store.OutOfRangeException;
import io.ballast.store.Pool;
import io.ballast.store.PoolFullException;
import io.ballast.store.Replica;
import io.ballast.store.ReplicaExistsException;
import io.ballast.store.SnapshotExistsException;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real peer server in front of a real pool, called through a real client: every operation,
 * errors crossing the wire, dead and dying peers, garbage on the port, concurrent callers.
 */
class PeerPortTest {
    private static final int BLOCK = 4096;
    private static final String CLUSTER = "cluster-a";
    private static final String NODE = "node2";

    @TempDir
    Path dir;

    private Pool pool;
    private PoolControl control;
    private PeerServer server;
    private PeerClient client;
    private ReplicaControl remote;

    @BeforeEach
    void start() throws IOException {
        pool = Pool.open(dir.resolve("pool"), 64 * BLOCK);
        control = new PoolControl(pool);
        server = PeerServer.start(new InetSocketAddress("127.0.0.1", 0), () -> CLUSTER, control, channels());
        client = new PeerClient();
        remote = remote(CLUSTER);
    }

    @AfterEach
    void stop() throws IOException {
        client.close();
        server.close();
        pool.close();
    }

    @Test
    void everyOperationActsOnTheRemotePool() throws IOException {
        String p = pool.id();
        remote.create(p, "vol", 16 * BLOCK);
        assertThat(remote.stat(p, "vol")).isEqualTo(new ReplicaStat(16 * BLOCK, 0, List.of()));

        Replica vol = pool.replica("vol");
        vol.write(0, filled(2 * BLOCK, 1), true);
        remote.snapshot(p, "vol", "s1");
        vol.write(0, filled(BLOCK, 2), true);
        assertThat(remote.stat(p, "vol")).isEqualTo(new ReplicaStat(16 * BLOCK, 3 * BLOCK, List.of("s1")));

        remote.grow(p, "vol", 32 * BLOCK);
        assertThat(vol.sizeBytes()).isEqualTo(32 * BLOCK);

        remote.cloneFrom(p, "vol", "s1", "copy");
        assertThat(pool.replicaIds()).containsExactlyInAnyOrder("vol", "copy");
        assertThat(firstByte(pool.replica("copy"))).isEqualTo((byte) 1);
        assertThat(remote.stat(p, "copy").sizeBytes()).isEqualTo(32 * BLOCK); // the source's size now

        remote.restore(p, "vol", "s1");
        assertThat(firstByte(vol)).isEqualTo((byte) 1);

        remote.snapshot(p, "vol", "s2", "tag-2");
        remote.deleteSnapshot(p, "vol", "s1");
        assertThat(remote.stat(p, "vol").snapshots()).containsExactly("s2");
        assertThat(remote.stat(p, "vol").snapshotTags()).containsExactly("tag-2");
        assertThat(vol.snapshotsWithTags().tags()).containsExactly("tag-2");

        remote.delete(p, "copy");
        remote.delete(p, "copy"); // idempotent
        assertThat(pool.replicaIds()).containsExactly("vol");
    }

    @Test
    void storeErrorsArriveAsTheSameExceptionTypesNamingTheNode() throws IOException {
        String p = pool.id();
        remote.create(p, "vol", 16 * BLOCK);
        remote.snapshot(p, "vol", "s1");

        assertThatThrownBy(() -> remote.stat(p, "missing")).isExactlyInstanceOf(NoSuchReplicaException.class)
                .hasMessage("node node2: missing");
        assertThatThrownBy(() -> remote.grow(p, "missing", 32 * BLOCK)).isInstanceOf(NoSuchReplicaException.class);
        assertThatThrownBy(() -> remote.restore(p, "vol", "nope")).isExactlyInstanceOf(NoSuchSnapshotException.class)
                .hasMessage("node node2: vol@nope");
        assertThatThrownBy(() -> remote.create(p, "vol", 16 * BLOCK))
                .isExactlyInstanceOf(ReplicaExistsException.class).hasMessage("node node2: vol");
        assertThatThrownBy(() -> remote.snapshot(p, "vol", "s1"))
                .isExactlyInstanceOf(SnapshotExistsException.class).hasMessage("node node2: vol@s1");
        assertThatThrownBy(() -> remote.create(p, "../etc", 16 * BLOCK))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("node node2: replica id must match");
        assertThatThrownBy(() -> remote.create(p, "odd", 1000)).isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("size must be a positive multiple of 4096");
        assertThatThrownBy(() -> remote.grow(p, "vol", 8 * BLOCK)).isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("can only grow");
        assertThatThrownBy(() -> remote.create("no-such-pool", "v2", 16 * BLOCK))
                .isExactlyInstanceOf(IOException.class)
                .hasMessage("node node2: pool no-such-pool is not open on node node2");
        assertThat(pool.replicaIds()).containsExactly("vol");
    }

    @Test
    void everyKindOfFailureKeepsItsTypeAndMessage() throws IOException {
        List<Exception> failures = List.of(
                new PoolFullException("pool needs 3 more blocks, 0 of 64 free"),
                new OutOfRangeException("offset 1 length 2 is beyond the end"),
                new NoSuchReplicaException("r"),
                new NoSuchSnapshotException("r@s"),
                new ReplicaExistsException("r"),
                new SnapshotExistsException("r@s"),
                new IllegalArgumentException("bad"),
                new IOException("disk on fire"));
        for (Exception failure : failures) {
            control.failure = failure;
            assertThatThrownBy(() -> remote.create(pool.id(), "r", 16 * BLOCK))
                    .isExactlyInstanceOf(failure.getClass())
                    .hasMessage("node node2: " + failure.getMessage());
        }
        control.failure = new IllegalStateException("a bug");
        assertThatThrownBy(() -> remote.delete(pool.id(), "r")).isExactlyInstanceOf(IOException.class)
                .hasMessage("node node2: internal error: a bug");
    }

    @Test
    void requestsFromAnotherClusterAreRefused() {
        ReplicaControl stranger = remote("cluster-b");
        assertThatThrownBy(() -> stranger.create(pool.id(), "vol", 16 * BLOCK)).isExactlyInstanceOf(IOException.class)
                .hasMessage("node node2: request from cluster cluster-b, this node belongs to cluster cluster-a");
        assertThat(pool.replicaIds()).isEmpty();
    }

    @Test
    void aDeadPeerFailsAtOnceNamingNodeAndAddress() throws IOException {
        int port;
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort();
        }
        ReplicaControl dead = new RemoteReplicaControl(client, "node9", new InetSocketAddress("127.0.0.1", port), CLUSTER);
        long start = System.nanoTime();
        assertThatThrownBy(() -> dead.stat("p", "r")).isExactlyInstanceOf(PeerUnavailableException.class)
                .hasMessage("node node9 (127.0.0.1:" + port + ") is unreachable: Connection refused");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
        // The live peer is unaffected.
        remote.create(pool.id(), "vol", 16 * BLOCK);
    }

    @Test
    void aPeerThatDiesDuringACallFailsItPromptly() throws Exception {
        remote.create(pool.id(), "vol", 16 * BLOCK);
        control.statGate = new CountDownLatch(1);
        CompletableFuture<ReplicaStat> call = async(() -> remote.stat(pool.id(), "vol"));
        assertThat(control.statEntered.await(5, TimeUnit.SECONDS)).isTrue();

        long start = System.nanoTime();
        CompletableFuture<Void> closing = CompletableFuture.runAsync(server::close); // waits for the stuck request
        assertThatThrownBy(() -> call.get(3, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .cause().isExactlyInstanceOf(PeerUnavailableException.class)
                .hasMessage("node node2 (127.0.0.1:" + server.port() + ") is unreachable: the connection closed"
                        + " during the call");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
        control.statGate.countDown();
        closing.get(10, TimeUnit.SECONDS);
    }

    @Test
    void aSlowPeerTimesOutAndTheNextCallReconnects() throws Exception {
        try (PeerClient impatient = new PeerClient(Duration.ofMillis(300))) {
            ReplicaControl node = new RemoteReplicaControl(impatient, NODE, address(), CLUSTER);
            node.create(pool.id(), "vol", 16 * BLOCK);
            control.statGate = new CountDownLatch(1);
            long start = System.nanoTime();
            assertThatThrownBy(() -> node.stat(pool.id(), "vol")).isExactlyInstanceOf(PeerUnavailableException.class)
                    .hasMessageStartingWith("node node2 (127.0.0.1:" + server.port() + ") did not answer within 300 ms");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
            control.statGate.countDown(); // the connection was closed at the timeout: the late reply goes nowhere
            control.statGate = null;
            assertThat(node.stat(pool.id(), "vol").sizeBytes()).isEqualTo(16 * BLOCK);
        }
    }

    @Test
    void closingTheClientFailsItsPendingCallsAtOnceAndLaterOnes() throws Exception {
        remote.create(pool.id(), "vol", 16 * BLOCK);
        control.statGate = new CountDownLatch(1);
        CompletableFuture<ReplicaStat> call = async(() -> remote.stat(pool.id(), "vol"));
        assertThat(control.statEntered.await(5, TimeUnit.SECONDS)).isTrue();
        client.close();
        assertThatThrownBy(() -> call.get(3, TimeUnit.SECONDS)).cause()
                .isExactlyInstanceOf(PeerUnavailableException.class);
        assertThatThrownBy(() -> remote.stat(pool.id(), "vol")).isInstanceOf(IOException.class)
                .hasMessage("the peer client is closed");
        control.statGate.countDown();
    }

    @Test
    void theClientReconnectsToARestartedPeer() throws IOException {
        remote.create(pool.id(), "vol", 16 * BLOCK);
        int port = server.port();
        server.close();
        assertThatThrownBy(() -> remote.stat(pool.id(), "vol")).isInstanceOf(PeerUnavailableException.class);
        server = PeerServer.start(new InetSocketAddress("127.0.0.1", port), () -> CLUSTER, control, channels());
        assertThat(remote.stat(pool.id(), "vol").sizeBytes()).isEqualTo(16 * BLOCK);
    }

    @Test
    void garbageClosesItsConnectionAndTheServerServesTheNext() throws IOException {
        // Not the peer protocol at all.
        assertClosedAfter("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        // The right preamble, then a frame longer than any the port accepts.
        assertClosedAfter(preambleThen(out -> out.writeInt(Integer.MAX_VALUE)));
        // A frame too short for its header.
        assertClosedAfter(preambleThen(out -> {
            out.writeInt(3);
            out.write(new byte[3]);
        }));
        // A message kind nobody defined.
        assertClosedAfter(preambleThen(out -> {
            out.writeInt(Wire.HEADER_BYTES);
            out.writeByte(99);
            out.writeLong(1);
        }));
        // Another version of the protocol.
        assertClosedAfter(preambleThen(out -> {}, Wire.VERSION + 1));
        // A request that is not JSON gets an error reply; the connection stays open.
        try (Socket socket = connect()) {
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            out.write(Wire.MAGIC);
            out.writeInt(Wire.VERSION);
            byte[] junk = "{not json".getBytes(StandardCharsets.US_ASCII);
            out.writeInt(Wire.HEADER_BYTES + junk.length);
            out.writeByte(Wire.CONTROL_REQUEST);
            out.writeLong(7);
            out.write(junk);
            out.flush();
            java.io.DataInputStream in = new java.io.DataInputStream(socket.getInputStream());
            byte[] reply = new byte[in.readInt()];
            in.readFully(reply);
            assertThat(reply[0]).isEqualTo(Wire.CONTROL_REPLY);
            assertThat(ByteBuffer.wrap(reply, 1, 8).getLong()).isEqualTo(7);
            ControlReply decoded = Wire.JSON.readValue(reply, 9, reply.length - 9, ControlReply.class);
            assertThat(decoded.error()).isEqualTo(RemoteErrors.INVALID);
            assertThat(decoded.message()).startsWith("malformed request");
        }
        remote.create(pool.id(), "vol", 16 * BLOCK);
        assertThat(remote.stat(pool.id(), "vol").sizeBytes()).isEqualTo(16 * BLOCK);
    }

    @Test
    void manyConcurrentCallsFromSeveralThreads() throws Exception {
        int threads = 8;
        int replicasEach = 24;
        ExecutorService executor = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                done.add(executor.submit(() -> {
                    for (int i = 0; i < replicasEach; i++) {
                        String id = "t" + thread + "-" + i;
                        remote.create(pool.id(), id, (i + 1) * (long) BLOCK);
                        remote.snapshot(pool.id(), id, "s");
                        ReplicaStat stat = remote.stat(pool.id(), id);
                        assertThat(stat).isEqualTo(new ReplicaStat((i + 1) * (long) BLOCK, 0, List.of("s")));
                        assertThatThrownBy(() -> remote.snapshot(pool.id(), id, "s"))
                                .isInstanceOf(SnapshotExistsException.class);
                        if (i % 2 == 0) {
                            remote.delete(pool.id(), id);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            executor.shutdownNow();
        }
        assertThat(pool.replicaIds()).hasSize(threads * replicasEach / 2);
    }

    @Test
    void aConnectionRunsAtMostItsLimitOfRequestsAtOnceAndQueuesTheRest() throws Exception {
        remote.create(pool.id(), "vol", 16 * BLOCK);
        control.statGate = new CountDownLatch(1);
        int calls = 3 * ServerConnection.MAX_IN_FLIGHT;
        List<CompletableFuture<ReplicaStat>> results = new ArrayList<>();
        for (int i = 0; i < calls; i++) {
            results.add(async(() -> remote.stat(pool.id(), "vol")));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (control.statsWaiting.get() < ServerConnection.MAX_IN_FLIGHT && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        Thread.sleep(200); // time for more to start, if the bound did not hold
        assertThat(control.statsWaiting.get()).isEqualTo(ServerConnection.MAX_IN_FLIGHT);
        control.statGate.countDown();
        for (CompletableFuture<ReplicaStat> result : results) {
            assertThat(result.get(5, TimeUnit.SECONDS)).isEqualTo(new ReplicaStat(16 * BLOCK, 0, List.of()));
        }
    }

    // ---- helpers ----

    private PoolReplicaChannels channels() {
        return new PoolReplicaChannels(NODE, Map.of(pool.id(), pool));
    }

    private ReplicaControl remote(String clusterId) {
        return new RemoteReplicaControl(client, NODE, address(), clusterId);
    }

    private InetSocketAddress address() {
        return new InetSocketAddress("127.0.0.1", server.port());
    }

    private Socket connect() throws IOException {
        Socket socket = new Socket("127.0.0.1", server.port());
        socket.setSoTimeout(5000);
        return socket;
    }

    /** Sends {@code bytes} on a fresh connection and expects the server to close it. */
    private void assertClosedAfter(byte[] bytes) throws IOException {
        try (Socket socket = connect()) {
            OutputStream out = socket.getOutputStream();
            out.write(bytes);
            out.flush();
            InputStream in = socket.getInputStream();
            assertThat(in.read()).as("the server closed the connection").isEqualTo(-1);
        }
    }

    private interface Writer {
        void write(DataOutputStream out) throws IOException;
    }

    private static byte[] preambleThen(Writer rest) throws IOException {
        return preambleThen(rest, Wire.VERSION);
    }

    private static byte[] preambleThen(Writer rest, int version) throws IOException {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.write(Wire.MAGIC);
        out.writeInt(version);
        rest.write(out);
        out.flush();
        return bytes.toByteArray();
    }

    private interface IoCall<T> {
        T call() throws IOException;
    }

    private static <T> CompletableFuture<T> async(IoCall<T> call) {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                result.complete(call.call());
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        return result;
    }

    private static ByteBuffer filled(int length, int value) {
        byte[] bytes = new byte[length];
        java.util.Arrays.fill(bytes, (byte) value);
        return ByteBuffer.wrap(bytes);
    }

    private static byte firstByte(Replica replica) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(BLOCK);
        replica.read(0, buffer);
        return buffer.get(0);
    }
}
