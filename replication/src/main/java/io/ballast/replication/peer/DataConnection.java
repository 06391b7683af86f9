package io.ballast.replication.peer;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.DecoderException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client end of a replica data session's connection: sends request frames, hands each reply
 * to the request waiting for its id, and gives every request at most the timeout to be answered.
 *
 * <p>The first failure kills the connection for good: a request not answered in time, a lost
 * connection or a protocol violation fails that request, every other one waiting and every
 * later one with {@link PeerUnavailableException}, and closes the connection. The requests of a
 * session are one ordered stream; once one is lost, nobody knows which of the later ones the
 * replica applied, so a new connection could not simply carry on. The coordinator drops the
 * channel and handles the replica as out of sync.
 *
 * <p>Replies are decoded, and their futures completed, on the connection's I/O thread.
 */
final class DataConnection extends SimpleChannelInboundHandler<ByteBuf> {
    private static final Logger log = LoggerFactory.getLogger(DataConnection.class);

    /** Decodes the payload of a successful reply (OK or DATA) into the request's result, on the I/O thread. */
    @FunctionalInterface
    interface ReplyDecoder<T> {
        T decode(byte kind, ByteBuf payload) throws PeerProtocolException;
    }

    /** The reply of a request that returns nothing: OK without payload. */
    static final ReplyDecoder<Void> NOTHING = (kind, payload) -> {
        expect(kind, Wire.OK, payload.readableBytes() == 0);
        return null;
    };

    private final String node;
    private final InetSocketAddress address;
    private final Duration timeout;
    private final AtomicLong requestIds = new AtomicLong();
    /**
     * The requests waiting, by id. Ids grow in the order requests are sent and every request has
     * the same timeout, so the first entry is the one whose deadline comes first: the timeout
     * check looks at it alone, once, at that deadline.
     */
    private final ConcurrentSkipListMap<Long, Call<?>> calls = new ConcurrentSkipListMap<>();
    /** Why the connection is dead, as the end of a {@link PeerUnavailableException} message; null while it lives. */
    private final AtomicReference<String> dead = new AtomicReference<>();
    private volatile Channel channel;

    DataConnection(String node, InetSocketAddress address, Duration timeout) {
        this.node = node;
        this.address = address;
        this.timeout = timeout;
    }

    /**
     * Sends a request of {@code payloadBytes}, which {@code payload} writes into the frame before
     * this returns, and completes the future with the decoded reply.
     */
    <T> CompletableFuture<T> send(byte kind, int payloadBytes, Consumer<ByteBuf> payload, ReplyDecoder<T> decoder) {
        CompletableFuture<T> result = new CompletableFuture<>();
        if (dead.get() != null) {
            result.completeExceptionally(unavailable());
            return result;
        }
        long requestId = requestIds.incrementAndGet();
        ByteBuf frame = Wire.frame(channel.alloc(), kind, requestId, payloadBytes);
        payload.accept(frame);
        calls.put(requestId, new Call<>(result, decoder, System.nanoTime() + timeout.toNanos()));
        // After registering: either die() sees this call, or this sees it dead (both are volatile accesses).
        if (dead.get() != null) {
            frame.release();
            fail(requestId);
            return result;
        }
        // A failed write fires exceptionCaught, which kills the connection and fails the call.
        channel.writeAndFlush(frame, channel.voidPromise());
        return result;
    }

    /** Closes the connection; requests still waiting fail. */
    void close() {
        die("is unreachable: the replica channel was closed");
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        ctx.executor().schedule(this::checkDeadlines, timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** Runs at the deadline of the oldest request, or a timeout from now if none waits, until the connection ends. */
    private void checkDeadlines() {
        if (dead.get() != null || !channel.isOpen()) {
            return;
        }
        Map.Entry<Long, Call<?>> oldest = calls.firstEntry();
        long wait = oldest == null ? timeout.toNanos() : oldest.getValue().deadline() - System.nanoTime();
        if (wait <= 0) {
            die("did not answer within " + PeerClient.describe(timeout)
                    + "; the requests still waiting may or may not have been applied there");
        } else {
            channel.eventLoop().schedule(this::checkDeadlines, wait, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) throws PeerProtocolException {
        if (dead.get() != null) {
            return;
        }
        if (frame.readableBytes() < Wire.HEADER_BYTES) {
            throw new PeerProtocolException("a frame of " + frame.readableBytes() + " bytes is shorter than its header");
        }
        byte kind = frame.readByte();
        long requestId = frame.readLong();
        Call<?> call = calls.get(requestId);
        if (call == null) {
            throw new PeerProtocolException("a reply to request " + requestId + ", which is not waiting for one");
        }
        // Removed only once settled: a reply that breaks the protocol leaves the call to die(), which fails it.
        call.settle(node, kind, frame);
        calls.remove(requestId);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        die("is unreachable: the connection closed");
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable problem = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (dead.get() != null) {
            return;
        }
        if (problem instanceof PeerProtocolException || cause instanceof DecoderException) {
            log.warn("peer {} broke the protocol of the replica data stream: {}", ctx.channel().remoteAddress(),
                    problem.getMessage());
            die("broke the protocol: " + problem.getMessage());
        } else {
            log.debug("replica data connection to peer {} failed", ctx.channel().remoteAddress(), cause);
            die("is unreachable: " + PeerClient.reason(problem));
        }
    }

    private void die(String reason) {
        if (dead.compareAndSet(null, reason)) {
            channel.close();
        }
        for (Long requestId : calls.keySet()) {
            fail(requestId);
        }
    }

    private void fail(long requestId) {
        Call<?> call = calls.remove(requestId);
        if (call != null) {
            call.result().completeExceptionally(unavailable());
        }
    }

    private PeerUnavailableException unavailable() {
        return new PeerUnavailableException(node, address, dead.get());
    }

    static void expect(byte kind, byte expected, boolean wellFormed) throws PeerProtocolException {
        if (kind != expected) {
            throw new PeerProtocolException("a reply of kind " + kind + " where kind " + expected + " belongs");
        }
        if (!wellFormed) {
            throw new PeerProtocolException("a reply of kind " + kind + " whose payload does not match its request");
        }
    }

    private record Call<T>(CompletableFuture<T> result, ReplyDecoder<T> decoder, long deadline) {

        void settle(String node, byte kind, ByteBuf payload) throws PeerProtocolException {
            if (kind == Wire.ERROR) {
                String code = Wire.errorCode(payload);
                result.completeExceptionally(
                        RemoteErrors.failure(node, code, payload.toString(StandardCharsets.UTF_8)));
            } else {
                result.complete(decoder.decode(kind, payload));
            }
        }
    }
}
