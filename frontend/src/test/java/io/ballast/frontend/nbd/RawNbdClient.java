package io.ballast.frontend.nbd;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;

/** A minimal blocking NBD client that can also break the protocol on purpose. */
final class RawNbdClient implements AutoCloseable {

    record Reply(int error, long cookie) {}

    /** An option reply; {@code data} is the message of an error reply. */
    record OptionReply(int option, int type, byte[] data) {
        boolean isError() {
            return type < 0;
        }
    }

    private final Socket socket;
    final DataInputStream in;
    final DataOutputStream out;

    /** Connects and completes the initial handshake with the given client flags. */
    RawNbdClient(int port, int clientFlags) throws IOException {
        socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(20_000);
        socket.setTcpNoDelay(true);
        in = new DataInputStream(socket.getInputStream());
        out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), 1 << 16));
        if (in.readLong() != Nbd.NBDMAGIC || in.readLong() != Nbd.IHAVEOPT) {
            throw new IOException("not an NBD newstyle server");
        }
        in.readUnsignedShort();
        out.writeInt(clientFlags);
        out.flush();
    }

    RawNbdClient(int port) throws IOException {
        this(port, Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES);
    }

    void sendOption(int option, byte[] data) throws IOException {
        out.writeLong(Nbd.IHAVEOPT);
        out.writeInt(option);
        out.writeInt(data.length);
        out.write(data);
        out.flush();
    }

    OptionReply readOptionReply() throws IOException {
        if (in.readLong() != Nbd.OPTION_REPLY_MAGIC) {
            throw new IOException("bad option reply magic");
        }
        int option = in.readInt();
        int type = in.readInt();
        byte[] data = new byte[in.readInt()];
        in.readFully(data);
        return new OptionReply(option, type, data);
    }

    /** NBD_OPT_GO; returns the export size. */
    long go(String name) throws IOException {
        return infoOrGo(Nbd.OPT_GO, name);
    }

    /** NBD_OPT_INFO; returns the export size and stays in the option phase. */
    long info(String name) throws IOException {
        return infoOrGo(Nbd.OPT_INFO, name);
    }

    private long infoOrGo(int option, String name) throws IOException {
        byte[] bytes = name.getBytes(UTF_8);
        byte[] data = new byte[4 + bytes.length + 2];
        data[0] = (byte) (bytes.length >>> 24);
        data[1] = (byte) (bytes.length >>> 16);
        data[2] = (byte) (bytes.length >>> 8);
        data[3] = (byte) bytes.length;
        System.arraycopy(bytes, 0, data, 4, bytes.length);
        sendOption(option, data);
        long size = -1;
        while (true) {
            OptionReply reply = readOptionReply();
            if (reply.isError()) {
                throw new IOException((option == Nbd.OPT_GO ? "NBD_OPT_GO" : "NBD_OPT_INFO") + " refused: "
                        + new String(reply.data(), UTF_8));
            }
            if (reply.type() == Nbd.REP_ACK) {
                return size;
            }
            if (reply.type() == Nbd.REP_INFO && reply.data()[1] == Nbd.INFO_EXPORT) {
                size = java.nio.ByteBuffer.wrap(reply.data(), 2, 8).getLong();
            }
        }
    }

    void send(int type, int flags, long cookie, long offset, long length, byte[] payload) throws IOException {
        sendHeader(Nbd.REQUEST_MAGIC, type, flags, cookie, offset, length);
        if (payload != null) {
            out.write(payload);
        }
    }

    void sendHeader(int magic, int type, int flags, long cookie, long offset, long length) throws IOException {
        out.writeInt(magic);
        out.writeShort(flags);
        out.writeShort(type);
        out.writeLong(cookie);
        out.writeLong(offset);
        out.writeInt((int) length);
    }

    void flush() throws IOException {
        out.flush();
    }

    Reply readReply() throws IOException {
        if (in.readInt() != Nbd.SIMPLE_REPLY_MAGIC) {
            throw new IOException("bad reply magic");
        }
        return new Reply(in.readInt(), in.readLong());
    }

    byte[] readData(int length) throws IOException {
        byte[] data = new byte[length];
        in.readFully(data);
        return data;
    }

    /** Sends one request and waits for its reply (and data, for a successful READ). */
    Reply call(int type, long cookie, long offset, long length, byte[] payload) throws IOException {
        send(type, 0, cookie, offset, length, payload);
        flush();
        return readReply();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
