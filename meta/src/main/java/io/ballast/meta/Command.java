package io.ballast.meta;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

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
})
public sealed interface Command {

    /** Adds or replaces a node. */
    record RegisterNode(NodeRecord node) implements Command {}

    /** Renews a node's lease. NOT_FOUND for an unknown node. */
    record Heartbeat(String node, long atMillis) implements Command {}

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
     * Re-attaching on the same node returns the current epoch; attaching elsewhere is a CONFLICT.
     */
    record AttachVolume(String name, String node, long atMillis) implements Command {}

    /** NOT_FOUND; a no-op when detached. */
    record DetachVolume(String name) implements Command {}

    /** NOT_FOUND; CONFLICT if the volume already has a snapshot of that name. */
    record CreateSnapshot(String volume, SnapshotRecord snapshot) implements Command {}

    /** NOT_FOUND if the volume or the snapshot does not exist. */
    record DeleteSnapshot(String volume, String name) implements Command {}
}
