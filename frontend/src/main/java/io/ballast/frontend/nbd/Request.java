package io.ballast.frontend.nbd;

import static io.ballast.frontend.nbd.Nbd.CMD_FLAG_FUA;
import static io.ballast.frontend.nbd.Nbd.CMD_FLUSH;
import static io.ballast.frontend.nbd.Nbd.CMD_READ;
import static io.ballast.frontend.nbd.Nbd.CMD_TRIM;
import static io.ballast.frontend.nbd.Nbd.CMD_WRITE;
import static io.ballast.frontend.nbd.Nbd.CMD_WRITE_ZEROES;
import static io.ballast.frontend.nbd.Nbd.EINVAL;
import static io.ballast.frontend.nbd.Nbd.EIO;
import static io.ballast.frontend.nbd.Nbd.ENOSPC;
import static io.ballast.frontend.nbd.Nbd.ESHUTDOWN;
import static io.ballast.frontend.nbd.Nbd.SIMPLE_REPLY_LENGTH;
import static io.ballast.frontend.nbd.Nbd.SIMPLE_REPLY_MAGIC;

import io.ballast.replication.BlockTarget;
import io.ballast.replication.TargetClosedException;
import io.ballast.store.OutOfRangeException;
import io.ballast.store.PoolFullException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One validated transmission request, run against the export's target (on a virtual thread,
 * or inline on the event loop when it is alone on its connection).
 *
 * @param payload the data of a WRITE, released once the request has run; null otherwise
 */
record Request(int type, int flags, long cookie, long offset, long length, ByteBuf payload) {

    private static final Logger log = LoggerFactory.getLogger(Request.class);

    /** Bytes this request pins in memory while in flight: its payload or its read reply. */
    long bufferedBytes() {
        return type == CMD_READ || type == CMD_WRITE ? length : 0;
    }

    /** A READ or a WRITE without FUA: work the page cache usually absorbs in microseconds. */
    boolean runsInline() {
        return (type == CMD_READ || type == CMD_WRITE) && (flags & CMD_FLAG_FUA) == 0;
    }

    /** Runs the request and returns its simple reply, data included for a successful READ. */
    ByteBuf execute(BlockTarget target, ByteBufAllocator alloc, String exportName) {
        ByteBuf data = null;
        try {
            boolean fua = (flags & CMD_FLAG_FUA) != 0;
            switch (type) {
                case CMD_READ -> {
                    // Header and data share one buffer: the target reads straight into the
                    // bytes that go on the wire.
                    int size = SIMPLE_REPLY_LENGTH + (int) length;
                    data = alloc.directBuffer(size);
                    ByteBuffer dst = data.nioBuffer(SIMPLE_REPLY_LENGTH, (int) length);
                    target.read(offset, dst);
                    if (dst.hasRemaining()) {
                        throw new IOException("short read: " + dst.remaining() + " bytes missing");
                    }
                    ByteBuf reply = header(data, 0, cookie).writerIndex(size);
                    data = null;
                    return reply;
                }
                case CMD_WRITE -> target.write(offset, payload.nioBuffer(), fua);
                case CMD_FLUSH -> target.flush();
                case CMD_TRIM -> {
                    target.trim(offset, length);
                    if (fua) {
                        // BlockTarget.trim has no FUA of its own; a flush gives the same promise.
                        target.flush();
                    }
                }
                case CMD_WRITE_ZEROES -> target.writeZeroes(offset, length, fua);
                default -> throw new IllegalStateException("not a dispatchable command: " + type);
            }
            return reply(alloc, 0, cookie);
        } catch (Exception e) {
            return reply(alloc, errno(e, exportName), cookie);
        } finally {
            if (data != null) {
                data.release();
            }
            if (payload != null) {
                payload.release();
            }
        }
    }

    static ByteBuf reply(ByteBufAllocator alloc, int error, long cookie) {
        return header(alloc.directBuffer(SIMPLE_REPLY_LENGTH), error, cookie);
    }

    private static ByteBuf header(ByteBuf buf, int error, long cookie) {
        return buf.setInt(0, SIMPLE_REPLY_MAGIC).setInt(4, error).setLong(8, cookie).writerIndex(SIMPLE_REPLY_LENGTH);
    }

    private int errno(Exception e, String exportName) {
        return switch (e) {
            case OutOfRangeException _ -> EINVAL;
            case PoolFullException _ -> ENOSPC;
            case TargetClosedException _ -> ESHUTDOWN;
            default -> {
                log.warn("{}: command {} at offset {} length {} failed", exportName, type, offset, length, e);
                yield EIO;
            }
        };
    }
}
