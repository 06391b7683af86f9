/**
 * The NBD frontend: one export per attached volume, served by {@link io.ballast.frontend.nbd.NbdServer}.
 *
 * <p>What of the protocol (doc/proto.md of the NBD project) is spoken:
 * <ul>
 *   <li>Handshake: newstyle, fixed when the client says so, with {@code NO_ZEROES}. A client
 *       that is not fixed-newstyle gets hung up on for any option but the three it knows
 *       ({@code EXPORT_NAME}, {@code ABORT}, {@code LIST}). Options {@code EXPORT_NAME},
 *       {@code ABORT}, {@code LIST}, {@code INFO} and {@code GO}; the last two always answer
 *       {@code NBD_INFO_EXPORT} and {@code NBD_INFO_BLOCK_SIZE} (1 / 4096 / 32 MiB). Every other
 *       option, structured replies and meta contexts included, gets {@code NBD_REP_ERR_UNSUP}.
 *       A refused export is answered with the registry's message ({@code ERR_UNKNOWN},
 *       {@code ERR_POLICY} or {@code ERR_SHUTDOWN}), except after {@code EXPORT_NAME}, which
 *       has no error reply: the server hangs up.
 *   <li>Transmission: simple replies; {@code READ}, {@code WRITE}, {@code FLUSH}, {@code TRIM},
 *       {@code WRITE_ZEROES} and {@code DISC}, with {@code FUA} on the writing commands and
 *       {@code NO_HOLE} accepted (zeroes are written either way); flags {@code SEND_FLUSH},
 *       {@code SEND_FUA}, {@code SEND_TRIM}, {@code SEND_WRITE_ZEROES}, {@code CAN_MULTI_CONN}.
 *       Anything else, out-of-range requests and READ/WRITE over 32 MiB get {@code EINVAL}.
 * </ul>
 */
package io.ballast.frontend.nbd;
