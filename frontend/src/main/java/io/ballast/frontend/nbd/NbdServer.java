package io.ballast.frontend.nbd;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.buffer.PooledByteBufAllocator;
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
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An NBD server (fixed-newstyle handshake, simple replies) for the exports of an
 * {@link ExportRegistry}.
 *
 * <p>Each connection may pipeline requests; they run concurrently on virtual threads (a lone
 * READ or WRITE inline on the event loop) and are answered as they complete. READ and WRITE are limited to 32 MiB each; an over-long or
 * out-of-range WRITE has its payload read and dropped and gets {@code EINVAL}, so the
 * connection stays usable. A request that breaks the protocol (bad magic) closes its
 * connection only.
 */
public final class NbdServer implements Closeable {

    private static final Logger log = LoggerFactory.getLogger(NbdServer.class);
    private static final long CLOSE_TIMEOUT_SECONDS = 10;

    private final EventLoopGroup group;
    private final Channel serverChannel;
    private final ChannelGroup connections;
    private final ExecutorService executor;

    private NbdServer(EventLoopGroup group, Channel serverChannel, ChannelGroup connections, ExecutorService executor) {
        this.group = group;
        this.serverChannel = serverChannel;
        this.connections = connections;
        this.executor = executor;
    }

    /** Starts serving {@code registry} on {@code bind}; returns once the socket is listening. */
    public static NbdServer start(InetSocketAddress bind, ExportRegistry registry) throws IOException {
        boolean epoll = Epoll.isAvailable();
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        Class<? extends ServerChannel> channelType = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(0, new DefaultThreadFactory("nbd-io", true), io);
        ChannelGroup connections = new DefaultChannelGroup("nbd", GlobalEventExecutor.INSTANCE);
        ExecutorService executor = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("nbd-request-", 0).factory());

        ChannelFuture bound = new ServerBootstrap()
                .group(group)
                .channel(channelType)
                .option(ChannelOption.SO_REUSEADDR, true)
                // Netty 4.2's default (adaptive) allocator allocates a fresh, zeroed direct buffer
                // for every READ reply of 1 MiB; profiling showed that zeroing as the top cost of
                // sequential reads. The pooled allocator serves them from 4 MiB chunks.
                .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel channel) {
                        connections.add(channel);
                        channel.pipeline().addLast(new NbdConnection(registry, executor));
                    }
                })
                .bind(bind)
                .awaitUninterruptibly();
        if (!bound.isSuccess()) {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            executor.shutdown();
            throw new IOException("cannot listen for NBD on " + bind, bound.cause());
        }
        log.info("NBD server listening on {} ({} transport)", bound.channel().localAddress(), epoll ? "epoll" : "nio");
        return new NbdServer(group, bound.channel(), connections, executor);
    }

    /** The port the server listens on; useful after binding port 0. */
    public int port() {
        return ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    /**
     * Closes every connection to {@code exportName}, including one still negotiating it, and
     * waits (a bounded time) until they are closed. Requests already running on the target
     * still complete; their replies are dropped.
     */
    public void disconnect(String exportName) {
        connections.close(channel -> exportName.equals(channel.attr(NbdConnection.EXPORT).get()))
                .awaitUninterruptibly(CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    /** Open client connections, whatever phase they are in. */
    public int connectionCount() {
        return connections.size();
    }

    /**
     * Stops listening and closes every connection, then waits a bounded time for requests
     * still running against targets, so that a caller may close the targets afterwards.
     */
    @Override
    public void close() {
        serverChannel.close().awaitUninterruptibly();
        connections.close().awaitUninterruptibly(CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        group.shutdownGracefully(0, CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS).awaitUninterruptibly();
        executor.shutdown();
        try {
            if (!executor.awaitTermination(CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                log.warn("NBD requests still running {} s after close", CLOSE_TIMEOUT_SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
