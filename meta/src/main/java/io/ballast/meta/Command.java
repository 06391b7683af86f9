package io.ballast.meta;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import java.util.List;
import java.util.Map;

/**
 * A change to the cluster's metadata, replicated through the Raft log and applied by
 * {@link ClusterStateTransitions}.
 *
 * <p>Commands carry every timestamp and id they need: applying one must give the same result on
 * every replica and on every replay, so the apply side never reads a clock or a random source.
 *
 * <p>On the wire a command is JSON with a {@code "type"} property naming the record. The names are part
 * of the persistent log format: never rename one, add new types instead.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, include = JsonTypeInfo.As.PROPERTY, property = "type")
@JsonSubTypes({
        @JsonSubTypes.Type(value = Command.RegisterNode.class, name = "RegisterNode"),
        @JsonSubTypes.Type(value = Command.Heartbeat.class, name = "Heartbeat"),
        @JsonSubTypes.Type(value = Command.RegisterPool.class, name = "RegisterPool"),
        @JsonSubTypes.Type(value = Command.CreateVolume.class, name = "CreateVolume"),
        @JsonSubTypes.Type(value = Command.DeleteVolume.class, name = "DeleteVolume"),
        @JsonSubTypes.Type(value = Command.ResizeVolume.class, name = "ResizeVolume"),
        @JsonSubTypes.Type(value = Command.AttachVolume.class, name = "AttachVolume"),
        @JsonSubTypes.Type(value = Command.DetachVolume.class, name = "DetachVolume"),
        @JsonSubTypes.Type(value = Command.CreateSnapshot.class, name = "CreateSnapshot"),
        @JsonSubTypes.Type(value = Command.DeleteSnapshot.class, name = "DeleteSnapshot"),
        @JsonSubTypes.Type(value = Command.JoinNode.class, name = "JoinNode"),
        @JsonSubTypes.Type(value = Command.MarkNodeDown.class, name = "MarkNodeDown"),
        @JsonSubTypes.Type(value = Command.RemoveNode.class, name = "RemoveNode"),
        @JsonSubTypes.Type(value = Command.SetReplicas.class, name = "SetReplicas"),
        @JsonSubTypes.Type(value = Command.SetMetadataRoles.class, name = "SetMetadataRoles"),
        @JsonSubTypes.Type(value = Command.SetReplicaState.class, name = "SetReplicaState"),
        @JsonSubTypes.Type(value = Command.TakeEpoch.class, name = "TakeEpoch"),
})
public sealed interface Command {

    /** Adds or replaces a node. */
    record RegisterNode(NodeRecord node) implements Command {}

    /**
     * Renews a node's lease, marks it up, and records its pools' use ({@code poolUsedBytes} by pool id;
     * pools of other nodes are ignored). NOT_FOUND for an unknown node, which is how a removed node learns
     * that it was removed.
     */
    record Heartbeat(String node, long atMillis, Map<String, Long> poolUsedBytes) implements Command {
        public Heartbeat {
            poolUsedBytes = poolUsedBytes == null ? Map.of() : Map.copyOf(poolUsedBytes);
        }

        public Heartbeat(String node, long atMillis) {
            this(node, atMillis, Map.of());
        }
    }

    /** Adds a node that is joining the cluster. CONFLICT if a node of that name is already a member. */
    record JoinNode(NodeRecord node) implements Command {}

    /**
     * Marks a node down, but only if its last heartbeat is still {@code lastHeartbeatMillis}: a heartbeat
     * committed after the leader decided keeps the node up. NOT_FOUND for an unknown node.
     */
    record MarkNodeDown(String node, long lastHeartbeatMillis) implements Command {}

    /**
     * Decommissions a node: removes it, its pools, and its replicas from every volume. CONFLICT while a
     * volume is attached on it, or while it holds the only in-sync replica of a volume.
     */
    record RemoveNode(String node) implements Command {}

    /**
     * Replaces a volume's replica set and replication factor ({@code volume ha-update}). INVALID unless
     * {@code replicas} has {@code repl} entries on distinct registered nodes, each on a pool of its node,
     * and at least one of the volume's in-sync replicas stays in-sync. A replica the volume already has keeps
     * the state it has when the command applies (its coordinator may have changed it since the caller read
     * it); the states given count for new replicas only.
     */
    record SetReplicas(String volume, int repl, List<ReplicaRecord> replicas) implements Command {
        public SetReplicas {
            replicas = replicas == null ? List.of() : List.copyOf(replicas);
        }
    }

    /** Adds or replaces a pool. */
    record RegisterPool(PoolRecord pool) implements Command {}

    /** Creates a detached volume. CONFLICT if the name is taken. */
    record CreateVolume(VolumeRecord volume) implements Command {}

    /** NOT_FOUND; CONFLICT while attached. */
    record DeleteVolume(String name) implements Command {}

    /** Grows a volume. NOT_FOUND; INVALID if smaller than today. */
    record ResizeVolume(String name, long newSizeBytes) implements Command {}

    /**
     * Attaches a volume to a node and issues the fencing epoch for it, returned as the result's value.
     * Re-attaching on the same node returns the current epoch. Attaching elsewhere is a CONFLICT while the
     * node it is attached on is up; once that node is down, the attach takes the volume over with a new
     * epoch, which fences the old coordinator out of every replica.
     */
    record AttachVolume(String name, String node, long atMillis) implements Command {}

    /** NOT_FOUND; a no-op when detached. */
    record DetachVolume(String name) implements Command {}

    /** NOT_FOUND; CONFLICT if the volume already has a snapshot of that name. */
    record CreateSnapshot(String volume, SnapshotRecord snapshot) implements Command {}

    /**
     * Issues a new fencing epoch for a detached volume without attaching it, returned as the result's value:
     * a node that resyncs the replicas of a detached volume works at an epoch of its own, which fences any
     * older coordinator and which the next attach exceeds (fencing the resync in turn). CONFLICT while
     * attached; NOT_FOUND.
     */
    record TakeEpoch(String name) implements Command {}

    /** NOT_FOUND if the volume or the snapshot does not exist. */
    record DeleteSnapshot(String volume, String name) implements Command {}

    /**
     * The coordinator of attachment {@code epoch} moves the replica on {@code node} to {@code state}: out of
     * the in-sync set when it failed ({@link ReplicaRecord#STALE}), to {@link ReplicaRecord#RESYNCING} while
     * it catches up, and back into the set ({@link ReplicaRecord#IN_SYNC}) once it has. CONFLICT unless the
     * volume is attached with exactly that epoch, or detached and that epoch is its latest (taken by
     * {@link TakeEpoch} to resync it): a fenced coordinator changes nothing; or when the change
     * would leave the volume without an in-sync replica, or unless the replica is in state {@code expected}
     * (when given: a change committed late, after a retry timed out, must not undo a later one); NOT_FOUND for
     * an unknown volume or replica.
     */
    record SetReplicaState(String volume, long epoch, String node, String state, String expected) implements Command {
        public SetReplicaState(String volume, long epoch, String node, String state) {
            this(volume, epoch, node, state, null);
        }
    }

    /** Records the Raft group's voters and leader, as the leader sees them, for every node to show. */
    record SetMetadataRoles(List<String> voters, String leader) implements Command {
        public SetMetadataRoles {
            voters = voters == null ? List.of() : List.copyOf(voters);
        }
    }
}
