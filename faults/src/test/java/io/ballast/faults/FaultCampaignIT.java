package io.ballast.faults;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The short seeded campaign that CI runs, through {@code bench/faults} exactly as a user runs it: three runs
 * of 60 s on three nodes must pass with nothing lost or diverged; and the same campaign against the
 * deliberately broken build must fail, or the checker proves nothing. The seed is {@code -Dballast.seed}
 * when given.
 */
class FaultCampaignIT {
    private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
    private static final long SEED = Long.getLong("ballast.seed", 2026);
    private static final Pattern SUMMARY = Pattern.compile(
            "^runs: (\\d+), faults: (\\d+), writes acked: (\\d+), flushes acked: (\\d+), lost: (\\d+), diverged: (\\d+)$");

    /** What the campaign printed last and how it exited. */
    private record Outcome(int exit, Matcher summary) {
        long get(int group) {
            return Long.parseLong(summary.group(group));
        }
    }

    @Test
    void aShortSeededCampaignLosesNothing() throws Exception {
        Outcome outcome = campaign(List.of("--seed", Long.toString(SEED), "--runs", "3", "--duration", "60"), 20);
        assertThat(outcome.get(1)).isEqualTo(3);
        assertThat(outcome.get(2)).as("faults injected").isGreaterThanOrEqualTo(9);
        assertThat(outcome.get(3)).as("writes acknowledged").isGreaterThan(1000);
        assertThat(outcome.get(4)).as("flushes acknowledged").isGreaterThan(50);
        assertThat(outcome.get(5)).as("lost").isZero();
        assertThat(outcome.get(6)).as("diverged").isZero();
        assertThat(outcome.exit()).as("exit status").isZero();
    }

    @Test
    void theCheckerFailsTheDeliberatelyBrokenBuild() throws Exception {
        Outcome outcome = campaign(List.of("--seed", Long.toString(SEED), "--runs", "1", "--duration", "60",
                "--broken"), 8);
        assertThat(outcome.get(5) + outcome.get(6)).as("lost + diverged").isPositive();
        assertThat(outcome.exit()).as("exit status").isEqualTo(1);
    }

    /** Runs bench/faults, echoing its output, and returns its exit status and summary line. */
    private static Outcome campaign(List<String> args, int timeoutMinutes) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(ROOT.resolve("bench/faults").toString()));
        command.addAll(args);
        command.addAll(List.of("--evidence", ROOT.resolve("faults/target/faults-evidence").toString()));
        Process process = new ProcessBuilder(command).directory(ROOT.toFile()).redirectErrorStream(true)
                .redirectInput(new File("/dev/null")).start();
        String last = "";
        try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8))) {
            // The campaign ends its runs itself; the wait is bounded in case it hangs.
            Thread watchdog = Thread.ofVirtual().start(() -> {
                try {
                    if (!process.waitFor(timeoutMinutes, TimeUnit.MINUTES)) {
                        System.out.println("FaultCampaignIT: no end after " + timeoutMinutes + " min; SIGTERM");
                        process.destroy(); // SIGTERM: its shutdown hook stops the daemons and removes the namespaces
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            for (String line = out.readLine(); line != null; line = out.readLine()) {
                System.out.println(line);
                last = line;
            }
            watchdog.interrupt();
        } finally {
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
        Matcher summary = SUMMARY.matcher(last);
        assertThat(summary.matches()).as("the last line is the summary: " + last).isTrue();
        return new Outcome(process.exitValue(), summary);
    }
}
