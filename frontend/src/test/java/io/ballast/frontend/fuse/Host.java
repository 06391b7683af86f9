package io.ballast.frontend.fuse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs host tools (losetup, mkfs, mount, fio) with bounded waits and undoes what a test set up
 * on the host: every mount and loop device made through it is released by {@link #release}.
 */
final class Host {

    private static final Duration TIMEOUT = Duration.ofMinutes(3);

    record Result(int exitCode, String stdout, String stderr) {
        @Override
        public String toString() {
            return "exit " + exitCode + "\n--- stdout\n" + stdout + "\n--- stderr\n" + stderr;
        }
    }

    private final Path scratch;
    private final Deque<Path> mounts = new ArrayDeque<>();
    private final Deque<String> loopDevices = new ArrayDeque<>();

    /** Tool output goes to files under {@code scratch}, so that fio's state files land there too. */
    Host(Path scratch) throws IOException {
        this.scratch = Files.createDirectories(scratch);
    }

    Result run(String... command) throws IOException, InterruptedException {
        Path out = scratch.resolve("stdout");
        Path err = scratch.resolve("stderr");
        ProcessBuilder builder = new ProcessBuilder(List.of(command))
                .directory(scratch.toFile())
                .redirectOutput(out.toFile())
                .redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        builder.environment().put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        builder.environment().put("LC_ALL", "C");
        Process process = builder.start();
        if (!process.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            process.waitFor(5, TimeUnit.SECONDS);
            fail(String.join(" ", command) + " did not finish within " + TIMEOUT + "\n" + Files.readString(err));
        }
        return new Result(process.exitValue(), Files.readString(out), Files.readString(err));
    }

    /** Runs {@code command}, failing the test unless it exits 0; returns its standard output. */
    String check(String... command) throws IOException, InterruptedException {
        Result result = run(command);
        assertThat(result.exitCode()).as(String.join(" ", command) + "\n" + result).isZero();
        return result.stdout();
    }

    /** {@code losetup --find --show --direct-io=on file}; returns the device. */
    String attachLoop(Path file) throws IOException, InterruptedException {
        String device = check("losetup", "--find", "--show", "--direct-io=on", file.toString()).strip();
        loopDevices.push(device);
        return device;
    }

    void detachLoop(String device) throws IOException, InterruptedException {
        check("losetup", "-d", device);
        loopDevices.remove(device);
    }

    void mount(String device, Path directory) throws IOException, InterruptedException {
        Files.createDirectories(directory);
        check("mount", device, directory.toString());
        mounts.push(directory);
    }

    void unmount(Path directory) throws IOException, InterruptedException {
        check("umount", directory.toString());
        mounts.remove(directory);
    }

    /** The lines of /proc/mounts and of {@code losetup -a} that mention {@code text}. */
    List<String> leftovers(String text) throws IOException, InterruptedException {
        List<String> mounted = Files.readAllLines(Path.of("/proc/mounts")).stream().filter(l -> l.contains(text)).toList();
        List<String> loops = run("losetup", "-a").stdout().lines().filter(l -> l.contains(text)).toList();
        return Stream.concat(mounted.stream(), loops.stream()).toList();
    }

    /** Unmounts and detaches what is left (lazily if need be), newest first. */
    void release() throws IOException, InterruptedException {
        while (!mounts.isEmpty()) {
            Path directory = mounts.pop();
            if (run("umount", directory.toString()).exitCode() != 0) {
                run("umount", "-l", directory.toString());
            }
        }
        while (!loopDevices.isEmpty()) {
            run("losetup", "-d", loopDevices.pop());
        }
    }
}
