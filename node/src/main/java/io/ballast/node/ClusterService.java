package io.ballast.node;

import io.ballast.api.ClusterView;
import io.ballast.api.ErrorCodes;
import io.ballast.api.NodeView;
import io.ballast.api.PoolView;
import io.ballast.meta.ClusterState;
import io.ballast.meta.MetaStore;
import io.ballast.meta.MetaUnavailableException;
import io.ballast.meta.NodeRecord;
import io.ballast.meta.PoolRecord;
import io.ballast.meta.VolumeRecord;
import io.ballast.store.Pool;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Nodes, pools and the cluster as a whole, as the API shows them. */
final class ClusterService {
    /** A node whose last heartbeat is older than this is reported down. */
    static final Duration LEASE = Duration.ofSeconds(5);

    private final String nodeName;
    private final MetaStore meta;
    private final Map<String, Pool> localPools;
    private final Clock clock;

    ClusterService(String nodeName, MetaStore meta, Map<String, Pool> localPools, Clock clock) {
        this.nodeName = nodeName;
        this.meta = meta;
        this.localPools = localPools;
        this.clock = clock;
    }

    Map<String, Object> health() {
        ClusterState state = state();
        Map<String, Object> health = new LinkedHashMap<>();
        health.put("status", "ok");
        health.put("node", nodeName);
        health.put("clusterId", state.clusterId());
        return health;
    }

    ClusterView cluster() {
        ClusterState state = state();
        List<NodeView> nodes = nodes(state);
        long capacity = 0;
        long used = 0;
        long provisioned = 0;
        for (NodeView node : nodes) {
            for (PoolView pool : node.pools()) {
                capacity += pool.capacityBytes();
                used += pool.usedBytes();
                provisioned += pool.provisionedBytes();
            }
        }
        int attached = (int) state.volumes().values().stream().filter(v -> v.attachment() != null).count();
        int up = (int) nodes.stream().filter(n -> n.state().equals("up")).count();
        return new ClusterView(state.clusterId(), nodeName, nodes.size(), up, state.volumes().size(), attached,
                capacity, used, provisioned);
    }

    List<NodeView> nodes() {
        return nodes(state());
    }

    NodeView node(String name) {
        return nodes(state()).stream().filter(n -> n.name().equals(name)).findFirst()
                .orElseThrow(() -> ApiException.notFound("no node named " + name + " (ballast node list)"));
    }

    List<PoolView> pools() {
        return nodes(state()).stream().flatMap(n -> n.pools().stream()).toList();
    }

    private List<NodeView> nodes(ClusterState state) {
        Map<String, Long> provisioned = Placement.provisionedByPool(state);
        Map<String, Integer> volumesByPool = new HashMap<>();
        for (VolumeRecord volume : state.volumes().values()) {
            volume.replicas().forEach(r -> volumesByPool.merge(r.pool(), 1, Integer::sum));
        }
        List<NodeView> views = new ArrayList<>();
        long now = clock.millis();
        for (NodeRecord node : state.nodes().values()) {
            List<PoolView> pools = new ArrayList<>();
            long capacity = 0;
            long used = 0;
            for (PoolRecord pool : state.pools().values()) {
                if (!pool.node().equals(node.name())) {
                    continue;
                }
                Pool local = localPools.get(pool.id());
                long poolUsed = local != null ? local.usedBytes() : 0;
                pools.add(new PoolView(pool.id(), pool.node(), pool.path(), pool.cos(), pool.capacityBytes(), poolUsed,
                        local != null ? available(local) : 0, provisioned.getOrDefault(pool.id(), 0L),
                        volumesByPool.getOrDefault(pool.id(), 0)));
                capacity += pool.capacityBytes();
                used += poolUsed;
            }
            boolean up = node.name().equals(nodeName) || now - node.lastHeartbeatMillis() <= LEASE.toMillis();
            views.add(new NodeView(node.name(), up ? "up" : "down", node.address(), node.apiPort(), node.nbdPort(),
                    node.peerPort(), node.raftPort(), node.labels(), pools, capacity, used,
                    Instant.ofEpochMilli(node.lastHeartbeatMillis()).toString()));
        }
        return views;
    }

    /** Capacity left, unless the filesystem under the pool has less (other files share it). */
    private static long available(Pool pool) {
        long left = Math.max(0, pool.capacityBytes() - pool.usedBytes());
        try {
            return Math.min(left, Files.getFileStore(pool.dir()).getUsableSpace());
        } catch (IOException e) {
            return left;
        }
    }

    private ClusterState state() {
        try {
            return meta.state();
        } catch (MetaUnavailableException e) {
            throw new ApiException(ErrorCodes.UNAVAILABLE, e.getMessage(), e);
        }
    }
}
