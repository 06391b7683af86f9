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
 * concurrently and are answered in any order. Control messages (kinds 1 and 2) carry JSON;
 * the replication data stream adds binary kinds on the same framing. The preamble makes a
 * stray client (a port scanner, an HTTP probe) fail on its first bytes instead of being read
 * as the length of a huge frame, and lets a later version refuse an older peer.
 */
final class Wire {
    static final byte[] MAGIC = "BALLASTP".getBytes(StandardCharsets.US_ASCII);
    static final int VERSION = 1;
    static final int PREAMBLE_BYTES = MAGIC.length + Integer.BYTES;

    /** After the length field: the kind and the request id. */
    static final int HEADER_BYTES = Byte.BYTES + Long.BYTES;

    /**
     * The largest frame, length field excluded. Control messages are a few hundred bytes;
     * the bound is sized for the data stream to come: a 32 MiB write (NBD's largest) plus its
     * header. A length above it is garbage and closes the connection.
     */
    static final int MAX_FRAME_BYTES = 32 * 1024 * 1024 + 64 * 1024;

    /** JSON {@link ControlRequest}, client to server. */
    static final byte CONTROL_REQUEST = 1;
    /** JSON {@link ControlReply}, server to client, with the request's id. */
    static final byte CONTROL_REPLY = 2;

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
        ByteBuf frame = alloc.buffer(Integer.BYTES + HEADER_BYTES + payload.length);
        return frame.writeInt(HEADER_BYTES + payload.length).writeByte(kind).writeLong(requestId).writeBytes(payload);
    }

    /** Splits the stream into frames without their length field; fails at once on an over-long one. */
    static LengthFieldBasedFrameDecoder frameDecoder() {
        return new LengthFieldBasedFrameDecoder(MAX_FRAME_BYTES, 0, Integer.BYTES, 0, Integer.BYTES, true);
    }
}
