package io.ballast.replication.peer;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.DecoderException;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client's connection to one peer address: sends requests and hands each reply to the
 * call waiting for its request id. Once the connection is lost, every call waiting on it and
 * every later one fails with the reason; the {@link PeerClient} then opens a new connection.
 */
final class ClientConnection extends SimpleChannelInboundHandler<ByteBuf> {
    private static final Logger log = LoggerFactory.getLogger(ClientConnection.class);

    /** Completes with the channel once connected and the preamble is written. */
    final CompletableFuture<Channel> ready = new CompletableFuture<>();
    private final ConcurrentHashMap<Long, CompletableFuture<byte[]>> pending = new ConcurrentHashMap<>();
    /** Why the connection is unusable; null while it is usable. */
    private volatile String lost;

    boolean usable() {
        return lost == null;
    }

    /** Sends a request; the future completes with the reply's payload, or fails with an IOException naming the reason. */
    CompletableFuture<byte[]> send(Channel channel, long requestId, byte[] request) {
        CompletableFuture<byte[]> reply = new CompletableFuture<>();
        pending.put(requestId, reply);
        // After registering: either lose() sees this call, or this sees lost (both are volatile accesses).
        String reason = lost;
        if (reason != null) {
            fail(requestId, reason);
            return reply;
        }
        channel.writeAndFlush(Wire.frame(channel.alloc(), Wire.CONTROL_REQUEST, requestId, request))
                .addListener(written -> {
                    if (!written.isSuccess()) {
                        fail(requestId, "cannot send: " + PeerClient.reason(written.cause()));
                    }
                });
        return reply;
    }

    /** A call that gave up waiting: a late reply is dropped. */
    void forget(long requestId) {
        pending.remove(requestId);
    }

    void connectFailed(String reason) {
        lost = reason;
        ready.completeExceptionally(new IOException(reason));
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) throws PeerProtocolException {
        if (frame.readableBytes() < Wire.HEADER_BYTES) {
            throw new PeerProtocolException("a frame of " + frame.readableBytes() + " bytes is shorter than its header");
        }
        byte kind = frame.readByte();
        long requestId = frame.readLong();
        if (kind != Wire.CONTROL_REPLY) {
            throw new PeerProtocolException("unknown message kind " + kind);
        }
        CompletableFuture<byte[]> reply = pending.remove(requestId);
        if (reply != null) {
            reply.complete(ByteBufUtil.getBytes(frame));
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        lose("the connection closed");
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable problem = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (lost == null) {
            if (problem instanceof PeerProtocolException || cause instanceof DecoderException) {
                log.warn("peer {} broke the protocol: {}", ctx.channel().remoteAddress(), problem.getMessage());
                lose("it broke the protocol: " + problem.getMessage());
            } else {
                log.debug("connection to peer {} failed", ctx.channel().remoteAddress(), cause);
                lose(PeerClient.reason(problem));
            }
        }
        ctx.close();
    }

    private void lose(String reason) {
        if (lost == null) {
            lost = reason;
        }
        for (Long requestId : pending.keySet()) {
            fail(requestId, lost);
        }
    }

    private void fail(long requestId, String reason) {
        CompletableFuture<byte[]> reply = pending.remove(requestId);
        if (reply != null) {
            reply.completeExceptionally(new IOException(reason));
        }
    }
}
