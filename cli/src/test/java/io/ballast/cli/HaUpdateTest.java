package io.ballast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.ballast.api.Json;
import io.ballast.api.VolumeView;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code volume ha-update NAME --repl N}. */
class HaUpdateTest {
    private StubApi api;

    @BeforeEach
    void start() throws Exception {
        api = new StubApi();
    }

    @AfterEach
    void stop() {
        api.close();
    }

    private static String volume(int repl) throws Exception {
        List<VolumeView.ReplicaView> replicas = List.of(new VolumeView.ReplicaView("node1", "p1", "in-sync", 4096, null),
                new VolumeView.ReplicaView("node2", "p2", "resyncing", 0, null));
        return Json.mapper().writeValueAsString(new VolumeView("db", "v-1", 1L << 30, repl, "low", "ext4", "detached",
                null, null, 0, replicas.subList(0, repl), 4096, List.of(), Map.of(), "2025-01-02T03:04:05Z", null, null,
                List.of(), null));
    }

    private CliRun ballast(String... args) {
        String[] all = new String[args.length + 2];
        all[0] = "--endpoint";
        all[1] = api.endpoint();
        System.arraycopy(args, 0, all, 2, args.length);
        return CliRun.run(all);
    }

    @Test
    void postsTheNewReplicationAndShowsTheVolumeAsInspectDoes() throws Exception {
        api.answer("POST /v1/volumes/db/ha-update", 200, volume(2));
        api.answer("GET /v1/volumes/db", 200, volume(2));

        CliRun run = ballast("volume", "ha-update", "db", "--repl", "2");

        assertThat(run.exit()).as(run.err()).isZero();
        StubApi.Request request = api.requests.getFirst();
        assertThat(request.method()).isEqualTo("POST");
        assertThat(request.path()).isEqualTo("/v1/volumes/db/ha-update");
        assertThat(Json.mapper().readTree(request.body())).isEqualTo(Json.mapper().readTree("{\"repl\":2}"));
        assertThat(run.lines()).contains("repl:        2", "replica:     node2 pool p2 resyncing, 0 B used");
        assertThat(run.out()).isEqualTo(ballast("volume", "inspect", "db").out());
    }

    @Test
    void asJsonPrintsTheVolume() throws Exception {
        api.answer("POST /v1/volumes/db/ha-update", 200, volume(1));

        CliRun run = ballast("volume", "ha-update", "db", "--repl", "1", "-o", "json");

        assertThat(run.exit()).isZero();
        JsonNode printed = Json.mapper().readTree(run.out());
        assertThat(printed.get("name").asText()).isEqualTo("db");
        assertThat(printed.get("repl").asInt()).isEqualTo(1);
    }

    @Test
    void withoutReplItIsBadUsageAndNothingIsSent() {
        CliRun run = ballast("volume", "ha-update", "db");

        assertThat(run.exit()).isEqualTo(2);
        assertThat(run.err()).contains("--repl");
        assertThat(api.requests).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "4", "-1", "two", ""})
    void replOutsideOneToThreeIsBadUsageAndNothingIsSent(String repl) {
        CliRun run = ballast("volume", "ha-update", "db", "--repl", repl);

        assertThat(run.exit()).isEqualTo(2);
        assertThat(run.err()).startsWith("error: ");
        assertThat(api.requests).isEmpty();
    }

    @Test
    void withoutAVolumeItIsBadUsage() {
        CliRun run = ballast("volume", "ha-update", "--repl", "2");

        assertThat(run.exit()).isEqualTo(2);
        assertThat(api.requests).isEmpty();
    }

    @Test
    void anUnknownVolumeIsBadInputAndARefusalTheClusters() {
        api.answer("POST /v1/volumes/nope/ha-update", 404, "{\"error\":{\"code\":\"not_found\",\"message\":\"no volume named nope\"}}");
        api.answer("POST /v1/volumes/db/ha-update", 409, "{\"error\":{\"code\":\"conflict\",\"message\":\"only 1 node is up\"}}");

        CliRun unknown = ballast("volume", "ha-update", "nope", "--repl", "2");
        CliRun refused = ballast("volume", "ha-update", "db", "--repl", "3");

        assertThat(unknown.exit()).isEqualTo(2);
        assertThat(unknown.err()).isEqualTo("error: no volume named nope" + System.lineSeparator());
        assertThat(refused.exit()).isEqualTo(1);
        assertThat(refused.err()).isEqualTo("error: only 1 node is up" + System.lineSeparator());
    }
}
