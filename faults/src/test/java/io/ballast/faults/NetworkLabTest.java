package io.ballast.faults;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The lab on the real kernel: three namespaces on a bridge, an echo server in each, and bash's /dev/tcp as
 * the client inside a namespace. Each fault must cut (or slow) exactly what it says and heal must undo it.
 * Needs root, like the campaign.
 */
class NetworkLabTest {
    private static final int PORT = 7007;
    private static final String PREFIX = "bt" + Long.toString(ProcessHandle.current().pid(), 36);
    private static NetworkLab lab;
    private static final List<Process> servers = new ArrayList<>();

    @BeforeAll
    static void createLab() throws Exception {
        lab = NetworkLab.create(PREFIX, 3, Leftovers.subnet(), List.of(PORT));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        for (int i = 1; i <= 3; i++) {
            Process server = new ProcessBuilder(lab.inNamespace(i,
                    List.of(java, "-cp", Path.of("target/test-classes").toAbsolutePath().toString(),
                            EchoServer.class.getName(), Integer.toString(PORT))))
                    .redirectErrorStream(true).start();
            servers.add(server);
            String line = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8))
                    .readLine();
            assertThat(line).isEqualTo("listening");
        }
    }

    @AfterEach
    void heal() throws IOException {
        lab.heal();
    }

    @AfterAll
    static void removeLab() throws IOException {
        servers.forEach(Process::destroyForcibly);
        for (Process server : servers) {
            try {
                server.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (lab != null) {
            lab.close();
        }
        assertThat(Shell.run(List.of("ip", "netns", "list"))).doesNotContain(PREFIX);
        assertThat(Shell.run(List.of("ip", "-o", "link", "show"))).doesNotContain(PREFIX);
    }

    @Test
    void everyNodeReachesEveryOtherAndTheHostReachesThemAll() throws Exception {
        for (int from = 1; from <= 3; from++) {
            for (int to = 1; to <= 3; to++) {
                assertThat(reaches(from, to)).as("node %d -> node %d", from, to).isTrue();
            }
        }
        assertThat(hostReaches(2)).isTrue();
    }

    @Test
    void anIsolatedNodeReachesNoOtherNodeButTheHostStillReachesIt() throws Exception {
        lab.isolate(1);
        assertThat(reaches(2, 1)).isFalse();
        assertThat(reaches(1, 3)).isFalse();
        assertThat(reaches(2, 3)).isTrue();
        assertThat(hostReaches(1)).isTrue();
        lab.heal();
        assertThat(reaches(2, 1)).isTrue();
        assertThat(reaches(1, 3)).isTrue();
    }

    @Test
    void aSplitCutsOnlyAcrossTheTwoSides() throws Exception {
        lab.split(Set.of(1, 2));
        assertThat(reaches(1, 2)).isTrue();
        assertThat(reaches(1, 3)).isFalse();
        assertThat(reaches(3, 2)).isFalse();
        lab.heal();
        assertThat(reaches(3, 2)).isTrue();
    }

    @Test
    void aSlowLinkDelaysBothWaysBetweenItsTwoNodesOnly() throws Exception {
        lab.slow(1, 2, Duration.ofMillis(300));
        // One round trip through the proxy crosses the link twice: at least 600 ms, however fast the host.
        assertThat(roundTripMillis(1, 2)).isGreaterThanOrEqualTo(600);
        assertThat(roundTripMillis(2, 1)).isGreaterThanOrEqualTo(600);
        assertThat(roundTripMillis(1, 3)).isLessThan(600);
        lab.heal();
        assertThat(roundTripMillis(1, 2)).isLessThan(600);
    }

    @Test
    void aSlowLinkResetsTheConnectionsAlreadyOpenBetweenItsNodes() throws Exception {
        Process client = connectedFromNode2("sleep 2; echo b >&3; read -r -t 5 l <&3 && [ \"$l\" = b ]");
        lab.slow(1, 2, Duration.ofMillis(50));
        assertThat(client.waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(client.exitValue()).as("the old connection must not survive").isNotZero();
    }

    @Test
    void healingASlowLinkEndsTheConnectionsThroughIt() throws Exception {
        lab.slow(1, 2, Duration.ofMillis(50));
        // After the heal, the read must see the connection end (status 1), not wait out its 15 s (status > 128).
        Process client = connectedFromNode2("read -r -t 15 l <&3; echo $?");
        lab.heal();
        assertThat(client.waitFor(30, TimeUnit.SECONDS)).isTrue();
        String out = new String(client.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertThat(out.substring(out.lastIndexOf('\n') + 1)).as("read's status (%s)", out).isEqualTo("1");
    }

    /**
     * A bash client in node 2's namespace with a connection open to node 1's echo server (one line echoed),
     * which then runs {@code then} with the connection on fd 3.
     */
    private static Process connectedFromNode2(String then) throws Exception {
        Path ready = Files.createTempFile("lab-ready", "");
        Files.delete(ready);
        String script = "exec 3<>/dev/tcp/" + lab.address(1) + "/" + PORT + "; echo a >&3; read -r l <&3; touch "
                + ready + "; " + then;
        Process client = new ProcessBuilder(lab.inNamespace(2, List.of("bash", "-c", script)))
                .redirectInput(new File("/dev/null")).redirectErrorStream(true).start();
        try {
            for (int i = 0; i < 100 && !Files.exists(ready); i++) {
                Thread.sleep(50);
            }
            assertThat(ready).as("the client connected").exists();
            return client;
        } finally {
            Files.deleteIfExists(ready);
        }
    }

    @Test
    void removeLeftoversRemovesEverythingOfALabThatWasNeverClosed() throws Exception {
        String prefix = PREFIX + "x";
        NetworkLab.create(prefix, 2, Leftovers.subnet(), List.of(PORT)); // never closed, as after a SIGKILL
        assertThat(Shell.run(List.of("ip", "netns", "list"))).contains(prefix + "-n1");
        NetworkLab.removeLeftovers(prefix);
        assertThat(Shell.run(List.of("ip", "netns", "list"))).doesNotContain(prefix);
        assertThat(Shell.run(List.of("ip", "-o", "link", "show"))).doesNotContain(prefix);
    }

    private static boolean reaches(int from, int to) throws Exception {
        return exchange(from, to) >= 0;
    }

    private static long roundTripMillis(int from, int to) throws Exception {
        long millis = exchange(from, to);
        assertThat(millis).as("node %d -> node %d", from, to).isNotNegative();
        return millis;
    }

    /** One line echoed from inside {@code from}'s namespace to node {@code to}: its round trip, or -1. */
    private static long exchange(int from, int to) throws Exception {
        String script = "exec 3<>/dev/tcp/" + lab.address(to) + "/" + PORT + " || exit 1; s=$(date +%s%N); "
                + "echo ping >&3; read -r l <&3; e=$(date +%s%N); [ \"$l\" = ping ] && echo $(( (e - s) / 1000000 ))";
        Process probe = new ProcessBuilder(lab.inNamespace(from, List.of("timeout", "3", "bash", "-c", script)))
                .redirectInput(new File("/dev/null")).redirectErrorStream(true).start();
        String out = new String(probe.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        probe.waitFor();
        return probe.exitValue() == 0 ? Long.parseLong(out) : -1;
    }

    private static boolean hostReaches(int node) {
        try (var socket = new java.net.Socket()) {
            socket.connect(new java.net.InetSocketAddress(lab.address(node), PORT), 3000);
            socket.getOutputStream().write('x');
            return socket.getInputStream().read() == 'x';
        } catch (IOException e) {
            return false;
        }
    }
}
