package io.ballast.cli;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(name = "down", description = "Stop the local daemons (SIGTERM, then SIGKILL after 10 s).")
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
        List<Path> nodeDirs;
        try (Stream<Path> dirs = Files.list(data)) {
            nodeDirs = dirs.filter(d -> d.getFileName().toString().matches("node\\d+")).sorted().toList();
        }
        int stopped = 0;
        for (Path dir : nodeDirs) {
            LocalNode node = new LocalNode(dir, dir.getFileName().toString(), 0, 0, 0, 0);
            Optional<ProcessHandle> process = node.process();
            if (process.isEmpty()) {
                continue;
            }
            ProcessHandle handle = process.get();
            handle.destroy();
            try {
                handle.onExit().get(GRACE.toSeconds(), TimeUnit.SECONDS);
                cli.output().line("stopped " + node.name() + " (pid " + handle.pid() + ")");
            } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
                handle.destroyForcibly();
                handle.onExit().join();
                cli.output().line("killed " + node.name() + " (pid " + handle.pid() + ") after " + GRACE.toSeconds()
                        + " s without stopping");
            }
            stopped++;
        }
        if (stopped == 0) {
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
