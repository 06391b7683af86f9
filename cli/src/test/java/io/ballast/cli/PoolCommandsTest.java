package io.ballast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.ballast.api.Json;
import io.ballast.api.PoolView;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code pool list}: each pool's class, capacity and use. */
class PoolCommandsTest {
    private static final long GIB = 1L << 30;

    @Test
    void listShowsClassCapacityAndUse() throws Exception {
        try (StubApi api = new StubApi()) {
            api.answer("GET /v1/pools", 200, Json.mapper().writeValueAsString(List.of(
                    new PoolView("p1", "node1", "/data/node1/pools/p1", "high", 100 * GIB, 10 * GIB, 80 * GIB,
                            300 * GIB, 3),
                    new PoolView("p2", "node2", "/data/node2/pools/p2", "low", 2 * GIB, 0, 2 * GIB, 0, 0))));

            CliRun run = CliRun.run("--endpoint", api.endpoint(), "pool", "list");

            assertThat(run.exit()).as(run.err()).isZero();
            List<String> lines = run.lines();
            assertThat(lines).hasSize(3);
            assertThat(lines.get(0).split(" {2,}")).containsExactly("ID", "NODE", "COS", "CAPACITY", "USED",
                    "AVAILABLE", "PROVISIONED", "VOLUMES", "PATH");
            assertThat(lines.get(1).split(" {2,}")).containsExactly("p1", "node1", "high", "100 GiB", "10 GiB",
                    "80 GiB", "300 GiB", "3", "/data/node1/pools/p1");
            assertThat(lines.get(2).split(" {2,}")).containsExactly("p2", "node2", "low", "2 GiB", "0 B", "2 GiB",
                    "0 B", "0", "/data/node2/pools/p2");
        }
    }
}
