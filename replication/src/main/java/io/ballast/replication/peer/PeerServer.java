package io.ballast.replication.peer;

import io.ballast.replication.ReplicaChannels;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The peer port's server: other nodes of the cluster call this node's {@link ReplicaControl}
 * through it, and stream replication data to the replicas in its pools. Requests run on
 * virtual threads (store operations fsync; the event loop must not wait for them): control
 * requests at most {@value ServerConnection#MAX_IN_FLIGHT} at a time per connection, the
 * requests of a replica data session one at a time, in order (see {@link DataSession}). See
 * {@link Wire} for the protocol.
 */
public final class PeerServer implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(PeerServer.class);
    private static final long CLOSE_TIMEOUT_SECONDS = 10;

    private final EventLoopGroup group;
    private final Channel serverChannel;
    private final ChannelGroup connections;
    private final ExecutorService executor;

    private PeerServer(EventLoopGroup group, Channel serverChannel, ChannelGroup connections, ExecutorService executor) {
        this.group = group;
        this.serverChannel = serverChannel;
        this.connections = connections;
        this.executor = executor;
    }

    /**
     * Listens on {@code bind} and serves {@code control} and data sessions of the replicas that
     * {@code channels} opens; returns once the socket is listening.
     *
     * @param clusterId this node's cluster id, asked at each request and session (a node that
     *                  joins another cluster changes it); any other cluster is refused
     */
    public static PeerServer start(InetSocketAddress bind, Supplier<String> clusterId, ReplicaControl control,
                                   ReplicaChannels channels) throws IOException {
        boolean epoll = Epoll.isAvailable();
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        Class<? extends ServerChannel> channelType = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(0, new DefaultThreadFactory("peer-io", true), io);
        ChannelGroup connections = new DefaultChannelGroup("peer", GlobalEventExecutor.INSTANCE);
        ExecutorService executor = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("peer-request-", 0).factory());
        Dispatcher dispatcher = new Dispatcher(clusterId, control);

        ChannelFuture bound = new ServerBootstrap()
                .group(group)
                .channel(channelType)
                .option(ChannelOption.SO_REUSEADDR, true)
                // Pooled, not Netty 4.2's adaptive default: that one allocates a fresh, zeroed direct buffer for
                // every frame of a megabyte (a write's data, a read's reply); profiling a repl-2 sequential write
                // showed the zeroing among the top costs, as it was for the NBD server.
                .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel channel) {
                        connections.add(channel);
                        channel.pipeline().addLast(new PreambleCheck(), Wire.frameDecoder(),
                                new ConnectionRouter(clusterId, channels, executor),
                                new ServerConnection(dispatcher, executor));
                    }
                })
                .bind(bind)
                .awaitUninterruptibly();
        if (!bound.isSuccess()) {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            executor.shutdown();
            throw new IOException("cannot listen on the peer port " + PeerUnavailableException.format(bind) + ": "
                    + bound.cause().getMessage(), bound.cause());
        }
        log.info("peer port listening on {} ({} transport)", bound.channel().localAddress(), epoll ? "epoll" : "nio");
        return new PeerServer(group, bound.channel(), connections, executor);
    }

    /**
     * Closes a connection after its first failure, with one log line: a peer that breaks the
     * protocol is closed, whatever it sends next; the server goes on serving everyone else.
     */
    static void closeAfter(ChannelHandlerContext ctx, Throwable cause) {
        Throwable problem = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (problem instanceof PeerProtocolException || cause instanceof DecoderException) {
            log.warn("peer port: closing the connection from {}: {}", ctx.channel().remoteAddress(), problem.getMessage());
        } else if (cause instanceof IOException) {
            log.debug("peer port: connection from {} failed", ctx.channel().remoteAddress(), cause);
        } else {
            log.warn("peer port: closing the connection from {} after an unexpected error",
                    ctx.channel().remoteAddress(), cause);
        }
        ctx.close();
    }

    /** The port the server listens on; useful after binding port 0. */
    public int port() {
        return ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    /**
     * Stops listening and closes every connection, so callers on other nodes fail at once,
     * then waits a bounded time for requests still running, so that the caller may close the
     * pools afterwards.
     */
    @Override
    public void close() {
        serverChannel.close().awaitUninterruptibly();
        connections.close().awaitUninterruptibly(CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        executor.shutdown();
        try {
            if (!executor.awaitTermination(CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                log.warn("peer requests still running {} s after close", CLOSE_TIMEOUT_SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        group.shutdownGracefully(0, CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS).awaitUninterruptibly();
    }
}
