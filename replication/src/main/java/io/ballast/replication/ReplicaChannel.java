package io.ballast.replication;

import io.ballast.store.Extent;
import java.io.Closeable;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One replica of an attached volume as its coordinator sees it, opened for one attachment epoch:
 * the local replica in-process, or a remote one over the peer port. The coordinator talks to
 * every replica through this interface alike.
 *
 * <p><b>Order.</b> Mutations ({@link #write}, {@link #writeZeroes}, {@link #trim}) are applied
 * on the replica in the order they were issued: the coordinator issues them one at a time under
 * its order lock, so every replica applies overlapping writes in the same order. {@link #flush}
 * completes once every mutation issued before it is durable. Reads, checksums and extents see at
 * least every mutation whose future completed before they were issued.
 *
 * <p><b>Buffers.</b> {@link #write} has consumed {@code data} (position to limit) when it returns;
 * the caller may reuse the buffer at once. {@link #read} fills {@code dst} from its position
 * before its future completes.
 *
 * <p><b>Fencing.</b> The replica admitted the channel's epoch when the channel was opened. Once a
 * newer epoch was admitted (a new attachment elsewhere), every request fails with
 * {@code io.ballast.store.StaleEpochException}: the holder of this channel is no longer the
 * volume's coordinator and must stop acknowledging IO.
 *
 * <p><b>Failures</b> complete the future exceptionally with the store's exception types
 * ({@code OutOfRangeException}, {@code PoolFullException}, {@code StaleEpochException}, other
 * {@code IOException}s), or with {@code io.ballast.replication.peer.PeerUnavailableException}
 * when a remote replica cannot be reached or does not answer in time.
 */
public interface ReplicaChannel extends Closeable {

    /** The name of the node that holds the replica. */
    String node();

    /** The epoch this channel was opened with. */
    long epoch();

    CompletableFuture<Void> write(long offset, ByteBuffer data, boolean fua);

    CompletableFuture<Void> writeZeroes(long offset, long length, boolean fua);

    CompletableFuture<Void> trim(long offset, long length);

    CompletableFuture<Void> flush();

    /**
     * Marks extents of the replica's activity log hot and unmarks others ({@code Replica#markActivity});
     * with {@code replace} the log becomes exactly {@code add}. A mutation: it is applied, durably, before
     * any mutation issued after it. If it fails, the channel fails every later request, so that no write
     * lands in an extent whose mark is missing.
     */
    CompletableFuture<Void> markActivity(boolean replace, long[] add, long[] remove);

    /** The extents the replica's activity log has marked, sorted; null if the log is unknown (torn by a crash). */
    CompletableFuture<long[]> activeExtents();

    CompletableFuture<Void> read(long offset, ByteBuffer dst);

    /**
     * Checksums of the replica's content (what a read returns, holes as zeroes) over
     * {@code [offset, offset + length)}, one per region of {@code regionBytes}; the last region may
     * be shorter. Equal content gives equal checksums on every node.
     */
    CompletableFuture<long[]> checksums(long offset, long length, int regionBytes);

    /**
     * The 4 KiB-aligned ranges that hold data in some layer of the replica, sorted and merged: what
     * a rebuild copies.
     */
    CompletableFuture<List<Extent>> allocatedExtents();

    /** Releases the channel (a remote session ends); the replica stays. Never throws. */
    @Override
    void close();
}
