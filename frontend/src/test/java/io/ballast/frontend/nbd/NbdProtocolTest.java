package io.ballast.frontend.nbd;

import static io.ballast.frontend.nbd.Nbd.CMD_FLUSH;
import static io.ballast.frontend.nbd.Nbd.CMD_READ;
import static io.ballast.frontend.nbd.Nbd.CMD_TRIM;
import static io.ballast.frontend.nbd.Nbd.CMD_WRITE;
import static io.ballast.frontend.nbd.Nbd.CMD_WRITE_ZEROES;
import static io.ballast.frontend.nbd.Nbd.EINVAL;
import static io.ballast.frontend.nbd.Nbd.ESHUTDOWN;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ballast.replication.BlockTarget;
import java.io.EOFException;
import java.io.IOException;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The wire protocol, spoken by a raw client that can also misbehave. */
class NbdProtocolTest {

    private static final long SIZE = 16L << 20;
    private static final int BLOCK = 4096;

    @TempDir
    Path dir;

    private TestExports exports;
    private FileBlockTarget target;

    @BeforeEach
    void startServer() throws Exception {
        exports = new TestExports(dir);
        target = exports.add("vol1", SIZE);
    }

    @AfterEach
    void stopServer() throws Exception {
        exports.close();
    }

    private RawNbdClient connect() throws IOException {
        RawNbdClient client = new RawNbdClient(exports.server.port());
        assertThat(client.go("vol1")).isEqualTo(SIZE);
        return client;
    }

    @Test
    void outOfRangeAndOverlongRequestsAreEinvalAndTheConnectionCarriesOn() throws Exception {
        try (RawNbdClient client = connect()) {
            assertThat(client.call(CMD_READ, 1, SIZE - BLOCK, 2 * BLOCK, null).error()).isEqualTo(EINVAL);
            assertThat(client.call(CMD_READ, 2, -BLOCK, BLOCK, null).error()).isEqualTo(EINVAL);
            assertThat(client.call(CMD_READ, 3, 0, (32 << 20) + 1, null).error()).isEqualTo(EINVAL);
            assertThat(client.call(CMD_TRIM, 4, SIZE, 1, null).error()).isEqualTo(EINVAL);
            assertThat(client.call(CMD_WRITE_ZEROES, 5, 1, SIZE, null).error()).isEqualTo(EINVAL);
            // An out-of-range WRITE's payload is read and dropped, not taken for requests.
            byte[] payload = new byte[2 * BLOCK];
            Arrays.fill(payload, (byte) 0x25);
            assertThat(client.call(CMD_WRITE, 6, SIZE - BLOCK, payload.length, payload).error()).isEqualTo(EINVAL);
            assertThat(client.call(99, 7, 0, 0, null).error()).as("unknown command").isEqualTo(EINVAL);

            assertThat(client.call(CMD_WRITE, 8, SIZE - BLOCK, BLOCK, pattern(8)).error()).isZero();
            RawNbdClient.Reply read = client.call(CMD_READ, 9, SIZE - BLOCK, BLOCK, null);
            assertThat(read).isEqualTo(new RawNbdClient.Reply(0, 9));
            assertThat(client.readData(BLOCK)).isEqualTo(pattern(8));
        }
    }

    @Test
    void pipelinedRequestsAreAllAnswered() throws Exception {
        int requests = 64;
        try (RawNbdClient client = connect()) {
            for (int i = 0; i < requests; i++) {
                client.send(CMD_WRITE, i % 2 == 0 ? Nbd.CMD_FLAG_FUA : 0, 1000 + i, (long) i * BLOCK, BLOCK, pattern(i));
            }
            client.flush();
            Set<Long> written = new HashSet<>();
            for (int i = 0; i < requests; i++) {
                RawNbdClient.Reply reply = client.readReply();
                assertThat(reply.error()).isZero();
                written.add(reply.cookie());
            }
            assertThat(written).hasSize(requests).allMatch(cookie -> cookie >= 1000 && cookie < 1000 + requests);
            assertThat(client.call(CMD_FLUSH, 1, 0, 0, null).error()).isZero();

            for (int i = 0; i < requests; i++) {
                client.send(CMD_READ, 0, 2000 + i, (long) i * BLOCK, BLOCK, null);
            }
            client.flush();
            Map<Long, byte[]> read = new HashMap<>();
            for (int i = 0; i < requests; i++) {
                RawNbdClient.Reply reply = client.readReply();
                assertThat(reply.error()).isZero();
                read.put(reply.cookie(), client.readData(BLOCK));
            }
            assertThat(read).hasSize(requests);
            for (int i = 0; i < requests; i++) {
                assertThat(read.get(2000L + i)).as("block %d", i).isEqualTo(pattern(i));
            }
        }
    }

    @Test
    void serverStopsReadingRequestsWhileTheClientDoesNotReadReplies() throws Exception {
        // Large reads, so that socket buffers hold less than one reply: what the server has
        // taken on is then bounded by its in-flight byte limit alone.
        int length = (int) SIZE;
        int requests = 20;
        long bound = NbdConnection.MAX_IN_FLIGHT_BYTES / length + 1;
        try (RawNbdClient client = connect()) {
            for (int i = 0; i < requests; i++) {
                client.send(CMD_READ, 0, i, 0, length, null);
            }
            client.flush();
            awaitTrue(() -> target.reads.get() >= bound - 1);
            Thread.sleep(200);
            assertThat(target.reads.get()).as("reads taken on while replies are not read").isLessThanOrEqualTo((int) bound);

            Set<Long> answered = new HashSet<>();
            for (int i = 0; i < requests; i++) {
                RawNbdClient.Reply reply = client.readReply();
                assertThat(reply.error()).isZero();
                client.in.skipNBytes(length);
                answered.add(reply.cookie());
            }
            assertThat(answered).hasSize(requests);
        }
    }

    @Test
    void badMagicClosesOnlyThatConnection() throws Exception {
        try (RawNbdClient good = connect(); RawNbdClient bad = connect()) {
            assertThat(good.call(CMD_WRITE, 1, 0, BLOCK, pattern(1)).error()).isZero();

            bad.sendHeader(0xdeadbeef, CMD_READ, 0, 1, 0, BLOCK);
            bad.flush();
            assertThatThrownBy(bad::readReply).isInstanceOfAny(EOFException.class, SocketException.class);

            assertThat(good.call(CMD_READ, 2, 0, BLOCK, null).error()).isZero();
            assertThat(good.readData(BLOCK)).isEqualTo(pattern(1));
            try (RawNbdClient third = connect()) {
                assertThat(third.call(CMD_FLUSH, 3, 0, 0, null).error()).isZero();
            }
        }
    }

    @Test
    void clientVanishingMidWriteLeavesTheServerServing() throws Exception {
        RawNbdClient client = connect();
        client.send(CMD_WRITE, 0, 1, 0, 1 << 20, null);
        client.out.write(new byte[300 << 10]);
        client.flush();
        client.close();

        awaitTrue(() -> exports.server.connectionCount() == 0);
        try (RawNbdClient next = connect()) {
            assertThat(next.call(CMD_WRITE, 2, 0, BLOCK, pattern(2)).error()).isZero();
        }
    }

    @Test
    void detachedTargetIsEshutdownAndDisconnectClosesItsConnections() throws Exception {
        exports.add("vol2", SIZE);
        try (RawNbdClient one = connect(); RawNbdClient two = connect(); RawNbdClient other = new RawNbdClient(exports.server.port())) {
            other.go("vol2");
            assertThat(exports.server.connectionCount()).isEqualTo(3);

            target.detached = true;
            assertThat(one.call(CMD_WRITE, 1, 0, BLOCK, pattern(1)).error()).isEqualTo(ESHUTDOWN);

            exports.server.disconnect("vol1");
            assertThatThrownBy(one::readReply).isInstanceOfAny(EOFException.class, SocketException.class);
            assertThatThrownBy(two::readReply).isInstanceOfAny(EOFException.class, SocketException.class);
            assertThat(other.call(CMD_FLUSH, 2, 0, 0, null).error()).isZero();
            awaitTrue(() -> exports.server.connectionCount() == 1);
        }
    }

    @Test
    void exportNameOptionAndUnsupportedOptions() throws Exception {
        // A client without NO_ZEROES, which negotiates the old way after a refused option.
        try (RawNbdClient client = new RawNbdClient(exports.server.port(), Nbd.FLAG_C_FIXED_NEWSTYLE)) {
            client.sendOption(8, new byte[0]); // NBD_OPT_STRUCTURED_REPLY
            RawNbdClient.OptionReply unsupported = client.readOptionReply();
            assertThat(unsupported.type()).isEqualTo(Nbd.REP_ERR_UNSUP);

            client.sendOption(Nbd.OPT_GO, new byte[] {0, 0, 0, 9, 'v', 'o', 'l', '1', 0, 0});
            assertThat(client.readOptionReply().type()).as("name longer than the data").isEqualTo(Nbd.REP_ERR_INVALID);

            client.sendOption(Nbd.OPT_LIST, new byte[0]);
            RawNbdClient.OptionReply server = client.readOptionReply();
            assertThat(server.type()).isEqualTo(Nbd.REP_SERVER);
            assertThat(new String(server.data(), 4, server.data().length - 4, UTF_8)).isEqualTo("vol1");
            assertThat(client.readOptionReply().type()).isEqualTo(Nbd.REP_ACK);

            client.sendOption(Nbd.OPT_EXPORT_NAME, "vol1".getBytes(UTF_8));
            assertThat(client.in.readLong()).isEqualTo(SIZE);
            int flags = client.in.readUnsignedShort();
            assertThat(flags).isEqualTo(Nbd.FLAG_HAS_FLAGS | Nbd.FLAG_SEND_FLUSH | Nbd.FLAG_SEND_FUA
                    | Nbd.FLAG_SEND_TRIM | Nbd.FLAG_SEND_WRITE_ZEROES | Nbd.FLAG_CAN_MULTI_CONN);
            assertThat(client.readData(124)).containsOnly(0);

            assertThat(client.call(CMD_TRIM, 1, 0, SIZE, null).error()).isZero();
            client.send(Nbd.CMD_DISC, 0, 2, 0, 0, null);
            client.flush();
            assertThat(client.in.read()).as("server hangs up after NBD_CMD_DISC").isEqualTo(-1);
        }
    }

    @Test
    void trimAndZeroLongerThanTheLargestPayloadReachTheTarget() throws Exception {
        long size = 8L << 30;
        List<String> calls = new CopyOnWriteArrayList<>();
        exports.add("big", new BlockTarget() {
            @Override public long sizeBytes() { return size; }
            @Override public void read(long offset, ByteBuffer dst) {}
            @Override public void write(long offset, ByteBuffer src, boolean fua) {}
            @Override public void flush() { calls.add("flush"); }
            @Override public void trim(long offset, long length) { calls.add("trim " + offset + " " + length); }
            @Override public void writeZeroes(long offset, long length, boolean fua) { calls.add("zero " + offset + " " + length + " " + fua); }
        });
        try (RawNbdClient client = new RawNbdClient(exports.server.port())) {
            assertThat(client.go("big")).isEqualTo(size);
            client.send(CMD_TRIM, Nbd.CMD_FLAG_FUA, 1, 4096, 0xFFFF_F000L, null);
            client.send(CMD_WRITE_ZEROES, Nbd.CMD_FLAG_FUA | 2 /* NO_HOLE */, 2, 1L << 32, 3L << 30, null);
            client.flush();
            assertThat(client.readReply().error()).isZero();
            assertThat(client.readReply().error()).isZero();
        }
        assertThat(calls).containsExactlyInAnyOrder("trim 4096 4294963200", "flush", "zero 4294967296 3221225472 true");
    }

    @Test
    void infoAnswersTheSizeWithoutOpeningTheExport() throws Exception {
        exports.refuse("elsewhere", ExportRefusedException.Reason.POLICY, "volume elsewhere is attached on node-b");
        try (RawNbdClient client = new RawNbdClient(exports.server.port())) {
            assertThat(client.info("vol1")).isEqualTo(SIZE);
            assertThatThrownBy(() -> client.info("nosuch")).hasMessageContaining("no volume named 'nosuch'");
            assertThatThrownBy(() -> client.info("elsewhere")).hasMessageContaining("attached on node-b");
            assertThat(exports.opens).hasValue(0);

            // Still in the option phase: GO on the same connection is what opens.
            assertThat(client.go("vol1")).isEqualTo(SIZE);
            assertThat(exports.opens).hasValue(1);
            assertThat(client.call(CMD_FLUSH, 1, 0, 0, null).error()).isZero();
        }
    }

    @Test
    void unknownExportNameOptionHangsUp() throws Exception {
        try (RawNbdClient client = new RawNbdClient(exports.server.port())) {
            client.sendOption(Nbd.OPT_EXPORT_NAME, "nosuch".getBytes(UTF_8));
            assertThat(client.in.read()).isEqualTo(-1);
        }
    }

    private static byte[] pattern(int seed) {
        byte[] block = new byte[BLOCK];
        for (int i = 0; i < block.length; i++) {
            block[i] = (byte) (seed * 31 + i);
        }
        return block;
    }

    private static void awaitTrue(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition not met within 10 s").isLessThan(deadline);
            Thread.sleep(20);
        }
    }
}
