package io.ballast.replication.peer;

import io.ballast.replication.ReplicaChannel;
import io.ballast.replication.ReplicaChannels;
import io.ballast.store.Extent;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server end of a replica data session: a connection whose first frame was OPEN (see
 * {@link Wire}). OPEN opens the replica through the node's {@link ReplicaChannels}, which admits
 * the session's epoch; every later request goes to the channel that returned, and a request
 * fenced by a newer epoch since is answered STALE_EPOCH.
 *
 * <p><b>Order.</b> Requests are queued in arrival order and handed to the replica channel one at
 * a time, in that order, by one thread at a time: a virtual thread that the first request into
 * an empty queue starts and that ends when it empties, so the event loop never waits for the
 * disk and an idle session holds no thread. Mutations and flushes must keep their order: a
 * flush answers for every mutation before it. Reads, checksums and extents take the same queue,
 * the simplest way to make each see every mutation that arrived before it (what a resync that
 * compares checksums after copying needs); a coordinator reads its local replica, so reads on a
 * remote one are rare and rarely wait behind writes. FLUSHes in a row are answered by one flush
 * of the replica, since no mutation lies between them.
 *
 * <p><b>Backpressure.</b> While the requests queued hold more than {@link #PAUSE_BYTES}, the
 * session stops reading from its socket, and it reads again once they hold less than
 * {@link #RESUME_BYTES}: a coordinator faster than this disk fills the TCP window and then its
 * own buffers, not this node's memory. A write's data stays in the receive buffer until the
 * store has taken it.
 *
 * <p><b>End.</b> When the connection closes, the requests still queued are dropped (the client
 * failed them; what the replica applied is a prefix of the stream), and the replica channel is
 * closed once the request in progress is done.
 */
final class DataSession extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(DataSession.class);
    /** Enough to keep the disk busy while more arrives: a few of the largest writes, many of the usual ones. */
    static final long PAUSE_BYTES = 16L << 20;
    static final long RESUME_BYTES = 4L << 20;

    private final Supplier<String> clusterId;
    private final ReplicaChannels channels;
    private final Executor executor;
    private ChannelHandlerContext ctx;

    /** The bytes of the requests queued or in progress: counted on arrival, until the store took the payload. */
    private final AtomicLong queuedBytes = new AtomicLong();
    private final ReentrantLock lock = new ReentrantLock();
    private final ArrayDeque<Request> queue = new ArrayDeque<>(); // guarded by lock
    /** Whether a thread drains the queue, or is about to. */
    private boolean draining; // guarded by lock
    /** The connection closed: the replica channel is to be closed. */
    private boolean ended; // guarded by lock

    /** The draining thread's: the channel OPEN returned; null before, and after a refused OPEN. */
    private ReplicaChannel replica;

    /** Event loop only. */
    private boolean opened;
    private boolean failed;

    DataSession(Supplier<String> clusterId, ReplicaChannels channels, Executor executor) {
        this.clusterId = clusterId;
        this.channels = channels;
        this.executor = executor;
    }

    /** A request as it arrived; {@code payload} is the frame after its header, released once served. */
    private record Request(byte kind, long id, ByteBuf payload, int bytes) {
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws PeerProtocolException {
        ByteBuf frame = (ByteBuf) msg;
        if (failed) {
            frame.release(); // decoded from bytes read before the connection failed
            return;
        }
        int bytes = frame.readableBytes();
        byte kind;
        long requestId;
        try {
            if (bytes < Wire.HEADER_BYTES) {
                throw new PeerProtocolException("a frame of " + bytes + " bytes is shorter than its header");
            }
            kind = frame.readByte();
            requestId = frame.readLong();
            checkShape(kind, frame.readableBytes());
        } catch (PeerProtocolException e) {
            frame.release();
            throw e;
        }
        if (queuedBytes.addAndGet(bytes) > PAUSE_BYTES) {
            ctx.channel().config().setAutoRead(false);
        }
        boolean start;
        lock.lock();
        try {
            queue.add(new Request(kind, requestId, frame, bytes));
            start = !draining;
            draining = true;
        } finally {
            lock.unlock();
        }
        if (start && !startDrain()) {
            lock.lock();
            try {
                draining = false; // nothing drains: channelInactive releases the queue and closes the replica
            } finally {
                lock.unlock();
            }
            ctx.close();
        }
    }

    /** Starts a thread that drains the queue; false if the server's executor takes no more (it is closing). */
    private boolean startDrain() {
        try {
            executor.execute(this::drain);
            return true;
        } catch (RejectedExecutionException serverClosing) {
            return false;
        }
    }

    /** Whether the payload fits the kind; a session opens once. */
    private void checkShape(byte kind, int payloadBytes) throws PeerProtocolException {
        boolean fits = switch (kind) {
            case Wire.OPEN -> !opened;
            case Wire.WRITE -> payloadBytes >= Long.BYTES + 1;
            case Wire.WRITE_ZEROES -> payloadBytes == 2 * Long.BYTES + 1;
            case Wire.TRIM -> payloadBytes == 2 * Long.BYTES;
            case Wire.FLUSH, Wire.EXTENTS, Wire.ACTIVE_EXTENTS -> payloadBytes == 0;
            case Wire.ACTIVITY -> payloadBytes >= 1 + 2 * Integer.BYTES;
            case Wire.READ -> payloadBytes == Long.BYTES + Integer.BYTES;
            case Wire.CHECKSUMS -> payloadBytes == 2 * Long.BYTES + Integer.BYTES;
            default -> throw new PeerProtocolException("unknown message kind " + kind + " in a replica data session");
        };
        if (!fits) {
            throw new PeerProtocolException(kind == Wire.OPEN ? "a second OPEN in one session"
                    : "a frame of kind " + kind + " with a payload of " + payloadBytes + " bytes");
        }
        opened = true;
    }

    private void drain() {
        for (; ; ) {
            Request request;
            List<Request> flushes = List.of();
            boolean close = false;
            lock.lock();
            try {
                request = queue.poll();
                if (request == null) {
                    draining = false;
                    close = ended;
                } else if (request.kind() == Wire.FLUSH) {
                    flushes = new ArrayList<>(List.of(request));
                    while (queue.peek() != null && queue.peek().kind() == Wire.FLUSH) {
                        flushes.add(queue.poll());
                    }
                }
            } finally {
                lock.unlock();
            }
            if (request == null) {
                if (close) {
                    closeReplica();
                }
                return;
            }
            if (flushes.isEmpty()) {
                serve(request);
            } else {
                flush(flushes);
            }
        }
    }

    private void serve(Request request) {
        long id = request.id();
        ByteBuf in = request.payload();
        try {
            if (request.kind() == Wire.OPEN) {
                open(id, in);
            } else if (replica != null) { // else OPEN was refused and the connection is closing
                switch (request.kind()) {
                    case Wire.WRITE -> {
                        long offset = in.readLong();
                        boolean fua = (in.readByte() & Wire.FUA) != 0;
                        answer(id, replica.write(offset, in.nioBuffer(), fua));
                    }
                    case Wire.WRITE_ZEROES -> answer(id, replica.writeZeroes(in.readLong(), in.readLong(),
                            (in.readByte() & Wire.FUA) != 0));
                    case Wire.TRIM -> answer(id, replica.trim(in.readLong(), in.readLong()));
                    case Wire.READ -> read(id, in.readLong(), in.readUnsignedInt());
                    case Wire.CHECKSUMS -> checksums(id, in.readLong(), in.readLong(), in.readInt());
                    case Wire.EXTENTS -> extents(id);
                    case Wire.ACTIVITY -> activity(id, in);
                    case Wire.ACTIVE_EXTENTS -> activeExtents(id);
                    default -> throw new IllegalStateException("kind " + request.kind() + " passed checkShape");
                }
            }
        } catch (RuntimeException e) { // thrown by the replica channel instead of failing the future
            reply(id, e);
        } finally {
            done(request);
        }
    }

    private void open(long id, ByteBuf in) {
        OpenRequest open;
        try {
            open = Wire.JSON.readValue(ByteBufUtil.getBytes(in), OpenRequest.class);
        } catch (IOException malformed) {
            refuse(id, RemoteErrors.INVALID, "malformed OPEN: " + malformed.getMessage());
            return;
        }
        String ours = clusterId.get();
        if (!Objects.equals(ours, open.clusterId())) {
            log.warn("refused to open replica {} for {}: request from cluster {}, this node belongs to cluster {}",
                    open.replicaId(), ctx.channel().remoteAddress(), open.clusterId(), ours);
            refuse(id, RemoteErrors.WRONG_CLUSTER,
                    "request from cluster " + open.clusterId() + ", this node belongs to cluster " + ours);
            return;
        }
        if (open.poolId() == null || open.replicaId() == null || open.epoch() == null) {
            refuse(id, RemoteErrors.INVALID, "malformed OPEN: it needs poolId, replicaId and epoch");
            return;
        }
        try {
            replica = channels.open(open.poolId(), open.replicaId(), open.epoch());
        } catch (IOException | RuntimeException e) {
            log.info("refused to open replica {} in pool {} at epoch {} for {}: {}", open.replicaId(), open.poolId(),
                    open.epoch(), ctx.channel().remoteAddress(), e.toString());
            refuse(id, RemoteErrors.code(e), RemoteErrors.message(e));
            return;
        }
        log.debug("opened replica {} in pool {} at epoch {} for {}", open.replicaId(), open.poolId(), open.epoch(),
                ctx.channel().remoteAddress());
        reply(id, null);
    }

    /** Answers OPEN with an error and ends the session. */
    private void refuse(long id, String code, String message) {
        ctx.writeAndFlush(Wire.error(ctx.alloc(), id, code, message)).addListener(ChannelFutureListener.CLOSE);
    }

    /** One flush of the replica answers FLUSHes that arrived in a row. */
    private void flush(List<Request> flushes) {
        flushes.forEach(this::done);
        if (replica == null) {
            return;
        }
        CompletableFuture<Void> done;
        try {
            done = replica.flush();
        } catch (RuntimeException e) {
            done = CompletableFuture.failedFuture(e);
        }
        done.whenComplete((ignored, failure) -> flushes.forEach(flush -> reply(flush.id(), failure)));
    }

    /** READ's reply frame is allocated first, and the replica reads straight into it. */
    private void read(long id, long offset, long length) {
        if (length > Wire.MAX_DATA_BYTES) {
            reply(id, new IllegalArgumentException("a read of " + length + " bytes is longer than the "
                    + Wire.MAX_DATA_BYTES + " one reply carries"));
            return;
        }
        ByteBuf frame = Wire.frame(ctx.alloc(), Wire.DATA, id, (int) length);
        int end = frame.writerIndex() + (int) length;
        ByteBuffer dst = frame.nioBuffer(frame.writerIndex(), (int) length);
        CompletableFuture<Void> done;
        try {
            done = replica.read(offset, dst);
        } catch (RuntimeException e) {
            frame.release();
            throw e;
        }
        done.whenComplete((ignored, failure) -> {
            if (failure == null) {
                ctx.writeAndFlush(frame.writerIndex(end));
            } else {
                frame.release();
                reply(id, failure);
            }
        });
    }

    private void checksums(long id, long offset, long length, int regionBytes) {
        if (regionBytes > 0 && Math.ceilDiv(length, regionBytes) > Wire.MAX_CHECKSUMS) {
            reply(id, new IllegalArgumentException("the checksums of " + Math.ceilDiv(length, regionBytes)
                    + " regions do not fit one reply, at most " + Wire.MAX_CHECKSUMS + " do"));
            return;
        }
        replica.checksums(offset, length, regionBytes).whenComplete((checksums, failure) -> {
            if (failure != null) {
                reply(id, failure);
                return;
            }
            replyLongs(id, checksums);
        });
    }

    /** DATA: u32 count, u64[count]. */
    private void replyLongs(long id, long[] values) {
        ByteBuf frame = Wire.frame(ctx.alloc(), Wire.DATA, id, Integer.BYTES + values.length * Long.BYTES)
                .writeInt(values.length);
        for (long value : values) {
            frame.writeLong(value);
        }
        ctx.writeAndFlush(frame);
    }

    private void extents(long id) {
        replica.allocatedExtents().whenComplete((extents, failure) -> {
            if (failure == null && extents.size() > Wire.MAX_EXTENTS) {
                failure = new IOException("the replica has " + extents.size() + " extents, more than the "
                        + Wire.MAX_EXTENTS + " one reply carries");
            }
            if (failure != null) {
                reply(id, failure);
                return;
            }
            ByteBuf frame = Wire.frame(ctx.alloc(), Wire.DATA, id, Integer.BYTES + extents.size() * 2 * Long.BYTES)
                    .writeInt(extents.size());
            for (Extent extent : extents) {
                frame.writeLong(extent.offset()).writeLong(extent.length());
            }
            ctx.writeAndFlush(frame);
        });
    }

    private void activity(long id, ByteBuf in) {
        boolean replace = (in.readByte() & Wire.REPLACE) != 0;
        long[] add = extentList(in);
        long[] remove = add == null ? null : extentList(in);
        if (remove == null || in.isReadable()) {
            // A mark that is not applied must stop every later write, as a failed one does: the session ends.
            reply(id, new IllegalArgumentException("an ACTIVITY whose counts do not match its length"));
            replica.close();
            ctx.close();
            return;
        }
        answer(id, replica.markActivity(replace, add, remove));
    }

    /** A u32 count and that many u64s, or null if the payload is too short for them. */
    private static long[] extentList(ByteBuf in) {
        if (in.readableBytes() < Integer.BYTES) {
            return null;
        }
        long count = in.readUnsignedInt();
        if (count * Long.BYTES > in.readableBytes()) {
            return null;
        }
        long[] extents = new long[(int) count];
        for (int i = 0; i < extents.length; i++) {
            extents[i] = in.readLong();
        }
        return extents;
    }

    private void activeExtents(long id) {
        replica.activeExtents().whenComplete((extents, failure) -> {
            if (failure != null) {
                reply(id, failure);
                return;
            }
            if (extents == null) {
                ctx.writeAndFlush(Wire.frame(ctx.alloc(), Wire.DATA, id, Integer.BYTES).writeInt(Wire.UNKNOWN_LOG));
                return;
            }
            replyLongs(id, extents);
        });
    }

    private void answer(long id, CompletableFuture<Void> done) {
        done.whenComplete((ignored, failure) -> reply(id, failure));
    }

    /** OK, or ERROR with the failure's code; a reply for a closed connection is dropped by the write. */
    private void reply(long id, Throwable failure) {
        if (failure == null) {
            ctx.writeAndFlush(Wire.frame(ctx.alloc(), Wire.OK, id, 0));
            return;
        }
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                ? failure.getCause() : failure;
        if (cause instanceof RuntimeException && !(cause instanceof IllegalArgumentException)) {
            log.error("request {} of the replica data session from {} failed", id, ctx.channel().remoteAddress(), cause);
        } else {
            log.debug("request {} of the replica data session from {} failed: {}", id, ctx.channel().remoteAddress(),
                    cause.toString());
        }
        ctx.writeAndFlush(Wire.error(ctx.alloc(), id, RemoteErrors.code(cause), RemoteErrors.message(cause)));
    }

    /**
     * The store took the request's payload: the frame goes back to the allocator, its bytes leave the
     * queue's count, and reading resumes below the mark.
     */
    private void done(Request request) {
        request.payload().release();
        long after = queuedBytes.addAndGet(-request.bytes());
        if (after < RESUME_BYTES && after + request.bytes() >= RESUME_BYTES) {
            try {
                ctx.executor().execute(this::resume);
            } catch (RejectedExecutionException serverClosing) {
                // nothing more to read
            }
        }
    }

    /**
     * On the event loop, like the pause: a resume is scheduled only by a count falling below the mark
     * after the count that paused rose above it, so it always runs after that pause.
     */
    private void resume() {
        if (!failed && queuedBytes.get() < RESUME_BYTES) {
            ctx.channel().config().setAutoRead(true);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        boolean start;
        lock.lock();
        try {
            queue.forEach(request -> request.payload().release());
            queue.clear();
            ended = true;
            start = !draining;
            draining = true;
        } finally {
            lock.unlock();
        }
        if (start && !startDrain()) {
            closeReplica(); // no thread drains the queue: this one may touch the replica
        }
        ctx.fireChannelInactive();
    }

    private void closeReplica() {
        if (replica != null) {
            replica.close();
            replica = null;
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!failed) {
            failed = true;
            PeerServer.closeAfter(ctx, cause);
        }
    }
}
