package io.ballast.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.ballast.api.ErrorCodes;
import io.ballast.api.VolumeSpec;
import io.ballast.meta.ClusterState;
import io.ballast.meta.NodeRecord;
import io.ballast.meta.PoolRecord;
import io.ballast.meta.ReplicaRecord;
import io.ballast.meta.VolumeRecord;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * Placement on real cluster records: readable examples first, then generated topologies checked
 * against a brute-force oracle that knows nothing of how Placement searches.
 */
class PlacementTest {
    private static final long MiB = 1L << 20;
    private static final long GiB = 1L << 30;
    private static final List<String> CLASSES = List.of("low", "medium", "high");

    // ---- examples ----------------------------------------------------------------------------

    @Test
    void theIssuesExampleSaysWhatWasNeededAndWhatWasFound() {
        ClusterState state = state(
                List.of(node("node1"), node("node2"), down(node("node3")), node("node4")),
                List.of(pool("p1", "node1", "high", 20 * GiB), pool("p2", "node2", "high", 20 * GiB),
                        pool("p3", "node3", "high", 20 * GiB), pool("p4", "node4", "low", 20 * GiB)));
        ApiException e = failure(() -> new Placement(1).place(spec(10 * GiB, 3, "high"), state));
        assertThat(e.getMessage()).isEqualTo(
                "need 3 nodes with a high pool and room for 10 GiB; found 2: node1, node2 (node3 is down; node4 has no high pool)");
        // node3 has room: the volume fits once it is back.
        assertThat(e.code()).isEqualTo(ErrorCodes.UNAVAILABLE);
    }

    @Test
    void aFullPoolIsNoSpaceAndTheErrorExplainsRoom() {
        ClusterState state = state(
                List.of(node("node1"), node("node2"), node("node3")),
                List.of(pool("p1", "node1", "high", 20 * GiB), pool("p2", "node2", "high", 20 * GiB),
                        pool("p3", "node3", "high", 20 * GiB)),
                List.of(volume("big", 16 * GiB, "high", "p3")));
        ApiException e = failure(() -> new Placement(1).place(spec(10 * GiB, 3, "high"), state));
        assertThat(e.getMessage()).isEqualTo("need 3 nodes with a high pool and room for 10 GiB; found 2: node1, node2"
                + " (node3 has at most 4 GiB of room); room is 1 times a pool's capacity, less what its volumes were promised");
        assertThat(e.code()).isEqualTo(ErrorCodes.NO_SPACE);
        // With overcommit 1.5 the same pool may promise 30 GiB, 14 of them still free.
        assertThat(new Placement(1.5).place(spec(10 * GiB, 3, "high"), state)).extracting(Placement.Choice::node)
                .containsExactlyInAnyOrder("node1", "node2", "node3");
    }

    @Test
    void whatNoPoolCouldEverHoldIsInvalid() {
        ClusterState state = state(List.of(node("node1")), List.of(pool("p1", "node1", "low", 2 * GiB)));
        ApiException e = failure(() -> new Placement(2).place(spec(8 * GiB, 1, null), state));
        assertThat(e.code()).isEqualTo(ErrorCodes.INVALID);
        assertThat(e.getMessage()).startsWith("need 1 node with a pool and room for 8 GiB; the closest class is low: found none")
                .contains("(node1 has no low pool big enough, even empty); room is 2 times a pool's capacity");
        // Two replicas on a one-node cluster: no amount of deleting helps either.
        assertThat(failure(() -> new Placement(2).place(spec(GiB, 2, "low"), state)).code()).isEqualTo(ErrorCodes.INVALID);
    }

    @Test
    void downNodesAreNeverChosen() {
        ClusterState state = state(
                List.of(down(node("node1")), node("node2"), node("node3")),
                List.of(pool("p1", "node1", "low", 100 * GiB), pool("p2", "node2", "low", 10 * GiB),
                        pool("p3", "node3", "low", 10 * GiB)));
        assertThat(new Placement(1).place(spec(GiB, 2, "low"), state)).containsExactly(
                new Placement.Choice("node2", "p2", "low"), new Placement.Choice("node3", "p3", "low"));
    }

    @Test
    void aSecondZoneBeatsMoreRoom() {
        ClusterState state = state(
                List.of(node("a1", "a", "r1"), node("a2", "a", "r2"), node("b1", "b", "r1")),
                List.of(pool("pa1", "a1", "low", 100 * GiB), pool("pa2", "a2", "low", 90 * GiB),
                        pool("pb1", "b1", "low", 10 * GiB)));
        assertThat(new Placement(1).place(spec(GiB, 2, "low"), state)).extracting(Placement.Choice::node)
                .containsExactly("a1", "b1");
    }

    @Test
    void racksAreToldApartWithinTheirZone() {
        // n4's rack is called r1 like n1's, but in another zone: it is a different rack. The third
        // replica goes to a new rack (a, r2), not to the roomier n2 in n1's rack.
        ClusterState state = state(
                List.of(node("n1", "a", "r1"), node("n2", "a", "r1"), node("n3", "a", "r2"), node("n4", "b", "r1")),
                List.of(pool("p1", "n1", "low", 100 * GiB), pool("p2", "n2", "low", 90 * GiB),
                        pool("p3", "n3", "low", 10 * GiB), pool("p4", "n4", "low", 5 * GiB)));
        assertThat(new Placement(1).place(spec(GiB, 3, "low"), state)).extracting(Placement.Choice::node)
                .containsExactly("n1", "n4", "n3");
    }

    @Test
    void unlabeledNodesShareOneUnknownZone() {
        // Nothing says n1 and n2 are apart: two unlabeled nodes are one (unknown) zone, so the second
        // replica goes to the only node in another zone, for all its smaller pool.
        ClusterState state = state(
                List.of(node("n1"), node("n2"), node("n3", "a", null)),
                List.of(pool("p1", "n1", "low", 100 * GiB), pool("p2", "n2", "low", 90 * GiB),
                        pool("p3", "n3", "low", 10 * GiB)));
        assertThat(new Placement(1).place(spec(GiB, 2, "low"), state)).extracting(Placement.Choice::node)
                .containsExactly("n1", "n3");
    }

    @Test
    void theRoomiestPoolOfTheClassOnEachNode() {
        ClusterState state = state(List.of(node("n1")), List.of(pool("p1", "n1", "low", 10 * GiB),
                pool("p2", "n1", "low", 20 * GiB), pool("p3", "n1", "high", 50 * GiB)));
        assertThat(new Placement(1).place(spec(GiB, 1, "low"), state))
                .containsExactly(new Placement.Choice("n1", "p2", "low"));
    }

    @Test
    void withoutAClassTheCheapestThatHoldsEveryReplica() {
        // Low fits one replica only (node2 has no low pool), so both go to medium, never high.
        ClusterState state = state(
                List.of(node("node1"), node("node2")),
                List.of(pool("l1", "node1", "low", 100 * GiB), pool("m1", "node1", "medium", 10 * GiB),
                        pool("m2", "node2", "medium", 10 * GiB), pool("h1", "node1", "high", 100 * GiB),
                        pool("h2", "node2", "high", 100 * GiB)));
        assertThat(new Placement(1).place(spec(GiB, 2, null), state)).containsExactly(
                new Placement.Choice("node1", "m1", "medium"), new Placement.Choice("node2", "m2", "medium"));
        assertThat(new Placement(1).place(spec(GiB, 1, null), state))
                .containsExactly(new Placement.Choice("node1", "l1", "low"));
        assertThat(new Placement(1).place(spec(GiB, 2, "high"), state)).extracting(Placement.Choice::cos)
                .containsExactly("high", "high");
    }

    @Test
    void withoutAClassAndNoOneClassEverywhereAnyPoolsWillDo() {
        // One disk fingerprinted by three daemons at once can land in two classes: a volume that asked
        // for none still gets its three replicas, and an explicit class is still never mixed.
        ClusterState state = state(List.of(node("node1"), node("node2"), node("node3")),
                List.of(pool("h1", "node1", "high", 100 * GiB), pool("m2", "node2", "medium", 100 * GiB),
                        pool("h3", "node3", "high", 100 * GiB)));
        assertThat(new Placement(1).place(spec(GiB, 3, null), state)).extracting(Placement.Choice::cos)
                .containsExactlyInAnyOrder("high", "medium", "high");
        ApiException e = catchThrowableOfType(ApiException.class,
                () -> new Placement(1).place(spec(GiB, 3, "high"), state));
        assertThat(e.getMessage()).startsWith("need 3 nodes with a high pool");
    }

    @Test
    void filtersAreHonouredAndUnknownNodesNamed() {
        ClusterState state = state(
                List.of(node("n1", "a", "r1"), node("n2", "b", "r1"), node("n3", "b", "r2")),
                List.of(pool("p1", "n1", "low", 100 * GiB), pool("p2", "n2", "low", 10 * GiB),
                        pool("p3", "n3", "low", 10 * GiB)));
        assertThat(new Placement(1).place(spec(GiB, 1, "low", List.of(), List.of("b"), List.of("r2")), state))
                .extracting(Placement.Choice::node).containsExactly("n3");
        ApiException e = failure(() -> new Placement(1).place(
                spec(GiB, 2, "low", List.of("n1", "n9"), List.of(), List.of()), state));
        assertThat(e.getMessage()).isEqualTo("need 2 nodes with a low pool and room for 1 GiB; found 1: n1"
                + " (no node is named n9; 2 nodes are outside the nodes, zones and racks asked for)");
        assertThat(e.code()).isEqualTo(ErrorCodes.INVALID);
    }

    @Test
    void haUpdateAddsReplicasAwayFromTheExistingOnes() {
        ClusterState state = state(
                List.of(node("node1", "a", "r1"), node("node2", "a", "r2"), node("node3", "b", "r1"),
                        node("node4", "c", "r1")),
                List.of(pool("p1", "node1", "high", 100 * GiB), pool("p2", "node2", "high", 100 * GiB),
                        pool("p3", "node3", "high", 20 * GiB), pool("p4", "node4", "low", 100 * GiB)),
                List.of(volume("v", 10 * GiB, "high", "p1")));
        VolumeRecord v = state.volumes().get("v");
        Placement placement = new Placement(1);
        // node2 has more room, but zone a already holds a replica.
        assertThat(placement.placeMore(v, 1, state)).containsExactly(new Placement.Choice("node3", "p3", "high"));
        assertThat(placement.placeMore(v, 2, state)).extracting(Placement.Choice::node).containsExactly("node3", "node2");
        assertThat(placement.placeMore(v, 0, state)).isEmpty();
        ApiException e = failure(() -> placement.placeMore(v, 3, state));
        assertThat(e.getMessage()).isEqualTo("need 3 more nodes with a high pool and room for 10 GiB; found 2: node2, node3"
                + " (node1 already holds a replica; node4 has no high pool)");
        assertThat(e.code()).isEqualTo(ErrorCodes.INVALID);
    }

    @Test
    void errorsStayOneBoundedLineOnLargeClusters() {
        // 500 nodes: four in five have no high pool; of the others, half are down, a quarter have a
        // high pool too small for the volume and a quarter have one that is full.
        List<NodeRecord> nodes = new ArrayList<>();
        List<PoolRecord> pools = new ArrayList<>();
        List<VolumeRecord> volumes = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            String name = "node%03d".formatted(i);
            nodes.add(i % 10 == 5 ? down(node(name)) : node(name));
            if (i % 5 != 0) {
                pools.add(pool("p" + i, name, "low", 100 * GiB));
            } else if (i % 20 == 0) {
                pools.add(pool("p" + i, name, "high", GiB));
            } else {
                pools.add(pool("p" + i, name, "high", 4 * GiB));
                if (i % 20 == 10) {
                    volumes.add(volume("v" + i, 3 * GiB, "high", "p" + i));
                }
            }
        }
        ApiException e = failure(() -> new Placement(1).place(spec(2 * GiB, 3, "high"), state(nodes, pools, volumes)));
        assertThat(e.getMessage()).doesNotContain("\n").hasSizeLessThan(700).startsWith(
                "need 3 nodes with a high pool and room for 2 GiB; found none (node005, node015, node025,")
                .contains("node095 and 40 more are down;", "node012 and 390 more have no high pool;",
                        "node180 and 15 more have no high pool big enough, even empty;",
                        "node190 and 15 more have at most 1 GiB of room);");
        // The down nodes have room: the volume fits once three of them are back.
        assertThat(e.code()).isEqualTo(ErrorCodes.UNAVAILABLE);
    }

    // ---- generated topologies ------------------------------------------------------------------

    /**
     * Thousands of generated clusters and requests, each checked against {@link Oracle}. The base seed
     * is random unless {@code -Dplacement.seed=N} is given; a failure names the seed of its case, and
     * that seed replays it first.
     */
    @Test
    void generatedTopologiesAgreeWithBruteForce() {
        long base = Long.getLong("placement.seed", new Random().nextLong());
        int cases = Integer.getInteger("placement.cases", 5000);
        int placed = 0;
        int refused = 0;
        for (int i = 0; i < cases; i++) {
            long seed = base + i;
            Scenario scenario = Scenario.generate(new Random(seed));
            try {
                if (scenario.check()) {
                    placed++;
                } else {
                    refused++;
                }
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError("case with seed " + seed + " failed (replay: -Dplacement.seed=" + seed
                        + "): " + e.getMessage() + "\n" + scenario, e);
            }
        }
        // The generator must exercise both outcomes, or the test proves little.
        assertThat(placed).as("placed").isGreaterThan(cases / 5);
        assertThat(refused).as("refused").isGreaterThan(cases / 10);
    }

    /** One generated cluster and one request: a new volume (spec) or more replicas of one (volume, count). */
    private record Scenario(ClusterState state, double overcommit, VolumeSpec spec, VolumeRecord volume, int count) {

        static Scenario generate(Random r) {
            double overcommit = new double[] {1, 1.5, 2}[r.nextInt(3)];
            List<NodeRecord> nodes = new ArrayList<>();
            List<PoolRecord> pools = new ArrayList<>();
            int nodeCount = 1 + r.nextInt(12);
            for (int n = 0; n < nodeCount; n++) {
                String name = "n" + n;
                // Few zones and racks, so spreading choices are real; a quarter of labels missing.
                String zone = r.nextInt(4) == 0 ? null : "z" + r.nextInt(3);
                String rack = r.nextInt(4) == 0 ? null : "r" + r.nextInt(3);
                NodeRecord node = node(name, zone, rack);
                nodes.add(r.nextInt(5) == 0 ? down(node) : node);
                int poolCount = 1 + r.nextInt(3);
                for (int p = 0; p < poolCount; p++) {
                    // Ids not in node order, so the id tie-break is not the node order in disguise.
                    String id = Integer.toHexString(r.nextInt(1 << 16)) + "-" + n + "-" + p;
                    pools.add(pool(id, name, CLASSES.get(r.nextInt(3)), (1L << r.nextInt(4)) * GiB));
                }
            }
            List<VolumeRecord> volumes = new ArrayList<>();
            int volumeCount = r.nextInt(8);
            for (int v = 0; v < volumeCount; v++) {
                int replicas = 1 + r.nextInt(2);
                String[] ids = new String[replicas];
                for (int i = 0; i < replicas; i++) {
                    ids[i] = pools.get(r.nextInt(pools.size())).id();
                }
                volumes.add(PlacementTest.volume("v" + v, (512 * MiB) << r.nextInt(4), CLASSES.get(r.nextInt(3)), ids));
            }
            ClusterState state = PlacementTest.state(nodes, pools, volumes);
            long size = (512 * MiB) << r.nextInt(5);
            if (r.nextInt(3) == 0) {
                VolumeRecord target = ha(r, state, size);
                if (target != null) {
                    state = PlacementTest.state(nodes, pools, append(volumes, target));
                    return new Scenario(state, overcommit, null, state.volumes().get("target"), 1 + r.nextInt(2));
                }
            }
            String cos = r.nextInt(5) < 2 ? null : CLASSES.get(r.nextInt(3));
            List<String> nodeFilter = r.nextInt(6) == 0 ? someOf(r, nodes.stream().map(NodeRecord::name).toList(), "ghost") : List.of();
            List<String> zoneFilter = r.nextInt(6) == 0 ? someOf(r, List.of("z0", "z1", "z2"), "z9") : List.of();
            List<String> rackFilter = r.nextInt(6) == 0 ? someOf(r, List.of("r0", "r1", "r2"), "r9") : List.of();
            VolumeSpec spec = PlacementTest.spec(size, 1 + r.nextInt(3), cos, nodeFilter, zoneFilter, rackFilter);
            return new Scenario(state, overcommit, spec, null, 0);
        }

        /** A volume of one class with replicas on 1 or 2 distinct nodes; sometimes its record lacks the class. */
        private static VolumeRecord ha(Random r, ClusterState state, long size) {
            String cos = CLASSES.get(r.nextInt(3));
            Map<String, String> poolByNode = new LinkedHashMap<>();
            for (PoolRecord pool : state.pools().values()) {
                if (pool.cos().equals(cos)) {
                    poolByNode.putIfAbsent(pool.node(), pool.id());
                }
            }
            List<String> hosts = new ArrayList<>(poolByNode.keySet());
            if (hosts.isEmpty()) {
                return null;
            }
            java.util.Collections.shuffle(hosts, r);
            int replicas = Math.min(hosts.size(), 1 + r.nextInt(2));
            String[] ids = hosts.subList(0, replicas).stream().map(poolByNode::get).toArray(String[]::new);
            return PlacementTest.volume("target", size, r.nextInt(10) == 0 ? null : cos, ids);
        }

        private static List<String> someOf(Random r, List<String> names, String stranger) {
            List<String> some = new ArrayList<>();
            for (String name : names) {
                if (r.nextBoolean()) {
                    some.add(name);
                }
            }
            if (some.isEmpty() || r.nextInt(4) == 0) {
                some.add(stranger);
            }
            return some;
        }

        /** Runs placement and checks it; true if it placed. */
        boolean check() {
            Placement placement = new Placement(overcommit);
            Oracle oracle = new Oracle(state, overcommit);
            int n = spec != null ? spec.repl() : count;
            long size = spec != null ? spec.sizeBytes() : volume.sizeBytes();
            Predicate<NodeRecord> allowed = spec != null ? node -> allows(spec, node) : node -> true;
            Set<String> holding = new HashSet<>();
            List<NodeRecord> existing = new ArrayList<>();
            List<String> classes;
            if (spec != null) {
                classes = spec.cos() == null ? CLASSES : List.of(spec.cos());
            } else {
                volume.replicas().forEach(rep -> {
                    holding.add(rep.node());
                    existing.add(state.nodes().get(rep.node()));
                });
                // A record without a class takes its pools' (all the same here).
                String cos = volume.cos() != null ? volume.cos()
                        : state.pools().get(volume.replicas().getFirst().pool()).cos();
                classes = List.of(cos);
            }
            String expectedClass = null;
            Oracle.Best best = null;
            for (String cos : classes) {
                best = oracle.best(cos, n, size, allowed, holding, existing);
                if (best != null) {
                    expectedClass = cos;
                    break;
                }
            }
            boolean mixed = false;
            if (expectedClass == null && spec != null && spec.cos() == null) {
                // No class asked for, and no one class fits: any pools, if that fits.
                best = oracle.best(null, n, size, allowed, holding, existing);
                mixed = best != null;
            }
            if (expectedClass == null && !mixed) {
                ApiException e = catchThrowableOfType(ApiException.class, () -> run(placement));
                assertThat(e).as("no placement exists, so place must refuse").isNotNull();
                assertThat(e.getMessage()).startsWith("need ").doesNotContain("\n").hasSizeLessThan(1000);
                assertThat(e.code()).as(e.getMessage()).isEqualTo(oracle.code(classes, n, size, allowed, holding));
                return false;
            }
            List<Placement.Choice> choices = run(placement);
            assertThat(run(placement)).as("deterministic").isEqualTo(choices);
            assertThat(choices).hasSize(n);
            Set<String> zones = new HashSet<>();
            Set<List<String>> racks = new HashSet<>();
            existing.forEach(node -> {
                zones.add(node.label("zone"));
                racks.add(Arrays.asList(node.label("zone"), node.label("rack")));
            });
            Set<String> used = new HashSet<>();
            for (Placement.Choice choice : choices) {
                NodeRecord node = state.nodes().get(choice.node());
                PoolRecord pool = state.pools().get(choice.poolId());
                assertThat(used.add(choice.node())).as("two replicas on " + choice.node()).isTrue();
                assertThat(holding).as("already holds a replica").doesNotContain(choice.node());
                assertThat(node.up()).as(choice.node() + " is up").isTrue();
                assertThat(allowed.test(node)).as(choice.node() + " passes the filters").isTrue();
                assertThat(pool.node()).isEqualTo(choice.node());
                assertThat(choice.cos()).isEqualTo(pool.cos());
                if (!mixed) {
                    assertThat(pool.cos()).as("class of " + pool.id()).isEqualTo(expectedClass);
                }
                assertThat(oracle.room(pool)).as("room of " + pool.id()).isGreaterThanOrEqualTo(size);
                assertThat(pool.id()).as("the roomiest " + expectedClass + " pool of " + node.name())
                        .isEqualTo(oracle.roomiest(node.name(), expectedClass).id());
                zones.add(node.label("zone"));
                racks.add(Arrays.asList(node.label("zone"), node.label("rack")));
            }
            assertThat(zones.size()).as("distinct zones").isEqualTo(best.zones());
            assertThat(racks.size()).as("distinct racks").isEqualTo(best.racks());
            // Room comes after spread: no chosen node may be swapped for a roomier unchosen one at no
            // cost in zones or racks.
            List<NodeRecord> chosen = choices.stream().map(c -> state.nodes().get(c.node())).toList();
            for (NodeRecord other : oracle.nodes(expectedClass, allowed, holding, NodeRecord::up,
                    p -> oracle.room(p) >= size)) {
                if (used.contains(other.name())) {
                    continue;
                }
                long otherRoom = oracle.room(oracle.roomiest(other.name(), expectedClass));
                for (int i = 0; i < chosen.size(); i++) {
                    long room = oracle.room(oracle.roomiest(chosen.get(i).name(), expectedClass));
                    List<NodeRecord> swapped = new ArrayList<>(chosen);
                    swapped.set(i, other);
                    assertThat(otherRoom > room && Oracle.spread(append(existing, swapped)).equals(best))
                            .as("%s has more room than %s at no cost in spread", other.name(), chosen.get(i).name())
                            .isFalse();
                }
            }
            return true;
        }

        private List<Placement.Choice> run(Placement placement) {
            return spec != null ? placement.place(spec, state) : placement.placeMore(volume, count, state);
        }

        @Override
        public String toString() {
            StringBuilder s = new StringBuilder("overcommit ").append(overcommit).append('\n');
            Map<String, Long> provisioned = new Oracle(state, overcommit).provisioned;
            for (NodeRecord node : state.nodes().values()) {
                s.append("  node ").append(node.name()).append(' ').append(node.state()).append(' ')
                        .append(node.labels()).append('\n');
                for (PoolRecord pool : state.pools().values()) {
                    if (pool.node().equals(node.name())) {
                        s.append("    pool ").append(pool.id()).append(' ').append(pool.cos()).append(' ')
                                .append(pool.capacityBytes() / MiB).append(" MiB, promised ")
                                .append(provisioned.getOrDefault(pool.id(), 0L) / MiB).append(" MiB\n");
                    }
                }
            }
            if (spec != null) {
                s.append("  place repl ").append(spec.repl()).append(" cos ").append(spec.cos()).append(" size ")
                        .append(spec.sizeBytes() / MiB).append(" MiB nodes ").append(spec.nodes()).append(" zones ")
                        .append(spec.zones()).append(" racks ").append(spec.racks());
            } else {
                s.append("  placeMore ").append(count).append(" of ").append(volume);
            }
            return s.toString();
        }
    }

    /**
     * The rules, checked by trying every set of nodes. Room and filters are computed here on their
     * own, not with Placement's code.
     */
    private static final class Oracle {
        record Best(int zones, int racks) {}

        final ClusterState state;
        final double overcommit;
        final Map<String, Long> provisioned = new HashMap<>();

        Oracle(ClusterState state, double overcommit) {
            this.state = state;
            this.overcommit = overcommit;
            for (VolumeRecord v : state.volumes().values()) {
                for (ReplicaRecord rep : v.replicas()) {
                    provisioned.put(rep.pool(), provisioned.getOrDefault(rep.pool(), 0L) + v.sizeBytes());
                }
            }
        }

        long room(PoolRecord pool) {
            return (long) (pool.capacityBytes() * overcommit) - provisioned.getOrDefault(pool.id(), 0L);
        }

        PoolRecord roomiest(String node, String cos) {
            PoolRecord best = null;
            for (PoolRecord pool : state.pools().values()) {
                if (pool.node().equals(node) && (cos == null || pool.cos().equals(cos)) && (best == null || room(pool) > room(best)
                        || room(pool) == room(best) && pool.id().compareTo(best.id()) < 0)) {
                    best = pool;
                }
            }
            return best;
        }

        /** Allowed nodes, not holding a replica, with a pool of the class that passes {@code pool}. */
        List<NodeRecord> nodes(String cos, Predicate<NodeRecord> allowed, Set<String> holding,
                               Predicate<NodeRecord> node, Predicate<PoolRecord> pool) {
            List<NodeRecord> found = new ArrayList<>();
            for (NodeRecord n : state.nodes().values()) {
                if (allowed.test(n) && !holding.contains(n.name()) && node.test(n) && state.pools().values().stream()
                        .anyMatch(p -> p.node().equals(n.name()) && (cos == null || p.cos().equals(cos)) && pool.test(p))) {
                    found.add(n);
                }
            }
            return found;
        }

        /** The most zones, then the most racks, any valid placement reaches; null if none exists. */
        Best best(String cos, int count, long size, Predicate<NodeRecord> allowed, Set<String> holding,
                  List<NodeRecord> existing) {
            List<NodeRecord> eligible = nodes(cos, allowed, holding, NodeRecord::up, p -> room(p) >= size);
            if (eligible.size() < count) {
                return null;
            }
            Best[] best = {new Best(-1, -1)};
            subsets(eligible, count, 0, new ArrayList<>(), chosen -> {
                Best spread = spread(append(existing, chosen));
                if (spread.zones() > best[0].zones()
                        || spread.zones() == best[0].zones() && spread.racks() > best[0].racks()) {
                    best[0] = spread;
                }
            });
            return best[0];
        }

        /** Distinct zones and distinct (zone, rack) pairs; a missing label is one unknown value (null). */
        static Best spread(List<NodeRecord> nodes) {
            Set<String> zones = new HashSet<>();
            Set<List<String>> racks = new HashSet<>();
            for (NodeRecord node : nodes) {
                zones.add(node.label("zone"));
                racks.add(Arrays.asList(node.label("zone"), node.label("rack")));
            }
            return new Best(zones.size(), racks.size());
        }

        /**
         * INVALID when too few nodes could hold it even empty and up; UNAVAILABLE when down nodes with
         * room would make enough; else NO_SPACE. Without a class, the most hopeful class decides.
         */
        String code(List<String> classes, int count, long size, Predicate<NodeRecord> allowed, Set<String> holding) {
            boolean everyInvalid = true;
            boolean anyUnavailable = false;
            for (String cos : classes) {
                int ever = nodes(cos, allowed, holding, n -> true,
                        p -> (long) (p.capacityBytes() * overcommit) >= size).size();
                int ifUp = nodes(cos, allowed, holding, n -> true, p -> room(p) >= size).size();
                everyInvalid &= ever < count;
                anyUnavailable |= ever >= count && ifUp >= count;
            }
            return everyInvalid ? ErrorCodes.INVALID : anyUnavailable ? ErrorCodes.UNAVAILABLE : ErrorCodes.NO_SPACE;
        }

        private static void subsets(List<NodeRecord> from, int count, int start, List<NodeRecord> chosen,
                                    java.util.function.Consumer<List<NodeRecord>> each) {
            if (chosen.size() == count) {
                each.accept(chosen);
                return;
            }
            for (int i = start; i < from.size(); i++) {
                chosen.add(from.get(i));
                subsets(from, count, i + 1, chosen, each);
                chosen.removeLast();
            }
        }
    }

    private static boolean allows(VolumeSpec spec, NodeRecord node) {
        String zone = node.labels().get("zone");
        String rack = node.labels().get("rack");
        return (spec.nodes().isEmpty() || spec.nodes().contains(node.name()))
                && (spec.zones().isEmpty() || zone != null && spec.zones().contains(zone))
                && (spec.racks().isEmpty() || rack != null && spec.racks().contains(rack));
    }

    // ---- records -----------------------------------------------------------------------------

    private static NodeRecord node(String name) {
        return node(name, null, null);
    }

    private static NodeRecord node(String name, String zone, String rack) {
        Map<String, String> labels = new HashMap<>();
        if (zone != null) {
            labels.put("zone", zone);
        }
        if (rack != null) {
            labels.put("rack", rack);
        }
        return new NodeRecord(name, "127.0.0.1", 7000, 10809, 7001, 7002, labels, 0, 0);
    }

    private static NodeRecord down(NodeRecord node) {
        return node.withState(NodeRecord.DOWN);
    }

    private static PoolRecord pool(String id, String node, String cos, long capacity) {
        return new PoolRecord(id, node, "/pools/" + id, cos, capacity);
    }

    private static VolumeRecord volume(String name, long size, String cos, String... poolIds) {
        return new VolumeRecord("id-" + name, name, size, poolIds.length, cos, "ext4", Map.of(), 0,
                // The replicas' nodes are those of their pools, filled in by state().
                Arrays.stream(poolIds).map(id -> new ReplicaRecord(null, id, ReplicaRecord.IN_SYNC)).toList(),
                null, 0, List.of(), null, null);
    }

    private static ClusterState state(List<NodeRecord> nodes, List<PoolRecord> pools) {
        return state(nodes, pools, List.of());
    }

    /** The cluster; each volume's replicas get the node of their pool. */
    private static ClusterState state(List<NodeRecord> nodes, List<PoolRecord> pools, List<VolumeRecord> volumes) {
        Map<String, NodeRecord> nodeMap = new HashMap<>();
        nodes.forEach(n -> nodeMap.put(n.name(), n));
        Map<String, PoolRecord> poolMap = new HashMap<>();
        pools.forEach(p -> poolMap.put(p.id(), p));
        Map<String, VolumeRecord> volumeMap = new HashMap<>();
        for (VolumeRecord v : volumes) {
            List<ReplicaRecord> replicas = v.replicas().stream()
                    .map(rep -> new ReplicaRecord(Objects.requireNonNull(poolMap.get(rep.pool()), rep.pool()).node(),
                            rep.pool(), rep.state()))
                    .toList();
            volumeMap.put(v.name(), v.withReplicas(v.repl(), replicas));
        }
        return new ClusterState("test", nodeMap, poolMap, volumeMap, 1);
    }

    private static VolumeSpec spec(long size, int repl, String cos) {
        return spec(size, repl, cos, List.of(), List.of(), List.of());
    }

    private static VolumeSpec spec(long size, int repl, String cos, List<String> nodes, List<String> zones,
                                   List<String> racks) {
        return new VolumeSpec("vol", size, null, repl, cos, null, null, zones, racks, nodes).withDefaults();
    }

    private static <T> List<T> append(List<T> list, List<T> more) {
        List<T> all = new ArrayList<>(list);
        all.addAll(more);
        return all;
    }

    private static <T> List<T> append(List<T> list, T one) {
        return append(list, List.of(one));
    }

    private static ApiException failure(org.assertj.core.api.ThrowableAssert.ThrowingCallable call) {
        ApiException e = catchThrowableOfType(ApiException.class, call);
        assertThat(e).as("an ApiException").isNotNull();
        return e;
    }
}
