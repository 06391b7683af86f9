package io.ballast.replication.peer;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.Closeable;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The daemon's client of other nodes' peer ports. Control calls share one connection per
 * remote address, opened at the first call and again at the first call after it was lost;
 * calls from any number of threads share it and are matched to their replies by request id.
 * Each replica data channel ({@link #openChannel}) has a connection of its own.
 *
 * <p>Every call is bounded by the timeout, connecting included. A peer that cannot be
 * reached, loses the connection during the call, or does not answer in time gives a
 * {@link PeerUnavailableException}.
 */
public final class PeerClient implements Closeable {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

    private final Duration timeout;
    private final EventLoopGroup group;
    private final Bootstrap bootstrap;
    private final ConcurrentHashMap<InetSocketAddress, ClientConnection> connections = new ConcurrentHashMap<>();
    private final AtomicLong requestIds = new AtomicLong();
    private volatile boolean closed;

    public PeerClient() {
        this(DEFAULT_TIMEOUT);
    }

    /** @param timeout the longest any call takes before it fails, connecting included */
    public PeerClient(Duration timeout) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive: " + timeout);
        }
        this.timeout = timeout;
        boolean epoll = Epoll.isAvailable();
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        this.group = new MultiThreadIoEventLoopGroup(0, new DefaultThreadFactory("peer-client-io", true), io);
        this.bootstrap = new Bootstrap()
                .group(group)
                .channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()))
                .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT) // see PeerServer
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true);
    }

    /**
     * Sends a JSON request to {@code node} at {@code address} and returns the JSON reply.
     *
     * @throws PeerUnavailableException the node cannot be reached, lost the connection or did not answer in time
     */
    byte[] call(String node, InetSocketAddress address, byte[] request) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        ClientConnection connection = connection(address);
        Channel channel;
        try {
            channel = connection.ready.get(remaining(deadline), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            throw new PeerUnavailableException(node, address, "is unreachable: " + e.getCause().getMessage());
        } catch (TimeoutException e) {
            throw new PeerUnavailableException(node, address, "is unreachable: no connection within " + seconds());
        } catch (InterruptedException e) {
            throw interrupted(node);
        }
        long requestId = requestIds.incrementAndGet();
        CompletableFuture<byte[]> reply = connection.send(channel, requestId, request);
        try {
            return reply.get(remaining(deadline), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            throw new PeerUnavailableException(node, address, "is unreachable: " + e.getCause().getMessage()
                    + " during the call");
        } catch (TimeoutException e) {
            connection.forget(requestId);
            // A host that died without resetting the connection would keep it "open" for hours of TCP
            // keepalive, and every later call would wait out the whole timeout: start over instead. Waiting for
            // the close (this is a caller's thread, not the event loop) makes the next call reconnect.
            channel.close().awaitUninterruptibly(1, TimeUnit.SECONDS);
            throw new PeerUnavailableException(node, address, "did not answer within " + seconds()
                    + "; the operation may or may not have happened there");
        } catch (InterruptedException e) {
            connection.forget(requestId);
            throw interrupted(node);
        }
    }

    /**
     * Opens a data session with replica {@code replicaId} in pool {@code poolId} of {@code node}
     * at {@code address}: the node admits {@code epoch} on the replica, durably, which fences
     * every session of an older epoch, and from then on applies the channel's requests in the
     * order they were sent. Blocks until the node opened the replica, at most the timeout.
     *
     * <p>The channel has a connection of its own rather than sharing the control connection: its
     * requests are one ordered stream, a 32 MiB write on it delays neither a control call nor
     * another replica's stream, and losing it kills this channel alone.
     *
     * @param clusterId the caller's cluster id; the node refuses a session from another cluster
     * @throws io.ballast.store.StaleEpochException the replica already admitted a newer epoch
     * @throws io.ballast.store.NoSuchReplicaException the node's pool has no such replica
     * @throws PeerUnavailableException the node cannot be reached or did not answer in time
     */
    public RemoteReplicaChannel openChannel(InetSocketAddress address, String node, String clusterId, String poolId,
                                            String replicaId, long epoch) throws IOException {
        byte[] open = Wire.JSON.writeValueAsBytes(new OpenRequest(clusterId, poolId, replicaId, epoch));
        if (closed) {
            throw new IOException("the peer client is closed");
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        DataConnection connection = new DataConnection(node, address, timeout);
        ChannelFuture connecting;
        try {
            connecting = bootstrap.clone()
                    .handler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel channel) {
                            // Requests pipelined from callers' threads leave in one syscall per burst
                            // instead of one per request.
                            channel.pipeline().addLast(Wire.frameDecoder(), new FlushConsolidationHandler(
                                    FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, true), connection);
                        }
                    })
                    .connect(address);
        } catch (IllegalStateException e) { // the event loop group is shutting down: close() raced this call
            throw new IOException("the peer client is closed", e);
        }
        try {
            if (!connecting.await(remaining(deadline), TimeUnit.NANOSECONDS)) {
                connecting.channel().close();
                throw new PeerUnavailableException(node, address, "is unreachable: no connection within " + seconds());
            }
            if (!connecting.isSuccess()) {
                throw new PeerUnavailableException(node, address, "is unreachable: " + reason(connecting.cause()));
            }
            Channel channel = connecting.channel();
            // Both from this thread, so the preamble leaves before the OPEN.
            channel.write(Wire.preamble(channel.alloc()));
            connection.send(Wire.OPEN, open.length, frame -> frame.writeBytes(open), DataConnection.NOTHING)
                    .get(remaining(deadline), TimeUnit.NANOSECONDS);
            return new RemoteReplicaChannel(node, replicaId, epoch, connection);
        } catch (ExecutionException e) {
            connection.close();
            // What the node answered: the store's exception types, as RemoteErrors carries them.
            if (e.getCause() instanceof IllegalArgumentException invalid) {
                throw invalid;
            }
            throw e.getCause() instanceof IOException refused ? refused
                    : new IOException("node " + node + ": cannot open replica " + replicaId, e.getCause());
        } catch (TimeoutException e) {
            connection.close();
            throw new PeerUnavailableException(node, address, "did not answer within " + seconds());
        } catch (InterruptedException e) {
            connecting.channel().close();
            throw interrupted(node);
        }
    }

    /** Closes every connection: calls still waiting fail at once. */
    @Override
    public void close() {
        closed = true;
        connections.values().forEach(c -> c.ready.thenAccept(Channel::close));
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
    }

    /** The usable connection to {@code address}, opening one if there is none. */
    private ClientConnection connection(InetSocketAddress address) throws IOException {
        if (closed) {
            throw new IOException("the peer client is closed");
        }
        try {
            return connections.compute(address, (a, existing) -> existing != null && existing.usable() ? existing : connect(a));
        } catch (IllegalStateException e) { // the event loop group is shutting down: close() raced this call
            throw new IOException("the peer client is closed", e);
        }
    }

    /** Starts connecting; the connection's {@code ready} future tells how it went. */
    private ClientConnection connect(InetSocketAddress address) {
        ClientConnection connection = new ClientConnection();
        bootstrap.clone()
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel channel) {
                        channel.pipeline().addLast(Wire.frameDecoder(), connection);
                    }
                })
                .connect(address)
                .addListener(connected -> {
                    Channel channel = ((ChannelFuture) connected).channel();
                    if (connected.isSuccess()) {
                        // Written here on the event loop, so it precedes every request.
                        channel.writeAndFlush(Wire.preamble(channel.alloc()));
                        channel.closeFuture().addListener(c -> connections.remove(address, connection));
                        connection.ready.complete(channel);
                    } else {
                        connections.remove(address, connection);
                        connection.connectFailed(reason(connected.cause()));
                    }
                });
        return connection;
    }

    /**
     * A failure's reason for a message. Netty annotates connect errors with its system call and
     * the address ("connect(..) failed with error(-111): Connection refused: /127.0.0.1:9432"); the message of
     * {@link PeerUnavailableException} names the address already.
     */
    static String reason(Throwable failure) {
        if (failure instanceof ConnectTimeoutException) {
            return "connection timed out";
        }
        String message = failure.getMessage();
        if (message == null || message.isBlank()) {
            return failure.getClass().getSimpleName();
        }
        message = message.replaceFirst("^\\w+\\(\\.\\.\\) failed( with error\\(-?\\d+\\))?:? ?", "");
        message = message.replaceFirst(": \\S*/\\S+:\\d+$", "");
        return message.isBlank() ? failure.getClass().getSimpleName() : message;
    }

    private static long remaining(long deadline) {
        return Math.max(0, deadline - System.nanoTime());
    }

    private String seconds() {
        return describe(timeout);
    }

    /** "10 s", or "300 ms" where whole seconds do not fit. */
    static String describe(Duration timeout) {
        return timeout.toMillis() % 1000 == 0 ? timeout.toSeconds() + " s" : timeout.toMillis() + " ms";
    }

    private static InterruptedIOException interrupted(String node) {
        Thread.currentThread().interrupt();
        return new InterruptedIOException("interrupted while calling node " + node);
    }
}
