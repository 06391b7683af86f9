package io.ballast.store;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * The child process of {@link CrashTest}: writes self-describing blocks until it is killed.
 * After every flush or FUA write it prints one line "DURABLE block:version ... END" naming the
 * blocks whose latest version is now durable, and after admitting a fencing epoch (a version
 * number, so epochs only grow) "EPOCH epoch END"; the parent trusts only complete lines.
 * Arguments: pool directory, seed, first version number.
 */
public final class CrashWriter {
    static final String REPLICA = "vol";
    static final int BLOCKS = 1024;

    private CrashWriter() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Random random = new Random(Long.parseLong(args[1]));
        long version = Long.parseLong(args[2]);
        Pool pool = Pool.open(dir, 0);
        Replica replica = pool.replicaIds().contains(REPLICA)
                ? pool.replica(REPLICA) : pool.create(REPLICA, (long) BLOCKS * 4096);
        Map<Long, Long> pending = new LinkedHashMap<>();
        ByteBuffer block = ByteBuffer.allocateDirect(4096);
        int snapshots = replica.snapshots().size();
        System.out.println("READY");
        while (true) {
            int dice = random.nextInt(100);
            if (dice < 85) {
                long b = random.nextInt(BLOCKS);
                long v = version++;
                fill(block.clear(), b, v);
                boolean fua = dice < 10;
                replica.write(b * 4096, block.flip(), fua);
                if (fua) {
                    report(Map.of(b, v));
                    pending.remove(b); // an older pending version of b is superseded
                } else {
                    pending.put(b, v);
                }
            } else if (dice < 96) {
                replica.flush();
                report(pending);
                pending.clear();
            } else if (dice < 97) {
                long epoch = version++;
                replica.admitEpoch(epoch);
                System.out.println("EPOCH " + epoch + " END");
            } else if (dice < 99 || replica.snapshots().isEmpty()) {
                replica.snapshot("s" + version + "-" + snapshots++);
            } else {
                // Merging a snapshot into its child, possibly the head, while being killed.
                replica.deleteSnapshot(replica.snapshots().get(random.nextInt(replica.snapshots().size())));
            }
            if (replica.snapshots().size() > 4) {
                replica.deleteSnapshot(replica.snapshots().getFirst());
            }
        }
    }

    /** Every 8-byte word of the block holds (block << 40) ^ version, so a torn block is caught. */
    static void fill(ByteBuffer buffer, long block, long version) {
        for (int i = 0; i < 4096; i += 16) {
            buffer.putLong(i, block);
            buffer.putLong(i + 8, version);
        }
        buffer.position(4096);
    }

    private static void report(Map<Long, Long> durable) {
        StringBuilder line = new StringBuilder("DURABLE");
        durable.forEach((b, v) -> line.append(' ').append(b).append(':').append(v));
        System.out.println(line.append(" END"));
    }
}
