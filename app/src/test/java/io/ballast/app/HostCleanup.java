package io.ballast.app;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Removes every mount and loop device a test left under its directory, even after a failure. */
final class HostCleanup {
    private HostCleanup() {}

    /**
     * Unmounts everything under {@code dir} (normally, else lazily) and detaches the loop devices
     * whose backing file lies there; returns those devices, because once the daemon that serves
     * their files is gone they no longer show where they came from.
     */
    static List<String> under(Path dir) {
        if (dir == null) {
            return List.of();
        }
        String root = dir.toAbsolutePath().toString();
        mountPointsUnder(root).stream().sorted(Comparator.comparingInt(String::length).reversed())
                .forEach(m -> {
                    if (Run.run(60, List.of("umount", m)).exit() != 0) {
                        Run.run(60, List.of("umount", "-l", m));
                    }
                });
        List<String> loops = loopsUnder(dir);
        detach(loops);
        return loops;
    }

    /** Detaches those of {@code loops} that still exist. */
    static void detach(List<String> loops) {
        String listed = Run.run(30, List.of("losetup", "--list", "--noheadings", "--output", "NAME")).out();
        for (String loop : loops) {
            if (listed.lines().anyMatch(l -> l.trim().equals(loop))) {
                Run.run(30, List.of("losetup", "-d", loop));
            }
        }
    }

    static List<String> mountPointsUnder(String root) {
        List<String> mounts = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String point = line.split(" ")[4];
                if (point.startsWith(root)) {
                    mounts.add(point);
                }
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return mounts;
    }

    /** Loop devices whose backing file lies under {@code dir}. */
    static List<String> loopsUnder(Path dir) {
        List<String> loops = new ArrayList<>();
        for (String line : Run.run(30, List.of("losetup", "--list", "--noheadings", "--output", "NAME,BACK-FILE"))
                .out().split("\n")) {
            String[] fields = line.trim().split("\\s+", 2);
            if (fields.length == 2 && fields[1].startsWith(dir.toAbsolutePath().toString())) {
                loops.add(fields[0]);
            }
        }
        return loops;
    }
}
