package io.ballast.node;

import io.ballast.api.ClusterView;
import io.ballast.api.ErrorCodes;
import io.ballast.api.NodeView;
import io.ballast.api.PoolView;
import io.ballast.api.JoinRequest;
import io.ballast.api.JoinResponse;
import io.ballast.api.Names;
import io.ballast.meta.ClusterState;
import io.ballast.meta.Command;
import io.ballast.meta.CommandResult;
import io.ballast.meta.Membership;
import io.ballast.meta.MetaPeer;
import io.ballast.meta.MetaStore;
import io.ballast.meta.MetaUnavailableException;
import io.ballast.meta.NodeRecord;
import io.ballast.meta.PoolRecord;
import io.ballast.meta.VolumeRecord;
import io.ballast.store.Pool;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Nodes, pools and the cluster as a whole, as the API shows them; and the two membership requests:
 * a node joining, and a node being removed.
 */
final class ClusterService {
    private final String nodeName;
    private final MetaStore meta;
    private final Map<String, Pool> localPools;

    ClusterService(String nodeName, MetaStore meta, Map<String, Pool> localPools) {
        this.nodeName = nodeName;
        this.meta = meta;
        this.localPools = localPools;
    }

    /**
     * Registers a node that starts with {@code --join} pointing here, and tells it the cluster id and the
     * metadata group's members. The leader's membership controller then adds it to the group. A retried
     * join of a node registered but not yet in the group (it crashed while joining) is accepted again.
     */
    JoinResponse join(JoinRequest request) {
        NodeRecord node;
        try {
            Names.checkNodeName(request.name());
            if (request.address() == null || request.address().isBlank()) {
                throw new IllegalArgumentException("a joining node must give its address");
            }
            for (int port : new int[] {request.apiPort(), request.nbdPort(), request.peerPort(), request.raftPort()}) {
                if (port < 1 || port > 65535) {
                    throw new IllegalArgumentException("port " + port + " is out of range");
                }
            }
            long now = System.currentTimeMillis();
            // No heartbeat yet (0): the node is not given a voter seat until its daemon has started and sent one,
            // since Raft would wait on a server that is still starting.
            node = new NodeRecord(request.name(), request.address(), request.apiPort(), request.nbdPort(),
                    request.peerPort(), request.raftPort(), request.labels(), now, 0);
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid("cannot join node " + request.name() + ": " + e.getMessage());
        }
        CommandResult result = submit(new Command.JoinNode(node));
        Membership members = membership();
        if (!result.ok()) {
            NodeRecord existing = state().nodes().get(node.name());
            boolean retry = existing != null && existing.address().equals(node.address())
                    && existing.raftPort() == node.raftPort() && !members.isVoter(node.name());
            if (!retry) {
                throw new ApiException(result.code(), result.message());
            }
            // A join retried after a failed first start: up again, with no heartbeat yet, like a first join.
            submit(new Command.RegisterNode(existing.withLastHeartbeatMillis(0)));
        }
        List<JoinResponse.Member> list = new ArrayList<>();
        for (MetaPeer peer : members.voters()) {
            list.add(new JoinResponse.Member(peer.name(), peer.address()));
        }
        return new JoinResponse(state().clusterId(), list);
    }

    /**
     * Decommissions a node: the metadata refuses while it has attached volumes or holds the only in-sync
     * replica of one; the leader then drops it from the metadata group, and the node stops itself at its
     * next heartbeat if it is still running.
     */
    void remove(String name) {
        ClusterState state = state();
        if (!state.nodes().containsKey(name)) {
            throw ApiException.notFound("no node named " + name + " (ballast node list)");
        }
        if (name.equals(leader(state))) {
            // It would leave the group it leads, and its daemon stops at its next heartbeat: a group whose
            // leader vanishes mid-change can be left without a majority.
            throw ApiException.conflict("node " + name + " leads the metadata group; stop its daemon first (another"
                    + " voter takes over within seconds), then remove it");
        }
        CommandResult result = submit(new Command.RemoveNode(name));
        if (!result.ok()) {
            throw new ApiException(result.code(), result.message());
        }
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
        int up = (int) nodes.stream().filter(n -> n.state().equals(NodeRecord.UP)).count();
        return new ClusterView(state.clusterId(), leader(state), nodes.size(), up, state.volumes().size(), attached,
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
        // Roles as the leader recorded them, so that every node, voter or client, shows the same.
        List<String> voters = state.metadataVoters().isEmpty() ? membershipOrEmpty().voterNames() : state.metadataVoters();
        String leader = leader(state);
        for (NodeRecord node : state.nodes().values()) {
            List<PoolView> pools = new ArrayList<>();
            long capacity = 0;
            long used = 0;
            for (PoolRecord pool : state.pools().values()) {
                if (!pool.node().equals(node.name())) {
                    continue;
                }
                // A local pool is read directly; another node's as of its latest heartbeat.
                Pool local = localPools.get(pool.id());
                long poolUsed = local != null ? local.usedBytes() : pool.usedBytes();
                long available = local != null ? available(local) : Math.max(0, pool.capacityBytes() - poolUsed);
                pools.add(new PoolView(pool.id(), pool.node(), pool.path(), pool.cos(), pool.capacityBytes(), poolUsed,
                        available, provisioned.getOrDefault(pool.id(), 0L), volumesByPool.getOrDefault(pool.id(), 0)));
                capacity += pool.capacityBytes();
                used += poolUsed;
            }
            // The node answering is up whatever the record says: the leader may not have seen it back yet.
            boolean up = node.name().equals(nodeName) || node.up();
            String role = node.name().equals(leader) ? "leader"
                    : voters.contains(node.name()) ? "voter" : "client";
            views.add(new NodeView(node.name(), up ? NodeRecord.UP : NodeRecord.DOWN, role, node.address(),
                    node.apiPort(), node.nbdPort(), node.peerPort(), node.raftPort(), node.labels(), pools, capacity,
                    used, Instant.ofEpochMilli(node.lastHeartbeatMillis()).toString()));
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

    private CommandResult submit(Command command) {
        try {
            return meta.submit(command);
        } catch (MetaUnavailableException e) {
            throw new ApiException(ErrorCodes.UNAVAILABLE, e.getMessage(), e);
        }
    }

    private Membership membership() {
        try {
            return meta.membership();
        } catch (MetaUnavailableException e) {
            throw new ApiException(ErrorCodes.UNAVAILABLE, e.getMessage(), e);
        }
    }

    private Membership membershipOrEmpty() {
        try {
            return meta.membership();
        } catch (MetaUnavailableException e) {
            return new Membership(List.of());
        }
    }

    private String leader(ClusterState state) {
        String known = meta.leaderName();
        return known != null ? known : state.metadataLeader();
    }
}
