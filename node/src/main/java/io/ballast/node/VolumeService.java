package io.ballast.node;

import io.ballast.api.ErrorCodes;
import io.ballast.api.Names;
import io.ballast.api.SnapshotView;
import io.ballast.api.VolumeSpec;
import io.ballast.api.VerifyView;
import io.ballast.api.VolumeView;
import io.ballast.meta.AttachmentRecord;
import io.ballast.meta.ClusterState;
import io.ballast.meta.Command;
import io.ballast.meta.CommandResult;
import io.ballast.meta.MetaStore;
import io.ballast.meta.MetaUnavailableException;
import io.ballast.meta.NodeRecord;
import io.ballast.meta.ReplicaRecord;
import io.ballast.meta.SnapshotRecord;
import io.ballast.meta.VolumeRecord;
import io.ballast.replication.ResyncProgress;
import io.ballast.replication.VerifyReport;
import io.ballast.replication.VolumeTarget;
import io.ballast.replication.peer.PeerUnavailableException;
import io.ballast.replication.peer.ReplicaControl;
import io.ballast.store.NoSuchReplicaException;
import io.ballast.store.NoSuchSnapshotException;
import io.ballast.store.Pool;
import io.ballast.store.PoolFullException;
import io.ballast.store.Replica;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every operation on volumes and snapshots, on the node that serves the request.
 *
 * <p>The metadata store is the truth about which volumes and snapshots exist; the pools hold
 * their data. Each operation changes both in an order chosen so that a crash between the two
 * steps never leaves metadata pointing at data that is not there:
 * <ul>
 *   <li>create, clone, snapshot: the store first, then the metadata. A crash in between leaves
 *       an unreferenced replica or snapshot, which {@link #reconcile} removes at the next start;</li>
 *   <li>delete, snapshot delete, resize: the metadata first, then the store; {@link #reconcile}
 *       finishes the store's half at the next start.</li>
 * </ul>
 * Operations on one volume are serialized by a per-volume lock, so that, say, a restore cannot
 * race an attach.
 */
public final class VolumeService implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(VolumeService.class);
    private static final int LOCK_STRIPES = 256;

    private final NodeConfig config;
    private final MetaStore meta;
    private final Map<String, Pool> pools;
    private final ReplicaControls replicaControls;
    private final NodeApiClient nodeApi;
    private final NodeMetrics metrics;
    private final Placement placement;
    private final Clock clock;
    private final ReentrantLock[] locks = new ReentrantLock[LOCK_STRIPES];
    private final Coordinators coordinators;
    private volatile Consumer<String> onDetach = name -> {};
    private volatile HostMounts host;

    public VolumeService(NodeConfig config, MetaStore meta, Map<String, Pool> pools, ReplicaControls replicaControls,
                         Coordinators coordinators, NodeApiClient nodeApi, NodeMetrics metrics, Clock clock) {
        this.config = config;
        this.coordinators = coordinators;
        this.meta = meta;
        this.pools = Map.copyOf(pools);
        this.replicaControls = replicaControls;
        this.nodeApi = nodeApi;
        this.metrics = metrics;
        this.placement = new Placement(config.overcommit());
        this.clock = clock;
        for (int i = 0; i < LOCK_STRIPES; i++) {
            locks[i] = new ReentrantLock();
        }
        coordinators.reopenWith(this::reopen); // last: the controller may call it at once
    }

    /** The volumes attached on this host as devices and mounts: detach releases them first. */
    void hostMounts(HostMounts host) {
        this.host = host;
    }

    /** Called with a volume's name before it is detached here, to disconnect its clients. */
    public void onDetach(Consumer<String> listener) {
        this.onDetach = listener;
    }

    // ---- volumes -------------------------------------------------------------------------

    public VolumeView create(VolumeSpec request) {
        long start = System.nanoTime();
        VolumeSpec spec = valid(request::withDefaults);
        return locked(spec.name(), () -> {
            // Placement needs a recent view, not a linearizable one: CreateVolume is refused at apply if
            // the name was taken meanwhile, and the replicas made for it are then deleted again.
            ClusterState state = recentState();
            if (state.volumes().containsKey(spec.name())) {
                throw ApiException.conflict("volume " + spec.name() + " already exists; choose another name");
            }
            String id = UUID.randomUUID().toString();
            List<Placement.Choice> choices;
            List<ReplicaRecord> placed;
            ClusterState candidates = state;
            for (;;) {
                choices = placement.place(spec, candidates);
                placed = replicas(choices);
                try {
                    // Empty replicas are identical, so every one of them starts in sync.
                    onEveryReplica(placed, state, "create", (c, r) -> c.create(r.pool(), id, spec.sizeBytes()),
                            (c, r) -> c.delete(r.pool(), id));
                    break;
                } catch (ApiException e) {
                    // A node that died within its lease still looks up: place again without it.
                    String unreachable = unreachableNode(e, placed);
                    if (unreachable == null) {
                        throw e;
                    }
                    log.warn("volume {}: node {} is unreachable; placing again without it", spec.name(), unreachable);
                    candidates = withoutNode(candidates, unreachable);
                }
            }
            VolumeRecord volume = new VolumeRecord(id, spec.name(), spec.sizeBytes(), spec.repl(),
                    lowestClass(choices), spec.fs(), spec.labels(), clock.millis(), placed, null, 0, List.of(),
                    null, null);
            List<ReplicaRecord> created = placed;
            commitOrUndo(new Command.CreateVolume(volume), () -> undoEverywhere(created, state, "create",
                    (c, r) -> c.delete(r.pool(), id)));
            metrics.volumeCreated(System.nanoTime() - start);
            // The state read before placing is enough to show a new, detached volume: no second round trip.
            return view(volume, state, false);
        });
    }

    public List<VolumeView> list() {
        ClusterState state = state();
        List<VolumeView> views = new ArrayList<>(state.volumes().size());
        for (VolumeRecord volume : state.volumes().values()) {
            views.add(view(volume, state, false));
        }
        return views;
    }

    public VolumeView inspect(String name) {
        ClusterState state = state();
        return view(volume(state, name), state, true);
    }

    public void delete(String name) {
        VolumeRecord deleted = locked(name, () -> {
            VolumeRecord volume = volume(state(), name);
            if (volume.attachment() != null) {
                throw ApiException.conflict("volume " + name + " is attached on " + volume.attachment().node()
                        + "; detach it first (ballast volume detach " + name + ")");
            }
            commit(new Command.DeleteVolume(name));
            // Committed: a replica a node cannot delete now is deleted by that node's reconcile at its next start.
            bestEffortOnEveryReplica(volume.replicas(), "delete volume " + name, (c, r) -> c.delete(r.pool(), volume.id()));
            metrics.forget(name);
            return volume;
        });
        // Outside the clone's lock: taking the source's lock while holding it could deadlock
        // with a clone of that source onto this name, which takes the two in stripe order.
        deleteImplicitSnapshot(deleted);
    }

    public VolumeView resize(String name, long newSize) {
        AttachmentRecord attached = volume(state(), name).attachment();
        if (attached != null && !attached.node().equals(config.name())) {
            // The coordinator serves the volume's size, so it grows it.
            NodeRecord owner = upNode(attached.node());
            return nodeApi.post(owner.name(), owner.address() + ":" + owner.apiPort(), "/v1/volumes/" + encode(name)
                    + "/resize", new io.ballast.api.ResizeRequest(newSize, null), VolumeView.class);
        }
        return locked(name, () -> {
            VolumeRecord volume = volume(state(), name);
            if (newSize < volume.sizeBytes()) {
                throw ApiException.invalid("volume " + name + " is " + io.ballast.api.Sizes.format(volume.sizeBytes())
                        + "; it can only grow, and " + io.ballast.api.Sizes.format(newSize) + " is smaller");
            }
            ClusterState state = state();
            placement.checkGrowth(volume, newSize, state);
            commit(new Command.ResizeVolume(name, newSize));
            // Committed: a replica that cannot grow now grows in its node's reconcile at the next start.
            bestEffortOnEveryReplica(volume.replicas(), "resize volume " + name,
                    (c, r) -> c.grow(r.pool(), volume.id(), newSize));
            VolumeTarget target = coordinators.get(name);
            if (target != null) {
                target.grow(newSize);
            }
            return inspect(name);
        });
    }

    public VolumeView clone(String source, String snapshot, String newName) {
        valid(() -> {
            Names.checkVolumeName(newName);
            return null;
        });
        return locked(source, newName, () -> {
            ClusterState state = state();
            VolumeRecord origin = volume(state, source);
            if (state.volumes().containsKey(newName)) {
                throw ApiException.conflict("volume " + newName + " already exists; choose another name");
            }
            String snap = snapshot;
            if (snap == null) {
                // A clone of a live volume is a clone of a snapshot taken now, kept so that the
                // clone's data has a layer to stand on; it is listed like any other snapshot.
                snap = implicitSnapshotName(newName);
                createSnapshotLocked(origin, snap);
            } else if (origin.snapshots().stream().noneMatch(s -> s.name().equals(snapshot))) {
                throw ApiException.notFound("volume " + source + " has no snapshot " + snapshot
                        + " (ballast snapshot list " + source + ")");
            }
            String id = UUID.randomUUID().toString();
            String fromSnapshot = snap;
            // Each replica of the origin clones its own copy of the snapshot, in place: no data moves, and the
            // clone's replicas stand exactly where the origin's do, each as in sync as the one it came from.
            // Only in-sync replicas hold the snapshot's data (a stale one may lack it altogether).
            List<ReplicaRecord> placed = inSync(origin);
            try {
                onEveryReplica(placed, state, "clone", (c, r) -> c.cloneFrom(r.pool(), origin.id(), fromSnapshot, id),
                        (c, r) -> c.delete(r.pool(), id));
            } catch (ApiException e) {
                if (snapshot == null) {
                    undoImplicitSnapshot(source, fromSnapshot);
                }
                throw e;
            }
            VolumeRecord clone = new VolumeRecord(id, newName, origin.sizeBytes(), origin.repl(), origin.cos(),
                    origin.fs(), origin.labels(), clock.millis(), placed, null, 0, List.of(), source, fromSnapshot);
            try {
                commitOrUndo(new Command.CreateVolume(clone), () -> undoEverywhere(placed, state, "clone",
                        (c, r) -> c.delete(r.pool(), id)));
            } catch (ApiException e) {
                if (snapshot == null && !e.code().equals(ErrorCodes.UNAVAILABLE)) {
                    undoImplicitSnapshot(source, fromSnapshot);
                }
                throw e;
            }
            return view(clone, state(), false);
        });
    }

    /**
     * A clone of a live volume stands on a snapshot taken for it ({@code clone-NAME}); deleting
     * the clone deletes that snapshot too, so the name can be cloned again and snapshots do not
     * pile up. The snapshot's data stays while anything else stands on it.
     */
    private void deleteImplicitSnapshot(VolumeRecord clone) {
        String source = clone.sourceVolume();
        if (source == null || !implicitSnapshotName(clone.name()).equals(clone.sourceSnapshot())) {
            return;
        }
        try {
            locked(source, () -> {
                VolumeRecord origin = state().volumes().get(source);
                if (origin != null
                        && origin.snapshots().stream().anyMatch(s -> s.name().equals(clone.sourceSnapshot()))) {
                    deleteSnapshotLocked(origin, clone.sourceSnapshot());
                }
                return null;
            });
        } catch (RuntimeException e) {
            // The clone is gone either way; the snapshot stays listed and can be deleted by hand.
            log.error("volume {}: deleted, but its snapshot {}/{} could not be: {}", clone.name(), source,
                    clone.sourceSnapshot(), e.getMessage());
        }
    }

    private static String implicitSnapshotName(String cloneName) {
        return "clone-" + cloneName;
    }

    /** A clone that failed leaves no trace: not even the snapshot it took to stand on. */
    private void undoImplicitSnapshot(String volume, String snapshot) {
        try {
            deleteSnapshotLocked(volume(state(), volume), snapshot);
        } catch (RuntimeException e) {
            log.error("volume {}: could not remove snapshot {} after a failed clone: {}", volume, snapshot, e.getMessage());
        }
    }

    public VolumeView restore(String name, String snapshot) {
        return locked(name, () -> {
            VolumeRecord volume = volume(state(), name);
            if (volume.attachment() != null) {
                throw ApiException.conflict("volume " + name + " is attached on " + volume.attachment().node()
                        + "; detach it before restoring (ballast volume detach " + name + ")");
            }
            if (volume.snapshots().stream().noneMatch(s -> s.name().equals(snapshot))) {
                throw ApiException.notFound("volume " + name + " has no snapshot " + snapshot
                        + " (ballast snapshot list " + name + ")");
            }
            // A volume can be attached only where its one in-sync replica lives, and that node's attach runs
            // under that node's volume lock. So a restore of such a volume runs there too, under the same lock:
            // run from here, it could roll back the replica under a coordinator that the other node attached
            // meanwhile, and lose writes it acknowledged.
            List<ReplicaRecord> current = inSync(volume);
            if (current.size() == 1 && !replicaControls.isLocal(current.getFirst().node())) {
                NodeRecord owner = upNode(current.getFirst().node());
                return nodeApi.post(owner.name(), owner.address() + ":" + owner.apiPort(),
                        "/v1/volumes/" + encode(name) + "/restore", new io.ballast.api.RestoreRequest(snapshot),
                        VolumeView.class);
            }
            // All or nothing would need a transaction across nodes. So first make sure every in-sync replica
            // has the snapshot (a failure then touches nothing); a replica that still fails to restore is
            // reported, and the restore can be retried (restoring twice is the same as once). Replicas not in
            // sync are left alone: they are stale either way.
            ClusterState state = state();
            List<ReplicaRecord> targets = current;
            onEveryReplica(targets, state, "restore", (c, r) -> {
                if (!c.stat(r.pool(), volume.id()).snapshots().contains(snapshot)) {
                    throw new NoSuchSnapshotException("the replica of volume " + volume.name() + " on " + r.node()
                            + " has no snapshot " + snapshot + "; nothing was restored");
                }
            }, null);
            onEveryReplica(targets, state, "restore", (c, r) -> c.restore(r.pool(), volume.id(), snapshot), null);
            return inspect(name);
        });
    }

    /**
     * Changes how many replicas the volume has ({@code volume ha-update}). New replicas are placed like a
     * new volume's, away from the nodes, zones and racks that already hold one, and created empty: they
     * are {@code stale} until replication copies the data into them and a committed change adds them to
     * the in-sync set. Fewer replicas drop, in this order, those not in sync, those on down nodes, then
     * the newest; never the last in-sync replica, nor the replica on the node the volume is attached to.
     */
    public VolumeView haUpdate(String name, int repl) {
        if (repl < 1 || repl > VolumeSpec.MAX_REPL) {
            throw ApiException.invalid("repl " + repl + " is out of range: use 1, 2 or 3");
        }
        AttachmentRecord attached = volume(state(), name).attachment();
        if (attached != null && !attached.node().equals(config.name())) {
            // The coordinator must drop and add replicas itself, in step with the committed change.
            NodeRecord owner = upNode(attached.node());
            return nodeApi.post(owner.name(), owner.address() + ":" + owner.apiPort(), "/v1/volumes/" + encode(name)
                    + "/ha-update", new io.ballast.api.HaUpdateRequest(repl), VolumeView.class);
        }
        return locked(name, () -> {
            ClusterState state = state();
            VolumeRecord volume = volume(state, name);
            List<ReplicaRecord> next = new ArrayList<>(volume.replicas());
            List<ReplicaRecord> added = new ArrayList<>();
            List<ReplicaRecord> dropped = new ArrayList<>();
            if (repl > next.size()) {
                for (Placement.Choice choice : placement.placeMore(volume, repl - next.size(), state)) {
                    added.add(new ReplicaRecord(choice.node(), choice.poolId(), ReplicaRecord.STALE));
                }
                onEveryReplica(added, state, "create", (c, r) -> c.create(r.pool(), volume.id(), volume.sizeBytes()),
                        (c, r) -> c.delete(r.pool(), volume.id()));
                next.addAll(added);
            } else if (repl < next.size()) {
                String attachedOn = volume.attached() ? volume.attachment().node() : null;
                List<ReplicaRecord> candidates = new ArrayList<>(next);
                candidates.removeIf(r -> r.node().equals(attachedOn));
                java.util.Collections.reverse(candidates); // newest first among equals
                candidates.sort(java.util.Comparator.comparing((ReplicaRecord r) -> r.inSync())
                        .thenComparing(r -> { NodeRecord n = state.nodes().get(r.node()); return n != null && n.up(); }));
                for (ReplicaRecord candidate : candidates) {
                    if (next.size() == repl) {
                        break;
                    }
                    long inSyncLeft = next.stream().filter(r -> r != candidate && r.inSync()).count();
                    if (candidate.inSync() && inSyncLeft == 0) {
                        continue;
                    }
                    next.remove(candidate);
                    dropped.add(candidate);
                }
                if (next.size() != repl) {
                    throw ApiException.conflict("volume " + name + " cannot go down to " + repl + " replicas: it must"
                            + " keep an in-sync replica and the one on " + attachedOn + ", where it is attached");
                }
            }
            commitOrUndo(new Command.SetReplicas(name, repl, next), () -> undoEverywhere(added, state, "ha-update",
                    (c, r) -> c.delete(r.pool(), volume.id())));
            VolumeTarget target = coordinators.get(name);
            if (target != null) {
                // Before the dropped replicas' files go: the coordinator stops writing to them first, and a
                // replica added on a node that just lost one is a new, empty one (a full rebuild).
                dropped.forEach(r -> target.remove(r.node()));
                added.forEach(r -> target.addStale(r.node()));
            }
            bestEffortOnEveryReplica(dropped, "drop replica of " + name, (c, r) -> c.delete(r.pool(), volume.id()));
            if (!added.isEmpty()) {
                coordinators.resyncNow(); // the new replicas' rebuild starts now, not at the next round
            }
            return inspect(name);
        });
    }

    /**
     * Replaces the volume's replica on {@code downNode}, down past the grace period, by a new one placed on
     * another node; the coordinator rebuilds it (a full copy of the regions holding data) while the volume
     * is attached. Skipped while that replica is the volume's last in-sync one, or when placement finds no
     * room (logged; tried again on the next tick).
     */
    void replaceReplica(String name, String downNode) {
        try {
            locked(name, () -> {
                ClusterState state = state();
                VolumeRecord volume = state.volumes().get(name);
                if (volume == null || volume.replicas().stream().noneMatch(r -> r.node().equals(downNode))) {
                    return null;
                }
                if (volume.replicas().stream().noneMatch(r -> r.inSync() && !r.node().equals(downNode))) {
                    log.warn("volume {}: its only in-sync replica is on {}, down past the grace period; waiting for"
                            + " that node, as no other replica holds its data", name, downNode);
                    return null;
                }
                List<Placement.Choice> choices = placement.placeMore(volume, 1, state);
                ReplicaRecord added = new ReplicaRecord(choices.getFirst().node(), choices.getFirst().poolId(),
                        ReplicaRecord.STALE);
                onEveryReplica(List.of(added), state, "create", (c, r) -> c.create(r.pool(), volume.id(),
                        volume.sizeBytes()), (c, r) -> c.delete(r.pool(), volume.id()));
                List<ReplicaRecord> next = new ArrayList<>(volume.replicas());
                next.removeIf(r -> r.node().equals(downNode));
                next.add(added);
                commitOrUndo(new Command.SetReplicas(name, volume.repl(), next), () -> undoEverywhere(List.of(added),
                        state, "rebuild", (c, r) -> c.delete(r.pool(), volume.id())));
                log.warn("volume {}: node {} stayed down past the grace period; its replica is replaced by a new one"
                        + " on {}, to be rebuilt", name, downNode, added.node());
                return null;
            });
        } catch (ApiException e) {
            log.warn("volume {}: cannot replace the replica on {} yet: {}", name, downNode, e.getMessage());
        }
    }

    // ---- attachment ----------------------------------------------------------------------

    /**
     * Attaches the volume on this node (a no-op if it already is) and returns its IO path: a coordinator
     * over the volume's in-sync replicas, wherever they are. A volume attached on a node that is down is
     * taken over, and its replicas are reconciled before the first request.
     */
    public VolumeTarget attachHere(String name) {
        return locked(name, () -> {
            VolumeRecord before = volume(state(), name);
            VolumeTarget current = coordinators.get(name);
            CommandResult result = commit(new Command.AttachVolume(name, config.name(), clock.millis()));
            long epoch = result.value();
            if (current != null && current.isOpen() && current.epoch() == epoch) {
                return current;
            }
            if (current != null && current.epoch() == epoch) {
                // This node's coordinator of this very epoch closed without a detach (its last in-sync replica
                // failed, or a detach's flush did). Reopening at the same epoch would let IO of the old one
                // still queued on a replica land after new writes: detach and attach again for a new epoch,
                // whose channels wait that IO out.
                current.abandon("reopened at a new epoch");
                commit(new Command.DetachVolume(name));
                epoch = commit(new Command.AttachVolume(name, config.name(), clock.millis())).value();
                log.info("volume {}: its coordinator of epoch {} had closed; reopened at epoch {}", name,
                        current.epoch(), epoch);
            }
            // Attached before without a coordinator here that saw it through: a node that died (a takeover)
            // or this node before a restart. Writes may have been in flight on some replicas only.
            boolean unclean = before.attachment() != null;
            ClusterState state = state();
            try {
                return coordinators.open(volume(state, name), epoch, unclean, state, metrics.observer(name));
            } catch (ApiException e) {
                if (before.attachment() == null) {
                    try {
                        commit(new Command.DetachVolume(name)); // not attached after all: leave it free for others
                    } catch (ApiException undo) {
                        log.warn("volume {}: could not undo the attach: {}", name, undo.getMessage());
                    }
                }
                throw e;
            }
        });
    }

    /** Opens again a volume attached here whose coordinator closed; tried again by the next controller round. */
    private void reopen(String name) {
        try {
            attachHere(name);
        } catch (RuntimeException e) {
            log.warn("volume {}: cannot open it again yet: {}", name, e.getMessage());
        }
    }

    /** Attaches here, or forwards the request to {@code node}'s API: every node answers every request. */
    public VolumeView attach(String name, String node) {
        if (node != null && !node.equals(config.name())) {
            NodeRecord target = upNode(node);
            return nodeApi.post(node, target.address() + ":" + target.apiPort(),
                    "/v1/volumes/" + encode(name) + "/attach", new io.ballast.api.AttachRequest(node, null),
                    VolumeView.class);
        }
        attachHere(name);
        return inspect(name);
    }

    private NodeRecord upNode(String node) {
        NodeRecord record = state().nodes().get(node);
        if (record == null) {
            throw ApiException.notFound("no node named " + node + " (ballast node list)");
        }
        if (!record.up()) {
            throw new ApiException(ErrorCodes.UNAVAILABLE, "node " + node + " is down; it cannot serve the request");
        }
        return record;
    }

    private static String encode(String segment) {
        return java.net.URLEncoder.encode(segment, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20");
    }

    public VolumeView detach(String name) {
        return locked(name, () -> {
            VolumeRecord volume = volume(state(), name);
            AttachmentRecord attachment = volume.attachment();
            if (attachment == null) {
                return view(volume, state(), false);
            }
            if (!attachment.node().equals(config.name())) {
                NodeRecord owner = state().nodes().get(attachment.node());
                if (owner == null || !owner.up()) {
                    throw new ApiException(ErrorCodes.UNAVAILABLE, "volume " + name + " is attached on "
                            + attachment.node() + ", which is " + (owner == null ? "no longer a member" : "down")
                            + "; it can be detached once that node is back");
                }
                return nodeApi.post(owner.name(), owner.address() + ":" + owner.apiPort(),
                        "/v1/volumes/" + encode(name) + "/detach", java.util.Map.of(), VolumeView.class);
            }
            HostMounts mounts = host;
            if (mounts != null) {
                mounts.release(name); // refuses while mounted
            }
            onDetach.accept(name);
            VolumeTarget target = coordinators.get(name);
            if (target != null) {
                // A failed flush keeps the target (closed to IO) so that a retried detach
                // flushes again instead of reporting a volume detached that is not durable.
                io(target::close);
                coordinators.remove(name);
            }
            commit(new Command.DetachVolume(name));
            return inspect(name);
        });
    }

    // ---- verify --------------------------------------------------------------------------

    /**
     * Compares the volume's in-sync replicas region by region. While attached, the coordinator does it
     * (forwarded to its node), between writes; a detached volume is compared through channels opened with
     * its current epoch, which an attach meanwhile fences (the verify then fails and can be run again).
     */
    public VerifyView verify(String name) {
        VolumeRecord volume = volume(state(), name);
        AttachmentRecord attachment = volume.attachment();
        if (attachment != null && !attachment.node().equals(config.name())) {
            NodeRecord owner = upNode(attachment.node());
            return nodeApi.post(owner.name(), owner.address() + ":" + owner.apiPort(),
                    "/v1/volumes/" + encode(name) + "/verify", java.util.Map.of(), VerifyView.class);
        }
        VolumeTarget attached = attachment != null ? coordinators.get(name) : null;
        if (attached != null) {
            return verifyView(name, io(attached::verify));
        }
        if (attachment != null) {
            throw new ApiException(ErrorCodes.UNAVAILABLE, "volume " + name + " is attached here but its coordinator"
                    + " is not open (the node is starting); try again");
        }
        ClusterState state = state();
        List<io.ballast.replication.ReplicaChannel> channels = new ArrayList<>();
        try {
            for (ReplicaRecord replica : inSync(volume)) {
                try {
                    channels.add(coordinators.channel(volume, replica, volume.epoch(), state));
                } catch (IOException e) {
                    throw new ApiException(ErrorCodes.UNAVAILABLE, "volume " + name + ": the replica on "
                            + replica.node() + " cannot be read: " + e.getMessage(), e);
                }
            }
            VolumeTarget reader = new VolumeTarget(name, volume.epoch(), volume.sizeBytes(), channels, config.name(),
                    (node, s) -> {
                        throw new IOException("verify changes no replica state");
                    }, () -> true, io.ballast.replication.IoObserver.NONE);
            return verifyView(name, io(reader::verify));
        } finally {
            channels.forEach(io.ballast.replication.ReplicaChannel::close);
        }
    }

    private static VerifyView verifyView(String name, VerifyReport report) {
        return new VerifyView(name, report.replicas(), report.regionBytes(), report.regions(), report.identical(),
                report.differing(), report.differences().stream()
                .map(d -> new VerifyView.Difference(d.offset(), d.length(), d.checksums())).toList());
    }

    // ---- snapshots -----------------------------------------------------------------------

    public SnapshotView createSnapshot(String volumeName, String snapshot) {
        valid(() -> {
            Names.checkSnapshotName(snapshot);
            return null;
        });
        VolumeRecord current = volume(state(), volumeName);
        AttachmentRecord attachment = current.attachment();
        if (attachment != null && !attachment.node().equals(config.name())) {
            // Only the coordinator can hold the write stream still while every replica takes the snapshot.
            NodeRecord owner = upNode(attachment.node());
            return nodeApi.post(owner.name(), owner.address() + ":" + owner.apiPort(), "/v1/volumes/"
                    + encode(volumeName) + "/snapshots", new io.ballast.api.SnapshotRequest(snapshot), SnapshotView.class);
        }
        return locked(volumeName, () -> {
            VolumeRecord volume = volume(state(), volumeName);
            SnapshotRecord record = createSnapshotLocked(volume, snapshot);
            return new SnapshotView(volumeName, record.name(), Instant.ofEpochMilli(record.createdAtMillis()).toString());
        });
    }

    private SnapshotRecord createSnapshotLocked(VolumeRecord volume, String snapshot) {
        if (volume.snapshots().stream().anyMatch(s -> s.name().equals(snapshot))) {
            throw ApiException.conflict("volume " + volume.name() + " already has a snapshot " + snapshot);
        }
        ClusterState state = state();
        VolumeTarget target = volume.attached() ? coordinators.get(volume.name()) : null;
        // The same on every replica: a replica that was away while a snapshot of this name was deleted and
        // taken again is told apart by it, and gets the new one (Coordinators' resync).
        String tag = java.util.UUID.randomUUID().toString();
        List<ReplicaRecord> targets;
        if (target != null) {
            // With no write in flight and none starting, every replica is at the same point of the write stream.
            targets = io(() -> target.quiesced(inSyncNodes -> {
                List<ReplicaRecord> replicas = volume.replicas().stream()
                        .filter(r -> inSyncNodes.contains(r.node())).toList();
                onEveryReplica(replicas, state, "snapshot",
                        (c, r) -> c.snapshot(r.pool(), volume.id(), snapshot, tag),
                        (c, r) -> c.deleteSnapshot(r.pool(), volume.id(), snapshot));
                return replicas;
            }));
        } else {
            VolumeRecord current = volume;
            long epoch = -1;
            if (volume.replicas().stream().anyMatch(r -> !r.inSync())) {
                // A node may be resyncing this detached volume's other replicas in the background, at an epoch of
                // its own: a new epoch fences that resync's commits, so none of them becomes in sync without this
                // snapshot (the next attempt copies it). The state read after it shows every commit before it.
                epoch = commit(new Command.TakeEpoch(volume.name())).value();
                current = volume(state(), volume.name());
            }
            // In-sync replicas only: a stale replica's data is not the volume's.
            targets = inSync(current);
            onEveryReplica(targets, state, "snapshot", (c, r) -> c.snapshot(r.pool(), volume.id(), snapshot, tag),
                    (c, r) -> c.deleteSnapshot(r.pool(), volume.id(), snapshot));
            if (epoch >= 0 && volume(state(), volume.name()).epoch() != epoch) {
                // An epoch taken after ours and before the replicas had the snapshot: a background resync that
                // started meanwhile may have compared the snapshot lists without it and is not fenced by ours
                // (or an attach began). Its resync reads the lists only after its epoch, so with the epoch
                // unchanged now, any later one sees this snapshot.
                List<ReplicaRecord> undone = targets;
                undoEverywhere(undone, state, "snapshot", (c, r) -> c.deleteSnapshot(r.pool(), volume.id(), snapshot));
                throw new ApiException(ErrorCodes.CONFLICT, "volume " + volume.name() + ": a resync of its replicas"
                        + " (or an attach) began while the snapshot was taken; nothing was kept, try again");
            }
        }
        SnapshotRecord record = new SnapshotRecord(snapshot, clock.millis());
        commitOrUndo(new Command.CreateSnapshot(volume.name(), record), () -> undoEverywhere(targets, state,
                "snapshot", (c, r) -> c.deleteSnapshot(r.pool(), volume.id(), snapshot)));
        return record;
    }

    public List<SnapshotView> snapshots(String volumeName) {
        ClusterState state = state();
        List<VolumeRecord> volumes = volumeName == null
                ? List.copyOf(state.volumes().values()) : List.of(volume(state, volumeName));
        List<SnapshotView> views = new ArrayList<>();
        for (VolumeRecord v : volumes) {
            for (SnapshotRecord s : v.snapshots()) {
                views.add(new SnapshotView(v.name(), s.name(), Instant.ofEpochMilli(s.createdAtMillis()).toString()));
            }
        }
        return views;
    }

    public void deleteSnapshot(String volumeName, String snapshot) {
        locked(volumeName, () -> {
            VolumeRecord volume = volume(state(), volumeName);
            if (volume.snapshots().stream().noneMatch(s -> s.name().equals(snapshot))) {
                throw ApiException.notFound("volume " + volumeName + " has no snapshot " + snapshot
                        + " (ballast snapshot list " + volumeName + ")");
            }
            deleteSnapshotLocked(volume, snapshot);
            return null;
        });
    }

    private void deleteSnapshotLocked(VolumeRecord volume, String snapshot) {
        commit(new Command.DeleteSnapshot(volume.name(), snapshot));
        bestEffortOnEveryReplica(volume.replicas(), "delete snapshot " + volume.name() + "/" + snapshot,
                (c, r) -> c.deleteSnapshot(r.pool(), volume.id(), snapshot));
    }

    // ---- start-up ------------------------------------------------------------------------

    /**
     * Brings the pools in line with the metadata after a restart: finishes resizes that were
     * committed but not applied, removes snapshots the metadata does not have (never committed,
     * or committed deleted), and deletes replicas that belong to no volume (a create that never
     * committed, or a delete that did). Replicas are deleted only from pools the metadata knew
     * before this start: a pool found by a metadata store that has never seen it (one rebuilt
     * from scratch, say) keeps everything, and the log says so.
     */
    public void reconcile(Set<String> knownPools) {
        ClusterState state = state();
        Set<String> known = new java.util.HashSet<>();
        for (VolumeRecord volume : state.volumes().values()) {
            for (ReplicaRecord placed : volume.replicas()) {
                Pool pool = pools.get(placed.pool());
                if (pool == null) {
                    if (placed.node().equals(config.name())) {
                        log.error("volume {}: its replica is in pool {}, which this node did not open", volume.name(),
                                placed.pool());
                    }
                    continue;
                }
                known.add(volume.id());
                try {
                    reconcile(volume, pool);
                } catch (IOException | RuntimeException e) {
                    log.error("volume {}: could not reconcile its replica {}: {}", volume.name(), volume.id(), e.toString());
                }
            }
        }
        for (Pool pool : pools.values()) {
            for (String id : pool.replicaIds()) {
                if (known.contains(id)) {
                    continue;
                }
                if (!knownPools.contains(pool.id())) {
                    log.warn("pool {}: replica {} belongs to no volume this cluster knows; it is kept (the pool is new"
                            + " to this metadata store)", pool.dir(), id);
                    continue;
                }
                try {
                    log.info("pool {}: deleting replica {}, which belongs to no volume (an interrupted create or"
                            + " delete)", pool.dir(), id);
                    pool.delete(id);
                } catch (IOException e) {
                    log.error("pool {}: could not delete replica {}: {}", pool.dir(), id, e.getMessage());
                }
            }
        }
    }

    private void reconcile(VolumeRecord volume, Pool pool) throws IOException {
        Replica replica;
        try {
            replica = pool.replica(volume.id());
        } catch (NoSuchReplicaException e) {
            log.error("volume {}: its replica {} is missing from pool {}; its data is not on this node",
                    volume.name(), volume.id(), pool.dir());
            return;
        }
        if (replica.sizeBytes() < volume.sizeBytes()) {
            log.info("volume {}: finishing a resize to {} bytes", volume.name(), volume.sizeBytes());
            replica.grow(volume.sizeBytes());
        }
        Set<String> committed = new java.util.HashSet<>();
        volume.snapshots().forEach(s -> committed.add(s.name()));
        for (String snapshot : replica.snapshots()) {
            if (!committed.remove(snapshot)) {
                log.info("volume {}: removing snapshot {}, whose creation was never committed (or whose deletion was)",
                        volume.name(), snapshot);
                replica.deleteSnapshot(snapshot);
            }
        }
        for (String lost : committed) {
            log.error("volume {}: snapshot {} is in the metadata but not in pool {}; restoring or cloning it will fail",
                    volume.name(), lost, pool.dir());
        }
    }

    /** The class a volume records: its replicas' class, or the lowest of them when placement had to mix. */
    private static String lowestClass(List<Placement.Choice> choices) {
        return choices.stream().map(Placement.Choice::cos)
                .min(java.util.Comparator.comparingInt(VolumeSpec.CLASSES::indexOf)).orElseThrow();
    }

    private static List<ReplicaRecord> inSync(VolumeRecord volume) {
        return volume.replicas().stream().filter(ReplicaRecord::inSync).toList();
    }

    /** The node whose peer port did not answer, if that is why {@code e} happened. */
    private static String unreachableNode(ApiException e, List<ReplicaRecord> placed) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof PeerUnavailableException p && placed.stream().anyMatch(r -> r.node().equals(p.node()))) {
                return p.node();
            }
        }
        return null;
    }

    /** The state as placement should see it when {@code node} is known to be unreachable. */
    private static ClusterState withoutNode(ClusterState state, String node) {
        Map<String, NodeRecord> nodes = new java.util.TreeMap<>(state.nodes());
        nodes.computeIfPresent(node, (name, record) -> record.withState(NodeRecord.DOWN));
        return new ClusterState(state.clusterId(), nodes, state.pools(), state.volumes(), state.appliedIndex());
    }

    /** One step of an operation on one replica, wherever it lives. */
    @FunctionalInterface
    private interface ReplicaStep {
        void run(ReplicaControl control, ReplicaRecord replica) throws IOException;
    }

    /**
     * Runs {@code step} on every replica, in order. On the first failure, runs {@code undo} (if any) on the
     * replicas already done, newest first, and throws that failure: the operation happened nowhere.
     */
    private void onEveryReplica(List<ReplicaRecord> replicas, ClusterState state, String what, ReplicaStep step,
                                ReplicaStep undo) {
        List<ReplicaRecord> done = new ArrayList<>();
        for (ReplicaRecord replica : replicas) {
            try {
                ReplicaControl control = replicaControls.on(replica.node(), state);
                io(() -> step.run(control, replica));
            } catch (ApiException e) {
                if (undo != null) {
                    undoEverywhere(done, state, what, undo);
                }
                String where = replicaControls.isLocal(replica.node()) || e.getMessage().contains(replica.node())
                        ? "" : " (replica on " + replica.node() + ")";
                throw new ApiException(e.code(), e.getMessage() + where, e);
            }
            done.add(replica);
        }
    }

    /** Undoes a step on the replicas where it was done; failures are logged (reconcile cleans up later). */
    private void undoEverywhere(List<ReplicaRecord> done, ClusterState state, String what, ReplicaStep undo) {
        for (int i = done.size() - 1; i >= 0; i--) {
            ReplicaRecord replica = done.get(i);
            try {
                undo.run(replicaControls.on(replica.node(), state), replica);
            } catch (IOException | RuntimeException e) {
                log.error("could not undo a failed {} on node {}: {}; that node's reconcile removes the leftover at"
                        + " its next start", what, replica.node(), e.getMessage());
            }
        }
    }

    /**
     * Runs a step that the metadata already committed on every replica; a replica that fails is logged, not
     * reported, since its node's {@link #reconcile} brings it in line at its next start.
     */
    private void bestEffortOnEveryReplica(List<ReplicaRecord> replicas, String what, ReplicaStep step) {
        ClusterState state = meta.localState();
        for (ReplicaRecord replica : replicas) {
            try {
                step.run(replicaControls.on(replica.node(), state), replica);
            } catch (IOException | RuntimeException e) {
                log.warn("{}: node {} did not finish its part ({}); it will when it next starts", what, replica.node(),
                        e.getMessage());
            }
        }
    }

    /** Flushes and closes every volume attached here; the attachments stay recorded. */
    @Override
    public void close() {
        coordinators.close();
        for (VolumeTarget target : coordinators.all()) {
            try {
                target.close();
            } catch (IOException e) {
                log.error("volume {}: flush at shutdown failed: {}", target.volume(), e.getMessage());
            }
        }
    }

    // ---- views ---------------------------------------------------------------------------

    /**
     * The volume as the API shows it. A replica's use is read from its pool when it is local; with
     * {@code remoteStats}, other nodes are asked through their peer port (one round trip each), otherwise
     * their use is left at 0, so that listing thousands of volumes asks nobody.
     */
    private VolumeView view(VolumeRecord volume, ClusterState state, boolean remoteStats) {
        AttachmentRecord attachment = volume.attachment();
        String nbd = null;
        if (attachment != null) {
            NodeRecord node = state.nodes().get(attachment.node());
            if (node != null) {
                nbd = "nbd://" + node.address() + ":" + node.nbdPort() + "/" + volume.name();
            }
        }
        long used = 0;
        VolumeTarget target = attachment != null && attachment.node().equals(config.name())
                ? coordinators.get(volume.name()) : attachment == null ? coordinators.detachedResync(volume.name()) : null;
        Map<String, ResyncProgress> resyncs = new java.util.HashMap<>();
        if (target != null) {
            target.progress().forEach(p -> resyncs.put(p.node(), p));
        }
        List<VolumeView.ReplicaView> replicas = new ArrayList<>();
        for (ReplicaRecord placed : volume.replicas()) {
            long replicaUsed = 0;
            String replicaState = placed.state();
            Pool pool = pools.get(placed.pool());
            if (pool != null) {
                try {
                    replicaUsed = pool.replica(volume.id()).usedBytes();
                } catch (NoSuchReplicaException e) {
                    replicaState = ReplicaRecord.FAILED;
                }
            } else if (remoteStats) {
                NodeRecord node = state.nodes().get(placed.node());
                if (node != null && node.up()) {
                    try {
                        replicaUsed = replicaControls.on(placed.node(), state).stat(placed.pool(), volume.id()).usedBytes();
                    } catch (NoSuchReplicaException e) {
                        replicaState = ReplicaRecord.FAILED;
                    } catch (IOException | RuntimeException e) {
                        log.debug("volume {}: no stats from node {}: {}", volume.name(), placed.node(), e.getMessage());
                    }
                }
            }
            used = Math.max(used, replicaUsed);
            ResyncProgress p = resyncs.get(placed.node());
            VolumeView.ResyncView resync = p == null ? null : new VolumeView.ResyncView(p.full(),
                    Math.round(p.percent() * 10) / 10.0, p.bytesToCheck(), p.bytesChecked(), p.bytesCopied(),
                    Math.round(p.bytesPerSecond()), p.etaSeconds());
            replicas.add(new VolumeView.ReplicaView(placed.node(), placed.pool(), replicaState, replicaUsed, resync));
        }
        String source = volume.sourceVolume() == null ? null : volume.sourceVolume() + "/" + volume.sourceSnapshot();
        HostMounts mounts = host;
        HostMounts.View onHost = mounts == null ? HostMounts.View.NONE : mounts.view(volume.name());
        return new VolumeView(volume.name(), volume.id(), volume.sizeBytes(), volume.repl(), volume.cos(), volume.fs(),
                attachment == null ? "detached" : volume.replicas().stream().allMatch(ReplicaRecord::inSync)
                        ? "attached" : "degraded", attachment == null ? null : attachment.node(), nbd,
                volume.epoch(), replicas, used, volume.snapshots().stream().map(SnapshotRecord::name).toList(),
                volume.labels(), Instant.ofEpochMilli(volume.createdAtMillis()).toString(), source,
                onHost.device(), onHost.mounts(), onHost.error());
    }

    // ---- helpers -------------------------------------------------------------------------

    private ClusterState state() {
        try {
            return meta.state();
        } catch (MetaUnavailableException e) {
            throw new ApiException(ErrorCodes.UNAVAILABLE, e.getMessage(), e);
        }
    }

    private ClusterState recentState() {
        try {
            return meta.recentState();
        } catch (MetaUnavailableException e) {
            throw new ApiException(ErrorCodes.UNAVAILABLE, e.getMessage(), e);
        }
    }

    private CommandResult commit(Command command) {
        CommandResult result;
        try {
            result = meta.submit(command);
        } catch (MetaUnavailableException e) {
            throw new ApiException(ErrorCodes.UNAVAILABLE, e.getMessage(), e);
        }
        if (!result.ok()) {
            throw new ApiException(result.code(), result.message());
        }
        return result;
    }

    /**
     * Commits, or if the metadata store refused the command, undoes the store's half before
     * reporting the failure. When the store did not answer the command may still commit, so
     * nothing is undone: {@link #reconcile} removes the store's half at the next start if the
     * command never made it.
     */
    private void commitOrUndo(Command command, IoAction undo) {
        try {
            commit(command);
        } catch (ApiException e) {
            if (e.code().equals(ErrorCodes.UNAVAILABLE)) {
                throw new ApiException(ErrorCodes.UNAVAILABLE, e.getMessage() + "; the change may still take effect:"
                        + " check with 'ballast volume inspect' before you retry", e);
            }
            try {
                undo.run();
            } catch (IOException undoFailed) {
                log.error("could not undo after a failed {}: {}", command.getClass().getSimpleName(), undoFailed.getMessage());
            }
            throw e;
        }
    }

    private static VolumeRecord volume(ClusterState state, String name) {
        VolumeRecord volume = state.volumes().get(name);
        if (volume == null) {
            throw ApiException.notFound("no volume named " + name + " (ballast volume list)");
        }
        return volume;
    }

    private Pool pool(String id) {
        Pool pool = pools.get(id);
        if (pool == null) {
            throw new ApiException(ErrorCodes.INTERNAL, "pool " + id + " is not open on node " + config.name());
        }
        return pool;
    }

    private static List<ReplicaRecord> replicas(List<Placement.Choice> choices) {
        return choices.stream().map(c -> new ReplicaRecord(c.node(), c.poolId(), "in-sync")).toList();
    }

    /** Runs {@code action} holding the volume's lock, which every operation on it takes. */
    <T> T locked(String volume, java.util.function.Supplier<T> action) {
        ReentrantLock lock = locks[stripe(volume)];
        lock.lock();
        try {
            return action.get();
        } finally {
            lock.unlock();
        }
    }

    /** Holds the locks of two volume names, taken in stripe order so two callers never deadlock. */
    private <T> T locked(String first, String second, java.util.function.Supplier<T> action) {
        int a = Math.min(stripe(first), stripe(second));
        int b = Math.max(stripe(first), stripe(second));
        locks[a].lock();
        try {
            locks[b].lock(); // reentrant: the same stripe twice is fine
            try {
                return action.get();
            } finally {
                locks[b].unlock();
            }
        } finally {
            locks[a].unlock();
        }
    }

    private static int stripe(String volume) {
        return Math.floorMod(volume.hashCode(), LOCK_STRIPES);
    }

    private static <T> T valid(java.util.function.Supplier<T> check) {
        try {
            return check.get();
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid(e.getMessage());
        }
    }

    @FunctionalInterface
    private interface IoAction {
        void run() throws IOException;
    }

    private interface IoCall<T> {
        T call() throws IOException;
    }

    /** Runs a store operation, turning the store's exceptions into API errors. */
    private static void io(IoAction action) {
        io(() -> {
            action.run();
            return null;
        });
    }

    private static <T> T io(IoCall<T> call) {
        try {
            return call.call();
        } catch (NoSuchSnapshotException e) {
            throw ApiException.notFound(e.getMessage());
        } catch (PeerUnavailableException e) {
            throw new ApiException(ErrorCodes.UNAVAILABLE, e.getMessage(), e);
        } catch (io.ballast.replication.TargetClosedException | io.ballast.store.StaleEpochException e) {
            throw ApiException.conflict(e.getMessage());
        } catch (PoolFullException e) {
            throw new ApiException(ErrorCodes.NO_SPACE, e.getMessage() + "; free space by deleting snapshots or volumes", e);
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid(e.getMessage());
        } catch (IOException e) {
            throw new ApiException(ErrorCodes.INTERNAL, "storage error: " + e.getMessage() + "; see the node log", e);
        }
    }

}
