package io.ballast.node;

import io.ballast.api.ErrorCodes;
import io.ballast.api.Names;
import io.ballast.api.SnapshotView;
import io.ballast.api.VolumeSpec;
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
import io.ballast.replication.VolumeTarget;
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
import java.util.concurrent.ConcurrentHashMap;
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
    private final NodeMetrics metrics;
    private final Placement placement;
    private final Clock clock;
    private final ReentrantLock[] locks = new ReentrantLock[LOCK_STRIPES];
    private final Map<String, VolumeTarget> targets = new ConcurrentHashMap<>();
    private volatile Consumer<String> onDetach = name -> {};
    private volatile HostMounts host;

    public VolumeService(NodeConfig config, MetaStore meta, Map<String, Pool> pools, NodeMetrics metrics, Clock clock) {
        this.config = config;
        this.meta = meta;
        this.pools = Map.copyOf(pools);
        this.metrics = metrics;
        this.placement = new Placement(config.overcommit());
        this.clock = clock;
        for (int i = 0; i < LOCK_STRIPES; i++) {
            locks[i] = new ReentrantLock();
        }
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
            ClusterState state = state();
            if (state.volumes().containsKey(spec.name())) {
                throw ApiException.conflict("volume " + spec.name() + " already exists; choose another name");
            }
            List<Placement.Choice> choices = placement.place(spec, state);
            Placement.Choice choice = local(choices);
            String id = UUID.randomUUID().toString();
            Pool pool = pool(choice.poolId());
            io(() -> pool.create(id, spec.sizeBytes()));
            VolumeRecord volume = new VolumeRecord(id, spec.name(), spec.sizeBytes(), spec.repl(), spec.cos(),
                    spec.fs(), spec.labels(), clock.millis(), replicas(choices), null, 0, List.of(), null, null);
            commitOrUndo(new Command.CreateVolume(volume), () -> pool.delete(id));
            metrics.volumeCreated(System.nanoTime() - start);
            return view(volume, state());
        });
    }

    public List<VolumeView> list() {
        ClusterState state = state();
        List<VolumeView> views = new ArrayList<>(state.volumes().size());
        for (VolumeRecord volume : state.volumes().values()) {
            views.add(view(volume, state));
        }
        return views;
    }

    public VolumeView inspect(String name) {
        ClusterState state = state();
        return view(volume(state, name), state);
    }

    public void delete(String name) {
        VolumeRecord deleted = locked(name, () -> {
            VolumeRecord volume = volume(state(), name);
            if (volume.attachment() != null) {
                throw ApiException.conflict("volume " + name + " is attached on " + volume.attachment().node()
                        + "; detach it first (ballast volume detach " + name + ")");
            }
            commit(new Command.DeleteVolume(name));
            for (ReplicaRecord replica : volume.replicas()) {
                Pool pool = pools.get(replica.pool());
                if (pool != null) {
                    io(() -> pool.delete(volume.id()));
                }
            }
            metrics.forget(name);
            return volume;
        });
        // Outside the clone's lock: taking the source's lock while holding it could deadlock
        // with a clone of that source onto this name, which takes the two in stripe order.
        deleteImplicitSnapshot(deleted);
    }

    public VolumeView resize(String name, long newSize) {
        return locked(name, () -> {
            VolumeRecord volume = volume(state(), name);
            if (newSize < volume.sizeBytes()) {
                throw ApiException.invalid("volume " + name + " is " + io.ballast.api.Sizes.format(volume.sizeBytes())
                        + "; it can only grow, and " + io.ballast.api.Sizes.format(newSize) + " is smaller");
            }
            Replica replica = localReplica(volume);
            placement.checkGrowth(volume, newSize, state());
            commit(new Command.ResizeVolume(name, newSize));
            io(() -> replica.grow(newSize));
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
            ReplicaRecord placed = origin.replicas().getFirst();
            Pool pool = pool(placed.pool());
            String id = UUID.randomUUID().toString();
            String fromSnapshot = snap;
            try {
                io(() -> pool.cloneFrom(origin.id(), fromSnapshot, id));
            } catch (ApiException e) {
                if (snapshot == null) {
                    undoImplicitSnapshot(source, fromSnapshot);
                }
                throw e;
            }
            VolumeRecord clone = new VolumeRecord(id, newName, origin.sizeBytes(), origin.repl(), origin.cos(),
                    origin.fs(), origin.labels(), clock.millis(), origin.replicas().stream()
                            .map(r -> new ReplicaRecord(r.node(), r.pool(), "in-sync")).toList(),
                    null, 0, List.of(), source, fromSnapshot);
            try {
                commitOrUndo(new Command.CreateVolume(clone), () -> pool.delete(id));
            } catch (ApiException e) {
                if (snapshot == null && !e.code().equals(ErrorCodes.UNAVAILABLE)) {
                    undoImplicitSnapshot(source, fromSnapshot);
                }
                throw e;
            }
            return view(clone, state());
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
            Replica replica = localReplica(volume);
            io(() -> replica.restore(snapshot));
            return inspect(name);
        });
    }

    // ---- attachment ----------------------------------------------------------------------

    /** Attaches the volume on this node (a no-op if it already is) and returns its IO path. */
    public VolumeTarget attachHere(String name) {
        return locked(name, () -> {
            VolumeRecord volume = volume(state(), name);
            Replica replica = localReplica(volume);
            CommandResult result = commit(new Command.AttachVolume(name, config.name(), clock.millis()));
            long epoch = result.value();
            VolumeTarget current = targets.get(name);
            if (current != null && current.isOpen() && current.epoch() == epoch) {
                return current;
            }
            VolumeTarget target = new VolumeTarget(name, epoch, replica, metrics.observer(name));
            targets.put(name, target);
            return target;
        });
    }

    public VolumeView attach(String name, String node) {
        if (node != null && !node.equals(config.name())) {
            ClusterState state = state();
            if (!state.nodes().containsKey(node)) {
                throw ApiException.notFound("no node named " + node + " (ballast node list)");
            }
            throw ApiException.invalid("this node (" + config.name() + ") can only attach volumes to itself; "
                    + "send the request to " + node + "'s API");
        }
        attachHere(name);
        return inspect(name);
    }

    public VolumeView detach(String name) {
        return locked(name, () -> {
            VolumeRecord volume = volume(state(), name);
            AttachmentRecord attachment = volume.attachment();
            if (attachment == null) {
                return view(volume, state());
            }
            if (!attachment.node().equals(config.name())) {
                throw ApiException.conflict("volume " + name + " is attached on " + attachment.node()
                        + "; detach it through that node's API");
            }
            HostMounts mounts = host;
            if (mounts != null) {
                mounts.release(name); // refuses while mounted
            }
            onDetach.accept(name);
            VolumeTarget target = targets.get(name);
            if (target != null) {
                // A failed flush keeps the target (closed to IO) so that a retried detach
                // flushes again instead of reporting a volume detached that is not durable.
                io(target::close);
                targets.remove(name, target);
            }
            commit(new Command.DetachVolume(name));
            return inspect(name);
        });
    }

    // ---- snapshots -----------------------------------------------------------------------

    public SnapshotView createSnapshot(String volumeName, String snapshot) {
        valid(() -> {
            Names.checkSnapshotName(snapshot);
            return null;
        });
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
        Replica replica = localReplica(volume);
        io(() -> replica.snapshot(snapshot));
        SnapshotRecord record = new SnapshotRecord(snapshot, clock.millis());
        commitOrUndo(new Command.CreateSnapshot(volume.name(), record), () -> replica.deleteSnapshot(snapshot));
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
        Replica replica = localReplica(volume);
        io(() -> replica.deleteSnapshot(snapshot));
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

    private static long replicaUsed(Pool pool, String id) {
        try {
            return pool.replica(id).usedBytes();
        } catch (NoSuchReplicaException e) {
            return 0;
        }
    }

    /** Flushes and closes every volume attached here; the attachments stay recorded. */
    @Override
    public void close() {
        for (VolumeTarget target : targets.values()) {
            try {
                target.close();
            } catch (IOException e) {
                log.error("volume {}: flush at shutdown failed: {}", target.volume(), e.getMessage());
            }
        }
        targets.clear();
    }

    // ---- views ---------------------------------------------------------------------------

    private VolumeView view(VolumeRecord volume, ClusterState state) {
        AttachmentRecord attachment = volume.attachment();
        String nbd = null;
        if (attachment != null) {
            NodeRecord node = state.nodes().get(attachment.node());
            if (node != null) {
                nbd = "nbd://" + node.address() + ":" + node.nbdPort() + "/" + volume.name();
            }
        }
        long used = 0;
        List<VolumeView.ReplicaView> replicas = new ArrayList<>();
        for (ReplicaRecord placed : volume.replicas()) {
            long replicaUsed = 0;
            String replicaState = placed.state();
            Pool pool = pools.get(placed.pool());
            if (pool != null) {
                try {
                    replicaUsed = pool.replica(volume.id()).usedBytes();
                } catch (NoSuchReplicaException e) {
                    replicaState = "failed";
                }
            }
            used = Math.max(used, replicaUsed);
            replicas.add(new VolumeView.ReplicaView(placed.node(), placed.pool(), replicaState, replicaUsed));
        }
        String source = volume.sourceVolume() == null ? null : volume.sourceVolume() + "/" + volume.sourceSnapshot();
        HostMounts mounts = host;
        HostMounts.View onHost = mounts == null ? HostMounts.View.NONE : mounts.view(volume.name());
        return new VolumeView(volume.name(), volume.id(), volume.sizeBytes(), volume.repl(), volume.cos(), volume.fs(),
                attachment == null ? "detached" : "attached", attachment == null ? null : attachment.node(), nbd,
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

    private Replica localReplica(VolumeRecord volume) {
        for (ReplicaRecord placed : volume.replicas()) {
            if (!placed.node().equals(config.name())) {
                continue;
            }
            Pool pool = pools.get(placed.pool());
            if (pool == null) {
                throw new ApiException(ErrorCodes.UNAVAILABLE, "volume " + volume.name() + ": its replica is in pool "
                        + placed.pool() + ", which node " + config.name() + " did not open; restart the node with"
                        + " that pool's --pool");
            }
            try {
                return pool.replica(volume.id());
            } catch (NoSuchReplicaException e) {
                throw new ApiException(ErrorCodes.INTERNAL, "volume " + volume.name() + ": its replica is missing"
                        + " from pool " + pool.dir() + "; see the node log");
            }
        }
        throw new ApiException(ErrorCodes.UNAVAILABLE, "volume " + volume.name() + " has no replica on node "
                + config.name() + "; replicas on other nodes need replication, which is not built yet");
    }

    private Pool pool(String id) {
        Pool pool = pools.get(id);
        if (pool == null) {
            throw new ApiException(ErrorCodes.INTERNAL, "pool " + id + " is not open on node " + config.name());
        }
        return pool;
    }

    private Placement.Choice local(List<Placement.Choice> choices) {
        for (Placement.Choice choice : choices) {
            if (!choice.node().equals(config.name())) {
                throw ApiException.invalid("replicas on other nodes need replication, which this node does not"
                        + " offer yet; use --repl 1 and --nodes " + config.name());
            }
        }
        return choices.getFirst();
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

    /** Runs a store operation, turning the store's exceptions into API errors. */
    private static void io(IoAction action) {
        try {
            action.run();
        } catch (NoSuchSnapshotException e) {
            throw ApiException.notFound(e.getMessage());
        } catch (PoolFullException e) {
            throw new ApiException(ErrorCodes.NO_SPACE, e.getMessage() + "; free space by deleting snapshots or volumes", e);
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid(e.getMessage());
        } catch (IOException e) {
            throw new ApiException(ErrorCodes.INTERNAL, "storage error: " + e.getMessage() + "; see the node log", e);
        }
    }

}
