package io.ballast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code up} and {@code down} of several local nodes, with {@link FakeDaemon} standing in for
 * {@code node start} (the real daemons are tested end to end in app's UpDownIT).
 */
class UpDownTest {
    @TempDir
    Path dir;

    private Path data;
    private int basePort;
    private int nbdPort;

    @BeforeEach
    void ports() throws IOException {
        data = dir.resolve("cluster");
        basePort = freePorts(3);
        nbdPort = freePorts(3);
    }

    @AfterEach
    void down() throws IOException {
        CliRun.run(fake(), "down", "--data", data.toString());
        for (Path node : LocalNode.dirsUnder(data)) {
            LocalNode.at(node).process().ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    /** {@code ballast} with FakeDaemon as the program {@code up} runs as {@code node start}. */
    private static List<String> fake() {
        try {
            String classes = Path.of(FakeDaemon.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
            return List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xshare:auto",
                    "-XX:TieredStopAtLevel=1", "-cp", classes, FakeDaemon.class.getName());
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private CliRun ballast(String... args) {
        return CliRun.run(fake(), args);
    }

    private CliRun up(String... more) {
        List<String> args = new ArrayList<>(List.of("up", "--data", data.toString(), "--base-port",
                Integer.toString(basePort), "--nbd-port", Integer.toString(nbdPort)));
        args.addAll(List.of(more));
        return ballast(args.toArray(String[]::new));
    }

    /** A port P such that P, P+10, ... for {@code nodes} nodes (and +2, +3) look free. */
    private static int freePorts(int nodes) throws IOException {
        for (int attempt = 0; attempt < 100; attempt++) {
            int base = ThreadLocalRandom.current().nextInt(20000, 60000);
            boolean free = true;
            for (int i = 0; i < nodes && free; i++) {
                for (int extra : new int[] {0, 2, 3}) {
                    try (ServerSocket socket = new ServerSocket()) {
                        socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), base + 10 * i + extra));
                    } catch (IOException e) {
                        free = false;
                        break;
                    }
                }
            }
            if (free) {
                return base;
            }
        }
        throw new IOException("no free ports");
    }

    private long pid(int node) throws IOException {
        return Long.parseLong(Files.readString(data.resolve("node" + node).resolve("node.pid")).trim());
    }

    private List<String> args(int node) throws IOException {
        return Files.readAllLines(data.resolve("node" + node).resolve("args"));
    }

    private static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    @Test
    void upStartsThreeNodesThatJoinNode1AndDownStopsThemTogether() throws Exception {
        CliRun up = up("--nodes", "3");

        assertThat(up.exit()).as(up.err()).isZero();
        List<String> lines = up.lines();
        assertThat(lines).hasSize(3);
        for (int i = 1; i <= 3; i++) {
            assertThat(lines.get(i - 1)).isEqualTo("node" + i + " started  api http://127.0.0.1:" + (basePort + 10 * (i - 1))
                    + "  nbd nbd://127.0.0.1:" + (nbdPort + 10 * (i - 1)) + "/VOLUME  data " + data.resolve("node" + i)
                    + "  pid " + pid(i));
            assertThat(alive(pid(i))).isTrue();
        }
        assertThat(args(1)).doesNotContain("--join");
        assertThat(args(2)).containsSequence("--api-port", Integer.toString(basePort + 10))
                .containsSequence("--join", "127.0.0.1:" + basePort);
        assertThat(args(3)).containsSequence("--raft-port", Integer.toString(basePort + 23))
                .containsSequence("--join", "127.0.0.1:" + basePort);

        CliRun again = up("--nodes", "3");
        assertThat(again.exit()).as(again.err()).isZero();
        assertThat(again.lines()).hasSize(3).allMatch(line -> line.contains(" running  api "));
        assertThat(again.lines().get(1)).endsWith("pid " + pid(2));

        for (int i = 1; i <= 3; i++) {
            Files.writeString(data.resolve("node" + i).resolve("stop-millis"), "2000");
        }
        List<Long> pids = List.of(pid(1), pid(2), pid(3));
        long start = System.nanoTime();
        CliRun down = ballast("down", "--data", data.toString());
        long millis = (System.nanoTime() - start) / 1_000_000;

        assertThat(down.exit()).isZero();
        assertThat(down.lines()).containsExactly("stopped node1 (pid " + pids.get(0) + ")",
                "stopped node2 (pid " + pids.get(1) + ")", "stopped node3 (pid " + pids.get(2) + ")");
        assertThat(millis).as("three nodes taking 2 s each to stop are stopped together").isLessThan(5000);
        assertThat(pids).noneMatch(UpDownTest::alive);
    }

    @Test
    void upAfterDownStartsEveryNodeBeforeWaitingForAny() throws Exception {
        assertThat(up("--nodes", "3").exit()).isZero();
        assertThat(ballast("down", "--data", data.toString()).exit()).isZero();

        // Each restarted node waits for a majority of the three: waiting for node1 before starting
        // node2 would never end.
        CliRun up = up("--nodes", "3");

        assertThat(up.exit()).as(up.err()).isZero();
        assertThat(up.lines()).hasSize(3).allMatch(line -> line.contains(" started  api "));
        for (int i = 1; i <= 3; i++) {
            assertThat(alive(pid(i))).isTrue();
        }
    }

    @Test
    void upStartsOnlyTheMissingNodes() throws Exception {
        assertThat(up().exit()).isZero();
        long node1 = pid(1);

        CliRun up = up("--nodes", "3");

        assertThat(up.exit()).as(up.err()).isZero();
        assertThat(up.lines().get(0)).startsWith("node1 running  api ").endsWith("pid " + node1);
        assertThat(up.lines().get(1)).startsWith("node2 started  api ");
        assertThat(up.lines().get(2)).startsWith("node3 started  api ");
        assertThat(args(3)).containsSequence("--join", "127.0.0.1:" + basePort);

        LocalNode.at(data.resolve("node2")).process().orElseThrow().destroy();
        assertThat(ProcessHandle.of(pid(2)).map(p -> p.onExit().join())).isPresent();

        CliRun again = up("--nodes", "3");
        assertThat(again.exit()).as(again.err()).isZero();
        assertThat(again.lines()).extracting(line -> line.split(" ")[0] + " " + line.split(" ")[1])
                .containsExactly("node1 running", "node2 started", "node3 running");
    }

    @Test
    void aNodeThatCannotStartIsNamedWithTheEndOfItsLog() throws Exception {
        Files.createDirectories(data.resolve("node2"));
        Files.writeString(data.resolve("node2").resolve("fail"), "port " + (basePort + 10) + " is taken");

        CliRun up = up("--nodes", "3");

        assertThat(up.exit()).isEqualTo(1);
        assertThat(up.out()).isEmpty();
        assertThat(up.err()).startsWith("error: node2 did not start; the end of " + data.resolve("node2/node.log") + ":")
                .contains("error: node node2 could not start: port " + (basePort + 10) + " is taken");
    }

    @Test
    void aFailureWhileDirHoldsMoreNodesSaysToStartThemAll() throws Exception {
        assertThat(up("--nodes", "3").exit()).isZero();
        assertThat(ballast("down", "--data", data.toString()).exit()).isZero();
        Files.writeString(data.resolve("node1").resolve("fail"), "no majority of the voters is running");

        CliRun up = up();

        assertThat(up.exit()).isEqualTo(1);
        assertThat(up.err()).startsWith("error: node1 did not start; the end of ")
                .contains("no majority of the voters is running")
                .endsWith("a node waits for a majority of the cluster's metadata voters, and " + data
                        + " holds nodes up to node3: to start them all, run 'ballast up --nodes 3 --data " + data
                        + " --base-port " + basePort + " --nbd-port " + nbdPort + "'" + System.lineSeparator());
    }

    @Test
    void badNumbersAreBadUsageAndStartNothing() {
        CliRun none = up("--nodes", "0");
        assertThat(none.exit()).isEqualTo(2);
        assertThat(none.err()).isEqualTo("error: --nodes must be at least 1" + System.lineSeparator());

        CliRun tooMany = ballast("up", "--data", data.toString(), "--nodes", "3", "--base-port", "65520");
        assertThat(tooMany.exit()).isEqualTo(2);
        assertThat(tooMany.err()).contains("--base-port 65520 leaves no room for 3 nodes");

        CliRun nbd = ballast("up", "--data", data.toString(), "--nodes", "2", "--nbd-port", "65530");
        assertThat(nbd.exit()).isEqualTo(2);
        assertThat(nbd.err()).contains("--nbd-port 65530");

        CliRun notANumber = ballast("up", "--data", data.toString(), "--nodes", "three");
        assertThat(notANumber.exit()).isEqualTo(2);

        assertThat(data).doesNotExist();
    }

    @Test
    void downWithNothingRunning() throws Exception {
        assertThat(ballast("down", "--data", data.toString()).out()).contains("nothing to stop");
        Files.createDirectories(data.resolve("node1"));
        assertThat(ballast("down", "--data", data.toString()).out())
                .isEqualTo("no Ballast node was running under " + data + System.lineSeparator());
        assertThat(Optional.of(data)).get().matches(Files::isDirectory);
    }
}
