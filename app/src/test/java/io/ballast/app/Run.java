package io.ballast.app;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs an external program with a time limit and captures what it printed. */
final class Run {
    private Run() {}

    record Result(int exit, String out, String err, List<String> command) {
        Result ok() {
            if (exit != 0) {
                throw new AssertionError("command failed (exit " + exit + "): " + String.join(" ", command)
                        + "\nstdout: " + out + "\nstderr: " + err);
            }
            return this;
        }
    }

    static Result run(long timeoutSeconds, List<String> command) {
        return run(timeoutSeconds, command, null);
    }

    static Result run(long timeoutSeconds, List<String> command, String stdin) {
        try {
            Path out = Files.createTempFile("run-out", ".txt");
            Path err = Files.createTempFile("run-err", ".txt");
            try {
                ProcessBuilder builder = new ProcessBuilder(command)
                        .redirectOutput(out.toFile()).redirectError(err.toFile());
                // libnbd's Python tools must find Debian's python3, not another one on PATH.
                builder.environment().put("PATH", "/usr/bin:/usr/sbin:/bin:/sbin:" + System.getenv("PATH"));
                if (stdin == null) {
                    builder.redirectInput(new File("/dev/null"));
                }
                Process process = builder.start();
                if (stdin != null) {
                    try (var in = process.getOutputStream()) {
                        in.write(stdin.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                    }
                }
                if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                    process.descendants().forEach(ProcessHandle::destroyForcibly);
                    process.destroyForcibly().waitFor();
                    throw new AssertionError("command did not finish in " + timeoutSeconds + " s: "
                            + String.join(" ", command) + "\nstdout: " + Files.readString(out)
                            + "\nstderr: " + Files.readString(err));
                }
                return new Result(process.exitValue(), Files.readString(out), Files.readString(err), command);
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new AssertionError("could not run " + String.join(" ", command) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}
