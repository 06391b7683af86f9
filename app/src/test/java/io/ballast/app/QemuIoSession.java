package io.ballast.app;

import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One qemu-io process in interactive mode, holding one NBD connection for as long as the session lasts: a
 * client that stays connected while the cluster changes under it (a replica dies, its coordinator is paused).
 * Commands go to its stdin one at a time, each only once the previous one is answered: qemu-io reads a line
 * when its stdin becomes readable, so a second line sent at once would wait in its buffer unread. A command's
 * answer is what qemu-io prints up to its next prompt (which it flushes); a command that gets no answer within a
 * bounded wait fails the test instead of hanging it.
 *
 * <p>qemu-io reports a failed read or write ("write failed: Input/output error", "Pattern verification failed")
 * but not a failed {@code flush}, which it does not print; a durable write is therefore a FUA write
 * ({@code write -f}), whose failure it does print.
 */
final class QemuIoSession implements AutoCloseable {
    private static final String PROMPT = "qemu-io> ";
    private static final String EOF = "\u0000eof";

    final String uri;
    private final Process process;
    private final Writer stdin;
    private final BlockingQueue<String> chunks = new LinkedBlockingQueue<>();
    private final StringBuilder pending = new StringBuilder();
    private boolean exited;

    /** What one command printed, and how long it took to answer. */
    record Reply(String command, String text, long millis, boolean exited) {
        /** qemu-io printed a failure (a failed read or write, a pattern that did not match), or exited. */
        boolean failed() {
            return exited || text.contains("failed") || text.contains("not found") || text.contains("error");
        }

        /** A read with {@code -P} that found another pattern than the one asked for. */
        boolean patternMismatch() {
            return text.contains("Pattern verification failed");
        }

        @Override
        public String toString() {
            return "'" + command + "' -> " + (text.isBlank() ? "(nothing)" : text.strip().replace("\n", " | "))
                    + " [" + millis + " ms" + (exited ? ", qemu-io exited" : "") + "]";
        }
    }

    private QemuIoSession(String uri, Duration openTimeout) {
        this.uri = uri;
        ProcessBuilder builder = new ProcessBuilder(List.of("qemu-io", "-f", "raw", uri)).redirectErrorStream(true);
        builder.environment().put("PATH", "/usr/bin:/usr/sbin:/bin:/sbin:" + System.getenv("PATH"));
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new AssertionError("could not start qemu-io: " + e.getMessage(), e);
        }
        stdin = new java.io.OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        Thread.ofPlatform().daemon().name("qemu-io-out").start(() -> {
            try (Reader out = new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)) {
                char[] buffer = new char[8192];
                for (int n; (n = out.read(buffer)) >= 0; ) {
                    chunks.add(new String(buffer, 0, n));
                }
            } catch (IOException e) {
                chunks.add("(reading qemu-io's output failed: " + e + ")");
            } finally {
                chunks.add(EOF);
            }
        });
        // The first prompt says it is connected; if it could not connect, it has exited instead.
        Answer first = answer(openTimeout);
        if (first == null || first.exited()) {
            close();
            throw new AssertionError("qemu-io could not open " + uri + (first == null ? " within "
                    + openTimeout.toSeconds() + " s" : "") + ": " + pending.toString().strip()
                    + (first == null ? "" : first.text().strip()));
        }
    }

    private record Answer(String text, boolean exited) {}

    /** What qemu-io prints up to its next prompt, or null if it printed no prompt within {@code timeout}. */
    private Answer answer(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            for (;;) {
                int prompt = pending.indexOf(PROMPT);
                if (prompt >= 0) {
                    String text = pending.substring(0, prompt);
                    pending.delete(0, prompt + PROMPT.length());
                    return new Answer(text, false);
                }
                if (exited) {
                    String text = pending.toString();
                    pending.setLength(0);
                    return new Answer(text, true);
                }
                String chunk = chunks.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (chunk == null) {
                    return null;
                }
                if (chunk == EOF) {
                    exited = true;
                } else {
                    pending.append(chunk);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting for qemu-io on " + uri, e);
        }
    }

    /** Starts qemu-io on {@code uri} and waits (at most {@code openTimeout}) until it is connected. */
    static QemuIoSession open(String uri, Duration openTimeout) {
        return new QemuIoSession(uri, openTimeout);
    }

    static QemuIoSession open(String uri) {
        return open(uri, Duration.ofSeconds(30));
    }

    /**
     * Sends one command and returns what it printed. If it is not answered within {@code timeout}, throws an
     * AssertionError with what it printed so far; the session is then of no further use.
     */
    Reply run(String command, Duration timeout) {
        long begin = System.nanoTime();
        if (exited) {
            return new Reply(command, "", 0, true);
        }
        try {
            send(command);
        } catch (AssertionError e) {
            exited = true;
            return new Reply(command, "(could not send: " + e.getMessage() + ")", 0, true);
        }
        Answer answer = answer(timeout);
        if (answer == null) {
            throw new AssertionError("qemu-io on " + uri + " did not answer '" + command + "' within "
                    + timeout.toSeconds() + " s (a hang); it printed: " + pending.toString().strip());
        }
        return new Reply(command, answer.text(), ClusterProcesses.millisSince(begin), answer.exited());
    }

    Reply run(String command) {
        return run(command, Duration.ofSeconds(60));
    }

    /** Runs {@code command} and fails the test if qemu-io reports a failure. */
    Reply ok(String command) {
        Reply reply = run(command);
        if (reply.failed()) {
            throw new AssertionError("qemu-io on " + uri + ": " + reply);
        }
        return reply;
    }

    private void send(String text) {
        try {
            stdin.write(text + "\n");
            stdin.flush();
        } catch (IOException e) {
            throw new AssertionError("qemu-io on " + uri + " no longer takes commands: " + e.getMessage(), e);
        }
    }

    long pid() {
        return process.pid();
    }

    /** Quits qemu-io (it closes its connection), killing it if it does not end within 5 s. */
    @Override
    public void close() {
        try {
            stdin.write("quit\n");
            stdin.close();
        } catch (IOException ignored) {
            // already gone
        }
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }
}
