package io.ballast.meta;

import io.ballast.meta.Command.AttachVolume;
import io.ballast.meta.Command.CreateSnapshot;
import io.ballast.meta.Command.CreateVolume;
import io.ballast.meta.Command.DeleteSnapshot;
import io.ballast.meta.Command.DeleteVolume;
import io.ballast.meta.Command.DetachVolume;
import io.ballast.meta.Command.Heartbeat;
import io.ballast.meta.Command.JoinNode;
import io.ballast.meta.Command.MarkNodeDown;
import io.ballast.meta.Command.RegisterNode;
import io.ballast.meta.Command.RegisterPool;
import io.ballast.meta.Command.RemoveNode;
import io.ballast.meta.Command.ResizeVolume;
import io.ballast.meta.Command.SetReplicas;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The pure state-transition function of the metadata state machine: (state, command, log index) to
 * (new state, result). No Ratis, no IO, no clock, no randomness, so every replica and every replay of
 * the log computes exactly the same states; this is the class to unit-test.
 *
 * <p>A rejected command leaves the state unchanged except for {@code appliedIndex}, which always
 * advances to the index of the entry just applied.
 */
public final class ClusterStateTransitions {
    /** The store numbers a volume's 4 KiB blocks with 32 bits. */
    static final long MAX_VOLUME_BYTES = 4096L << 32;


    /** The outcome of applying one command. */
    public record Applied(ClusterState state, CommandResult result) {
    }

    private ClusterStateTransitions() {
    }

    public static Applied apply(ClusterState state, Command command, long index) {
        Applied applied;
        try {
            applied = switch (command) {
                case null -> throw new Rejected(CommandResult.invalid("null command"));
                case RegisterNode c -> registerNode(state, c);
                case Heartbeat c -> heartbeat(state, c);
                case RegisterPool c -> registerPool(state, c);
                case CreateVolume c -> createVolume(state, c);
                case DeleteVolume c -> deleteVolume(state, c);
                case ResizeVolume c -> resizeVolume(state, c);
                case AttachVolume c -> attachVolume(state, c);
                case DetachVolume c -> detachVolume(state, c);
                case CreateSnapshot c -> createSnapshot(state, c);
                case DeleteSnapshot c -> deleteSnapshot(state, c);
                case JoinNode c -> joinNode(state, c);
                case MarkNodeDown c -> markNodeDown(state, c);
                case RemoveNode c -> removeNode(state, c);
                case SetReplicas c -> setReplicas(state, c);
                case Command.SetMetadataRoles c -> ok(state.withMetadataRoles(c.voters(), c.leader()));
                case Command.SetReplicaState c -> setReplicaState(state, c);
                case Command.TakeEpoch c -> takeEpoch(state, c);
            };
        } catch (Rejected r) {
            applied = new Applied(state, r.result);
        }
        return new Applied(applied.state().withAppliedIndex(index), applied.result());
    }

    private static Applied registerNode(ClusterState s, RegisterNode c) {
        NodeRecord node = c.node();
        require(node != null, "RegisterNode without a node");
        requireName(node.name(), "node name");
        // Only the founding node registers itself from nothing; every other node enters by JoinNode. So a
        // node removed while it was down cannot put itself back by restarting.
        if (!s.nodes().isEmpty() && !s.nodes().containsKey(node.name())) {
            throw new Rejected(CommandResult.notFound("node " + node.name() + " is not a member of this cluster"
                    + " (it was removed, or never joined)"));
        }
        return ok(s.withNode(node));
    }

    private static Applied heartbeat(ClusterState s, Heartbeat c) {
        requireName(c.node(), "node name");
        NodeRecord node = s.nodes().get(c.node());
        if (node == null) {
            throw new Rejected(CommandResult.notFound("node " + c.node() + " is not registered"));
        }
        // The lease is judged on the value changing, not on its size: a wall clock stepped back (NTP) must
        // not make a live node look dead until the clock catches up. A late retry only shows an older time.
        ClusterState next = s.withNode(node.withLastHeartbeatMillis(c.atMillis()));
        for (Map.Entry<String, Long> used : c.poolUsedBytes().entrySet()) {
            PoolRecord pool = next.pools().get(used.getKey());
            // A node reports only its own pools; a stale report about a pool since moved is ignored.
            if (pool != null && pool.node().equals(node.name()) && pool.usedBytes() != used.getValue()) {
                next = next.withPool(pool.withUsedBytes(Math.max(0, used.getValue())));
            }
        }
        return ok(next);
    }

    private static Applied joinNode(ClusterState s, JoinNode c) {
        NodeRecord node = c.node();
        require(node != null, "JoinNode without a node");
        requireName(node.name(), "node name");
        NodeRecord existing = s.nodes().get(node.name());
        if (existing != null) {
            throw new Rejected(CommandResult.conflict("a node named " + node.name() + " is already a member of this"
                    + " cluster (at " + existing.address() + ":" + existing.apiPort() + ", " + existing.state()
                    + "); restart it with its own --data, or remove it first (ballast node remove " + node.name() + ")"));
        }
        return ok(s.withNode(node.withState(NodeRecord.UP)));
    }

    private static Applied markNodeDown(ClusterState s, MarkNodeDown c) {
        NodeRecord node = node(s, c.node());
        if (!node.up() || node.lastHeartbeatMillis() != c.lastHeartbeatMillis()) {
            return ok(s); // already down, or a heartbeat arrived after the leader decided
        }
        return ok(s.withNode(node.withState(NodeRecord.DOWN)));
    }

    private static Applied removeNode(ClusterState s, RemoveNode c) {
        NodeRecord node = node(s, c.node());
        List<String> attached = new ArrayList<>();
        List<String> onlyCopy = new ArrayList<>();
        for (VolumeRecord v : s.volumes().values()) {
            if (v.attached() && v.attachment().node().equals(node.name())) {
                attached.add(v.name());
            }
            boolean here = v.replicas().stream().anyMatch(r -> r.node().equals(node.name()));
            boolean inSyncElsewhere = v.replicas().stream().anyMatch(r -> r.inSync() && !r.node().equals(node.name()));
            if (here && !inSyncElsewhere) {
                onlyCopy.add(v.name());
            }
        }
        if (!attached.isEmpty()) {
            throw new Rejected(CommandResult.conflict("node " + node.name() + " has attached volumes " + sample(attached)
                    + "; detach them first"));
        }
        if (!onlyCopy.isEmpty()) {
            throw new Rejected(CommandResult.conflict("node " + node.name() + " holds the only in-sync replica of "
                    + sample(onlyCopy) + "; add replicas elsewhere (ballast volume ha-update) or delete those volumes"
                    + " first"));
        }
        ClusterState next = s.withoutNode(node.name());
        for (PoolRecord pool : s.pools().values()) {
            if (pool.node().equals(node.name())) {
                next = next.withoutPool(pool.id());
            }
        }
        for (VolumeRecord v : s.volumes().values()) {
            List<ReplicaRecord> kept = v.replicas().stream().filter(r -> !r.node().equals(node.name())).toList();
            if (kept.size() != v.replicas().size()) {
                // repl stays: the volume is now degraded, and re-replication restores the count.
                next = next.withVolume(v.withReplicas(v.repl(), kept));
            }
        }
        return ok(next);
    }

    private static Applied setReplicas(ClusterState s, SetReplicas c) {
        VolumeRecord v = volume(s, c.volume());
        require(c.repl() >= 1, "volume " + v.name() + ": repl must be at least 1, got " + c.repl());
        require(c.replicas().size() == c.repl(), "volume " + v.name() + ": repl " + c.repl() + " needs "
                + c.repl() + " replicas, got " + c.replicas().size());
        Set<String> nodes = new HashSet<>();
        for (ReplicaRecord r : c.replicas()) {
            require(r != null, "volume " + v.name() + ": null replica");
            require(nodes.add(r.node()), "volume " + v.name() + ": two replicas on node " + r.node());
            require(s.nodes().containsKey(r.node()), "volume " + v.name() + ": node " + r.node() + " is not registered");
            PoolRecord pool = s.pools().get(r.pool());
            require(pool != null && pool.node().equals(r.node()),
                    "volume " + v.name() + ": pool " + r.pool() + " is not a pool of node " + r.node());
            require(List.of(ReplicaRecord.IN_SYNC, ReplicaRecord.RESYNCING, ReplicaRecord.STALE, ReplicaRecord.FAILED)
                    .contains(r.state()), "volume " + v.name() + ": unknown replica state " + r.state());
        }
        // A replica enters the in-sync set only from the set itself: nothing may claim to be in sync that
        // was not, or data that exists only on the old in-sync replicas would silently be dropped.
        boolean keepsInSync = false;
        for (ReplicaRecord r : c.replicas()) {
            boolean wasInSync = v.replicas().stream().anyMatch(old -> old.node().equals(r.node())
                    && old.pool().equals(r.pool()) && old.inSync());
            require(!r.inSync() || wasInSync, "volume " + v.name() + ": replica on " + r.node()
                    + " cannot join the in-sync set by SetReplicas; it must be resynced first");
            keepsInSync |= r.inSync();
        }
        require(keepsInSync || v.replicas().stream().noneMatch(ReplicaRecord::inSync),
                "volume " + v.name() + ": the new replica set keeps none of its in-sync replicas");
        List<ReplicaRecord> next = new ArrayList<>(c.replicas().size());
        for (ReplicaRecord r : c.replicas()) {
            next.add(v.replicas().stream().filter(old -> old.node().equals(r.node()) && old.pool().equals(r.pool()))
                    .findFirst().orElse(r));
        }
        return ok(s.withVolume(v.withReplicas(c.repl(), next)));
    }

    private static NodeRecord node(ClusterState s, String name) {
        requireName(name, "node name");
        NodeRecord node = s.nodes().get(name);
        if (node == null) {
            throw new Rejected(CommandResult.notFound("node " + name + " is not registered"));
        }
        return node;
    }

    private static String sample(List<String> names) {
        return names.size() <= 5 ? String.join(", ", names)
                : String.join(", ", names.subList(0, 5)) + " and " + (names.size() - 5) + " more";
    }

    private static Applied registerPool(ClusterState s, RegisterPool c) {
        PoolRecord pool = c.pool();
        require(pool != null, "RegisterPool without a pool");
        requireName(pool.id(), "pool id");
        requireName(pool.node(), "pool node");
        require(pool.capacityBytes() >= 0, "pool " + pool.id() + ": negative capacity");
        return ok(s.withPool(pool));
    }

    private static Applied createVolume(ClusterState s, CreateVolume c) {
        VolumeRecord v = c.volume();
        require(v != null, "CreateVolume without a volume");
        requireName(v.name(), "volume name");
        requireName(v.id(), "volume id");
        require(v.sizeBytes() > 0 && v.sizeBytes() <= MAX_VOLUME_BYTES,
                "volume " + v.name() + ": size must be positive and at most 16 TiB, got " + v.sizeBytes());
        require(v.repl() >= 1, "volume " + v.name() + ": repl must be at least 1, got " + v.repl());
        require(v.epoch() >= 0, "volume " + v.name() + ": negative epoch");
        // Epochs are issued only by AttachVolume, so that "attached" always means "holds the latest epoch".
        require(v.attachment() == null, "volume " + v.name() + ": create it detached, then attach it");
        if (s.volumes().containsKey(v.name())) {
            throw new Rejected(CommandResult.conflict("volume " + v.name() + " already exists"));
        }
        return ok(s.withVolume(v));
    }

    private static Applied deleteVolume(ClusterState s, DeleteVolume c) {
        VolumeRecord v = volume(s, c.name());
        if (v.attached()) {
            throw new Rejected(CommandResult.conflict(
                    "volume " + v.name() + " is attached on node " + v.attachment().node() + "; detach it first"));
        }
        return ok(s.withoutVolume(v.name()));
    }

    private static Applied resizeVolume(ClusterState s, ResizeVolume c) {
        VolumeRecord v = volume(s, c.name());
        if (c.newSizeBytes() < v.sizeBytes()) {
            throw new Rejected(CommandResult.invalid("volume " + v.name() + " cannot shrink from "
                    + v.sizeBytes() + " to " + c.newSizeBytes() + " bytes"));
        }
        require(c.newSizeBytes() <= MAX_VOLUME_BYTES, "volume " + v.name() + ": at most 16 TiB, got " + c.newSizeBytes());
        return ok(s.withVolume(v.withSizeBytes(c.newSizeBytes())));
    }

    private static Applied attachVolume(ClusterState s, AttachVolume c) {
        requireName(c.node(), "node name");
        VolumeRecord v = volume(s, c.name());
        AttachmentRecord current = v.attachment();
        if (current != null) {
            if (current.node().equals(c.node())) {
                // Idempotent: a retried attach from the same node must not fence out its own coordinator.
                return new Applied(s, CommandResult.success(current.epoch()));
            }
            NodeRecord holder = s.nodes().get(current.node());
            if (holder != null && holder.up()) {
                throw new Rejected(CommandResult.conflict(
                        "volume " + v.name() + " is attached on node " + current.node()));
            }
            // Its node is down (or gone): take the volume over. The new epoch fences the old coordinator.
        }
        long epoch = v.epoch() + 1;
        return new Applied(s.withVolume(v.withAttachment(new AttachmentRecord(c.node(), epoch, c.atMillis()), epoch)),
                CommandResult.success(epoch));
    }

    private static Applied setReplicaState(ClusterState s, Command.SetReplicaState c) {
        VolumeRecord v = volume(s, c.volume());
        requireName(c.node(), "node name");
        require(List.of(ReplicaRecord.IN_SYNC, ReplicaRecord.RESYNCING, ReplicaRecord.STALE, ReplicaRecord.FAILED)
                .contains(c.state()), "volume " + v.name() + ": unknown replica state " + c.state());
        // Detached: the latest epoch (TakeEpoch's, or the last coordinator's, closed by now); never 0, which
        // nobody ever held.
        long current = v.attached() ? v.attachment().epoch() : v.epoch();
        if (current != c.epoch() || current == 0) {
            throw new Rejected(CommandResult.conflict("volume " + v.name() + ": epoch " + c.epoch() + " is stale ("
                    + (v.attached() ? "attached on " + v.attachment().node() + " with epoch " + v.attachment().epoch()
                    : "detached, epoch " + v.epoch()) + ")"));
        }
        List<ReplicaRecord> next = new ArrayList<>(v.replicas().size());
        boolean found = false;
        for (ReplicaRecord r : v.replicas()) {
            if (r.node().equals(c.node())) {
                if (c.expected() != null && !c.expected().equals(r.state())) {
                    throw new Rejected(CommandResult.conflict("volume " + v.name() + ": the replica on " + c.node()
                            + " is " + r.state() + ", not " + c.expected()));
                }
                found = true;
                next.add(new ReplicaRecord(r.node(), r.pool(), c.state()));
            } else {
                next.add(r);
            }
        }
        if (!found) {
            throw new Rejected(CommandResult.notFound("volume " + v.name() + " has no replica on node " + c.node()));
        }
        if (next.stream().noneMatch(ReplicaRecord::inSync)) {
            throw new Rejected(CommandResult.conflict("volume " + v.name() + ": the replica on " + c.node()
                    + " is its last in-sync replica; it cannot leave the in-sync set"));
        }
        return ok(s.withVolume(v.withReplicas(v.repl(), next)));
    }

    private static Applied takeEpoch(ClusterState s, Command.TakeEpoch c) {
        VolumeRecord v = volume(s, c.name());
        if (v.attached()) {
            throw new Rejected(CommandResult.conflict("volume " + v.name() + " is attached on node "
                    + v.attachment().node() + "; its coordinator resyncs its replicas"));
        }
        long epoch = v.epoch() + 1;
        return new Applied(s.withVolume(v.withAttachment(null, epoch)), CommandResult.success(epoch));
    }

    private static Applied detachVolume(ClusterState s, DetachVolume c) {
        VolumeRecord v = volume(s, c.name());
        if (!v.attached()) {
            return new Applied(s, CommandResult.success(v.epoch()));
        }
        // The epoch stays: it is the high-water mark the next attach must exceed.
        return new Applied(s.withVolume(v.withAttachment(null, v.epoch())), CommandResult.success(v.epoch()));
    }

    private static Applied createSnapshot(ClusterState s, CreateSnapshot c) {
        SnapshotRecord snap = c.snapshot();
        require(snap != null, "CreateSnapshot without a snapshot");
        requireName(snap.name(), "snapshot name");
        VolumeRecord v = volume(s, c.volume());
        for (SnapshotRecord existing : v.snapshots()) {
            if (existing.name().equals(snap.name())) {
                throw new Rejected(CommandResult.conflict(
                        "volume " + v.name() + " already has a snapshot named " + snap.name()));
            }
        }
        List<SnapshotRecord> snapshots = new ArrayList<>(v.snapshots());
        snapshots.add(snap);
        return ok(s.withVolume(v.withSnapshots(snapshots)));
    }

    private static Applied deleteSnapshot(ClusterState s, DeleteSnapshot c) {
        VolumeRecord v = volume(s, c.volume());
        List<SnapshotRecord> snapshots = new ArrayList<>(v.snapshots());
        if (!snapshots.removeIf(snap -> snap.name().equals(c.name()))) {
            throw new Rejected(CommandResult.notFound("volume " + v.name() + " has no snapshot named " + c.name()));
        }
        return ok(s.withVolume(v.withSnapshots(snapshots)));
    }

    private static VolumeRecord volume(ClusterState s, String name) {
        requireName(name, "volume name");
        VolumeRecord v = s.volumes().get(name);
        if (v == null) {
            throw new Rejected(CommandResult.notFound("volume " + name + " does not exist"));
        }
        return v;
    }

    private static Applied ok(ClusterState s) {
        return new Applied(s, CommandResult.success());
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw new Rejected(CommandResult.invalid(message));
        }
    }

    private static void requireName(String name, String what) {
        require(name != null && !name.isBlank(), "missing " + what);
    }

    /** Unwinds a handler with a rejection; carries no stack trace because it is not an error of ours. */
    private static final class Rejected extends RuntimeException {
        final CommandResult result;

        Rejected(CommandResult result) {
            super(result.message(), null, false, false);
            this.result = result;
        }
    }
}
