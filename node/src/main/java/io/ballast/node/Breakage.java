package io.ballast.node;

import io.ballast.replication.ForwardingReplicaChannel;
import io.ballast.replication.ReplicaChannel;
import java.nio.ByteBuffer;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deliberate bugs for proving that the fault campaign ({@code bench/faults --broken}) can fail: a checker
 * that never fails proves nothing. Off unless the daemon's JVM runs with
 * {@code -Dballast.test.breakage=NAME}; nothing in the product sets it, and a daemon started with it says so
 * loudly in its log.
 */
enum Breakage {
    NONE,
    /**
     * One write in {@value #DROP_EVERY} to another node's replica is acknowledged as if that replica had it,
     * and never sent: the coordinator acknowledges writes a replica does not have, while the metadata calls
     * that replica in sync. {@code volume verify} then finds the replicas different, and a takeover by that
     * replica loses the writes.
     */
    ACK_WITHOUT_REPLICA;

    static final String PROPERTY = "ballast.test.breakage";
    private static final int DROP_EVERY = 64;
    private static final Logger log = LoggerFactory.getLogger(Breakage.class);

    /** The breakage this JVM was started with. */
    static Breakage configured() {
        String name = System.getProperty(PROPERTY);
        if (name == null || name.isBlank()) {
            return NONE;
        }
        Breakage breakage = valueOf(name.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
        log.error("THIS DAEMON IS DELIBERATELY BROKEN ({}={}) for a test of the fault campaign's checker;"
                + " it loses data", PROPERTY, name);
        return breakage;
    }

    /** {@code channel} as the coordinator on {@code self} uses it: with this breakage's bug, if any. */
    ReplicaChannel apply(ReplicaChannel channel, String self) {
        if (this != ACK_WITHOUT_REPLICA || channel.node().equals(self)) {
            return channel;
        }
        return new DroppingChannel(channel);
    }

    /** Acknowledges every {@value #DROP_EVERY}th write without sending it; everything else goes through. */
    private static final class DroppingChannel extends ForwardingReplicaChannel {
        private final AtomicLong writes = new AtomicLong();

        DroppingChannel(ReplicaChannel replica) {
            super(replica);
        }

        @Override
        public CompletableFuture<Void> write(long offset, ByteBuffer data, boolean fua) {
            if (writes.incrementAndGet() % DROP_EVERY == 0) {
                log.error("replica on {}: write at {} acknowledged and NOT sent (deliberately broken)",
                        delegate().node(), offset);
                return CompletableFuture.completedFuture(null);
            }
            return delegate().write(offset, data, fua);
        }
    }
}
