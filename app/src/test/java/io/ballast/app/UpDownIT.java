package io.ballast.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ./ballast up} and {@code down}, run through the launcher script as a user runs them. */
class UpDownIT {
    @TempDir
    Path dir;

    private Path data() {
        return dir.resolve("cluster");
    }

    private Run.Result ballast(String... args) {
        List<String> command = new java.util.ArrayList<>(List.of(DaemonProcess.ROOT.resolve("ballast").toString()));
        command.addAll(List.of(args));
        return Run.run(180, command);
    }

    @AfterEach
    void down() {
        ballast("down", "--data", data().toString());
    }

    @Test
    void upStartsANodeUpAgainOnlyReportsAndDownStopsAndPurges() throws Exception {
        int port = DaemonProcess.freePort();
        String nbdPort = Integer.toString(DaemonProcess.freePort());
        Run.Result up = ballast("up", "--data", data().toString(), "--base-port", Integer.toString(port),
                "--nbd-port", nbdPort).ok();
        assertThat(up.out()).contains("node1 started").contains("http://127.0.0.1:" + port)
                .contains("nbd://127.0.0.1:" + nbdPort);
        Path pidFile = data().resolve("node1/node.pid");
        long pid = Long.parseLong(Files.readString(pidFile).trim());
        assertThat(ProcessHandle.of(pid)).isPresent();
        assertThat(Files.readString(data().resolve("node1/node.log"))).contains("ready");

        String endpoint = "http://127.0.0.1:" + port;
        assertThat(ballast("--endpoint", endpoint, "status").ok().out()).contains("node1");
        ballast("--endpoint", endpoint, "volume", "create", "v", "--size", "1G").ok();

        Run.Result again = ballast("up", "--data", data().toString(), "--base-port", Integer.toString(port),
                "--nbd-port", nbdPort).ok();
        assertThat(again.out()).contains("node1 running").contains("pid " + pid);

        Run.Result down = ballast("down", "--data", data().toString(), "--purge").ok();
        assertThat(down.out()).contains("stopped node1 (pid " + pid + ")");
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        assertThat(data()).doesNotExist();
    }

    @Test
    void upStartsAClusterOfThreeThatAnyNodeServesAndDownStopsThemAll() throws Exception {
        int port = DaemonProcess.freePort();
        String nbdPort = Integer.toString(DaemonProcess.freePort());
        Run.Result up = ballast("up", "--nodes", "3", "--data", data().toString(), "--base-port", Integer.toString(port),
                "--nbd-port", nbdPort).ok();
        assertThat(up.out()).contains("node1 started").contains("node2 started").contains("node3 started");

        String node3 = "http://127.0.0.1:" + (port + 20);
        long deadline = System.nanoTime() + 30_000_000_000L;
        String roles = "";
        while (System.nanoTime() < deadline) {
            roles = ballast("--endpoint", node3, "node", "list").ok().out();
            if (roles.split("leader", -1).length == 2 && roles.split("voter", -1).length == 3) {
                break;
            }
            Thread.sleep(250);
        }
        assertThat(roles).as("one leader and two voters").contains("leader").contains("node1").contains("node2")
                .contains("node3").doesNotContain("down").doesNotContain("listener");
        assertThat(roles.split("voter", -1)).hasSize(3);
        ballast("--endpoint", node3, "volume", "create", "everywhere", "--size", "1G", "--repl", "3").ok();
        String inspect = ballast("--endpoint", "http://127.0.0.1:" + port, "volume", "inspect", "everywhere").ok().out();
        assertThat(inspect).contains("node1").contains("node2").contains("node3");

        long start = System.nanoTime();
        Run.Result down = ballast("down", "--data", data().toString(), "--purge").ok();
        assertThat(down.out()).contains("node1").contains("node2").contains("node3");
        System.out.printf("down of 3 nodes took %d ms%n", (System.nanoTime() - start) / 1_000_000);
        assertThat(data()).doesNotExist();
    }
}
