package io.ballast.replication.peer;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Checks the preamble a client sends first, then leaves the pipeline to the frame decoder.
 * Bytes that cannot begin the magic fail at once, however few arrived.
 */
final class PreambleCheck extends ByteToMessageDecoder {

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws PeerProtocolException {
        int start = in.readerIndex();
        int n = Math.min(in.readableBytes(), Wire.MAGIC.length);
        for (int i = 0; i < n; i++) {
            if (in.getByte(start + i) != Wire.MAGIC[i]) {
                throw new PeerProtocolException("not a Ballast peer: the connection did not start with the peer"
                        + " port's preamble");
            }
        }
        if (in.readableBytes() < Wire.PREAMBLE_BYTES) {
            return;
        }
        int version = in.getInt(start + Wire.MAGIC.length);
        if (version != Wire.VERSION) {
            throw new PeerProtocolException("the peer speaks version " + version + " of the peer protocol, this node"
                    + " version " + Wire.VERSION);
        }
        in.skipBytes(Wire.PREAMBLE_BYTES);
        ctx.pipeline().remove(this); // what follows the preamble goes on to the frame decoder
    }
}
