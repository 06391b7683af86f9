package io.ballast.node;

import io.ballast.api.ErrorCodes;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The host's block-device tools (losetup, blkid, mkfs, mount), run as processes with a time
 * limit. Every failure becomes an {@link ApiException} that says which command failed and what
 * it printed.
 */
final class HostDevices {
    private static final long TIMEOUT_SECONDS = 120;

    /** What blkid found on a device: a filesystem type, or nothing. */
    record Probe(String type) {
        boolean blank() {
            return type == null;
        }
    }

    /** A loop device over {@code file} with direct IO, so the page cache is not used twice. */
    String attachLoop(Path file) {
        return run("losetup", "--find", "--show", "--direct-io=on", file.toString()).trim();
    }

    void detachLoop(String device) {
        run("losetup", "-d", device);
    }

    /** The loop devices whose backing file is {@code file}. */
    List<String> loopsOf(Path file) {
        List<String> devices = new ArrayList<>();
        for (String line : run("losetup", "--list", "--noheadings", "--output", "NAME,BACK-FILE").split("\n")) {
            String[] fields = line.trim().split("\\s+", 2);
            if (fields.length == 2 && fields[1].startsWith(file.toString())) {
                devices.add(fields[0]);
            }
        }
        return devices;
    }

    boolean loopExists(String device) {
        for (String line : run("losetup", "--list", "--noheadings", "--output", "NAME").split("\n")) {
            if (line.trim().equals(device)) {
                return true;
            }
        }
        return false;
    }

    Probe probe(String device) {
        Result result = exec(List.of("blkid", "-p", "-o", "value", "-s", "TYPE", device));
        if (result.exit == 2) {
            return new Probe(null); // blkid: nothing found
        }
        if (result.exit != 0) {
            throw failure(result);
        }
        String type = result.out.trim();
        return new Probe(type.isEmpty() ? null : type);
    }

    /** Makes a filesystem without discarding: a new thin volume has nothing to discard. */
    void mkfs(String device, String fs) {
        switch (fs) {
            case "ext4" -> run("mkfs.ext4", "-q", "-E", "nodiscard", device);
            case "xfs" -> run("mkfs.xfs", "-q", "-K", device);
            default -> throw ApiException.invalid("cannot make a filesystem of type " + fs);
        }
    }

    /** Mounts without online discard: trim is explicit (fstrim), as filesystems on SSDs prefer. */
    void mount(String device, Path path, String fs) {
        run("mount", "-t", fs, "-o", "nodiscard", device, path.toString());
    }

    void bindMount(Path source, Path path) {
        run("mount", "--bind", source.toString(), path.toString());
    }

    void unmount(Path path) {
        run("umount", path.toString());
    }

    /** Whether {@code path} is a mount point now (from /proc/self/mountinfo). */
    boolean isMountPoint(Path path) {
        return mountSources().stream().anyMatch(m -> m.path.equals(path));
    }

    /** The mount points whose source is {@code device}. */
    List<Path> mountsOf(String device) {
        return mountSources().stream().filter(m -> m.source.equals(device)).map(m -> m.path).toList();
    }

    private record Mount(String source, Path path) {}

    private static List<Mount> mountSources() {
        List<Mount> mounts = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                // id parent major:minor root mountpoint options ... - fstype source superoptions
                String[] fields = line.split(" ");
                int dash = List.of(fields).indexOf("-");
                if (fields.length > 4 && dash > 0 && dash + 2 < fields.length) {
                    mounts.add(new Mount(fields[dash + 2], Path.of(unescape(fields[4]))));
                }
            }
        } catch (IOException e) {
            throw new ApiException(ErrorCodes.INTERNAL, "cannot read /proc/self/mountinfo: " + e.getMessage());
        }
        return mounts;
    }

    /** mountinfo escapes space, tab, newline and backslash as octal. */
    private static String unescape(String field) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '\\' && i + 3 < field.length()) {
                out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private record Result(List<String> command, int exit, String out, String err) {}

    private String run(String... command) {
        Result result = exec(List.of(command));
        if (result.exit != 0) {
            throw failure(result);
        }
        return result.out;
    }

    private static ApiException failure(Result result) {
        String said = (result.err.isBlank() ? result.out : result.err).trim().replace('\n', ' ');
        return new ApiException(ErrorCodes.INTERNAL, String.join(" ", result.command) + " failed (exit "
                + result.exit + "): " + said);
    }

    private static Result exec(List<String> command) {
        try {
            Path out = Files.createTempFile("ballast-cmd", ".out");
            Path err = Files.createTempFile("ballast-cmd", ".err");
            try {
                Process process = new ProcessBuilder(command).redirectInput(new File("/dev/null"))
                        .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
                if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    throw new ApiException(ErrorCodes.INTERNAL, String.join(" ", command) + " did not finish in "
                            + TIMEOUT_SECONDS + " s");
                }
                return new Result(command, process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                        Files.readString(err, StandardCharsets.UTF_8));
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new ApiException(ErrorCodes.INTERNAL, "cannot run " + command.getFirst() + ": " + e.getMessage()
                    + " (is it installed?)");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(ErrorCodes.INTERNAL, "interrupted while running " + command.getFirst());
        }
    }

}
