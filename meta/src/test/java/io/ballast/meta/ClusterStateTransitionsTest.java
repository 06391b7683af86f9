package io.ballast.meta;

import static io.ballast.meta.Fixtures.node;
import static io.ballast.meta.Fixtures.pool;
import static io.ballast.meta.Fixtures.volume;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ballast.meta.Command.AttachVolume;
import io.ballast.meta.Command.CreateSnapshot;
import io.ballast.meta.Command.CreateVolume;
import io.ballast.meta.Command.DeleteSnapshot;
import io.ballast.meta.Command.DeleteVolume;
import io.ballast.meta.Command.DetachVolume;
import io.ballast.meta.Command.Heartbeat;
import io.ballast.meta.Command.RegisterNode;
import io.ballast.meta.Command.RegisterPool;
import io.ballast.meta.Command.ResizeVolume;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Every command's success and error paths, on the pure transition function. */
class ClusterStateTransitionsTest {
    private ClusterState state = ClusterState.empty("c1");
    private long index;

    private CommandResult apply(Command command) {
        ClusterState before = state;
        ClusterStateTransitions.Applied applied = ClusterStateTransitions.apply(state, command, ++index);
        state = applied.state();
        assertThat(state.appliedIndex()).isEqualTo(index);
        if (!applied.result().ok()) {
            assertThat(state).as("a rejected command changes nothing but the index").isEqualTo(before.withAppliedIndex(index));
        }
        return applied.result();
    }

    private VolumeRecord vol(String name) {
        return state.volumes().get(name);
    }

    @Test
    void registerNodeUpserts() {
        assertThat(apply(new RegisterNode(node("n1")))).isEqualTo(CommandResult.success());
        NodeRecord moved = new NodeRecord("n1", "10.9.9.9", 1, 2, 3, 4, Map.of(), 1_000, 2_000);
        assertThat(apply(new RegisterNode(moved)).ok()).isTrue();
        assertThat(state.nodes()).containsOnlyKeys("n1");
        assertThat(state.nodes().get("n1")).isEqualTo(moved);
        assertThat(apply(new RegisterNode(null)).code()).isEqualTo(CommandResult.INVALID);
        assertThat(apply(new RegisterNode(node(" "))).code()).isEqualTo(CommandResult.INVALID);
        // Only the founding node registers from nothing; others join, and a removed node cannot come back.
        assertThat(apply(new RegisterNode(node("n2"))).code()).isEqualTo(CommandResult.NOT_FOUND);
        assertThat(apply(new Command.JoinNode(node("n2"))).ok()).isTrue();
        assertThat(apply(new Command.JoinNode(node("n2"))).code()).isEqualTo(CommandResult.CONFLICT);
        assertThat(apply(new RegisterNode(node("n2"))).ok()).isTrue();
        assertThat(apply(new Command.RemoveNode("n2")).ok()).isTrue();
        assertThat(apply(new RegisterNode(node("n2"))).code()).isEqualTo(CommandResult.NOT_FOUND);
    }

    @Test
    void aNodeIsMarkedDownOnlyIfNoHeartbeatCameSince() {
        apply(new RegisterNode(node("n1")));
        apply(new Heartbeat("n1", 5_000));
        assertThat(apply(new Command.MarkNodeDown("n1", 4_000)).ok()).isTrue();
        assertThat(state.nodes().get("n1").up()).isTrue();
        assertThat(apply(new Command.MarkNodeDown("n1", 5_000)).ok()).isTrue();
        assertThat(state.nodes().get("n1").up()).isFalse();
        apply(new Heartbeat("n1", 6_000));
        assertThat(state.nodes().get("n1").up()).isTrue();
    }

    @Test
    void heartbeatRenewsTheLeaseEvenWhenTheNodesClockSteppedBack() {
        assertThat(apply(new Heartbeat("n1", 5_000)).code()).isEqualTo(CommandResult.NOT_FOUND);
        apply(new RegisterNode(node("n1")));
        assertThat(apply(new Heartbeat("n1", 5_000)).ok()).isTrue();
        assertThat(state.nodes().get("n1").lastHeartbeatMillis()).isEqualTo(5_000);
        // The lease is judged on the value changing: a clock stepped back still renews it.
        assertThat(apply(new Heartbeat("n1", 4_000)).ok()).isTrue();
        assertThat(state.nodes().get("n1").lastHeartbeatMillis()).isEqualTo(4_000);
    }

    @Test
    void registerPoolUpserts() {
        assertThat(apply(new RegisterPool(pool("p1", "n1"))).ok()).isTrue();
        PoolRecord bigger = new PoolRecord("p1", "n1", "/data", "high", 1L << 40);
        assertThat(apply(new RegisterPool(bigger)).ok()).isTrue();
        assertThat(state.pools()).containsExactlyEntriesOf(Map.of("p1", bigger));
        assertThat(apply(new RegisterPool(null)).code()).isEqualTo(CommandResult.INVALID);
        assertThat(apply(new RegisterPool(new PoolRecord("p2", "n1", "/x", "low", -1))).code())
                .isEqualTo(CommandResult.INVALID);
    }

    @Test
    void createVolume() {
        assertThat(apply(new CreateVolume(volume("v1"))).ok()).isTrue();
        assertThat(vol("v1")).isEqualTo(volume("v1"));
        CommandResult dup = apply(new CreateVolume(volume("v1")));
        assertThat(dup.code()).isEqualTo(CommandResult.CONFLICT);
        assertThat(dup.message()).contains("v1");
    }

    @Test
    void createVolumeRejectsNonsense() {
        VolumeRecord v = volume("v1");
        assertThat(apply(new CreateVolume(null)).code()).isEqualTo(CommandResult.INVALID);
        assertThat(apply(new CreateVolume(new VolumeRecord("id", "", 1, 1, null, null, null, 0, null, null, 0, null, null, null))).code())
                .isEqualTo(CommandResult.INVALID);
        assertThat(apply(new CreateVolume(v.withSizeBytes(0))).code()).isEqualTo(CommandResult.INVALID);
        assertThat(apply(new CreateVolume(v.withAttachment(new AttachmentRecord("n1", 1, 0), 1))).code())
                .isEqualTo(CommandResult.INVALID);
        assertThat(state.volumes()).isEmpty();
    }

    @Test
    void deleteVolume() {
        assertThat(apply(new DeleteVolume("v1")).code()).isEqualTo(CommandResult.NOT_FOUND);
        apply(new CreateVolume(volume("v1")));
        apply(new AttachVolume("v1", "n1", 1));
        CommandResult attached = apply(new DeleteVolume("v1"));
        assertThat(attached.code()).isEqualTo(CommandResult.CONFLICT);
        assertThat(attached.message()).contains("n1");
        apply(new DetachVolume("v1"));
        assertThat(apply(new DeleteVolume("v1")).ok()).isTrue();
        assertThat(state.volumes()).isEmpty();
    }

    @Test
    void resizeVolumeOnlyGrows() {
        assertThat(apply(new ResizeVolume("v1", 1)).code()).isEqualTo(CommandResult.NOT_FOUND);
        apply(new CreateVolume(volume("v1")));
        long size = vol("v1").sizeBytes();
        assertThat(apply(new ResizeVolume("v1", size - 1)).code()).isEqualTo(CommandResult.INVALID);
        assertThat(apply(new ResizeVolume("v1", size)).ok()).isTrue();
        assertThat(apply(new ResizeVolume("v1", 2 * size)).ok()).isTrue();
        assertThat(vol("v1").sizeBytes()).isEqualTo(2 * size);
    }

    @Test
    void attachIssuesIncreasingEpochsAndFencesOtherNodes() {
        apply(new RegisterNode(node("node1")));
        apply(new Command.JoinNode(node("node2")));
        assertThat(apply(new AttachVolume("v1", "node1", 1)).code()).isEqualTo(CommandResult.NOT_FOUND);
        apply(new CreateVolume(volume("v1")));

        assertThat(apply(new AttachVolume("v1", "node1", 10))).isEqualTo(CommandResult.success(1));
        assertThat(vol("v1").attachment()).isEqualTo(new AttachmentRecord("node1", 1, 10));

        assertThat(apply(new AttachVolume("v1", "node1", 20))).isEqualTo(CommandResult.success(1));
        assertThat(vol("v1").attachment()).as("a re-attach changes nothing").isEqualTo(new AttachmentRecord("node1", 1, 10));

        CommandResult conflict = apply(new AttachVolume("v1", "node2", 30));
        assertThat(conflict.code()).isEqualTo(CommandResult.CONFLICT);
        assertThat(conflict.message()).isEqualTo("volume v1 is attached on node node1");

        assertThat(apply(new DetachVolume("v1")).ok()).isTrue();
        assertThat(vol("v1").attachment()).isNull();
        assertThat(vol("v1").epoch()).isEqualTo(1);

        assertThat(apply(new AttachVolume("v1", "node2", 40))).isEqualTo(CommandResult.success(2));
        assertThat(vol("v1").attachment()).isEqualTo(new AttachmentRecord("node2", 2, 40));
        assertThat(vol("v1").epoch()).isEqualTo(2);
        assertThat(apply(new AttachVolume("v1", "", 50)).code()).isEqualTo(CommandResult.INVALID);

        // Once the node it is attached on is down, another node takes the volume over with a new epoch.
        long lastBeat = state.nodes().get("node2").lastHeartbeatMillis();
        assertThat(apply(new Command.MarkNodeDown("node2", lastBeat)).ok()).isTrue();
        assertThat(apply(new AttachVolume("v1", "node1", 60))).isEqualTo(CommandResult.success(3));
        assertThat(vol("v1").attachment()).isEqualTo(new AttachmentRecord("node1", 3, 60));
    }

    @Test
    void onlyTheCoordinatorOfTheCurrentEpochChangesReplicaStates() {
        apply(new RegisterNode(node("n1")));
        apply(new CreateVolume(volume("v1"))); // replicas on n1 and n2, both in sync
        Command.SetReplicaState detached = new Command.SetReplicaState("v1", 0, "n2", ReplicaRecord.STALE);
        assertThat(apply(detached).code()).as("detached: no coordinator").isEqualTo(CommandResult.CONFLICT);
        assertThat(apply(new AttachVolume("v1", "n1", 1)).value()).isEqualTo(1);

        CommandResult fenced = apply(new Command.SetReplicaState("v1", 0, "n2", ReplicaRecord.STALE));
        assertThat(fenced.code()).isEqualTo(CommandResult.CONFLICT);
        assertThat(fenced.message()).contains("epoch 0 is stale").contains("epoch 1");

        assertThat(apply(new Command.SetReplicaState("v1", 1, "n2", ReplicaRecord.STALE)).ok()).isTrue();
        assertThat(vol("v1").replicas()).extracting(ReplicaRecord::state)
                .containsExactly(ReplicaRecord.IN_SYNC, ReplicaRecord.STALE);
        CommandResult last = apply(new Command.SetReplicaState("v1", 1, "n1", ReplicaRecord.STALE));
        assertThat(last.code()).isEqualTo(CommandResult.CONFLICT);
        assertThat(last.message()).contains("last in-sync replica");

        assertThat(apply(new Command.SetReplicaState("v1", 1, "n2", ReplicaRecord.RESYNCING)).ok()).isTrue();
        assertThat(apply(new Command.SetReplicaState("v1", 1, "n2", ReplicaRecord.IN_SYNC)).ok()).isTrue();
        assertThat(vol("v1").replicas()).allMatch(ReplicaRecord::inSync);

        // Into the set only from resyncing: a late commit of an earlier resync must not undo a later failure.
        assertThat(apply(new Command.SetReplicaState("v1", 1, "n2", ReplicaRecord.STALE)).ok()).isTrue();
        CommandResult late = apply(new Command.SetReplicaState("v1", 1, "n2", ReplicaRecord.IN_SYNC,
                ReplicaRecord.RESYNCING));
        assertThat(late.code()).isEqualTo(CommandResult.CONFLICT);
        assertThat(late.message()).contains("is stale, not resyncing");

        assertThat(apply(new Command.SetReplicaState("v1", 1, "n3", ReplicaRecord.STALE)).code())
                .isEqualTo(CommandResult.NOT_FOUND);
        assertThat(apply(new Command.SetReplicaState("v1", 1, "n2", "bogus")).code()).isEqualTo(CommandResult.INVALID);
        assertThat(apply(new Command.SetReplicaState("nope", 1, "n2", ReplicaRecord.STALE)).code())
                .isEqualTo(CommandResult.NOT_FOUND);
    }

    @Test
    void aDetachedVolumeTakesAnEpochOfItsOwnForAResyncAndTheNextAttachExceedsIt() {
        apply(new RegisterNode(node("n1")));
        assertThat(apply(new Command.TakeEpoch("v1")).code()).isEqualTo(CommandResult.NOT_FOUND);
        apply(new CreateVolume(volume("v1")));
        assertThat(apply(new AttachVolume("v1", "n1", 1)).value()).isEqualTo(1);
        assertThat(apply(new Command.TakeEpoch("v1")).code()).as("attached: its coordinator resyncs")
                .isEqualTo(CommandResult.CONFLICT);
        apply(new DetachVolume("v1"));
        assertThat(apply(new Command.TakeEpoch("v1"))).isEqualTo(CommandResult.success(2));
        assertThat(vol("v1").attached()).isFalse();
        assertThat(vol("v1").epoch()).isEqualTo(2);

        CommandResult old = apply(new Command.SetReplicaState("v1", 1, "n2", ReplicaRecord.STALE));
        assertThat(old.code()).isEqualTo(CommandResult.CONFLICT);
        assertThat(old.message()).contains("epoch 1 is stale").contains("detached, epoch 2");
        assertThat(apply(new Command.SetReplicaState("v1", 2, "n2", ReplicaRecord.RESYNCING)).ok()).isTrue();

        // An attach fences the resync: its next commit is refused.
        assertThat(apply(new AttachVolume("v1", "n1", 2)).value()).isEqualTo(3);
        assertThat(apply(new Command.SetReplicaState("v1", 2, "n2", ReplicaRecord.IN_SYNC)).code())
                .isEqualTo(CommandResult.CONFLICT);
    }

    @Test
    void detachIsANoOpWhenDetached() {
        assertThat(apply(new DetachVolume("v1")).code()).isEqualTo(CommandResult.NOT_FOUND);
        apply(new CreateVolume(volume("v1")));
        ClusterState before = state;
        assertThat(apply(new DetachVolume("v1")).ok()).isTrue();
        assertThat(state).isEqualTo(before.withAppliedIndex(index));
    }

    @Test
    void snapshots() {
        SnapshotRecord s1 = new SnapshotRecord("s1", 100);
        assertThat(apply(new CreateSnapshot("v1", s1)).code()).isEqualTo(CommandResult.NOT_FOUND);
        assertThat(apply(new DeleteSnapshot("v1", "s1")).code()).isEqualTo(CommandResult.NOT_FOUND);
        apply(new CreateVolume(volume("v1")));
        assertThat(apply(new CreateSnapshot("v1", s1)).ok()).isTrue();
        assertThat(apply(new CreateSnapshot("v1", new SnapshotRecord("s2", 200))).ok()).isTrue();
        assertThat(apply(new CreateSnapshot("v1", new SnapshotRecord("s1", 300))).code()).isEqualTo(CommandResult.CONFLICT);
        assertThat(apply(new CreateSnapshot("v1", null)).code()).isEqualTo(CommandResult.INVALID);
        assertThat(vol("v1").snapshots()).extracting(SnapshotRecord::name).containsExactly("s1", "s2");

        assertThat(apply(new DeleteSnapshot("v1", "nope")).code()).isEqualTo(CommandResult.NOT_FOUND);
        assertThat(apply(new DeleteSnapshot("v1", "s1")).ok()).isTrue();
        assertThat(vol("v1").snapshots()).containsExactly(new SnapshotRecord("s2", 200));
    }

    @Test
    void statesAreImmutableAndShareUnchangedRecords() {
        apply(new CreateVolume(volume("v1")));
        ClusterState before = state;
        apply(new CreateVolume(volume("v2")));
        assertThat(before.volumes()).containsOnlyKeys("v1");
        assertThat(state.volumes().get("v1")).isSameAs(before.volumes().get("v1"));
        assertThat(state.nodes()).isSameAs(before.nodes());
        assertThatThrownBy(() -> state.volumes().put("x", volume("x"))).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> state.volumes().entrySet().iterator().next().setValue(volume("x")))
                .isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> vol("v1").replicas().add(new ReplicaRecord("n", "p", "stale")))
                .isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void commandsAndStateRoundTripThroughJson() throws IOException {
        List<Command> commands = List.of(
                new RegisterNode(node("n1")), new Heartbeat("n1", 7), new RegisterPool(pool("p1", "n1")),
                new CreateVolume(volume("v1")), new ResizeVolume("v1", 5L << 30), new AttachVolume("v1", "n1", 8),
                new CreateSnapshot("v1", new SnapshotRecord("s1", 9)), new DeleteSnapshot("v1", "s1"),
                new DetachVolume("v1"), new DeleteVolume("v1"));
        for (Command c : commands) {
            byte[] json = MetaJson.write(c);
            assertThat(new String(json)).contains("\"type\":\"" + c.getClass().getSimpleName() + "\"");
            assertThat(MetaJson.read(json, Command.class)).isEqualTo(c);
            apply(c);
            if (c instanceof CreateSnapshot) {
                assertThat(MetaJson.read(MetaJson.write(state), ClusterState.class)).isEqualTo(state);
            }
        }
        assertThat(MetaJson.read(MetaJson.write(state), ClusterState.class)).isEqualTo(state);
        assertThat(MetaJson.read(MetaJson.write(CommandResult.success(3)), CommandResult.class))
                .isEqualTo(CommandResult.success(3));
    }

    @Test
    void setReplicasKeepsTheCurrentStateOfTheReplicasItKeeps() {
        apply(new RegisterNode(node("n1")));
        apply(new Command.JoinNode(node("n2")));
        apply(new Command.JoinNode(node("n3")));
        apply(new RegisterPool(pool("p1", "n1")));
        apply(new RegisterPool(pool("p2", "n2")));
        apply(new RegisterPool(pool("p3", "n3")));
        apply(new CreateVolume(volume("v1"))); // n1/p1 and n2/p2, in sync
        apply(new AttachVolume("v1", "n1", 1));
        apply(new Command.SetReplicaState("v1", 1, "n2", ReplicaRecord.STALE));
        List<ReplicaRecord> read = vol("v1").replicas(); // what an ha-update read: n2 stale
        apply(new Command.SetReplicaState("v1", 1, "n2", ReplicaRecord.RESYNCING));
        apply(new Command.SetReplicaState("v1", 1, "n2", ReplicaRecord.IN_SYNC)); // the coordinator caught it up
        List<ReplicaRecord> next = new java.util.ArrayList<>(read);
        next.add(new ReplicaRecord("n3", "p3", ReplicaRecord.STALE));
        assertThat(apply(new Command.SetReplicas("v1", 3, next)).ok()).isTrue();
        assertThat(vol("v1").replicas()).extracting(ReplicaRecord::state)
                .containsExactly(ReplicaRecord.IN_SYNC, ReplicaRecord.IN_SYNC, ReplicaRecord.STALE);
    }
}
