package io.ballast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Node i of a local cluster: its name, directory, ports and how it is started. */
class LocalNodeTest {
    @TempDir
    Path data;

    @Test
    void node1FoundsTheClusterWithoutJoin() {
        LocalNode node = LocalNode.of(data, 1, 9420, 10809);

        assertThat(node.name()).isEqualTo("node1");
        assertThat(node.dir()).isEqualTo(data.resolve("node1"));
        assertThat(node.join()).isNull();
        assertThat(node.startArguments()).containsExactly("node", "start", "--data", data.resolve("node1").toString(),
                "--name", "node1", "--address", "127.0.0.1", "--api-port", "9420", "--nbd-port", "10809",
                "--peer-port", "9422", "--raft-port", "9423");
    }

    @Test
    void laterNodesTakeTheirPortsAndJoinNode1sApi() {
        LocalNode node = LocalNode.of(data, 3, 9420, 10809);

        assertThat(node.name()).isEqualTo("node3");
        assertThat(node.startArguments()).containsExactly("node", "start", "--data", data.resolve("node3").toString(),
                "--name", "node3", "--address", "127.0.0.1", "--api-port", "9440", "--nbd-port", "10829",
                "--peer-port", "9442", "--raft-port", "9443", "--join", "127.0.0.1:9420");
    }

    @Test
    void joinFollowsTheBasePort() {
        LocalNode node = LocalNode.of(data, 2, 20000, 30000);

        assertThat(node.apiPort()).isEqualTo(20010);
        assertThat(node.nbdPort()).isEqualTo(30010);
        assertThat(node.apiUrl()).isEqualTo("http://127.0.0.1:20010");
        assertThat(node.join()).isEqualTo("127.0.0.1:20000");
        assertThat(node.startArguments()).endsWith("--join", "127.0.0.1:20000");
    }

    @Test
    void nodeDirectoriesAreFoundInNumberOrder() throws Exception {
        for (String name : List.of("node10", "node2", "node1", "node0", "node01", "nodes", "other")) {
            Files.createDirectories(data.resolve(name));
        }
        Files.writeString(data.resolve("node3"), "a file, not a node");

        assertThat(LocalNode.dirsUnder(data)).containsExactly(data.resolve("node1"), data.resolve("node2"),
                data.resolve("node10"));
        assertThat(LocalNode.dirsUnder(data.resolve("missing"))).isEmpty();
    }

    @Test
    void aNodeWithoutAPidFileIsNotRunning() throws Exception {
        LocalNode node = LocalNode.of(data, 1, 9420, 10809);
        assertThat(node.process()).isEmpty();

        Files.createDirectories(node.dir());
        Files.writeString(node.pidFile(), "not a pid");
        assertThat(node.process()).isEmpty();
    }

    @Test
    void theLogTailLeavesOutStackFrames() throws Exception {
        LocalNode node = LocalNode.of(data, 1, 9420, 10809);
        assertThat(node.logTail(3)).isEqualTo("(no log at " + node.logFile() + ")");
        Files.createDirectories(node.dir());
        Files.write(node.logFile(), List.of("starting", "WARN retrying", "java.io.IOException: refused",
                "\tat a.B.c(B.java:1)", "\tat a.B.d(B.java:2)", "Caused by: java.net.ConnectException: refused",
                "\tat x.Y.z(Y.java:3)", "\t... 12 more", "error: node node1 could not start: no quorum"));

        assertThat(node.logTail(3)).isEqualTo(String.join(System.lineSeparator(), "java.io.IOException: refused",
                "Caused by: java.net.ConnectException: refused", "error: node node1 could not start: no quorum"));
    }
}
