package io.ballast.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --pool PATH:CLASS} overrides the pool's measured class, and a volume that asks for a class lands
 * only on a pool of that class.
 */
class PoolClassIT {
    @TempDir
    Path dir;
    private DaemonProcess daemon;

    @AfterEach
    void stop() {
        if (daemon != null) {
            daemon.close();
        }
    }

    @Test
    void declaredClassesWinAndVolumesLandOnTheirClass() {
        Path slow = dir.resolve("slow");
        Path fast = dir.resolve("fast");
        daemon = new DaemonProcess(dir.resolve("node1"), "--pool", slow + ":low", "--pool", fast + ":high",
                "--pool-size", "10G").start();
        BallastCli cli = new BallastCli(daemon);

        Map<String, String> classByPath = new HashMap<>();
        Map<String, String> idByClass = new HashMap<>();
        for (JsonNode pool : cli.json("pool", "list")) {
            classByPath.put(pool.get("path").asText(), pool.get("cos").asText());
            idByClass.put(pool.get("cos").asText(), pool.get("id").asText());
        }
        assertThat(classByPath).containsEntry(slow.toString(), "low").containsEntry(fast.toString(), "high");
        assertThat(cli.run("pool", "list").ok().out()).contains("COS").contains("low").contains("high");

        cli.run("volume", "create", "fastvol", "--size", "1G", "--cos", "high").ok();
        cli.run("volume", "create", "slowvol", "--size", "1G", "--cos", "3").ok(); // 3 means high
        cli.run("volume", "create", "lowvol", "--size", "1G", "--cos", "low").ok();
        assertThat(pool(cli, "fastvol")).isEqualTo(idByClass.get("high"));
        assertThat(pool(cli, "slowvol")).isEqualTo(idByClass.get("high"));
        assertThat(pool(cli, "lowvol")).isEqualTo(idByClass.get("low"));
        // Without a class, the cheapest class that fits.
        cli.run("volume", "create", "anyvol", "--size", "1G").ok();
        assertThat(cli.json("volume", "inspect", "anyvol").get("cos").asText()).isEqualTo("low");
        CliIT.expectError(cli.run("volume", "create", "mid", "--size", "1G", "--cos", "medium"), 2,
                "need 1 node with a medium pool");
    }

    private static String pool(BallastCli cli, String volume) {
        return cli.json("volume", "inspect", volume).get("replicas").get(0).get("pool").asText();
    }
}
