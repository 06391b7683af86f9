package io.ballast.meta;

import static org.assertj.core.api.Assertions.assertThat;

import io.ballast.meta.Command.AttachVolume;
import io.ballast.meta.Command.CreateSnapshot;
import io.ballast.meta.Command.CreateVolume;
import io.ballast.meta.Command.DeleteSnapshot;
import io.ballast.meta.Command.DeleteVolume;
import io.ballast.meta.Command.DetachVolume;
import io.ballast.meta.Command.Heartbeat;
import io.ballast.meta.Command.RegisterNode;
import io.ballast.meta.Command.ResizeVolume;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Random command sequences against the transition function, checking invariants after every step.
 * Reproduce a failure with {@code -Dballast.seed=<seed printed in the failure message>}.
 */
class ClusterStateTransitionsRandomTest {
    private static final List<String> NODES = List.of("n1", "n2", "n3");
    private static final List<String> VOLUMES = List.of("a", "b", "c", "d", "e");

    @Test
    void invariantsHoldOverRandomCommandSequences() {
        long seed = Long.getLong("ballast.seed", System.nanoTime());
        try {
            Random random = new Random(seed);
            for (int run = 0; run < 200; run++) {
                runOnce(random, 300);
            }
        } catch (AssertionError | RuntimeException e) {
            throw new AssertionError("failed with -Dballast.seed=" + seed + ": " + e.getMessage(), e);
        }
    }

    private static void runOnce(Random random, int steps) {
        ClusterState state = ClusterState.empty("c");
        // Highest epoch issued per volume *id*: a volume deleted and re-created by the same name is a new one.
        Map<String, Long> highestEpoch = new HashMap<>();
        ClusterState replay = ClusterState.empty("c");
        for (long index = 1; index <= steps; index++) {
            Command command = randomCommand(random, index);
            ClusterStateTransitions.Applied applied = ClusterStateTransitions.apply(state, command, index);
            ClusterState next = applied.state();
            CommandResult result = applied.result();

            // Determinism: applying the same command to the same state gives the same outcome.
            assertThat(ClusterStateTransitions.apply(state, command, index)).isEqualTo(applied);
            assertThat(next.appliedIndex()).isEqualTo(index);
            assertThat(result.code()).isIn(CommandResult.OK, CommandResult.NOT_FOUND, CommandResult.CONFLICT, CommandResult.INVALID);
            assertThat(result.ok()).isEqualTo(result.code().equals(CommandResult.OK));
            if (!result.ok()) {
                assertThat(next).as("rejected %s changed the state", command).isEqualTo(state.withAppliedIndex(index));
            }

            if (command instanceof DeleteVolume(String name) && state.volumes().containsKey(name)
                    && state.volumes().get(name).attached()) {
                assertThat(result.code()).as("deleting attached %s", name).isEqualTo(CommandResult.CONFLICT);
                assertThat(next.volumes()).containsKey(name);
            }
            if (command instanceof CreateVolume(VolumeRecord v) && state.volumes().containsKey(v.name())) {
                assertThat(result.code()).isEqualTo(CommandResult.CONFLICT);
                assertThat(next.volumes().get(v.name())).isSameAs(state.volumes().get(v.name()));
            }
            if (command instanceof AttachVolume(String name, String node, long at) && result.ok()) {
                VolumeRecord v = next.volumes().get(name);
                assertThat(v.attachment().node()).isEqualTo(node);
                assertThat(result.value()).isEqualTo(v.epoch()).isEqualTo(v.attachment().epoch());
            }

            if (command instanceof Command.TakeEpoch(String name) && state.volumes().containsKey(name)) {
                VolumeRecord before = state.volumes().get(name);
                assertThat(result.ok()).as("TakeEpoch on %s, attached: %s", name, before.attached())
                        .isEqualTo(!before.attached());
                if (result.ok()) {
                    assertThat(result.value()).isEqualTo(before.epoch() + 1).isEqualTo(next.volumes().get(name).epoch());
                    assertThat(next.volumes().get(name).attached()).isFalse();
                }
            }
            for (VolumeRecord v : next.volumes().values()) {
                // Epochs only increase, and an attachment always holds the latest one.
                long previous = highestEpoch.getOrDefault(v.id(), 0L);
                assertThat(v.epoch()).as("epoch of %s", v.name()).isGreaterThanOrEqualTo(previous);
                highestEpoch.put(v.id(), v.epoch());
                if (v.attached()) {
                    assertThat(v.attachment().epoch()).isEqualTo(v.epoch()).isPositive();
                }
                // Names are unique: the map key is the name, and snapshot names are unique per volume.
                assertThat(next.volumes().get(v.name())).isSameAs(v);
                Set<String> snapshotNames = new HashSet<>();
                v.snapshots().forEach(s -> assertThat(snapshotNames.add(s.name())).as("duplicate snapshot %s", s.name()).isTrue());
            }
            Set<String> ids = new HashSet<>();
            next.volumes().values().forEach(v -> assertThat(ids.add(v.id())).as("duplicate id %s", v.id()).isTrue());

            replay = ClusterStateTransitions.apply(replay, command, index).state();
            state = next;
        }
        // Replaying the same log from scratch reaches the same state.
        assertThat(replay).isEqualTo(state);
    }

    private static Command randomCommand(Random r, long index) {
        String node = pick(r, NODES);
        String volume = pick(r, VOLUMES);
        return switch (r.nextInt(11)) {
            case 0 -> new RegisterNode(Fixtures.node(node));
            case 1 -> new Heartbeat(node, r.nextInt(1_000));
            case 2, 3 -> new CreateVolume(withId(Fixtures.volume(volume), "id-" + index));
            case 4 -> new DeleteVolume(volume);
            case 5 -> new ResizeVolume(volume, (1L << 30) + r.nextInt(3) - 1);
            case 6, 7 -> new AttachVolume(volume, node, r.nextInt(1_000));
            case 8 -> new DetachVolume(volume);
            case 9 -> new Command.TakeEpoch(volume);
            default -> r.nextBoolean()
                    ? new CreateSnapshot(volume, new SnapshotRecord("s" + r.nextInt(3), r.nextInt(1_000)))
                    : new DeleteSnapshot(volume, "s" + r.nextInt(3));
        };
    }

    private static VolumeRecord withId(VolumeRecord v, String id) {
        return new VolumeRecord(id, v.name(), v.sizeBytes(), v.repl(), v.cos(), v.fs(), v.labels(), v.createdAtMillis(),
                v.replicas(), v.attachment(), v.epoch(), v.snapshots(), v.sourceVolume(), v.sourceSnapshot());
    }

    private static <T> T pick(Random r, List<T> list) {
        return list.get(r.nextInt(list.size()));
    }
}
