package io.ballast.app;

import static io.ballast.app.NbdIT.qemu;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A full pool: writes fail with ENOSPC, nothing written is lost, and writes resume once space is freed. */
class PoolFullIT {
    @RegisterExtension
    static final DaemonExtension node = new DaemonExtension("--pool-size", "32M");
    static DaemonProcess daemon;
    static BallastCli cli;
    static Path dir;

    @BeforeAll
    static void bind() {
        daemon = node.daemon();
        cli = node.cli();
        dir = node.dir();
    }

    @Test
    void enospcLosesNothingAndClearsWhenSpaceIsFreed() {
        cli.run("volume", "create", "small", "--size", "128M").ok();
        String uri = daemon.nbdUri("small");
        qemu(List.of("qemu-io", "-f", "raw", "-c", "write -P 0xaa 0 16M", "-c", "flush", uri));

        Run.Result full = Run.run(120, List.of("qemu-io", "-f", "raw", "-c", "write -P 0xbb 16M 32M", uri));
        assertThat(full.out() + full.err()).contains("No space left on device");
        JsonNode pool = cli.json("pool", "list").get(0);
        assertThat(pool.get("usedBytes").asLong()).isLessThanOrEqualTo(32L << 20);
        assertThat(pool.get("availableBytes").asLong()).isLessThan(1L << 20);
        assertThat(daemon.logText()).contains("the pool is full");

        qemu(List.of("qemu-io", "-f", "raw", "-c", "read -P 0xaa 0 16M", uri));
        assertThat(daemon.alive()).isTrue();

        // Trim what the failed write managed to place, then the space is there again.
        qemu(List.of("qemu-io", "-f", "raw", "-c", "discard 16M 112M", uri));
        qemu(List.of("qemu-io", "-f", "raw", "-c", "write -P 0xcc 16M 8M", "-c", "flush",
                "-c", "read -P 0xaa 0 16M", "-c", "read -P 0xcc 16M 8M", uri));
        assertThat(CliIT.metricsOfSafe(daemon)).containsPattern("ballast_volume_errors_total\\{op=\"write\",volume=\"small\"} [1-9]");
    }
}
