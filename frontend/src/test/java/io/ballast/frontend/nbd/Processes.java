package io.ballast.frontend.nbd;

import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** Runs the real NBD clients with bounded waits. */
final class Processes {

    record Result(int exitCode, String stdout, String stderr) {
        @Override
        public String toString() {
            return "exit " + exitCode + "\n--- stdout\n" + stdout + "\n--- stderr\n" + stderr;
        }
    }

    private Processes() {}

    /** Skips the calling test if a client binary is not installed. */
    static void requireTool(String name) {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin", name)), name + " is not installed");
    }

    /** Runs {@code command} in a scratch directory, so that tools writing state files (fio) leave no trace. */
    static Result run(Duration timeout, String... command) throws IOException, InterruptedException {
        Path scratch = Files.createTempDirectory("nbd-test-");
        Path out = scratch.resolve("stdout");
        Path err = scratch.resolve("stderr");
        try {
            ProcessBuilder builder = new ProcessBuilder(List.of(command))
                    .directory(scratch.toFile())
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
            builder.environment().put("PATH", "/usr/bin:" + System.getenv().getOrDefault("PATH", "/bin"));
            builder.environment().put("LC_ALL", "C");
            Process process = builder.start();
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
                fail(String.join(" ", command) + " did not finish within " + timeout + "\n" + Files.readString(err));
            }
            return new Result(process.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            try (Stream<Path> files = Files.walk(scratch)) {
                files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
            }
        }
    }
}
