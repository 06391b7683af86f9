package io.ballast.faults;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;

/** A TCP echo server that NetworkLabTest starts inside a namespace: {@code EchoServer <port>}. */
public final class EchoServer {
    private EchoServer() {}

    public static void main(String[] args) throws IOException {
        try (ServerSocket server = new ServerSocket(Integer.parseInt(args[0]))) {
            System.out.println("listening");
            System.out.flush();
            while (true) {
                Socket socket = server.accept();
                Thread.ofVirtual().start(() -> echo(socket));
            }
        }
    }

    private static void echo(Socket socket) {
        try (socket; InputStream in = socket.getInputStream(); OutputStream out = socket.getOutputStream()) {
            in.transferTo(out);
        } catch (IOException e) {
            // the client went away
        }
    }
}
