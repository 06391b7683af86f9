package io.ballast.node;

import io.ballast.api.ErrorCodes;
import io.ballast.meta.ClusterState;
import io.ballast.meta.Command;
import io.ballast.meta.CommandResult;
import io.ballast.meta.MetaStore;
import io.ballast.meta.MetaUnavailableException;
import io.ballast.meta.NodeRecord;
import io.ballast.meta.ReplicaRecord;
import io.ballast.meta.VolumeRecord;
import io.ballast.replication.IoObserver;
import io.ballast.replication.ReplicaChannel;
import io.ballast.replication.ReplicaChannels;
import io.ballast.replication.ReplicaState;
import io.ballast.replication.ReplicaStates;
import io.ballast.replication.SnapshotReplay;
import io.ballast.replication.VolumeTarget;
import io.ballast.replication.peer.PeerClient;
import io.ballast.store.StaleEpochException;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The volumes this node coordinates: opens a {@link VolumeTarget} over channels to the volume's in-sync
 * replicas at attach, and keeps bringing its other replicas back in sync while it is attached.
 *
 * <p>At attach, an in-sync replica that cannot be opened leaves the in-sync set (committed, with the new
 * epoch) before the first request; if none can be opened the attach fails. Before IO resumes the in-sync
 * replicas are reconciled over the extents their activity logs mark, which is nothing after a clean
 * detach and what the previous coordinator had in flight when it died, so they are byte-identical.
 *
 * <p>Every {@link #RESYNC_INTERVAL_MILLIS} a controller looks at the metadata for each attached volume: a
 * replica that is not in sync and whose node is up gets a resync (one per replica at a time, each on its
 * own virtual thread); replicas the volume no longer has are forgotten.
 */
final class Coordinators implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(Coordinators.class);
    static final long RESYNC_INTERVAL_MILLIS = 1_000;

    private final String self;
    private final MetaStore meta;
    private final ReplicaChannels local;
    private final PeerClient peers;
    private final ReplicaControls controls;
    private final BooleanSupplier leaseValid;
    /** Opens a volume attached here again (for a new epoch): the volume service's attach. */
    private volatile Consumer<String> reopen = volume -> { };
    /** NONE, except in a daemon deliberately broken for the fault campaign's test of its checker. */
    private final Breakage breakage = Breakage.configured();
    private final Map<String, VolumeTarget> targets = new ConcurrentHashMap<>();
    /** "volume/node" of the resyncs running now. */
    private final Set<String> resyncing = ConcurrentHashMap.newKeySet();
    /** Detached volumes this node resyncs now. */
    private final Set<String> detachedRunning = ConcurrentHashMap.newKeySet();
    /** The targets through which this node resyncs detached volumes, once opened. */
    private final Map<String, VolumeTarget> detached = new ConcurrentHashMap<>();
    /** Detached volumes whose resync failed here: not tried again before this System.nanoTime(). */
    private final Map<String, Long> detachedRetry = new ConcurrentHashMap<>();
    static final long DETACHED_RETRY_NANOS = TimeUnit.SECONDS.toNanos(10);
    private final ScheduledExecutorService controller =
            Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("resync-controller").daemon().factory());

    Coordinators(String self, MetaStore meta, ReplicaChannels local, PeerClient peers, ReplicaControls controls,
                 BooleanSupplier leaseValid) {
        this.self = self;
        this.meta = meta;
        this.local = local;
        this.peers = peers;
        this.controls = controls;
        this.leaseValid = leaseValid;
        controller.scheduleWithFixedDelay(this::resyncStale, RESYNC_INTERVAL_MILLIS, RESYNC_INTERVAL_MILLIS,
                TimeUnit.MILLISECONDS);
    }

    VolumeTarget get(String volume) {
        return targets.get(volume);
    }

    /** The target through which this node resyncs {@code volume} while it is detached, or null. */
    VolumeTarget detachedResync(String volume) {
        return detached.get(volume);
    }

    /** How the controller opens again a volume whose coordinator closed (see {@link #reopenIfReplicaBack}). */
    void reopenWith(Consumer<String> reopen) {
        this.reopen = reopen;
    }

    VolumeTarget remove(String volume) {
        return targets.remove(volume);
    }

    Collection<VolumeTarget> all() {
        return targets.values();
    }

    /**
     * Opens the coordinator of {@code volume} for attachment {@code epoch}.
     *
     * @param unclean whether the previous coordinator did not detach cleanly (only for the log: the replicas'
     *                activity logs say what to reconcile)
     */
    VolumeTarget open(VolumeRecord volume, long epoch, boolean unclean, ClusterState state, IoObserver observer) {
        List<ReplicaChannel> opened = new ArrayList<>();
        List<String> failed = new ArrayList<>();
        for (ReplicaRecord replica : volume.replicas()) {
            if (!replica.inSync()) {
                continue;
            }
            try {
                opened.add(channel(volume, replica, epoch, state));
            } catch (StaleEpochException e) {
                opened.forEach(ReplicaChannel::close);
                throw ApiException.conflict("volume " + volume.name() + " was attached elsewhere meanwhile: "
                        + e.getMessage());
            } catch (IOException | ApiException e) {
                log.warn("volume {}: in-sync replica on {} cannot be opened: {}", volume.name(), replica.node(),
                        e.getMessage());
                failed.add(replica.node() + " (" + e.getMessage() + ")");
            }
        }
        if (opened.isEmpty()) {
            throw new ApiException(ErrorCodes.UNAVAILABLE, "volume " + volume.name() + ": no in-sync replica can be"
                    + " reached: " + String.join("; ", failed));
        }
        ReplicaStates states = states(volume.name(), epoch);
        try {
            // Out of the set before the first request: writes from now on would not reach them.
            for (ReplicaRecord replica : volume.replicas()) {
                boolean reached = opened.stream().anyMatch(c -> c.node().equals(replica.node()));
                if (replica.inSync() && !reached) {
                    states.commit(replica.node(), ReplicaState.STALE);
                }
            }
        } catch (IOException e) {
            opened.forEach(ReplicaChannel::close);
            throw new ApiException(ErrorCodes.UNAVAILABLE, "volume " + volume.name() + ": an unreachable in-sync"
                    + " replica could not be taken out of the in-sync set: " + e.getMessage(), e);
        }
        VolumeTarget target = new VolumeTarget(volume.name(), epoch, volume.sizeBytes(), opened, self, states,
                leaseValid, observer);
        volume.replicas().stream().filter(r -> !r.inSync() || opened.stream().noneMatch(c -> c.node().equals(r.node())))
                .forEach(r -> target.addStale(r.node()));
        // Always: the replicas' activity logs say what may differ, and after a clean detach they are empty.
        long started = System.nanoTime();
        try {
            long copied = target.reconcile();
            if (unclean || copied > 0) {
                log.info("volume {}: reconciled {} in-sync replicas{} in {} ms; {} bytes copied", volume.name(),
                        opened.size(), unclean ? " after an unclean detach" : "",
                        (System.nanoTime() - started) / 1_000_000, copied);
            }
        } catch (IOException e) {
            closeQuietly(target);
            throw new ApiException(ErrorCodes.UNAVAILABLE, "volume " + volume.name() + ": its replicas could not"
                    + " be reconciled before IO: " + e.getMessage(), e);
        }
        VolumeTarget previous = targets.put(volume.name(), target);
        if (previous != null && previous != target) {
            closeQuietly(previous);
        }
        return target;
    }

    /** A channel to one replica, opened with {@code epoch}: in-process if it is here, else over the peer port. */
    ReplicaChannel channel(VolumeRecord volume, ReplicaRecord replica, long epoch, ClusterState state)
            throws IOException {
        return channel(replica.node(), replica.pool(), volume.id(), epoch, state);
    }

    private ReplicaChannel channel(String nodeName, String pool, String replicaId, long epoch, ClusterState state)
            throws IOException {
        if (nodeName.equals(self)) {
            return local.open(pool, replicaId, epoch);
        }
        NodeRecord node = state.nodes().get(nodeName);
        if (node == null) {
            throw new IOException("node " + nodeName + " is not a member of the cluster");
        }
        if (!node.up()) {
            throw new IOException("node " + nodeName + " is down");
        }
        return breakage.apply(peers.openChannel(new InetSocketAddress(node.address(), node.peerPort()), node.name(),
                state.clusterId(), pool, replicaId, epoch), self);
    }

    /**
     * Brings a stale replica back into the in-sync set: first its size and its snapshots
     * ({@link SnapshotReplay}), then its head. The count of snapshots taken is read first: a snapshot taken
     * after that (on the in-sync replicas only) makes the resync fail instead of leaving the replica in sync
     * without it, and the source of the snapshots is a replica in sync now, after that read, so it holds
     * every snapshot taken before it (a replica joins the set only with every snapshot, and leaves it for
     * good until it rejoins). The metadata's view of the in-sync replicas may be older than the target's.
     */
    private void resync(VolumeTarget target, VolumeRecord volume, ReplicaRecord stale, ClusterState state)
            throws IOException {
        long quiesces = target.quiesceCount();
        if (quiesces % 2 != 0) {
            throw new IOException("a snapshot is being taken; the resync starts after it");
        }
        Map<String, ReplicaState> members = target.replicaStates();
        ReplicaRecord source = volume.replicas().stream()
                .filter(r -> members.get(r.node()) == ReplicaState.IN_SYNC)
                .min(java.util.Comparator.comparing((ReplicaRecord r) -> !r.node().equals(self))) // the local one if in sync
                .orElseThrow(() -> new IOException("volume " + volume.name() + " has no in-sync replica"));
        SnapshotReplay.replay(volume.name(), volume.id(), volume.sizeBytes(), place(source, target.epoch(), state),
                place(stale, target.epoch(), state));
        target.resync(channel(volume, stale, target.epoch(), state), quiesces);
    }

    private SnapshotReplay.Place place(ReplicaRecord replica, long epoch, ClusterState state) {
        return new SnapshotReplay.Place(replica.node(), replica.pool(), controls.on(replica.node(), state),
                id -> channel(replica.node(), replica.pool(), id, epoch, state));
    }

    /** Commits replica state changes for the coordinator of {@code epoch}. */
    private ReplicaStates states(String volume, long epoch) {
        return (node, state) -> {
            String recorded = switch (state) {
                case IN_SYNC -> ReplicaRecord.IN_SYNC;
                case RESYNCING -> ReplicaRecord.RESYNCING;
                case STALE -> ReplicaRecord.STALE;
            };
            // Into the set only from resyncing: if this commit lands late (after a retry timed out and the
            // replica was given up meanwhile), it must not undo that.
            String expected = state == ReplicaState.IN_SYNC ? ReplicaRecord.RESYNCING : null;
            CommandResult result;
            try {
                result = meta.submit(new Command.SetReplicaState(volume, epoch, node, recorded, expected));
            } catch (MetaUnavailableException e) {
                throw new IOException(e.getMessage(), e);
            }
            if (!result.ok()) {
                if (state == ReplicaState.STALE && result.code().equals(CommandResult.NOT_FOUND)
                        && result.message().contains("has no replica on node")) {
                    return; // the volume no longer has it (ha-update, a rebuild elsewhere): out of the set already
                }
                // Only "epoch N is stale": a refused expected state ("the replica on X is stale, not resyncing")
                // is not a fence.
                if (result.code().equals(CommandResult.CONFLICT)
                        && result.message().contains("epoch " + epoch + " is stale")) {
                    throw new StaleEpochException(result.message());
                }
                throw new IOException(result.message());
            }
        };
    }

    /** Runs a round of the controller now (it runs every {@link #RESYNC_INTERVAL_MILLIS} anyway). */
    void resyncNow() {
        try {
            controller.execute(this::resyncStale);
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            // shutting down: nothing to resync
        }
    }

    /**
     * A target closed by the failure of its last in-sync replica is opened again, at a new epoch, as soon as
     * that replica's node is up and the volume is still attached here: without it, the volume would wait for
     * a client to open it again, and its stale replicas would wait with it.
     */
    private void reopenIfReplicaBack(VolumeTarget target, VolumeRecord volume, ClusterState state) {
        String lost = target.lostReplica();
        // A newer epoch here is an earlier try that took the epoch but could not open the replica yet.
        if (lost == null || volume == null || volume.attachment() == null
                || !volume.attachment().node().equals(self) || volume.attachment().epoch() < target.epoch()) {
            return;
        }
        NodeRecord node = state.nodes().get(lost);
        if (node != null && node.up()) {
            reopen.accept(target.volume());
        }
    }

    /** The controller's round: start a resync for every stale replica whose node is up. */
    private void resyncStale() {
        try {
            ClusterState state = meta.localState();
            resyncDetached(state);
            for (VolumeTarget target : targets.values()) {
                VolumeRecord volume = state.volumes().get(target.volume());
                if (!target.isOpen()) {
                    reopenIfReplicaBack(target, volume, state);
                    continue;
                }
                if (volume != null && volume.attachment() != null && volume.attachment().epoch() > target.epoch()) {
                    // Taken over while this node was cut off: it must not serve even reads from its replica.
                    target.abandon("attached on " + volume.attachment().node() + " with epoch "
                            + volume.attachment().epoch() + " since");
                    targets.remove(target.volume(), target);
                    continue;
                }
                if (volume == null || volume.attachment() == null || volume.attachment().epoch() != target.epoch()) {
                    continue; // the metadata has not caught up yet: nothing to decide
                }
                for (String node : target.replicaStates().keySet()) {
                    if (volume.replicas().stream().noneMatch(r -> r.node().equals(node))) {
                        target.remove(node); // ha-update dropped it
                    }
                }
                for (ReplicaRecord replica : volume.replicas()) {
                    target.addStale(replica.node());
                    NodeRecord node = state.nodes().get(replica.node());
                    if (node != null && node.up() && target.staleReplicas().contains(replica.node())) {
                        startResync(target, volume, replica, state);
                    }
                }
            }
        } catch (RuntimeException e) {
            log.warn("resync controller: {}", e.toString());
        }
    }

    /**
     * Detached volumes have no coordinator, yet their replicas must not stay out of sync until the next
     * attach (a replaced replica would leave the volume with one copy fewer for as long as its container is
     * stopped). The node of the first in-sync replica whose node is up resyncs them: it takes an epoch of
     * its own (TakeEpoch), which fences any older coordinator, opens a coordinator without a frontend over
     * the in-sync replicas, reconciles them and resyncs the others; an attach anywhere meanwhile takes a
     * newer epoch and fences it, and that attach's coordinator finishes the job. Two nodes that both think
     * they are first fence each other the same way.
     */
    private void resyncDetached(ClusterState state) {
        long now = System.nanoTime();
        for (VolumeRecord volume : state.volumes().values()) {
            if (volume.attached() || volume.replicas().stream().allMatch(ReplicaRecord::inSync)) {
                continue;
            }
            String runner = volume.replicas().stream().filter(r -> r.inSync() && up(state, r.node()))
                    .map(ReplicaRecord::node).findFirst().orElse(null);
            boolean someToResync = volume.replicas().stream().anyMatch(r -> !r.inSync() && up(state, r.node()));
            Long retry = detachedRetry.get(volume.name());
            if (!self.equals(runner) || !someToResync || (retry != null && now - retry < 0)
                    || !detachedRunning.add(volume.name())) {
                continue;
            }
            Thread.ofVirtual().name("resync-detached-" + volume.name()).start(() -> {
                try {
                    resyncDetached(volume);
                    detachedRetry.remove(volume.name());
                } catch (IOException | RuntimeException e) {
                    log.warn("volume {} (detached): resync failed (retried in {} s): {}", volume.name(),
                            TimeUnit.NANOSECONDS.toSeconds(DETACHED_RETRY_NANOS), e.getMessage());
                    detachedRetry.put(volume.name(), System.nanoTime() + DETACHED_RETRY_NANOS);
                } finally {
                    detached.remove(volume.name());
                    detachedRunning.remove(volume.name());
                }
            });
        }
    }

    private void resyncDetached(VolumeRecord volume) throws IOException {
        CommandResult taken;
        try {
            taken = meta.submit(new Command.TakeEpoch(volume.name()));
        } catch (MetaUnavailableException e) {
            throw new IOException(e.getMessage(), e);
        }
        if (!taken.ok()) {
            log.debug("volume {}: no epoch for a detached resync: {}", volume.name(), taken.message());
            return; // attached meanwhile: its coordinator resyncs
        }
        long epoch = taken.value();
        ClusterState state = meta.localState();
        List<ReplicaChannel> opened = new ArrayList<>();
        try {
            for (ReplicaRecord replica : volume.replicas()) {
                if (replica.inSync()) {
                    opened.add(channel(volume, replica, epoch, state));
                }
            }
        } catch (IOException | RuntimeException e) {
            opened.forEach(ReplicaChannel::close);
            throw e;
        }
        VolumeTarget target = new VolumeTarget(volume.name(), epoch, volume.sizeBytes(), opened, self,
                states(volume.name(), epoch), leaseValid, IoObserver.NONE);
        detached.put(volume.name(), target);
        log.info("volume {} (detached): resyncing its replicas at epoch {}", volume.name(), epoch);
        try {
            target.reconcile();
            List<String> failed = new ArrayList<>();
            for (ReplicaRecord replica : volume.replicas()) {
                if (!replica.inSync() && up(state, replica.node())) {
                    target.addStale(replica.node());
                    try {
                        resync(target, volume, replica, state);
                    } catch (IOException | RuntimeException e) {
                        if (!target.isOpen()) {
                            throw e; // fenced: attached meanwhile
                        }
                        failed.add(replica.node() + ": " + e.getMessage());
                    }
                }
            }
            if (!failed.isEmpty()) {
                throw new IOException("the replicas on " + String.join("; ", failed));
            }
        } finally {
            closeQuietly(target);
        }
    }

    private static boolean up(ClusterState state, String node) {
        NodeRecord record = state.nodes().get(node);
        return record != null && record.up();
    }

    private void startResync(VolumeTarget target, VolumeRecord volume, ReplicaRecord replica, ClusterState state) {
        String key = volume.name() + "/" + replica.node();
        if (!resyncing.add(key)) {
            return;
        }
        Thread.ofVirtual().name("resync-" + key).start(() -> {
            try {
                log.info("volume {}: resyncing the replica on {}", volume.name(), replica.node());
                resync(target, volume, replica, state);
            } catch (IOException | RuntimeException e) {
                log.warn("volume {}: resync of the replica on {} failed (retried in {} ms): {}", volume.name(),
                        replica.node(), RESYNC_INTERVAL_MILLIS, e.getMessage());
            } finally {
                resyncing.remove(key);
            }
        });
    }

    private static void closeQuietly(VolumeTarget target) {
        try {
            target.close();
        } catch (IOException e) {
            log.warn("volume {}: close failed: {}", target.volume(), e.getMessage());
        }
    }

    /** Stops the controller; the targets are closed by their owner (detach, shutdown). */
    @Override
    public void close() {
        controller.shutdownNow();
    }
}
