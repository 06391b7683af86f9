package io.ballast.meta;

import static io.ballast.meta.Fixtures.freePort;
import static io.ballast.meta.Fixtures.volume;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real Ratis servers on loopback growing from one voter to three (a client in between), then losing a voter and
 * then a majority. (Separate daemon processes are exercised end to end in the app module's ClusterIT.)
 */
class MetaMembershipTest {
    @TempDir
    Path dir;

    private final Map<String, MetaStore> stores = new LinkedHashMap<>();
    private final Map<String, Integer> ports = new LinkedHashMap<>();

    @AfterEach
    void closeAll() {
        stores.values().forEach(MetaStore::close);
    }

    private MetaConfig config(String name) throws IOException {
        int port = ports.computeIfAbsent(name, n -> {
            try {
                return freePort();
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        return new MetaConfig(dir.resolve(name), name, "127.0.0.1", port)
                .withSubmitTimeout(Duration.ofSeconds(3)).withStartupTimeout(Duration.ofSeconds(20));
    }

    private NodeRecord record(String name, long registeredAt) {
        return new NodeRecord(name, "127.0.0.1", 1, 2, 3, ports.get(name), Map.of(), registeredAt, registeredAt);
    }

    /** What the daemon's membership controller does on the leader, tick after tick, until it is done. */
    private void reconcileMembership(MetaStore leader) throws MetaUnavailableException {
        for (int step = 0; step < 10; step++) {
            Membership current = leader.membership();
            Membership desired = VoterPolicy.desired(leader.state().nodes(), current, leader.nodeName());
            if (!VoterPolicy.differs(current, desired)) {
                return;
            }
            leader.reconfigure(VoterPolicy.nextStep(current, desired, leader.state().nodes()));
        }
        throw new AssertionError("membership did not converge");
    }

    /** Joins {@code name} through {@code seed}: register, start the empty member, and let the leader add it. */
    private MetaStore join(String name, MetaStore seed, long registeredAt) throws Exception {
        MetaConfig config = config(name);
        assertThat(seed.submit(new Command.JoinNode(record(name, registeredAt))).ok()).isTrue();
        List<MetaPeer> members = new ArrayList<>(leader().membership().voters());
        assertThat(members).isNotEmpty();
        MetaConfig.Join join = new MetaConfig.Join(seed.localState().clusterId(), members);
        Thread adder = Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(200);
                reconcileMembership(leader());
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        MetaStore store = MetaStore.open(config.withJoin(join));
        adder.join();
        stores.put(name, store);
        return store;
    }

    private MetaStore leader() {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            for (MetaStore s : stores.values()) {
                if (s.isLeader()) {
                    return s;
                }
            }
            Thread.onSpinWait();
        }
        throw new AssertionError("no leader");
    }

    @Test
    void growsFromOneVoterToThreeAndSurvivesTheLossOfOne() throws Exception {
        MetaStore n1 = MetaStore.open(config("n1"));
        stores.put("n1", n1);
        n1.submit(new Command.RegisterNode(record("n1", 1)));
        assertThat(n1.membership().voterNames()).containsExactly("n1");

        MetaStore n2 = join("n2", n1, 2);
        assertThat(n1.membership().voterNames()).containsExactly("n1");
        // A client (not a voter) reads the state from the group, linearizably, and writes through the leader.
        assertThat(n2.submit(new Command.CreateVolume(volume("v1"))).ok()).isTrue();
        assertThat(n1.state().volumes()).containsKey("v1");
        assertThat(n2.state().volumes()).containsKey("v1");

        MetaStore n3 = join("n3", n2, 3);
        assertThat(leader().membership().voterNames()).containsExactlyInAnyOrder("n1", "n2", "n3");
        assertThat(n3.state().volumes()).containsKey("v1");

        // Losing the leader: the other two elect one and keep committing.
        MetaStore old = leader();
        String oldName = old.nodeName();
        old.close();
        stores.remove(oldName);
        MetaStore next = leader();
        assertThat(next.nodeName()).isNotEqualTo(oldName);
        MetaStore follower = stores.values().stream().filter(s -> s != next).findFirst().orElseThrow();
        assertThat(follower.submit(new Command.CreateVolume(volume("v2"))).ok()).isTrue();
        for (MetaStore s : stores.values()) {
            assertThat(s.state().volumes()).containsKeys("v1", "v2");
        }

        // The old leader restarts from its own storage (no join) and catches up.
        MetaStore back = MetaStore.open(config(oldName));
        stores.put(oldName, back);
        assertThat(back.state().volumes()).containsKeys("v1", "v2");

        // Losing a majority: writes fail with "no quorum" within the timeout instead of hanging.
        List<String> names = new ArrayList<>(stores.keySet());
        for (String name : names.subList(0, 2)) {
            stores.remove(name).close();
        }
        MetaStore survivor = stores.values().iterator().next();
        long start = System.nanoTime();
        assertThatThrownBy(() -> survivor.submit(new Command.CreateVolume(volume("v3"))))
                .isInstanceOf(MetaUnavailableException.class).hasMessageContaining("no quorum");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
        assertThatThrownBy(survivor::state).isInstanceOf(MetaUnavailableException.class);
    }

    @Test
    void aDataDirectoryOfAnotherClusterCannotJoin() throws Exception {
        MetaStore n1 = MetaStore.open(config("n1"));
        stores.put("n1", n1);
        MetaConfig other = config("n2");
        MetaStore.open(other).close(); // n2's directory now belongs to its own cluster
        MetaConfig.Join join = new MetaConfig.Join(n1.localState().clusterId(), n1.membership().voters());
        assertThatThrownBy(() -> MetaStore.open(other.withJoin(join)))
                .isInstanceOf(IOException.class).hasMessageContaining("belongs to cluster");
    }
}
