package io.ballast.cli;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(name = "down", description = {"Stop the local daemons under DIR, every node1..nodeN at once",
        "(SIGTERM, then SIGKILL after 10 s)."})
final class DownCommand implements Callable<Integer> {
    private static final Duration GRACE = Duration.ofSeconds(10);

    @ParentCommand
    Cli cli;

    @Option(names = "--data", paramLabel = "DIR", description = "the directory given to 'up' (default .ballast)")
    Path data = Path.of(".ballast");

    @Option(names = "--purge", description = "also delete DIR and every volume in it")
    boolean purge;

    @Override
    public Integer call() throws IOException, InterruptedException {
        if (!Files.isDirectory(data)) {
            cli.output().line("nothing to stop: " + data + " does not exist");
            return 0;
        }
        // Every node gets SIGTERM at once and they stop together: 3 nodes take one grace period, not three.
        Map<LocalNode, ProcessHandle> running = new LinkedHashMap<>();
        for (Path dir : LocalNode.dirsUnder(data)) {
            LocalNode node = LocalNode.at(dir);
            node.process().ifPresent(process -> running.put(node, process));
        }
        running.values().forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + GRACE.toNanos();
        for (var entry : running.entrySet()) {
            LocalNode node = entry.getKey();
            ProcessHandle process = entry.getValue();
            try {
                process.onExit().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                cli.output().line("stopped " + node.name() + " (pid " + process.pid() + ")");
            } catch (TimeoutException | ExecutionException e) {
                process.destroyForcibly();
                process.onExit().join();
                cli.output().line("killed " + node.name() + " (pid " + process.pid() + ") after " + GRACE.toSeconds()
                        + " s without stopping");
            }
        }
        if (running.isEmpty()) {
            cli.output().line("no Ballast node was running under " + data);
        }
        if (purge) {
            deleteTree(data);
            cli.output().line("deleted " + data);
        }
        return 0;
    }

    private static void deleteTree(Path root) throws IOException {
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
