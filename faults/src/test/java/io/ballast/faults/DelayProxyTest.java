package io.ballast.faults;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The delaying proxy on loopback, against an echo server: late, but every byte, in order. */
class DelayProxyTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private ServerSocket echo;

    @BeforeEach
    void startEcho() throws IOException {
        echo = new ServerSocket(0, 50, LOOPBACK);
        Thread.ofVirtual().start(() -> {
            while (true) {
                Socket socket;
                try {
                    socket = echo.accept();
                } catch (IOException e) {
                    return;
                }
                Thread.ofVirtual().start(() -> {
                    try (socket; InputStream in = socket.getInputStream(); OutputStream out = socket.getOutputStream()) {
                        in.transferTo(out);
                    } catch (IOException e) {
                        // client gone
                    }
                });
            }
        });
    }

    @AfterEach
    void stopEcho() throws IOException {
        echo.close();
    }

    @Test
    void everyByteArrivesInOrderAndNoSoonerThanTheDelayEachWay() throws Exception {
        try (DelayProxy proxy = new DelayProxy(LOOPBACK, target(), Duration.ofMillis(150));
                Socket socket = new Socket(LOOPBACK, proxy.port())) {
            byte[] sent = new byte[3 << 20];
            new Random(7).nextBytes(sent);
            long start = System.nanoTime();
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    socket.getOutputStream().write(sent);
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            byte[] received = new byte[sent.length];
            new DataInputStream(socket.getInputStream()).readFully(received);
            long millis = (System.nanoTime() - start) / 1_000_000;
            writer.join();
            assertThat(received).isEqualTo(sent);
            assertThat(millis).isGreaterThanOrEqualTo(300);
        }
    }

    @Test
    void closingTheProxyDropsItsConnections() throws Exception {
        DelayProxy proxy = new DelayProxy(LOOPBACK, target(), Duration.ofMillis(10));
        try (Socket socket = new Socket(LOOPBACK, proxy.port())) {
            socket.getOutputStream().write('x');
            assertThat(socket.getInputStream().read()).isEqualTo('x');
            proxy.close();
            socket.setSoTimeout(5000);
            assertThat(readOrReset(socket)).isEqualTo(-1);
        }
    }

    @Test
    void aTargetThatRefusesClosesTheClientsConnection() throws Exception {
        int refused;
        try (ServerSocket gone = new ServerSocket(0, 1, LOOPBACK)) {
            refused = gone.getLocalPort();
        }
        try (DelayProxy proxy = new DelayProxy(LOOPBACK, new InetSocketAddress(LOOPBACK, refused), Duration.ofMillis(10));
                Socket socket = new Socket(LOOPBACK, proxy.port())) {
            socket.setSoTimeout(5000);
            assertThat(readOrReset(socket)).isEqualTo(-1);
        }
    }

    private InetSocketAddress target() {
        return new InetSocketAddress(LOOPBACK, echo.getLocalPort());
    }

    /** -1 at the end of the stream or on a reset: either way the connection is over. */
    private static int readOrReset(Socket socket) {
        try {
            return socket.getInputStream().read();
        } catch (java.net.SocketTimeoutException e) {
            return -2;
        } catch (IOException e) {
            return -1;
        }
    }
}
