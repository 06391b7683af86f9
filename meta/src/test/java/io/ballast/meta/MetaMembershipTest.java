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

    /** Sets the voters as the membership controller does: one Raft change, then the roles recorded in the state. */
    private void setVoters(MetaStore leader, List<String> names) throws MetaUnavailableException {
        List<MetaPeer> voters = new ArrayList<>();
        for (String name : names) {
            voters.add(MetaPeer.of(name, "127.0.0.1", ports.get(name)));
        }
        leader.reconfigure(new Membership(voters));
        assertThat(leader.submit(new Command.SetMetadataRoles(names.stream().sorted().toList(), leader.nodeName())).ok())
                .isTrue();
    }

    /** Gives {@code name} its seat back, retrying (as the controller does every tick) for up to {@code within}. */
    private void seatAgain(String name, List<String> voters, Duration within) throws Exception {
        long deadline = System.nanoTime() + within.toNanos();
        MetaUnavailableException last = null;
        while (System.nanoTime() < deadline) {
            try {
                setVoters(leader(), voters);
                assertThat(leader().membership().voterNames()).contains(name);
                return;
            } catch (MetaUnavailableException e) {
                last = e;
                Thread.sleep(300);
            }
        }
        throw new AssertionError(name + " could not be seated again within " + within, last);
    }

    private MetaStore threeVoters() throws Exception {
        MetaStore n1 = MetaStore.open(config("n1"));
        stores.put("n1", n1);
        n1.submit(new Command.RegisterNode(record("n1", 1)));
        join("n2", n1, 2);
        join("n3", n1, 3);
        assertThat(leader().membership().voterNames()).containsExactlyInAnyOrder("n1", "n2", "n3");
        return n1;
    }

    /**
     * Ratis shuts down the division of a member that a leader election finds outside the configuration, for good,
     * while the process runs on: a voter removed while it runs, or removed while it was down and then restarted
     * with the old configuration in its log. Given its seat back, such a node never caught up (every append
     * answered "current state is CLOSED") and the change stayed pending on the leader. The store replaces the
     * closed division with an empty one, a client like a joining node's, which can be seated again.
     */
    @Test
    void aVoterRemovedWhileRunningOrWhileDownCanBeSeatedAgain() throws Exception {
        threeVoters();
        assertThat(leader().submit(new Command.CreateVolume(volume("v1"))).ok()).isTrue();

        // Removed while it runs.
        String running = stores.keySet().stream().filter(n -> !n.equals(leader().nodeName())).findFirst().orElseThrow();
        List<String> others = stores.keySet().stream().filter(n -> !n.equals(running)).toList();
        setVoters(leader(), others);
        Thread.sleep(3_000); // its election timeout passes: the group shuts its division down
        assertThat(stores.get(running).state().volumes()).as("reads on the removed %s", running).containsKey("v1");
        seatAgain(running, List.of("n1", "n2", "n3"), Duration.ofSeconds(20));
        assertThat(leader().submit(new Command.CreateVolume(volume("v2"))).ok()).isTrue();
        assertThat(stores.get(running).state().volumes()).containsKeys("v1", "v2");

        // Removed while it is down, then restarted from its own storage.
        String down = stores.keySet().stream().filter(n -> !n.equals(leader().nodeName()) && !n.equals(running))
                .findFirst().orElseThrow();
        stores.remove(down).close();
        setVoters(leader(), stores.keySet().stream().toList());
        MetaStore back = MetaStore.open(config(down));
        stores.put(down, back);
        assertThat(back.state().volumes()).containsKeys("v1", "v2");
        seatAgain(down, List.of("n1", "n2", "n3"), Duration.ofSeconds(20));
        assertThat(leader().submit(new Command.CreateVolume(volume("v3"))).ok()).isTrue();
        for (MetaStore s : stores.values()) {
            assertThat(s.state().volumes()).as("volumes on %s", s.nodeName()).containsKeys("v1", "v2", "v3");
            assertThat(s.membership().voterNames()).as("voters as %s knows them", s.nodeName())
                    .containsExactlyInAnyOrder("n1", "n2", "n3");
        }
    }

    /**
     * A change that adds a voter which never catches up (here a server of another group under the new voter's
     * address: it answers every append with an error) stays pending on a busy leader, and Ratis refuses every
     * later change. The leader steps down after a while, which drops the pending change, so membership moves again.
     */
    @Test
    void aChangeStuckOnAVoterThatNeverCatchesUpIsDroppedByALeaderChange() throws Exception {
        threeVoters();
        MetaStore ghost = MetaStore.open(config("ghost")); // a cluster of its own
        stores.put("ghost", ghost);
        stores.remove("ghost"); // not a member: leader() must not pick it
        java.util.concurrent.atomic.AtomicBoolean writing = new java.util.concurrent.atomic.AtomicBoolean(true);
        // Ratis checks a staging voter's progress only when the leader's event queue was idle for an election
        // timeout; a write every 100 ms (node heartbeats in a cluster) keeps it from ever being idle that long.
        Thread writer = Thread.ofVirtual().start(() -> {
            for (long i = 0; writing.get(); i++) {
                try {
                    stores.get("n1").submit(new Command.Heartbeat("n1", i, Map.of()));
                    Thread.sleep(100);
                } catch (Exception e) {
                    // elections: carry on
                }
            }
        });
        try {
            String first = leader().nodeName();
            List<MetaPeer> withGhost = new ArrayList<>(leader().membership().voters());
            withGhost.add(MetaPeer.of("ghost", "127.0.0.1", ports.get("ghost")));
            assertThatThrownBy(() -> leader().reconfigure(new Membership(withGhost)))
                    .isInstanceOf(MetaUnavailableException.class);
            long start = System.nanoTime();
            String lastError = null;
            while (System.nanoTime() - start < Duration.ofSeconds(40).toNanos()) {
                try {
                    leader().reconfigure(leader().membership()); // no change: accepted once nothing is pending
                    lastError = null;
                    break;
                } catch (MetaUnavailableException e) {
                    lastError = e.getMessage();
                    Thread.sleep(300);
                }
            }
            assertThat(lastError).as("a change was still pending after 40 s (first leader %s)", first).isNull();
            assertThat(leader().membership().voterNames()).containsExactlyInAnyOrder("n1", "n2", "n3");
            setVoters(leader(), List.of("n1", "n2"));
            assertThat(leader().membership().voterNames()).containsExactlyInAnyOrder("n1", "n2");
        } finally {
            writing.set(false);
            writer.join();
            ghost.close();
        }
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
