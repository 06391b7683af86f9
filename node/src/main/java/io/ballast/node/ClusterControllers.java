package io.ballast.node;

import io.ballast.meta.ClusterState;
import io.ballast.meta.Command;
import io.ballast.meta.CommandResult;
import io.ballast.meta.Membership;
import io.ballast.meta.MetaStore;
import io.ballast.meta.MetaUnavailableException;
import io.ballast.meta.NodeRecord;
import io.ballast.meta.VoterPolicy;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The controllers that run on the metadata leader, once per tick: they declare nodes whose lease expired
 * down, and move the metadata group's membership one step towards what {@link VoterPolicy} wants. Every
 * daemon runs this loop; only the one whose node leads acts, so a failover moves the controllers with
 * the leadership.
 *
 * <p>Leases are judged by this node's monotonic clock: a node is down when the leader has seen its
 * heartbeat value stay the same for a whole lease. The heartbeat's own timestamp is the node's clock and is
 * only compared with itself, so clock skew between hosts cannot make a live node look dead. A new leader
 * starts every lease afresh, which delays detection by at most one lease after a failover.
 */
final class ClusterControllers implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ClusterControllers.class);

    private final MetaStore meta;
    private final Duration lease;
    private final ScheduledExecutorService executor =
            Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("cluster-controllers").daemon().factory());
    /** Node name to the heartbeat value last seen and when (System.nanoTime) it was first seen. */
    private final Map<String, long[]> seen = new HashMap<>();
    private boolean leading;
    private String lastMembershipError;

    /** Replaces a volume's replica on a node that stayed down past the grace period (volume, node). */
    interface ReplicaReplacer {
        void replace(String volume, String node);
    }

    private final Duration rebuildGrace;
    private final ReplicaReplacer replacer;

    ClusterControllers(MetaStore meta, Duration lease, Duration rebuildGrace, ReplicaReplacer replacer) {
        this.meta = meta;
        this.lease = lease;
        this.rebuildGrace = rebuildGrace;
        this.replacer = replacer;
    }

    void start(Duration tick) {
        executor.scheduleWithFixedDelay(this::tick, tick.toMillis(), tick.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void tick() {
        try {
            if (!meta.isLeader()) {
                leading = false;
                return;
            }
            if (!leading) {
                leading = true;
                seen.clear();
                log.info("this node leads the metadata group: it now judges leases and membership");
            }
            ClusterState state = meta.localState();
            checkLeases(state);
            reconcileMembership(state);
            replaceLostReplicas(state);
        } catch (RuntimeException e) {
            log.error("cluster controllers: {}", e.toString(), e);
        }
    }

    private void checkLeases(ClusterState state) {
        long now = System.nanoTime();
        seen.keySet().retainAll(state.nodes().keySet());
        for (NodeRecord node : state.nodes().values()) {
            long[] last = seen.get(node.name());
            if (last == null || last[0] != node.lastHeartbeatMillis()) {
                seen.put(node.name(), new long[] {node.lastHeartbeatMillis(), now});
                continue;
            }
            if (node.up() && now - last[1] > lease.toNanos() && !node.name().equals(meta.nodeName())) {
                try {
                    CommandResult result = meta.submit(new Command.MarkNodeDown(node.name(), node.lastHeartbeatMillis()));
                    if (result.ok()) {
                        log.warn("node {} is down: no heartbeat for {} ms", node.name(), (now - last[1]) / 1_000_000);
                    }
                } catch (MetaUnavailableException e) {
                    log.warn("could not mark node {} down: {}", node.name(), e.getMessage());
                }
            }
        }
    }

    /**
     * A node silent for longer than the grace period (as this leader measured it) has its replicas replaced
     * by new ones placed elsewhere, which their coordinators rebuild; its own are deleted when it returns
     * (its start deletes replicas the metadata no longer names). A node back within the grace period only
     * needs a resync, so nothing is done before.
     */
    private void replaceLostReplicas(ClusterState state) {
        long now = System.nanoTime();
        for (NodeRecord node : state.nodes().values()) {
            long[] last = seen.get(node.name());
            if (node.up() || last == null || now - last[1] < rebuildGrace.toNanos()) {
                continue;
            }
            for (io.ballast.meta.VolumeRecord volume : state.volumes().values()) {
                if (volume.replicas().stream().anyMatch(r -> r.node().equals(node.name()))) {
                    replacer.replace(volume.name(), node.name());
                }
            }
        }
    }

    private void reconcileMembership(ClusterState state) {
        try {
            Membership current = meta.membership();
            Membership desired = VoterPolicy.desired(state.nodes(), current, meta.nodeName());
            if (VoterPolicy.differs(current, desired)) {
                Membership step = VoterPolicy.nextStep(current, desired, state.nodes());
                if (step.equals(current)) {
                    noteOnce("metadata voters " + current.voterNames() + " should become " + desired.voterNames()
                            + ", but no single step keeps a live majority; waiting for voters to come back");
                } else {
                    log.info("metadata voters {} -> {}", current.voterNames(), step.voterNames());
                    meta.reconfigure(step);
                    current = meta.membership();
                }
            }
            recordRoles(state, current);
        } catch (MetaUnavailableException e) {
            // Typically a new voter that is not running yet; retried next tick.
            noteOnce("metadata membership change failed, will retry: " + e.getMessage());
        }
    }

    /** Logs a message once until a different one comes, so a condition that lasts does not flood the log. */
    private void noteOnce(String message) {
        if (!message.equals(lastMembershipError)) {
            log.warn(message);
            lastMembershipError = message;
        }
    }

    /** Writes the voters and the leader into the state, for nodes that do not vote to show. */
    private void recordRoles(ClusterState state, Membership current) throws MetaUnavailableException {
        java.util.List<String> voters = current.voterNames().stream().sorted().toList();
        if (!voters.equals(state.metadataVoters()) || !meta.nodeName().equals(state.metadataLeader())) {
            meta.submit(new Command.SetMetadataRoles(voters, meta.nodeName()));
        }
    }

    @Override
    public void close() {
        executor.shutdownNow();
        try {
            executor.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
