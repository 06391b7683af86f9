package io.ballast.replication.peer;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import java.nio.charset.StandardCharsets;

/**
 * The peer port's wire format.
 *
 * <pre>
 * connection  = preamble frame*                  (the client sends the preamble once)
 * preamble    = "BALLASTP" u32 version           (12 bytes)
 * frame       = u32 length, u8 kind, u64 request id, payload[length - 9]   (big-endian)
 * </pre>
 *
 * A reply carries the request id of its request, so requests on one connection run
 * concurrently and are answered in any order. The preamble makes a stray client (a port
 * scanner, an HTTP probe) fail on its first bytes instead of being read as the length of a
 * huge frame, and lets a later version refuse an older peer.
 *
 * <p>The first frame decides what a connection is. A control connection carries JSON
 * {@link ControlRequest}s and {@link ControlReply}s (kinds 1 and 2). A data connection starts
 * with OPEN and is then the ordered stream of one replica session, in binary:
 *
 * <pre>
 * kind              payload                                          reply
 *  3 OPEN           JSON OpenRequest                                 OK
 *  4 WRITE          u64 offset, u8 flags, data                       OK
 *  5 WRITE_ZEROES   u64 offset, u64 length, u8 flags                 OK
 *  6 TRIM           u64 offset, u64 length                           OK
 *  7 FLUSH          -                                                OK
 *  8 READ           u64 offset, u32 length                           DATA: the bytes
 *  9 CHECKSUMS      u64 offset, u64 length, u32 region bytes         DATA: u32 count, u64[count]
 * 10 EXTENTS        -                                                DATA: u32 count, (u64 offset, u64 length)[count]
 * 14 ACTIVITY       u8 flags, u32 n, u64 mark[n], u32 m, u64 unmark[m]   OK
 * 15 ACTIVE_EXTENTS -                                                DATA: u32 count, u64[count]; count
 *                                                                    0xFFFFFFFF (no entries): the log is unknown
 *
 * 11 OK             -
 * 12 DATA           as above
 * 13 ERROR          u8 code length, code (ASCII, a {@link RemoteErrors} code), message (UTF-8, the rest)
 *
 * flags: bit 0 = FUA (the data is durable when the reply is sent); for ACTIVITY, bit 0 = REPLACE
 * any request may be answered ERROR instead; a refused OPEN is followed by the close
 * </pre>
 *
 * The server applies a session's requests in the order they arrive; replies may come in
 * any order. Every request gets exactly one reply, or the connection closes. OPEN is the only
 * JSON on a data connection, once per session: the per-request path has fixed binary
 * headers, and a write's data follows its header directly, so it is copied once into the
 * frame on the client and handed to the store from the receive buffer on the server.
 */
final class Wire {
    static final byte[] MAGIC = "BALLASTP".getBytes(StandardCharsets.US_ASCII);
    /** 2: ACTIVITY and ACTIVE_EXTENTS. */
    static final int VERSION = 2;
    static final int PREAMBLE_BYTES = MAGIC.length + Integer.BYTES;

    /** After the length field: the kind and the request id. */
    static final int HEADER_BYTES = Byte.BYTES + Long.BYTES;

    /** The most data one WRITE carries or one READ asks for: NBD's largest request. */
    static final int MAX_DATA_BYTES = 32 * 1024 * 1024;

    /**
     * The largest frame, length field excluded: a write of {@link #MAX_DATA_BYTES} plus its
     * header, with room to spare. A length above it is garbage and closes the connection.
     */
    static final int MAX_FRAME_BYTES = MAX_DATA_BYTES + 64 * 1024;

    /** JSON {@link ControlRequest}, client to server. */
    static final byte CONTROL_REQUEST = 1;
    /** JSON {@link ControlReply}, server to client, with the request's id. */
    static final byte CONTROL_REPLY = 2;

    static final byte OPEN = 3;
    static final byte WRITE = 4;
    static final byte WRITE_ZEROES = 5;
    static final byte TRIM = 6;
    static final byte FLUSH = 7;
    static final byte READ = 8;
    static final byte CHECKSUMS = 9;
    static final byte EXTENTS = 10;
    static final byte OK = 11;
    static final byte DATA = 12;
    static final byte ERROR = 13;
    static final byte ACTIVITY = 14;
    static final byte ACTIVE_EXTENTS = 15;

    /** The flag bit of WRITE and WRITE_ZEROES that asks for the data to be durable before the reply. */
    static final int FUA = 1;
    /** The flag bit of ACTIVITY that makes the log exactly the extents marked. */
    static final int REPLACE = 1;
    /** The count of an ACTIVE_EXTENTS reply for a log that is unknown. */
    static final int UNKNOWN_LOG = -1;

    /** The most checksums or extents whose reply fits a frame. */
    static final int MAX_CHECKSUMS = (MAX_DATA_BYTES - Integer.BYTES) / Long.BYTES;
    static final int MAX_EXTENTS = (MAX_DATA_BYTES - Integer.BYTES) / (2 * Long.BYTES);
    /** The most extents one ACTIVITY marks and unmarks together, or one ACTIVE_EXTENTS reply carries. */
    static final int MAX_ACTIVITY_EXTENTS = (MAX_DATA_BYTES - 1 - 2 * Integer.BYTES) / Long.BYTES;

    /**
     * Unknown properties are ignored so that an older node accepts messages of a newer one
     * that added fields; nulls are left out to keep messages short.
     */
    static final ObjectMapper JSON = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .serializationInclusion(JsonInclude.Include.NON_NULL)
            .build();

    private Wire() {
    }

    static ByteBuf preamble(ByteBufAllocator alloc) {
        return alloc.buffer(PREAMBLE_BYTES).writeBytes(MAGIC).writeInt(VERSION);
    }

    static ByteBuf frame(ByteBufAllocator alloc, byte kind, long requestId, byte[] payload) {
        return frame(alloc, kind, requestId, payload.length).writeBytes(payload);
    }

    /** A buffer that holds exactly a frame of {@code payloadBytes}, its header written; the caller writes the payload. */
    static ByteBuf frame(ByteBufAllocator alloc, byte kind, long requestId, int payloadBytes) {
        ByteBuf frame = alloc.buffer(Integer.BYTES + HEADER_BYTES + payloadBytes);
        return frame.writeInt(HEADER_BYTES + payloadBytes).writeByte(kind).writeLong(requestId);
    }

    static ByteBuf error(ByteBufAllocator alloc, long requestId, String code, String message) {
        byte[] codeBytes = code.getBytes(StandardCharsets.US_ASCII);
        byte[] messageBytes = message.getBytes(StandardCharsets.UTF_8);
        return frame(alloc, ERROR, requestId, 1 + codeBytes.length + messageBytes.length)
                .writeByte(codeBytes.length).writeBytes(codeBytes).writeBytes(messageBytes);
    }

    /** The error code of an ERROR payload; leaves the message readable. */
    static String errorCode(ByteBuf payload) throws PeerProtocolException {
        int length = payload.isReadable() ? payload.readUnsignedByte() : -1;
        if (length < 0 || payload.readableBytes() < length) {
            throw new PeerProtocolException("an ERROR reply too short for its code");
        }
        return payload.readCharSequence(length, StandardCharsets.US_ASCII).toString();
    }

    /** Splits the stream into frames without their length field; fails at once on an over-long one. */
    static LengthFieldBasedFrameDecoder frameDecoder() {
        return new LengthFieldBasedFrameDecoder(MAX_FRAME_BYTES, 0, Integer.BYTES, 0, Integer.BYTES, true);
    }
}
