package io.ballast.node;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * How one daemon is started: the options of {@code ballast node start}.
 *
 * @param poolSizeBytes caps each pool's capacity (0: the capacity of the pool's filesystem)
 * @param overcommit    how many times its capacity a pool may promise to thin volumes
 * @param devDir        where the FUSE mount of block files goes (null: DATA/dev)
 * @param join          HOST:API_PORT of a member of the cluster to join on first start, or null
 * @param lease         a node without a heartbeat for this long is reported down
 * @param rebuildGrace  a node down for longer than this has its replicas rebuilt elsewhere; one back sooner
 *                      is only resynced
 */
public record NodeConfig(Path dataDir, String name, String address, int apiPort, int nbdPort, int peerPort,
                         int raftPort, List<PoolConfig> pools, Map<String, String> labels, String join,
                         long poolSizeBytes, double overcommit, Path devDir, Duration lease,
                         Duration rebuildGrace) {

    public static final double DEFAULT_OVERCOMMIT = 20;
    public static final Duration DEFAULT_LEASE = Duration.ofSeconds(5);
    public static final Duration DEFAULT_REBUILD_GRACE = Duration.ofMinutes(10);

    public NodeConfig {
        lease = lease == null ? DEFAULT_LEASE : lease;
        rebuildGrace = rebuildGrace == null ? DEFAULT_REBUILD_GRACE : rebuildGrace;
    }

    /** Heartbeats go out five times per lease, so a node is declared down only after several are lost. */
    public Duration heartbeatInterval() {
        return lease.dividedBy(5);
    }

    /** One storage pool: a directory, and the class of service the operator declares for it. */
    public record PoolConfig(Path path, String cos) {

        /** Parses {@code PATH} or {@code PATH:low|medium|high}. */
        public static PoolConfig parse(String spec) {
            int colon = spec.lastIndexOf(':');
            if (colon > 0) {
                String suffix = spec.substring(colon + 1);
                if (List.of("low", "medium", "high").contains(suffix)) {
                    return new PoolConfig(Path.of(spec.substring(0, colon)), suffix);
                }
            }
            return new PoolConfig(Path.of(spec), null);
        }
    }

    public Path effectiveDevDir() {
        return devDir != null ? devDir : dataDir.resolve("dev");
    }

    public Path pidFile() {
        return dataDir.resolve("node.pid");
    }

    /** The pools to open: the configured ones, else one file-backed pool under the data directory. */
    public List<PoolConfig> effectivePools() {
        return pools.isEmpty() ? List.of(new PoolConfig(dataDir.resolve("pools").resolve("default"), null)) : pools;
    }
}
