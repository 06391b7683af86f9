package io.ballast.faults;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A slow link, since this kernel has no netem: a TCP proxy that delivers every chunk it reads {@code delay}
 * after it arrived, in order, in both directions. One proxy serves one target address; the lab steers a
 * namespace's connections to the target into it with a DNAT rule.
 *
 * <p>Each direction is a reader that stamps chunks with their due time and a writer that sleeps until then,
 * so a steady stream keeps its throughput and only gains latency, like a long wire. When either end closes or
 * fails, both connections close: a connection through a slow link dies whole, as it would on a real one.
 */
final class DelayProxy implements AutoCloseable {
    private static final byte[] END = new byte[0];

    private record Chunk(long dueNanos, byte[] bytes) {}

    private final ServerSocket server;
    private final InetSocketAddress target;
    private final long delayNanos;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    /** Listens on {@code bind} (an ephemeral port) and forwards to {@code target} with {@code delay} each way. */
    DelayProxy(InetAddress bind, InetSocketAddress target, Duration delay) throws IOException {
        this.server = new ServerSocket(0, 50, bind);
        this.target = target;
        this.delayNanos = delay.toNanos();
        Thread.ofVirtual().name("delay-proxy-" + port()).start(this::accept);
    }

    int port() {
        return server.getLocalPort();
    }

    private void accept() {
        while (!closed) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                return; // closed
            }
            Thread.ofVirtual().start(() -> connect(client));
        }
    }

    private void connect(Socket client) {
        Socket upstream = new Socket();
        open.add(client);
        open.add(upstream);
        try {
            client.setTcpNoDelay(true);
            upstream.setTcpNoDelay(true);
            upstream.connect(target, 5000);
            if (closed) {
                throw new IOException("proxy closed");
            }
            pipe(client, upstream);
            pipe(upstream, client);
        } catch (IOException e) {
            closeBoth(client, upstream);
        }
    }

    /** Copies {@code from} to {@code to}, each chunk delivered {@code delay} after it was read. */
    private void pipe(Socket from, Socket to) throws IOException {
        BlockingQueue<Chunk> line = new LinkedBlockingQueue<>();
        InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream();
        Thread.ofVirtual().start(() -> {
            byte[] buffer = new byte[64 * 1024];
            try {
                for (int n; (n = in.read(buffer)) >= 0; ) {
                    line.add(new Chunk(System.nanoTime() + delayNanos, Arrays.copyOf(buffer, n)));
                }
            } catch (IOException e) {
                // the connection ended; the writer closes both ends after what was already read
            }
            line.add(new Chunk(System.nanoTime() + delayNanos, END));
        });
        Thread.ofVirtual().start(() -> {
            try {
                while (true) {
                    Chunk chunk = line.take();
                    long wait = chunk.dueNanos() - System.nanoTime();
                    if (wait > 0) {
                        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                    }
                    if (chunk.bytes() == END) {
                        break;
                    }
                    out.write(chunk.bytes());
                    out.flush();
                }
            } catch (IOException | InterruptedException e) {
                // fall through: the connection is over
            }
            closeBoth(from, to);
        });
    }

    private void closeBoth(Socket a, Socket b) {
        for (Socket s : new Socket[] {a, b}) {
            open.remove(s);
            try {
                s.close();
            } catch (IOException ignored) {
                // already closed
            }
        }
    }

    /** Stops listening and drops every connection through the proxy. */
    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // already closed
        }
        for (Socket s : open) {
            try {
                // An abortive close (RST), as when a link fails: nothing queued is delivered after it.
                s.setSoLinger(true, 0);
                s.close();
            } catch (IOException ignored) {
                // already closed
            }
        }
        open.clear();
    }
}
