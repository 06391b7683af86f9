package io.ballast.node;

import io.ballast.replication.ReplicaChannel;
import io.ballast.store.Extent;
import java.nio.ByteBuffer;
import java.util.List;
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
    private static final class DroppingChannel implements ReplicaChannel {
        private final ReplicaChannel replica;
        private final AtomicLong writes = new AtomicLong();

        DroppingChannel(ReplicaChannel replica) {
            this.replica = replica;
        }

        @Override
        public CompletableFuture<Void> write(long offset, ByteBuffer data, boolean fua) {
            if (writes.incrementAndGet() % DROP_EVERY == 0) {
                log.error("replica on {}: write at {} acknowledged and NOT sent (deliberately broken)",
                        replica.node(), offset);
                return CompletableFuture.completedFuture(null);
            }
            return replica.write(offset, data, fua);
        }

        @Override
        public String node() {
            return replica.node();
        }

        @Override
        public long epoch() {
            return replica.epoch();
        }

        @Override
        public CompletableFuture<Void> writeZeroes(long offset, long length, boolean fua) {
            return replica.writeZeroes(offset, length, fua);
        }

        @Override
        public CompletableFuture<Void> trim(long offset, long length) {
            return replica.trim(offset, length);
        }

        @Override
        public CompletableFuture<Void> flush() {
            return replica.flush();
        }

        @Override
        public CompletableFuture<Void> markActivity(boolean replace, long[] add, long[] remove) {
            return replica.markActivity(replace, add, remove);
        }

        @Override
        public CompletableFuture<long[]> activeExtents() {
            return replica.activeExtents();
        }

        @Override
        public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
            return replica.read(offset, dst);
        }

        @Override
        public CompletableFuture<long[]> checksums(long offset, long length, int regionBytes) {
            return replica.checksums(offset, length, regionBytes);
        }

        @Override
        public CompletableFuture<List<Extent>> allocatedExtents() {
            return replica.allocatedExtents();
        }

        @Override
        public void close() {
            replica.close();
        }
    }
}
