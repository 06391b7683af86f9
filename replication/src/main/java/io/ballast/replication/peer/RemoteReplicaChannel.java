package io.ballast.replication.peer;

import io.ballast.replication.ReplicaChannel;
import io.ballast.store.Extent;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A replica on another node, over a connection of its own to that node's peer port: see
 * {@link PeerClient#openChannel}. Requests are pipelined, any number at a time, and the node
 * applies them in the order they were sent.
 *
 * <p>Every request is answered within the client's timeout, or fails with
 * {@link PeerUnavailableException}, and so does every later one: the channel is dead, as it is
 * once the connection is lost, and the caller opens a new one after bringing the replica back in
 * sync.
 *
 * <p>Futures complete on the connection's I/O thread, which the channels of every replica of
 * the {@link PeerClient} share: a dependent stage must not block, or it holds up the replies of
 * all of them.
 */
public final class RemoteReplicaChannel implements ReplicaChannel {
    private final String node;
    private final String replicaId;
    private final long epoch;
    private final DataConnection connection;

    RemoteReplicaChannel(String node, String replicaId, long epoch, DataConnection connection) {
        this.node = node;
        this.replicaId = replicaId;
        this.epoch = epoch;
        this.connection = connection;
    }

    @Override
    public String node() {
        return node;
    }

    @Override
    public long epoch() {
        return epoch;
    }

    /** Copies {@code data} into the request frame before it returns: the one copy on this side. */
    @Override
    public CompletableFuture<Void> write(long offset, ByteBuffer data, boolean fua) {
        int length = data.remaining();
        if (length > Wire.MAX_DATA_BYTES) {
            return tooLong("write", length);
        }
        return connection.send(Wire.WRITE, Long.BYTES + 1 + length,
                frame -> frame.writeLong(offset).writeByte(flags(fua)).writeBytes(data), DataConnection.NOTHING);
    }

    @Override
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean fua) {
        return connection.send(Wire.WRITE_ZEROES, 2 * Long.BYTES + 1,
                frame -> frame.writeLong(offset).writeLong(length).writeByte(flags(fua)), DataConnection.NOTHING);
    }

    @Override
    public CompletableFuture<Void> trim(long offset, long length) {
        return connection.send(Wire.TRIM, 2 * Long.BYTES,
                frame -> frame.writeLong(offset).writeLong(length), DataConnection.NOTHING);
    }

    @Override
    public CompletableFuture<Void> flush() {
        return connection.send(Wire.FLUSH, 0, frame -> {}, DataConnection.NOTHING);
    }

    @Override
    public CompletableFuture<Void> markActivity(boolean replace, long[] add, long[] remove) {
        if ((long) add.length + remove.length > Wire.MAX_ACTIVITY_EXTENTS) {
            // Like a failed mark, it must stop every later request: the write after it would land unmarked.
            connection.close();
            return CompletableFuture.failedFuture(new IOException("an activity update of "
                    + (add.length + remove.length) + " extents is more than the " + Wire.MAX_ACTIVITY_EXTENTS
                    + " one request carries; the channel to " + node + " is closed"));
        }
        return connection.send(Wire.ACTIVITY, 1 + 2 * Integer.BYTES + (add.length + remove.length) * Long.BYTES,
                frame -> {
                    frame.writeByte(replace ? Wire.REPLACE : 0).writeInt(add.length);
                    for (long extent : add) {
                        frame.writeLong(extent);
                    }
                    frame.writeInt(remove.length);
                    for (long extent : remove) {
                        frame.writeLong(extent);
                    }
                }, DataConnection.NOTHING);
    }

    @Override
    public CompletableFuture<long[]> activeExtents() {
        return connection.send(Wire.ACTIVE_EXTENTS, 0, frame -> {}, (kind, payload) -> {
            if (payload.readableBytes() == Integer.BYTES && payload.getInt(payload.readerIndex()) == Wire.UNKNOWN_LOG) {
                DataConnection.expect(kind, Wire.DATA, true);
                return null;
            }
            return readLongs(kind, payload);
        });
    }

    /** The reply is copied from the receive buffer into {@code dst}, whose position then is its limit. */
    @Override
    public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
        int length = dst.remaining();
        if (length > Wire.MAX_DATA_BYTES) {
            return tooLong("read", length);
        }
        return connection.send(Wire.READ, Long.BYTES + Integer.BYTES, frame -> frame.writeLong(offset).writeInt(length),
                (kind, payload) -> {
                    DataConnection.expect(kind, Wire.DATA, payload.readableBytes() == length);
                    payload.readBytes(dst);
                    return null;
                });
    }

    @Override
    public CompletableFuture<long[]> checksums(long offset, long length, int regionBytes) {
        return connection.send(Wire.CHECKSUMS, 2 * Long.BYTES + Integer.BYTES,
                frame -> frame.writeLong(offset).writeLong(length).writeInt(regionBytes),
                RemoteReplicaChannel::readLongs);
    }

    @Override
    public CompletableFuture<List<Extent>> allocatedExtents() {
        return connection.send(Wire.EXTENTS, 0, frame -> {}, (kind, payload) -> {
            int count = countOf(kind, payload, 2 * Long.BYTES);
            List<Extent> extents = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                extents.add(new Extent(payload.readLong(), payload.readLong()));
            }
            return extents;
        });
    }

    /** Ends the session on the node; requests still waiting fail with {@link PeerUnavailableException}. */
    @Override
    public void close() {
        connection.close();
    }

    @Override
    public String toString() {
        return "replica " + replicaId + " on node " + node + " at epoch " + epoch;
    }

    /** A DATA reply of u32 count, u64[count]. */
    private static long[] readLongs(byte kind, ByteBuf payload) throws PeerProtocolException {
        int count = countOf(kind, payload, Long.BYTES);
        long[] values = new long[count];
        for (int i = 0; i < count; i++) {
            values[i] = payload.readLong();
        }
        return values;
    }

    /** The count that begins a DATA reply of {@code entryBytes} entries, checked against the payload's length. */
    private static int countOf(byte kind, ByteBuf payload, int entryBytes) throws PeerProtocolException {
        long count = payload.readableBytes() >= Integer.BYTES ? payload.readUnsignedInt() : -1;
        DataConnection.expect(kind, Wire.DATA, count >= 0 && payload.readableBytes() == count * entryBytes);
        return (int) count;
    }

    private static int flags(boolean fua) {
        return fua ? Wire.FUA : 0;
    }

    /** Refused here: the frame would exceed the limit, and the node would close the connection. */
    private static CompletableFuture<Void> tooLong(String operation, int length) {
        return CompletableFuture.failedFuture(new IllegalArgumentException("a " + operation + " of " + length
                + " bytes is longer than the " + Wire.MAX_DATA_BYTES + " one request carries"));
    }
}
