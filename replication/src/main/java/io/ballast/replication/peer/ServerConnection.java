package io.ballast.replication.peer;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One control connection on the server. Requests run off the event loop, since store operations
 * fsync, and are answered as they finish. A connection runs at most {@link #MAX_IN_FLIGHT}
 * requests at once and stops reading while it has that many, so a flooding peer is throttled
 * instead of queueing without bound (requests decoded from bytes already read wait their
 * turn). Anything that is not the protocol closes the connection, with one log line; the
 * server goes on serving everyone else.
 */
final class ServerConnection extends SimpleChannelInboundHandler<ByteBuf> {
    private static final Logger log = LoggerFactory.getLogger(ServerConnection.class);
    static final int MAX_IN_FLIGHT = 64;

    private final Dispatcher dispatcher;
    private final Executor executor;
    /** Event loop only: requests running, and requests decoded while MAX_IN_FLIGHT were running. */
    private int inFlight;
    private final ArrayDeque<Request> waiting = new ArrayDeque<>();
    /** Event loop only: the first failure closes the connection and is the only one logged. */
    private boolean failed;

    ServerConnection(Dispatcher dispatcher, Executor executor) {
        this.dispatcher = dispatcher;
        this.executor = executor;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) throws PeerProtocolException {
        if (failed) {
            return;
        }
        if (frame.readableBytes() < Wire.HEADER_BYTES) {
            throw new PeerProtocolException("a frame of " + frame.readableBytes() + " bytes is shorter than its header");
        }
        byte kind = frame.readByte();
        long requestId = frame.readLong();
        if (kind != Wire.CONTROL_REQUEST) {
            throw new PeerProtocolException("unknown message kind " + kind);
        }
        Request request = new Request(requestId, ByteBufUtil.getBytes(frame));
        if (inFlight < MAX_IN_FLIGHT) {
            run(ctx, request);
        } else {
            // Frames decoded from bytes read before reading stopped.
            waiting.add(request);
        }
    }

    private void run(ChannelHandlerContext ctx, Request request) {
        if (++inFlight == MAX_IN_FLIGHT) {
            ctx.channel().config().setAutoRead(false);
        }
        try {
            executor.execute(() -> {
                byte[] reply = dispatcher.handle(request.json());
                try {
                    ctx.executor().execute(() -> answered(ctx, request.id(), reply));
                } catch (RejectedExecutionException serverClosed) {
                    log.debug("peer port closed before request {} was answered", request.id());
                }
            });
        } catch (RejectedExecutionException shuttingDown) {
            ctx.close();
        }
    }

    private void answered(ChannelHandlerContext ctx, long requestId, byte[] reply) {
        // A reply for a closed channel is dropped by the write, which releases the buffer.
        ctx.writeAndFlush(Wire.frame(ctx.alloc(), Wire.CONTROL_REPLY, requestId, reply));
        inFlight--;
        if (failed || !ctx.channel().isActive()) {
            waiting.clear();
        } else if (!waiting.isEmpty()) {
            run(ctx, waiting.poll());
        } else if (!ctx.channel().config().isAutoRead()) {
            ctx.channel().config().setAutoRead(true);
        }
    }

    private record Request(long id, byte[] json) {
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!failed) {
            failed = true;
            PeerServer.closeAfter(ctx, cause);
        }
    }
}
