package io.ballast.replication.peer;

import io.ballast.replication.ReplicaChannels;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.flush.FlushConsolidationHandler;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * Tells a data connection from a control one by its first frame (see {@link Wire}), then leaves
 * the pipeline. It sits before the {@link ServerConnection} that every connection starts with,
 * which also reports failures before the first frame; OPEN replaces that with a
 * {@link DataSession}.
 */
final class ConnectionRouter extends ChannelInboundHandlerAdapter {
    private final Supplier<String> clusterId;
    private final ReplicaChannels channels;
    private final Executor executor;

    ConnectionRouter(Supplier<String> clusterId, ReplicaChannels channels, Executor executor) {
        this.clusterId = clusterId;
        this.channels = channels;
        this.executor = executor;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf frame = (ByteBuf) msg;
        if (frame.isReadable() && frame.getByte(frame.readerIndex()) == Wire.OPEN) {
            // Replies, written from the session's thread, leave in one syscall per burst instead of one per request.
            ctx.pipeline().replace(ServerConnection.class, "flush-consolidation", new FlushConsolidationHandler(
                    FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, true));
            ctx.pipeline().addLast(new DataSession(clusterId, channels, executor));
        }
        ctx.pipeline().remove(this);
        ctx.fireChannelRead(msg); // the removed context still leads to the handler after it
    }
}
