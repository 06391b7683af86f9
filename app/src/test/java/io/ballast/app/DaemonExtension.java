package io.ballast.app;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One daemon process for a whole test class, in a fresh directory: started before the first
 * test, stopped (by pid) and its directory removed after the last, whatever happened between.
 */
final class DaemonExtension implements BeforeAllCallback, AfterAllCallback {
    private final String[] extraArgs;
    private Path dir;
    private DaemonProcess daemon;
    private BallastCli cli;

    DaemonExtension(String... extraArgs) {
        this.extraArgs = extraArgs;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws IOException {
        dir = Files.createTempDirectory("ballast-it-");
        daemon = new DaemonProcess(dir.resolve("node1"), extraArgs).start();
        cli = new BallastCli(daemon);
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        // Mounts and loop devices first, while the daemon still serves them, then again after.
        List<String> loops = HostCleanup.under(dir);
        if (daemon != null) {
            daemon.close();
        }
        HostCleanup.under(dir);
        HostCleanup.detach(loops);
        deleteTree(dir);
    }

    DaemonProcess daemon() {
        return daemon;
    }

    BallastCli cli() {
        return cli;
    }

    /** A scratch directory beside the daemon's, removed with it. */
    Path dir() {
        return dir;
    }

    private static void deleteTree(Path root) throws IOException {
        if (root == null || !Files.exists(root)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
