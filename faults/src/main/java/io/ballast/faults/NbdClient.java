package io.ballast.faults;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * The campaign's NBD client: fixed newstyle negotiation with {@code NBD_OPT_GO}, then one request at a
 * time with simple replies. One request in flight is all a writer needs (concurrency comes from many
 * writers), and it keeps the outcome of each request unambiguous: a reply, an error reply, or nothing
 * (the connection broke or timed out, and the request may or may not have been carried out).
 *
 * <p>Written from the protocol document (NetworkProtocol in the NBD project), deliberately not shared with
 * the server's code, so that the two cannot agree on a mistake.
 */
final class NbdClient implements Closeable {
    private static final long NBDMAGIC = 0x4e42444d41474943L;
    private static final long IHAVEOPT = 0x49484156454F5054L;
    private static final long REPLY_MAGIC = 0x3e889045565a9L;
    private static final int REQUEST_MAGIC = 0x25609513;
    private static final int SIMPLE_REPLY_MAGIC = 0x67446698;
    private static final int FLAG_FIXED_NEWSTYLE = 1;
    private static final int FLAG_NO_ZEROES = 2;
    private static final int OPT_GO = 7;
    private static final int REP_ACK = 1;
    private static final int REP_INFO = 3;
    private static final int INFO_EXPORT = 0;
    private static final int CMD_READ = 0;
    private static final int CMD_WRITE = 1;
    private static final int CMD_DISC = 2;
    private static final int CMD_FLUSH = 3;

    /** An error reply from the server: the request failed there (though a write may still have landed). */
    static final class ErrorReply extends IOException {
        final int errno;

        ErrorReply(String what, int errno) {
            super(what + " failed with errno " + errno);
            this.errno = errno;
        }
    }

    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;
    private final long size;
    private long handles;

    private NbdClient(Socket socket, DataInputStream in, DataOutputStream out, long size) {
        this.socket = socket;
        this.in = in;
        this.out = out;
        this.size = size;
    }

    /**
     * Connects and negotiates {@code export} within {@code handshakeMillis} (an attach may reconcile the
     * replicas first); every later read of the socket times out after {@code ioMillis} (a paused server must
     * not hang a writer for ever).
     */
    static NbdClient connect(String host, int port, String export, int handshakeMillis, int ioMillis)
            throws IOException {
        Socket socket = new Socket();
        try {
            socket.connect(new InetSocketAddress(host, port), handshakeMillis);
            socket.setSoTimeout(handshakeMillis);
            socket.setTcpNoDelay(true);
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 1 << 16));
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), 1 << 16));
            if (in.readLong() != NBDMAGIC || in.readLong() != IHAVEOPT) {
                throw new IOException("not a newstyle NBD server at " + host + ":" + port);
            }
            int serverFlags = in.readUnsignedShort();
            if ((serverFlags & FLAG_FIXED_NEWSTYLE) == 0) {
                throw new IOException("the NBD server at " + host + ":" + port + " is not fixed newstyle");
            }
            out.writeInt(FLAG_FIXED_NEWSTYLE | (serverFlags & FLAG_NO_ZEROES));
            byte[] name = export.getBytes(StandardCharsets.UTF_8);
            out.writeLong(IHAVEOPT);
            out.writeInt(OPT_GO);
            out.writeInt(4 + name.length + 2);
            out.writeInt(name.length);
            out.write(name);
            out.writeShort(0); // no information requests: the server sends NBD_INFO_EXPORT anyway
            out.flush();
            long size = -1;
            while (true) {
                if (in.readLong() != REPLY_MAGIC) {
                    throw new IOException("bad option reply magic from " + host + ":" + port);
                }
                in.readInt(); // the option
                int type = in.readInt();
                int length = in.readInt();
                byte[] data = in.readNBytes(length);
                if (type == REP_ACK) {
                    break;
                }
                if ((type & 0x80000000) != 0) {
                    throw new IOException("export " + export + " refused by " + host + ":" + port + ": "
                            + new String(data, StandardCharsets.UTF_8));
                }
                if (type == REP_INFO && length >= 12 && ((data[0] & 0xff) << 8 | (data[1] & 0xff)) == INFO_EXPORT) {
                    size = java.nio.ByteBuffer.wrap(data, 2, 8).getLong();
                }
            }
            if (size < 0) {
                throw new IOException("the server at " + host + ":" + port + " sent no export size");
            }
            socket.setSoTimeout(ioMillis);
            return new NbdClient(socket, in, out, size);
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    long size() {
        return size;
    }

    /**
     * Sends a write and returns without waiting for its reply ({@link #awaitReply}): the caller records the
     * moment between the two.
     */
    void sendWrite(long offset, byte[] data) throws IOException {
        header(CMD_WRITE, offset, data.length);
        out.write(data);
        out.flush();
    }

    void sendFlush() throws IOException {
        header(CMD_FLUSH, 0, 0);
        out.flush();
    }

    /** Waits for the reply to the request just sent; an error reply throws {@link ErrorReply}. */
    void awaitReply(String what) throws IOException {
        reply(what, null);
    }

    void read(long offset, byte[] into) throws IOException {
        header(CMD_READ, offset, into.length);
        out.flush();
        reply("read at " + offset, into);
    }

    private void header(int type, long offset, int length) throws IOException {
        out.writeInt(REQUEST_MAGIC);
        out.writeShort(0);
        out.writeShort(type);
        out.writeLong(++handles);
        out.writeLong(offset);
        out.writeInt(length);
    }

    private void reply(String what, byte[] data) throws IOException {
        if (in.readInt() != SIMPLE_REPLY_MAGIC) {
            throw new IOException(what + ": bad reply magic");
        }
        int error = in.readInt();
        long handle = in.readLong();
        if (handle != handles) {
            throw new IOException(what + ": reply to handle " + handle + ", expected " + handles);
        }
        if (error != 0) {
            throw new ErrorReply(what, error);
        }
        if (data != null) {
            in.readFully(data);
        }
    }

    /** Says goodbye politely when it can; the socket is closed either way. */
    @Override
    public void close() {
        try {
            if (!socket.isClosed()) {
                header(CMD_DISC, 0, 0);
                out.flush();
            }
        } catch (IOException ignored) {
            // the connection is already gone
        } finally {
            try {
                socket.close();
            } catch (IOException ignored) {
                // nothing left to release
            }
        }
    }
}
