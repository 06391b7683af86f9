package io.ballast.faults;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a host command (ip, nft, kill) to completion, or says which command failed and what it printed. */
final class Shell {
    private static final long TIMEOUT_SECONDS = 10;

    private Shell() {}

    /** Runs {@code command} with stdin empty; returns its output, or throws with its exit status and output. */
    static String run(List<String> command) throws IOException {
        Process process = new ProcessBuilder(command).redirectInput(new File("/dev/null")).redirectErrorStream(true)
                .start();
        // Read while it runs: a command that prints more than a pipe holds would otherwise never finish.
        java.util.concurrent.CompletableFuture<String> output = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "(output unreadable: " + e.getMessage() + ")";
            }
        }, Thread::startVirtualThread);
        try {
            if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IOException(String.join(" ", command) + ": still running after " + TIMEOUT_SECONDS + " s");
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted: " + String.join(" ", command));
        }
        String printed = output.join();
        if (process.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + ": exit " + process.exitValue() + ": " + printed.strip());
        }
        return printed;
    }
}
