package io.ballast.frontend.nbd;

import static io.ballast.frontend.nbd.Nbd.CMD_DISC;
import static io.ballast.frontend.nbd.Nbd.CMD_FLUSH;
import static io.ballast.frontend.nbd.Nbd.CMD_READ;
import static io.ballast.frontend.nbd.Nbd.CMD_TRIM;
import static io.ballast.frontend.nbd.Nbd.CMD_WRITE;
import static io.ballast.frontend.nbd.Nbd.CMD_WRITE_ZEROES;
import static io.ballast.frontend.nbd.Nbd.EINVAL;
import static io.ballast.frontend.nbd.Nbd.FLAG_CAN_MULTI_CONN;
import static io.ballast.frontend.nbd.Nbd.FLAG_C_FIXED_NEWSTYLE;
import static io.ballast.frontend.nbd.Nbd.FLAG_C_NO_ZEROES;
import static io.ballast.frontend.nbd.Nbd.FLAG_FIXED_NEWSTYLE;
import static io.ballast.frontend.nbd.Nbd.FLAG_HAS_FLAGS;
import static io.ballast.frontend.nbd.Nbd.FLAG_NO_ZEROES;
import static io.ballast.frontend.nbd.Nbd.FLAG_SEND_FLUSH;
import static io.ballast.frontend.nbd.Nbd.FLAG_SEND_FUA;
import static io.ballast.frontend.nbd.Nbd.FLAG_SEND_TRIM;
import static io.ballast.frontend.nbd.Nbd.FLAG_SEND_WRITE_ZEROES;
import static io.ballast.frontend.nbd.Nbd.IHAVEOPT;
import static io.ballast.frontend.nbd.Nbd.INFO_BLOCK_SIZE;
import static io.ballast.frontend.nbd.Nbd.INFO_EXPORT;
import static io.ballast.frontend.nbd.Nbd.MAX_STRING_LENGTH;
import static io.ballast.frontend.nbd.Nbd.NBDMAGIC;
import static io.ballast.frontend.nbd.Nbd.OPTION_HEADER_LENGTH;
import static io.ballast.frontend.nbd.Nbd.OPTION_REPLY_MAGIC;
import static io.ballast.frontend.nbd.Nbd.OPT_ABORT;
import static io.ballast.frontend.nbd.Nbd.OPT_EXPORT_NAME;
import static io.ballast.frontend.nbd.Nbd.OPT_GO;
import static io.ballast.frontend.nbd.Nbd.OPT_INFO;
import static io.ballast.frontend.nbd.Nbd.OPT_LIST;
import static io.ballast.frontend.nbd.Nbd.REP_ACK;
import static io.ballast.frontend.nbd.Nbd.REP_ERR_INVALID;
import static io.ballast.frontend.nbd.Nbd.REP_ERR_POLICY;
import static io.ballast.frontend.nbd.Nbd.REP_ERR_SHUTDOWN;
import static io.ballast.frontend.nbd.Nbd.REP_ERR_UNKNOWN;
import static io.ballast.frontend.nbd.Nbd.REP_ERR_UNSUP;
import static io.ballast.frontend.nbd.Nbd.REP_INFO;
import static io.ballast.frontend.nbd.Nbd.REP_SERVER;
import static io.ballast.frontend.nbd.Nbd.REQUEST_HEADER_LENGTH;
import static io.ballast.frontend.nbd.Nbd.REQUEST_MAGIC;
import static java.nio.charset.StandardCharsets.UTF_8;

import io.ballast.replication.BlockTarget;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.AttributeKey;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One NBD connection: the fixed-newstyle handshake, then the transmission phase.
 *
 * <p>All state is confined to the channel's event loop. Anything that may block (the
 * registry, the target) runs on a virtual thread, and its outcome comes back to the loop;
 * the one exception is a plain READ or WRITE alone on its connection, served inline (see
 * {@code execute}). Requests are served concurrently and answered in completion order.
 *
 * <p>Backpressure: the handler decodes its own cumulation instead of extending
 * {@link ByteToMessageDecoder}, so that it can stop decoding mid-buffer. With
 * {@link #MAX_IN_FLIGHT} requests or {@link #MAX_IN_FLIGHT_BYTES} of payload in flight (a
 * request counts until its reply has been written to the socket), it stops decoding and
 * turns autoRead off; a client that does not read its replies is thereby throttled too.
 */
final class NbdConnection extends ChannelInboundHandlerAdapter {

    /** The export a channel serves, or is negotiating; {@link NbdServer#disconnect} matches it. */
    static final AttributeKey<String> EXPORT = AttributeKey.valueOf(NbdConnection.class, "export");

    static final int MIN_BLOCK_SIZE = 1;
    static final int PREFERRED_BLOCK_SIZE = 4096;
    /** Largest READ or WRITE; TRIM and WRITE_ZEROES carry no payload and may be longer. */
    static final int MAX_PAYLOAD = 32 << 20;

    static final int MAX_IN_FLIGHT = 128;
    static final long MAX_IN_FLIGHT_BYTES = 64L << 20;

    /** Option data beyond this is no option we know (names are at most 4 KiB). */
    private static final int MAX_OPTION_LENGTH = 2 * MAX_STRING_LENGTH;

    private static final int TRANSMISSION_FLAGS = FLAG_HAS_FLAGS | FLAG_SEND_FLUSH | FLAG_SEND_FUA
            | FLAG_SEND_TRIM | FLAG_SEND_WRITE_ZEROES | FLAG_CAN_MULTI_CONN;

    private static final Logger log = LoggerFactory.getLogger(NbdConnection.class);

    private enum Phase {
        CLIENT_FLAGS, OPTIONS, REQUESTS, WRITE_PAYLOAD, DISCARD_PAYLOAD, DISCONNECTING, CLOSED
    }

    private final ExportRegistry registry;
    private final ExecutorService executor;

    private ChannelHandlerContext ctx;
    private ByteBuf cumulation;
    private Phase phase = Phase.CLIENT_FLAGS;
    private boolean fixedNewstyle;
    private boolean noZeroes;
    /** An option is being answered off the loop; the client may not send another meanwhile. */
    private boolean optionPending;

    private String exportName;
    private BlockTarget target;
    private long exportSize;

    /** The WRITE whose payload is arriving, in {@link Phase#WRITE_PAYLOAD}. */
    private Request partialWrite;
    /** Payload bytes still to skip, in {@link Phase#DISCARD_PAYLOAD}. */
    private long discardRemaining;

    /** Guards against re-entering {@link #drain} from a listener of a write made while decoding. */
    private boolean draining;
    private int inFlight;
    private long inFlightBytes;
    private boolean flushScheduled;

    NbdConnection(ExportRegistry registry, ExecutorService executor) {
        this.registry = registry;
        this.executor = executor;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        ByteBuf greeting = ctx.alloc().buffer(18)
                .writeLong(NBDMAGIC)
                .writeLong(IHAVEOPT)
                .writeShort(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES);
        ctx.writeAndFlush(greeting, ctx.voidPromise());
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf in = (ByteBuf) msg;
        if (phase == Phase.CLOSED || phase == Phase.DISCONNECTING) {
            in.release();
            return;
        }
        cumulation = cumulation == null ? in : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), cumulation, in);
        drain();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        phase = Phase.CLOSED;
        releaseInput();
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof IOException) {
            log.debug("{}: connection error", ctx.channel().remoteAddress(), cause);
        } else {
            log.warn("{}: closing connection after an unexpected error", ctx.channel().remoteAddress(), cause);
        }
        ctx.close();
    }

    /** Decodes as much of the cumulation as the current phase and backpressure allow. */
    private void drain() {
        if (draining) {
            return;
        }
        draining = true;
        try {
            while (cumulation != null && cumulation.isReadable() && canDecode() && decode(cumulation)) {
                // Each round consumed one message or payload chunk.
            }
        } finally {
            draining = false;
        }
        if (cumulation != null) {
            if (!cumulation.isReadable()) {
                cumulation.release();
                cumulation = null;
            } else if (cumulation.refCnt() == 1) {
                // Only when no WRITE still holds a slice of it.
                cumulation.discardSomeReadBytes();
            }
        }
        if (phase != Phase.CLOSED) {
            ctx.channel().config().setAutoRead(canDecode());
        }
    }

    private boolean canDecode() {
        return switch (phase) {
            case CLIENT_FLAGS -> true;
            case OPTIONS -> !optionPending;
            case REQUESTS, WRITE_PAYLOAD, DISCARD_PAYLOAD -> inFlight < MAX_IN_FLIGHT && inFlightBytes < MAX_IN_FLIGHT_BYTES;
            case DISCONNECTING, CLOSED -> false;
        };
    }

    /** Consumes one message (or chunk of payload); false when more bytes are needed first. */
    private boolean decode(ByteBuf in) {
        return switch (phase) {
            case CLIENT_FLAGS -> decodeClientFlags(in);
            case OPTIONS -> decodeOption(in);
            case REQUESTS -> decodeRequest(in);
            case WRITE_PAYLOAD -> decodeWritePayload(in);
            case DISCARD_PAYLOAD -> {
                int n = (int) Math.min(in.readableBytes(), discardRemaining);
                in.skipBytes(n);
                discardRemaining -= n;
                if (discardRemaining == 0) {
                    phase = Phase.REQUESTS;
                }
                yield true;
            }
            case DISCONNECTING, CLOSED -> false;
        };
    }

    // ---------------------------------------------------------------- handshake

    private boolean decodeClientFlags(ByteBuf in) {
        if (in.readableBytes() < 4) {
            return false;
        }
        int flags = in.readInt();
        if ((flags & ~(FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES)) != 0) {
            return protocolError("unknown client flags 0x" + Integer.toHexString(flags));
        }
        fixedNewstyle = (flags & FLAG_C_FIXED_NEWSTYLE) != 0;
        noZeroes = (flags & FLAG_C_NO_ZEROES) != 0;
        phase = Phase.OPTIONS;
        return true;
    }

    private boolean decodeOption(ByteBuf in) {
        if (in.readableBytes() < OPTION_HEADER_LENGTH) {
            return false;
        }
        int start = in.readerIndex();
        if (in.getLong(start) != IHAVEOPT) {
            return protocolError("bad option magic 0x" + Long.toHexString(in.getLong(start)));
        }
        int option = in.getInt(start + 8);
        long length = in.getUnsignedInt(start + 12);
        if (length > MAX_OPTION_LENGTH) {
            return protocolError("option " + option + " has " + length + " bytes of data");
        }
        if (in.readableBytes() < OPTION_HEADER_LENGTH + length) {
            return false;
        }
        in.skipBytes(OPTION_HEADER_LENGTH);
        handleOption(option, in.readSlice((int) length));
        return true;
    }

    /** Answers one option; {@code data} is only valid during this call. */
    private void handleOption(int option, ByteBuf data) {
        switch (option) {
            case OPT_EXPORT_NAME -> openExport(option, data.toString(UTF_8));
            case OPT_GO, OPT_INFO -> {
                String name = parseInfoRequest(data);
                if (name == null) {
                    replyOption(option, REP_ERR_INVALID, "malformed " + (option == OPT_GO ? "NBD_OPT_GO" : "NBD_OPT_INFO"));
                } else if (option == OPT_INFO) {
                    describeExport(name);
                } else {
                    openExport(option, name);
                }
            }
            case OPT_LIST -> {
                if (data.isReadable()) {
                    replyOption(option, REP_ERR_INVALID, "NBD_OPT_LIST takes no data");
                } else {
                    listExports();
                }
            }
            case OPT_ABORT -> {
                phase = Phase.DISCONNECTING;
                if (fixedNewstyle) {
                    replyOption(option, REP_ACK, null);
                }
                ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            }
            default -> {
                if (fixedNewstyle) {
                    // Structured replies, meta contexts, TLS and extended headers land here;
                    // clients fall back to simple replies without them.
                    replyOption(option, REP_ERR_UNSUP, "option " + option + " is not supported");
                } else {
                    protocolError("option " + option + " from a client without fixed newstyle");
                }
            }
        }
    }

    /** The export name of NBD_OPT_INFO / NBD_OPT_GO data, or null if the data is malformed. */
    private static String parseInfoRequest(ByteBuf data) {
        if (data.readableBytes() < 6 || data.getUnsignedInt(0) > data.readableBytes() - 6) {
            return null;
        }
        int nameLength = data.getInt(0);
        int requests = data.getUnsignedShort(4 + nameLength);
        // The information types asked for need no answer beyond what we always send.
        return data.readableBytes() == 6 + nameLength + 2 * requests ? data.toString(4, nameLength, UTF_8) : null;
    }

    private void listExports() {
        offLoop(registry::exportNames, (names, error) -> {
            if (error != null) {
                log.warn("listing exports failed", error);
                replyOption(OPT_LIST, REP_ERR_SHUTDOWN, "cannot list exports: " + error.getMessage());
                return;
            }
            for (String name : names) {
                byte[] bytes = name.getBytes(UTF_8);
                ByteBuf data = ctx.alloc().buffer(4 + bytes.length).writeInt(bytes.length).writeBytes(bytes);
                replyOption(OPT_LIST, REP_SERVER, data);
            }
            replyOption(OPT_LIST, REP_ACK, null);
        });
    }

    /** NBD_OPT_INFO: the export's size, without attaching it (see {@link ExportRegistry#exportSize}). */
    private void describeExport(String name) {
        askRegistry(() -> registry.exportSize(name), (size, error) -> {
            if (error != null) {
                refuseExport(OPT_INFO, name, error);
            } else {
                replyExportInfo(OPT_INFO, size);
            }
        });
    }

    private record Opened(BlockTarget target, long size) {}

    private void openExport(int option, String name) {
        // Set before open() returns, so that a disconnect of this export meanwhile closes us.
        ctx.channel().attr(EXPORT).set(name);
        askRegistry(() -> {
            BlockTarget opened = registry.open(name);
            return new Opened(opened, opened.sizeBytes());
        }, (opened, error) -> {
            if (error != null) {
                ctx.channel().attr(EXPORT).set(null);
                refuseExport(option, name, error);
            } else {
                startTransmission(option, name, opened);
            }
        });
    }

    private void refuseExport(int option, String name, Throwable error) {
        if (option == OPT_EXPORT_NAME) {
            // This option has no error reply: all the protocol lets us do is hang up.
            log.info("{}: refusing export '{}': {}", ctx.channel().remoteAddress(), name, error.getMessage());
            ctx.close();
            return;
        }
        if (error instanceof ExportRefusedException refused) {
            int reply = switch (refused.reason()) {
                case UNKNOWN -> REP_ERR_UNKNOWN;
                case POLICY -> REP_ERR_POLICY;
                case UNAVAILABLE -> REP_ERR_SHUTDOWN;
            };
            log.debug("{}: refusing export '{}': {}", ctx.channel().remoteAddress(), name, refused.getMessage());
            replyOption(option, reply, refused.getMessage());
        } else {
            log.warn("{}: opening export '{}' failed", ctx.channel().remoteAddress(), name, error);
            replyOption(option, REP_ERR_SHUTDOWN, "export '" + name + "' is unavailable: " + error);
        }
    }

    private void replyExportInfo(int option, long size) {
        replyOption(option, REP_INFO, ctx.alloc().buffer(12)
                .writeShort(INFO_EXPORT)
                .writeLong(size)
                .writeShort(TRANSMISSION_FLAGS));
        // Sent whether asked for or not (the protocol allows it): it tells clients they may
        // use any alignment and how large a request may be.
        replyOption(option, REP_INFO, ctx.alloc().buffer(14)
                .writeShort(INFO_BLOCK_SIZE)
                .writeInt(MIN_BLOCK_SIZE)
                .writeInt(PREFERRED_BLOCK_SIZE)
                .writeInt(MAX_PAYLOAD));
        replyOption(option, REP_ACK, null);
    }

    private void startTransmission(int option, String name, Opened opened) {
        exportName = name;
        target = opened.target();
        exportSize = opened.size();
        if (option == OPT_GO) {
            replyExportInfo(option, exportSize);
        } else {
            ByteBuf reply = ctx.alloc().buffer(noZeroes ? 10 : 134).writeLong(exportSize).writeShort(TRANSMISSION_FLAGS);
            if (!noZeroes) {
                reply.writeZero(124);
            }
            ctx.writeAndFlush(reply, ctx.voidPromise());
        }
        phase = Phase.REQUESTS;
        log.debug("{}: serving export '{}'", ctx.channel().remoteAddress(), name);
    }

    @FunctionalInterface
    private interface RegistryCall<T> {
        T call() throws ExportRefusedException;
    }

    /** {@link #offLoop} for a registry call, whose refusal reaches {@code then} as its error. */
    private <T> void askRegistry(RegistryCall<T> call, BiConsumer<T, Throwable> then) {
        offLoop(() -> {
            try {
                return call.call();
            } catch (ExportRefusedException e) {
                throw new CompletionException(e);
            }
        }, then);
    }

    /**
     * Runs {@code work} on a virtual thread and hands its outcome to {@code then} on the event
     * loop, with option decoding paused in between. If the channel went away meanwhile (the
     * client hung up, or {@link NbdServer#disconnect} closed it while {@code open()} was
     * blocked), the outcome is dropped: such a connection must not start serving a target.
     * The inactive check matters because this task may run before {@link #channelInactive}.
     * Dropping an opened target leaks nothing, as the registry, not the connection, owns it.
     */
    private <T> void offLoop(Supplier<T> work, BiConsumer<T, Throwable> then) {
        optionPending = true;
        CompletableFuture.supplyAsync(work, executor).whenCompleteAsync((result, error) -> {
            optionPending = false;
            if (phase == Phase.CLOSED || !ctx.channel().isActive()) {
                return;
            }
            then.accept(result, error instanceof CompletionException ? error.getCause() : error);
            ctx.flush();
            drain();
        }, ctx.executor());
    }

    /** Writes an option reply; {@code data} is a message string, a buffer, or null. */
    private void replyOption(int option, int type, Object data) {
        ByteBuf payload = switch (data) {
            case null -> null;
            case ByteBuf buf -> buf;
            case String message -> {
                byte[] bytes = message.getBytes(UTF_8);
                yield ctx.alloc().buffer().writeBytes(bytes, 0, Math.min(bytes.length, MAX_STRING_LENGTH));
            }
            default -> throw new IllegalArgumentException(data.getClass().getName());
        };
        int length = payload == null ? 0 : payload.readableBytes();
        ByteBuf header = ctx.alloc().buffer(20).writeLong(OPTION_REPLY_MAGIC).writeInt(option).writeInt(type).writeInt(length);
        ctx.write(header, ctx.voidPromise());
        if (payload != null) {
            ctx.write(payload, ctx.voidPromise());
        }
        ctx.flush();
    }

    // ---------------------------------------------------------------- transmission

    private boolean decodeRequest(ByteBuf in) {
        if (in.readableBytes() < REQUEST_HEADER_LENGTH) {
            return false;
        }
        int magic = in.readInt();
        if (magic != REQUEST_MAGIC) {
            return protocolError("bad request magic 0x" + Integer.toHexString(magic));
        }
        int flags = in.readUnsignedShort();
        int type = in.readUnsignedShort();
        long cookie = in.readLong();
        long offset = in.readLong();
        long length = in.readUnsignedInt();
        switch (type) {
            case CMD_READ -> {
                if (length > MAX_PAYLOAD || !inRange(offset, length)) {
                    reject(cookie);
                } else {
                    dispatch(new Request(type, flags, cookie, offset, length, null));
                }
            }
            case CMD_WRITE -> {
                if (length > MAX_PAYLOAD || !inRange(offset, length)) {
                    // Reading and dropping the payload keeps the stream in sync, so one bad
                    // request costs the client an error, not its connection.
                    discardRemaining = length;
                    phase = length == 0 ? Phase.REQUESTS : Phase.DISCARD_PAYLOAD;
                    reject(cookie);
                } else if (in.readableBytes() >= length) {
                    dispatch(new Request(type, flags, cookie, offset, length, in.readRetainedSlice((int) length)));
                } else {
                    ByteBuf payload = ctx.alloc().directBuffer((int) length, (int) length);
                    partialWrite = new Request(type, flags, cookie, offset, length, payload);
                    countInFlight(partialWrite);
                    phase = Phase.WRITE_PAYLOAD;
                }
            }
            case CMD_FLUSH -> dispatch(new Request(type, flags, cookie, 0, 0, null));
            case CMD_TRIM, CMD_WRITE_ZEROES -> {
                if (!inRange(offset, length)) {
                    reject(cookie);
                } else {
                    dispatch(new Request(type, flags, cookie, offset, length, null));
                }
            }
            case CMD_DISC -> {
                // Requests already received are still answered; then we hang up.
                phase = Phase.DISCONNECTING;
                closeWhenIdle();
                return false;
            }
            default -> reject(cookie);
        }
        return true;
    }

    private boolean decodeWritePayload(ByteBuf in) {
        ByteBuf payload = partialWrite.payload();
        payload.writeBytes(in, Math.min(in.readableBytes(), payload.writableBytes()));
        if (!payload.isWritable()) {
            Request write = partialWrite;
            partialWrite = null;
            phase = Phase.REQUESTS;
            execute(write);
        }
        return true;
    }

    private boolean inRange(long offset, long length) {
        return offset >= 0 && offset <= exportSize && length <= exportSize - offset;
    }

    private void reject(long cookie) {
        inFlight++;
        writeReply(Request.reply(ctx.alloc(), EINVAL, cookie), 0);
    }

    private void dispatch(Request request) {
        countInFlight(request);
        execute(request);
    }

    private void countInFlight(Request request) {
        inFlight++;
        inFlightBytes += request.bufferedBytes();
    }

    private void execute(Request request) {
        BlockTarget target = this.target;
        String exportName = this.exportName;
        if (inFlight == 1 && request.runsInline()) {
            // Alone on its connection (queue depth 1), a plain READ or WRITE is served right here:
            // handing it to a virtual thread and its reply back to this loop cost two thread
            // wake-ups, which at QD1 were most of the latency (A/B in docs/benchmarks.md).
            // The price is that other connections on this loop wait for one page-cache read
            // or write; FLUSH, FUA and deeper queues still go to virtual threads.
            writeReply(request.execute(target, ctx.alloc(), exportName), request.bufferedBytes());
            return;
        }
        try {
            executor.execute(() -> {
                if (!ctx.channel().isActive()) {
                    // Nobody is left to hear the answer.
                    release(request);
                    return;
                }
                ByteBuf reply;
                try {
                    reply = request.execute(target, ctx.alloc(), exportName);
                } catch (Throwable t) {
                    // An Error (such as running out of direct memory): without a reply the
                    // request would hang, so give up the connection instead.
                    log.error("{}: closing connection after a failed request", ctx.channel().remoteAddress(), t);
                    ctx.close();
                    return;
                }
                try {
                    ctx.executor().execute(() -> writeReply(reply, request.bufferedBytes()));
                } catch (RejectedExecutionException e) {
                    reply.release();
                }
            });
        } catch (RejectedExecutionException e) {
            // The server is closing.
            release(request);
            ctx.close();
        }
    }

    private static void release(Request request) {
        if (request.payload() != null) {
            request.payload().release();
        }
    }

    /** Writes a reply on the loop; the request stops counting as in flight once it is sent. */
    private void writeReply(ByteBuf reply, long bufferedBytes) {
        ctx.write(reply).addListener(future -> {
            inFlight--;
            inFlightBytes -= bufferedBytes;
            if (phase == Phase.DISCONNECTING) {
                closeWhenIdle();
            } else if (phase != Phase.CLOSED && !ctx.channel().config().isAutoRead() && canDecode()) {
                drain();
            }
        });
        // Replies that complete together leave in one flush (one syscall).
        if (!flushScheduled) {
            flushScheduled = true;
            ctx.executor().execute(() -> {
                flushScheduled = false;
                ctx.flush();
            });
        }
    }

    private void closeWhenIdle() {
        if (inFlight == 0) {
            ctx.close();
        }
    }

    private boolean protocolError(String problem) {
        log.warn("{}: closing connection: {}", ctx.channel().remoteAddress(), problem);
        phase = Phase.CLOSED;
        releaseInput();
        ctx.close();
        return false;
    }

    private void releaseInput() {
        if (cumulation != null) {
            cumulation.release();
            cumulation = null;
        }
        if (partialWrite != null) {
            release(partialWrite);
            partialWrite = null;
        }
    }
}
