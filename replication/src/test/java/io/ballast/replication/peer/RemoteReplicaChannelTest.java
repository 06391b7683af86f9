package io.ballast.replication.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ballast.replication.PoolReplicaChannels;
import io.ballast.store.NoSuchReplicaException;
import io.ballast.store.Pool;
import io.ballast.store.Replica;
import io.ballast.store.StaleEpochException;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The replica data stream end to end: a real client on loopback, a real peer server, the node's
 * real channels over a real pool. Ordering, fencing across the wire, dead and stuck peers,
 * garbage, and the server's bound on what it buffers.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RemoteReplicaChannelTest {
    private static final int BLOCK = 4096;
    private static final int MiB = 1 << 20;
    private static final long SIZE = 64L * MiB;
    private static final String CLUSTER = "cluster-a";
    private static final String NODE = "node2";
    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    @TempDir
    Path dir;

    private Pool pool;
    private HeldFlushes channels;
    private PeerServer server;
    private PeerClient client;

    @BeforeEach
    void start() throws IOException {
        pool = Pool.open(dir.resolve("pool"), 1L << 30);
        pool.create("vol", SIZE);
        channels = new HeldFlushes(new PoolReplicaChannels(NODE, Map.of(pool.id(), pool)));
        server = PeerServer.start(new InetSocketAddress("127.0.0.1", 0), () -> CLUSTER,
                new PoolReplicaControl(NODE, Map.of(pool.id(), pool)), channels);
        client = new PeerClient(TIMEOUT);
    }

    @AfterEach
    void stop() throws IOException {
        channels.release(); // or closing the server waits for a held flush
        try {
            client.close();
        } finally {
            try {
                server.close();
            } finally {
                pool.close();
            }
        }
    }

    @Test
    void randomWritesAtUnalignedOffsetsReadBackAsWritten() throws Exception {
        RemoteReplicaChannel channel = open(1);
        Random random = new Random(7);
        int window = 8 * MiB;
        byte[] expected = new byte[window];
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            int length = 1 + random.nextInt(64 * 1024);
            int offset = random.nextInt(window - length);
            byte[] data = new byte[length];
            random.nextBytes(data);
            System.arraycopy(data, 0, expected, offset, length);
            ByteBuffer buffer = ByteBuffer.wrap(data);
            writes.add(channel.write(offset, buffer, false)); // pipelined: overlapping ones apply in this order
            assertThat(buffer.hasRemaining()).as("consumed when write returns").isFalse();
            random.nextBytes(data); // reusing the buffer at once changes nothing sent
        }
        await(writes);

        for (int i = 0; i < 100; i++) {
            int length = 1 + random.nextInt(256 * 1024);
            int offset = random.nextInt(window - length);
            ByteBuffer dst = i % 2 == 0 ? ByteBuffer.allocate(length) : ByteBuffer.allocateDirect(length);
            channel.read(offset, dst).get(10, TimeUnit.SECONDS);
            assertThat(dst.hasRemaining()).isFalse();
            assertThat(dst.flip()).isEqualTo(ByteBuffer.wrap(expected, offset, length));
        }
        assertThat(localBytes(0, window)).isEqualTo(expected);
    }

    @Test
    void aWriteOfTheLargestSizeRoundTrips() throws Exception {
        RemoteReplicaChannel channel = open(1);
        byte[] data = new byte[Wire.MAX_DATA_BYTES];
        new Random(1).nextBytes(data);
        long offset = 3 * MiB + 517;
        channel.write(offset, ByteBuffer.wrap(data), true).get(30, TimeUnit.SECONDS);

        ByteBuffer dst = ByteBuffer.allocateDirect(data.length);
        channel.read(offset, dst).get(30, TimeUnit.SECONDS);
        assertThat(dst.flip()).isEqualTo(ByteBuffer.wrap(data));

        // One byte more would exceed the frame limit: refused before it is sent, and the channel lives on.
        assertThat(failure(channel.write(0, ByteBuffer.allocate(Wire.MAX_DATA_BYTES + 1), false)))
                .isExactlyInstanceOf(IllegalArgumentException.class);
        assertThat(failure(channel.read(0, ByteBuffer.allocate(Wire.MAX_DATA_BYTES + 1))))
                .isExactlyInstanceOf(IllegalArgumentException.class);
        channel.flush().get(10, TimeUnit.SECONDS);
    }

    @Test
    void pipelinedOverlappingWritesApplyInTheOrderSent() throws Exception {
        RemoteReplicaChannel channel = open(1);
        int writes = 2000;
        List<CompletableFuture<Void>> sent = new ArrayList<>();
        for (int i = 0; i < writes; i++) {
            sent.add(channel.write(BLOCK, block(i), false));
        }
        channel.flush().get(30, TimeUnit.SECONDS);
        await(sent);
        assertThat(localBytes(BLOCK, BLOCK)).isEqualTo(block(writes - 1).array());
    }

    @Test
    void fuaWritesAndFlushesComplete() throws Exception {
        RemoteReplicaChannel channel = open(1);
        channel.write(0, block(1), true).get(10, TimeUnit.SECONDS);
        channel.writeZeroes(BLOCK, BLOCK, true).get(10, TimeUnit.SECONDS);
        List<CompletableFuture<Void>> flushes = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            flushes.add(channel.flush()); // in a row: the server may answer them with one flush
        }
        await(flushes);
        assertThat(localBytes(0, BLOCK)).isEqualTo(block(1).array());
        assertThat(localBytes(BLOCK, BLOCK)).isEqualTo(new byte[BLOCK]);
    }

    @Test
    void trimAndWriteZeroesReadBackAsZeroes() throws Exception {
        RemoteReplicaChannel channel = open(1);
        byte[] ones = new byte[4 * BLOCK];
        Arrays.fill(ones, (byte) 0xab);
        channel.write(0, ByteBuffer.wrap(ones), false).get(10, TimeUnit.SECONDS);
        channel.trim(BLOCK, BLOCK).get(10, TimeUnit.SECONDS);
        channel.writeZeroes(2 * BLOCK + 100, 1000, false).get(10, TimeUnit.SECONDS);

        byte[] expected = ones.clone();
        Arrays.fill(expected, BLOCK, 2 * BLOCK, (byte) 0);
        Arrays.fill(expected, 2 * BLOCK + 100, 2 * BLOCK + 1100, (byte) 0);
        ByteBuffer dst = ByteBuffer.allocate(4 * BLOCK);
        channel.read(0, dst).get(10, TimeUnit.SECONDS);
        assertThat(dst.array()).isEqualTo(expected);
    }

    @Test
    void checksumsAndExtentsEqualTheLocalOnes() throws Exception {
        RemoteReplicaChannel channel = open(1);
        Random random = new Random(3);
        for (long offset : new long[] {0, 5 * BLOCK + 3, 2L * MiB, SIZE - 3 * BLOCK}) {
            byte[] data = new byte[2 * BLOCK];
            random.nextBytes(data);
            channel.write(offset, ByteBuffer.wrap(data), false).get(10, TimeUnit.SECONDS);
        }
        Replica local = pool.replica("vol");
        for (int regionBytes : new int[] {BLOCK, 64 * 1024, MiB}) {
            assertThat(channel.checksums(0, SIZE, regionBytes).get(10, TimeUnit.SECONDS))
                    .isEqualTo(local.checksums(0, SIZE, regionBytes));
        }
        assertThat(channel.checksums(BLOCK, 10 * BLOCK + 5, BLOCK).get(10, TimeUnit.SECONDS))
                .isEqualTo(local.checksums(BLOCK, 10 * BLOCK + 5, BLOCK));
        assertThat(channel.allocatedExtents().get(10, TimeUnit.SECONDS)).isEqualTo(local.allocatedExtents())
                .hasSize(4);

        // More checksums than one reply carries: refused, and the channel lives on.
        assertThat(failure(channel.checksums(0, 1L << 40, BLOCK))).isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("node node2: the checksums of");
        assertThat(failure(channel.read(SIZE, ByteBuffer.allocate(1)))).isExactlyInstanceOf(
                io.ballast.store.OutOfRangeException.class);
        channel.flush().get(10, TimeUnit.SECONDS);
    }

    @Test
    void activityMarksAreDurableOnTheReplicaAndAnUnknownLogSaysSo() throws Exception {
        RemoteReplicaChannel channel = open(1);
        assertThat(channel.activeExtents().get(10, TimeUnit.SECONDS)).isEmpty();
        channel.markActivity(false, new long[] {3, 1}, new long[0]).get(10, TimeUnit.SECONDS);
        channel.markActivity(false, new long[] {7}, new long[] {3}).get(10, TimeUnit.SECONDS);
        assertThat(channel.activeExtents().get(10, TimeUnit.SECONDS)).containsExactly(1, 7);
        assertThat(pool.replica("vol").activeExtents()).containsExactly(1, 7);
        channel.markActivity(true, new long[] {2}, new long[0]).get(10, TimeUnit.SECONDS);
        assertThat(channel.activeExtents().get(10, TimeUnit.SECONDS)).containsExactly(2);

        // The node restarts with a log a crash tore: the coordinator learns it is unknown.
        stop();
        java.nio.file.Files.write(dir.resolve("pool/replicas/vol.activity"), new byte[] {'B', 'A', 'L'});
        pool = Pool.open(dir.resolve("pool"), 1L << 30);
        channels = new HeldFlushes(new PoolReplicaChannels(NODE, Map.of(pool.id(), pool)));
        server = PeerServer.start(new InetSocketAddress("127.0.0.1", 0), () -> CLUSTER,
                new PoolReplicaControl(NODE, Map.of(pool.id(), pool)), channels);
        client = new PeerClient(TIMEOUT);
        RemoteReplicaChannel after = open(2);
        assertThat(after.activeExtents().get(10, TimeUnit.SECONDS)).isNull();
        after.markActivity(true, new long[0], new long[0]).get(10, TimeUnit.SECONDS);
        assertThat(after.activeExtents().get(10, TimeUnit.SECONDS)).isEmpty();
    }

    @Test
    void anActivityUpdateWhoseCountsDoNotMatchEndsTheSessionBeforeTheWriteAfterIt() throws Exception {
        try (Socket socket = connect()) {
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            out.write(Wire.MAGIC);
            out.writeInt(Wire.VERSION);
            frame(out, Wire.OPEN, 1, openJson(1));
            DataInputStream in = new DataInputStream(socket.getInputStream());
            assertThat(Reply.read(in).kind()).isEqualTo(Wire.OK);
            ByteBuffer activity = ByteBuffer.allocate(1 + 4 + 8 + 4).put((byte) 0).putInt(5).putLong(0).putInt(0);
            frame(out, Wire.ACTIVITY, 2, activity.array());
            ByteBuffer write = ByteBuffer.allocate(9 + BLOCK).putLong(0).put((byte) 0).put(block(9));
            frame(out, Wire.WRITE, 3, write.array());
            out.flush();
            Reply reply = Reply.read(in);
            assertThat(reply.kind()).isEqualTo(Wire.ERROR);
            assertThat(reply.payloadText()).contains("counts do not match");
            while (in.read() != -1) {
                // the write's reply, if any, is an error: what matters is the data below
            }
        }
        assertThat(pool.replica("vol").activeExtents()).isEmpty();
        ByteBuffer dst = ByteBuffer.allocate(BLOCK);
        pool.replica("vol").read(0, dst);
        assertThat(dst.array()).as("the write after the bad update never landed").isEqualTo(new byte[BLOCK]);
    }

    @Test
    void aNewerEpochFencesTheOlderChannel() throws Exception {
        RemoteReplicaChannel first = open(1);
        first.write(0, block(1), true).get(10, TimeUnit.SECONDS);
        RemoteReplicaChannel second = open(2);

        assertThat(failure(first.write(0, block(2), false))).isExactlyInstanceOf(StaleEpochException.class)
                .hasMessageStartingWith("node node2: ");
        assertThat(failure(first.writeZeroes(0, BLOCK, false))).isExactlyInstanceOf(StaleEpochException.class);
        assertThat(failure(first.flush())).isExactlyInstanceOf(StaleEpochException.class);
        assertThat(localBytes(0, BLOCK)).isEqualTo(block(1).array());

        ByteBuffer dst = ByteBuffer.allocate(BLOCK);
        second.read(0, dst).get(10, TimeUnit.SECONDS);
        assertThat(dst.array()).isEqualTo(block(1).array());
        second.write(0, block(3), false).get(10, TimeUnit.SECONDS);
        assertThat(localBytes(0, BLOCK)).isEqualTo(block(3).array());
    }

    @Test
    void openingWithAStaleEpochIsRefused() throws Exception {
        open(2);
        assertThatThrownBy(() -> open(1)).isExactlyInstanceOf(StaleEpochException.class)
                .hasMessageStartingWith("node node2: ");
        assertThat(pool.replica("vol").epoch()).isEqualTo(2);
    }

    @Test
    void openingIsRefusedForAnotherClusterOrAMissingReplica() {
        assertThatThrownBy(() -> client.openChannel(address(), NODE, "cluster-b", pool.id(), "vol", 1))
                .isExactlyInstanceOf(IOException.class)
                .hasMessage("node node2: request from cluster cluster-b, this node belongs to cluster cluster-a");
        assertThatThrownBy(() -> client.openChannel(address(), NODE, CLUSTER, pool.id(), "nope", 1))
                .isExactlyInstanceOf(NoSuchReplicaException.class);
    }

    @Test
    void aServerClosedMidStreamFailsWaitingAndLaterRequestsPromptly() throws Exception {
        RemoteReplicaChannel channel = open(1);
        channels.hold();
        List<CompletableFuture<Void>> waiting = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            waiting.add(channel.write((long) i * BLOCK, block(i), false));
        }
        waiting.add(channel.flush()); // stuck on the disk
        for (int i = 0; i < 10; i++) {
            waiting.add(channel.write((long) i * BLOCK, block(i), false)); // queued behind it
        }
        assertThat(channels.flushWaiting.await(10, TimeUnit.SECONDS)).isTrue();

        long start = System.nanoTime();
        CompletableFuture<Void> closing = CompletableFuture.runAsync(server::close); // waits for the stuck flush
        for (CompletableFuture<Void> request : waiting.subList(10, waiting.size())) {
            assertThat(failure(request)).isExactlyInstanceOf(PeerUnavailableException.class)
                    .hasMessage("node node2 (127.0.0.1:" + server.port() + ") is unreachable: the connection closed");
        }
        assertThat(failure(channel.write(0, block(0), false))).isExactlyInstanceOf(PeerUnavailableException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(TIMEOUT);
        channels.release();
        closing.get(10, TimeUnit.SECONDS);
    }

    @Test
    void aRequestNotAnsweredInTimeFailsWithEveryLaterOne() throws Exception {
        try (PeerClient impatient = new PeerClient(Duration.ofMillis(500))) {
            RemoteReplicaChannel channel = impatient.openChannel(address(), NODE, CLUSTER, pool.id(), "vol", 1);
            channel.write(0, block(1), false).get(10, TimeUnit.SECONDS);
            channels.hold();
            long start = System.nanoTime();
            CompletableFuture<Void> flush = channel.flush();
            CompletableFuture<Void> behind = channel.write(0, block(2), false);
            assertThat(failure(flush)).isExactlyInstanceOf(PeerUnavailableException.class)
                    .hasMessageStartingWith("node node2 (127.0.0.1:" + server.port() + ") did not answer within 500 ms");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(450),
                    Duration.ofMillis(2500));
            assertThat(failure(behind)).isExactlyInstanceOf(PeerUnavailableException.class);
            assertThat(failure(channel.read(0, ByteBuffer.allocate(BLOCK))))
                    .isExactlyInstanceOf(PeerUnavailableException.class);

            channels.release();
            RemoteReplicaChannel next = impatient.openChannel(address(), NODE, CLUSTER, pool.id(), "vol", 1);
            next.write(0, block(3), false).get(10, TimeUnit.SECONDS);
            next.flush().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aPeerThatNeverAnswersOpenTimesOut() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
             PeerClient impatient = new PeerClient(Duration.ofMillis(300))) {
            InetSocketAddress address = new InetSocketAddress("127.0.0.1", silent.getLocalPort());
            long start = System.nanoTime();
            assertThatThrownBy(() -> impatient.openChannel(address, "node9", CLUSTER, "p", "r", 1))
                    .isExactlyInstanceOf(PeerUnavailableException.class)
                    .hasMessageStartingWith("node node9 (127.0.0.1:" + silent.getLocalPort()
                            + ") did not answer within 300 ms");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
        }
    }

    @Test
    void garbageInASessionClosesItAndTheServerStillServes() throws Exception {
        // A kind nobody defined.
        assertClosedAfter(out -> frame(out, (byte) 99, 2, new byte[0]));
        // A WRITE too short for its header.
        assertClosedAfter(out -> frame(out, Wire.WRITE, 2, new byte[3]));
        // A second OPEN.
        assertClosedAfter(out -> frame(out, Wire.OPEN, 2, openJson(1)));
        // A frame longer than any the port accepts.
        assertClosedAfter(out -> out.writeInt(Integer.MAX_VALUE));
        // An OPEN that is not JSON: refused with an error, then closed.
        try (Socket socket = connect()) {
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            out.write(Wire.MAGIC);
            out.writeInt(Wire.VERSION);
            frame(out, Wire.OPEN, 1, "{nope".getBytes(StandardCharsets.US_ASCII));
            DataInputStream in = new DataInputStream(socket.getInputStream());
            Reply reply = Reply.read(in);
            assertThat(reply.kind()).isEqualTo(Wire.ERROR);
            assertThat(reply.payloadText()).contains(RemoteErrors.INVALID).contains("malformed OPEN");
            assertThat(in.read()).isEqualTo(-1);
        }

        // Opened last: a new session at the same epoch closes the replica's earlier one (see LocalReplicaChannel).
        RemoteReplicaChannel healthy = open(1);
        healthy.write(0, block(5), false).get(10, TimeUnit.SECONDS);
        ByteBuffer dst = ByteBuffer.allocate(BLOCK);
        healthy.read(0, dst).get(10, TimeUnit.SECONDS);
        assertThat(dst.array()).isEqualTo(block(5).array());
    }

    @Test
    void theServerStopsReadingWhileItsQueueIsFull() throws Exception {
        channels.hold();
        int writes = 192;
        byte[] payload = new byte[Long.BYTES + 1 + MiB];
        AtomicLong sent = new AtomicLong();
        try (Socket socket = connect()) {
            socket.setSoTimeout(30_000);
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            out.write(Wire.MAGIC);
            out.writeInt(Wire.VERSION);
            frame(out, Wire.OPEN, 1, openJson(1));
            frame(out, Wire.FLUSH, 2, new byte[0]); // holds the session's queue
            out.flush();
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    for (int i = 0; i < writes; i++) {
                        frame(out, Wire.WRITE, 3 + i, payload); // all to offset 0: 1 MiB of space
                        sent.addAndGet(payload.length);
                    }
                    out.flush();
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            assertThat(channels.flushWaiting.await(10, TimeUnit.SECONDS)).isTrue();
            long before;
            do { // until the writer makes no progress for half a second
                before = sent.get();
                Thread.sleep(500);
            } while (sent.get() != before);
            // What the server holds (the pause mark), plus kernel socket buffers (up to 32 MiB of receive
            // buffer and 4 MiB of send buffer here) and a frame being decoded: far less than all of it.
            assertThat(writer).isNotDone();
            assertThat(sent.get()).isLessThan(96L * MiB).isGreaterThanOrEqualTo(DataSession.PAUSE_BYTES);

            channels.release();
            writer.get(30, TimeUnit.SECONDS);
            DataInputStream in = new DataInputStream(socket.getInputStream());
            for (int i = 0; i < writes + 2; i++) {
                assertThat(Reply.read(in).kind()).isEqualTo(Wire.OK);
            }
        }
    }

    // ---- helpers ----

    private RemoteReplicaChannel open(long epoch) throws IOException {
        return client.openChannel(address(), NODE, CLUSTER, pool.id(), "vol", epoch);
    }

    private InetSocketAddress address() {
        return new InetSocketAddress("127.0.0.1", server.port());
    }

    /** A block whose every int is {@code n}. */
    private static ByteBuffer block(int n) {
        ByteBuffer block = ByteBuffer.allocate(BLOCK);
        while (block.hasRemaining()) {
            block.putInt(n);
        }
        return block.flip();
    }

    private byte[] localBytes(long offset, int length) throws IOException {
        ByteBuffer dst = ByteBuffer.allocate(length);
        pool.replica("vol").read(offset, dst);
        return dst.array();
    }

    private static void await(List<CompletableFuture<Void>> requests) throws Exception {
        CompletableFuture.allOf(requests.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    }

    /** How the request failed; it must fail within 10 s. */
    private static Throwable failure(CompletableFuture<?> request) throws Exception {
        try {
            request.get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        }
        throw new AssertionError("the request succeeded");
    }

    private Socket connect() throws IOException {
        Socket socket = new Socket("127.0.0.1", server.port());
        socket.setSoTimeout(5000);
        return socket;
    }

    private byte[] openJson(long epoch) throws IOException {
        return Wire.JSON.writeValueAsBytes(new OpenRequest(CLUSTER, pool.id(), "vol", epoch));
    }

    private interface Writer {
        void write(DataOutputStream out) throws IOException;
    }

    /** Opens a session by hand, sends {@code garbage} and expects the server to close the connection. */
    private void assertClosedAfter(Writer garbage) throws IOException {
        try (Socket socket = connect()) {
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            out.write(Wire.MAGIC);
            out.writeInt(Wire.VERSION);
            frame(out, Wire.OPEN, 1, openJson(1));
            DataInputStream in = new DataInputStream(socket.getInputStream());
            assertThat(Reply.read(in).kind()).isEqualTo(Wire.OK);
            garbage.write(out);
            out.flush();
            assertThat(in.read()).as("the server closed the connection").isEqualTo(-1);
        }
    }

    private static void frame(DataOutputStream out, byte kind, long requestId, byte[] payload) throws IOException {
        out.writeInt(Wire.HEADER_BYTES + payload.length);
        out.writeByte(kind);
        out.writeLong(requestId);
        out.write(payload);
    }

    private record Reply(byte kind, long requestId, byte[] payload) {
        static Reply read(DataInputStream in) throws IOException {
            byte[] frame = new byte[in.readInt()];
            in.readFully(frame);
            ByteBuffer buffer = ByteBuffer.wrap(frame);
            return new Reply(buffer.get(), buffer.getLong(), Arrays.copyOfRange(frame, Wire.HEADER_BYTES, frame.length));
        }

        String payloadText() {
            return new String(payload, StandardCharsets.UTF_8);
        }
    }
}
