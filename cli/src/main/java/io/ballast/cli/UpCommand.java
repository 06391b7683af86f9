package io.ballast.cli;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(name = "up", description = {"Start local daemons in the background and wait until they are ready.",
        "On a running cluster, only print its status."})
final class UpCommand implements Callable<Integer> {
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);

    @ParentCommand
    Cli cli;

    @Option(names = "--nodes", paramLabel = "N", description = "how many nodes (default 1)")
    int nodes = 1;

    @Option(names = "--data", paramLabel = "DIR", description = "where the nodes keep their files (default .ballast)")
    Path data = Path.of(".ballast");

    @Option(names = "--base-port", paramLabel = "P", description = "API port of node1; node i uses P+10(i-1) (default 9420)")
    int basePort = 9420;

    @Option(names = "--nbd-port", paramLabel = "P", description = "NBD port of node1; node i uses P+10(i-1) (default 10809)")
    int nbdPort = LocalNode.NBD_BASE_PORT;

    @Override
    public Integer call() throws IOException, InterruptedException {
        if (nodes < 1) {
            throw CliException.usage("--nodes must be at least 1");
        }
        if (nodes > 1) {
            throw CliException.usage("a cluster of several nodes needs cluster membership, which this build does not"
                    + " have yet; run 'ballast up' for one node");
        }
        java.util.Map<LocalNode, Process> started = new java.util.LinkedHashMap<>();
        List<LocalNode> all = new ArrayList<>();
        for (int i = 1; i <= nodes; i++) {
            LocalNode node = LocalNode.of(data, i, basePort, nbdPort);
            all.add(node);
            if (node.process().isEmpty()) {
                started.put(node, start(node));
            }
        }
        for (var entry : started.entrySet()) {
            awaitReady(entry.getKey(), entry.getValue());
        }
        for (LocalNode node : all) {
            Optional<ProcessHandle> process = node.process();
            cli.output().line(node.name() + (started.containsKey(node) ? " started" : " running")
                    + "  api " + node.apiUrl() + "  nbd nbd://127.0.0.1:" + node.nbdPort() + "/VOLUME"
                    + "  data " + node.dir() + "  pid " + process.map(p -> Long.toString(p.pid())).orElse("-"));
        }
        return 0;
    }

    private Process start(LocalNode node) throws IOException {
        Files.createDirectories(node.dir());
        List<String> command = new ArrayList<>();
        // A session of its own, so the daemon outlives this command and the terminal that ran it.
        command.add("setsid");
        command.addAll(cli.selfCommand);
        command.addAll(node.startArguments());
        return new ProcessBuilder(command)
                .redirectInput(new File("/dev/null"))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(node.logFile().toFile()))
                .redirectErrorStream(true)
                .start();
    }

    /**
     * Ready means this node's own process is alive and its API answers as this node: another
     * cluster's node listening on the port must not pass for it.
     */
    private static void awaitReady(LocalNode node, Process process) throws InterruptedException {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new CliException(CliException.FAILURE, node.name() + " did not start; the end of "
                        + node.logFile() + ":" + System.lineSeparator() + node.logTail(15));
            }
            if (node.answersAsItself()) {
                return;
            }
            Thread.sleep(100);
        }
        process.destroy();
        throw new CliException(CliException.FAILURE, node.name() + " was not ready after " + READY_TIMEOUT.toSeconds()
                + " s (is port " + node.apiPort() + " taken by another program?); see " + node.logFile());
    }
}
