package io.ballast.cli;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(name = "up", description = {"Start local daemons in the background and wait until they are ready.",
        "Node i is named node<i> and keeps its files in DIR/node<i>/; node1 founds the cluster and the others"
                + " join it. Nodes already running are left as they are; on a running cluster, 'up' only prints"
                + " its status."})
final class UpCommand implements Callable<Integer> {
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);
    private static final int LOG_LINES = 15;

    @ParentCommand
    Cli cli;

    @Option(names = "--nodes", paramLabel = "N",
            description = {"how many nodes: node1..nodeN (default 1). Restart a cluster with as many as it had:"
                    + " a node waits for a majority of the cluster's metadata voters."})
    int nodes = 1;

    @Option(names = "--data", paramLabel = "DIR", description = "where the nodes keep their files (default .ballast)")
    Path data = Path.of(".ballast");

    @Option(names = "--base-port", paramLabel = "P",
            description = "API port of node1; node i uses P+10(i-1), its peer port +2 and raft port +3 (default 9420)")
    int basePort = 9420;

    @Option(names = "--nbd-port", paramLabel = "P", description = "NBD port of node1; node i uses P+10(i-1) (default 10809)")
    int nbdPort = LocalNode.NBD_BASE_PORT;

    @Override
    public Integer call() throws IOException, InterruptedException {
        validate();
        List<Path> existing = LocalNode.dirsUnder(data);
        List<LocalNode> all = new ArrayList<>();
        for (int i = 1; i <= nodes; i++) {
            all.add(LocalNode.of(data, i, basePort, nbdPort));
        }
        // Start every missing node before waiting for any: a node's start waits for a majority of the
        // metadata voters, so after a 'down' of a 3-node cluster, node1 is ready only once node2 is up.
        Map<LocalNode, ProcessHandle> processes = new LinkedHashMap<>();
        Set<LocalNode> started = new LinkedHashSet<>();
        for (LocalNode node : all) {
            Optional<ProcessHandle> running = node.process();
            if (running.isPresent()) {
                processes.put(node, running.get());
            } else {
                processes.put(node, start(node).toHandle());
                started.add(node);
            }
        }
        int highest = existing.isEmpty() ? 0 : LocalNode.index(existing.getLast());
        awaitReady(processes, started, highest > nodes ? highest : 0);
        for (LocalNode node : all) {
            cli.output().line(node.name() + (started.contains(node) ? " started" : " running")
                    + "  api " + node.apiUrl() + "  nbd nbd://127.0.0.1:" + node.nbdPort() + "/VOLUME"
                    + "  data " + node.dir() + "  pid " + node.process().orElse(processes.get(node)).pid());
        }
        return 0;
    }

    /** Bad numbers are the user's to fix (exit 2), before anything starts. */
    private void validate() {
        int count = nodes;
        if (count < 1) {
            throw CliException.usage("--nodes must be at least 1");
        }
        int spread = LocalNode.PORTS_PER_NODE * (count - 1);
        if (basePort < 1 || basePort + spread + 3 > 65535) {
            throw CliException.usage("--base-port " + basePort + " leaves no room for " + count + " node"
                    + (count == 1 ? "" : "s") + ": node i uses API port P+10(i-1) up to P+10(i-1)+3, all at most 65535");
        }
        if (nbdPort < 1 || nbdPort + spread > 65535) {
            throw CliException.usage("--nbd-port " + nbdPort + " leaves no room for " + count + " node"
                    + (count == 1 ? "" : "s") + ": node i uses NBD port P+10(i-1), at most 65535");
        }
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
     * Waits, all within one {@link #READY_TIMEOUT}, until every node is ready: its own process is
     * alive and its API answers as this node (another cluster's node listening on the port must not
     * pass for it). When one fails, the nodes this command started that are not ready yet are
     * stopped again, and the failure names the node and shows the end of its log.
     * {@code moreUnder} is the highest node number under DIR when that is more than are being
     * started (0 otherwise), for the hint that nodes wait for each other.
     */
    private void awaitReady(Map<LocalNode, ProcessHandle> processes, Set<LocalNode> started, int moreUnder)
            throws InterruptedException {
        Set<LocalNode> waiting = new LinkedHashSet<>(processes.keySet());
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (true) {
            for (LocalNode node : List.copyOf(waiting)) {
                if (!processes.get(node).isAlive()) {
                    stopUnready(processes, started, waiting);
                    throw new CliException(CliException.FAILURE, node.name() + (started.contains(node)
                            ? " did not start" : " stopped while the cluster was starting") + "; the end of "
                            + node.logFile() + ":" + System.lineSeparator() + node.logTail(LOG_LINES)
                            + moreNodesHint(moreUnder, System.lineSeparator()));
                }
                if (node.answersAsItself()) {
                    waiting.remove(node);
                }
            }
            if (waiting.isEmpty()) {
                return;
            }
            if (System.nanoTime() - deadline > 0) {
                break;
            }
            Thread.sleep(100);
        }
        stopUnready(processes, started, waiting);
        List<String> names = waiting.stream().map(LocalNode::name).toList();
        StringBuilder message = new StringBuilder(String.join(", ", names)
                + (names.size() == 1 ? " was" : " were") + " not ready after " + READY_TIMEOUT.toSeconds() + " s");
        message.append(moreUnder > 0 ? moreNodesHint(moreUnder, "; ") : " (is a port taken by another program?)");
        for (LocalNode node : waiting) {
            message.append(System.lineSeparator()).append("the end of ").append(node.logFile()).append(":")
                    .append(System.lineSeparator()).append(node.logTail(LOG_LINES));
        }
        throw new CliException(CliException.FAILURE, message.toString());
    }

    /** When DIR holds more nodes than were started: they may be the majority the started ones wait for. */
    private String moreNodesHint(int moreUnder, String separator) {
        if (moreUnder == 0) {
            return "";
        }
        return separator + "a node waits for a majority of the cluster's metadata voters, and " + data
                + " holds nodes up to node" + moreUnder + ": to start them all, run 'ballast up --nodes " + moreUnder
                + (data.equals(Path.of(".ballast")) ? "" : " --data " + data)
                + (basePort == 9420 ? "" : " --base-port " + basePort)
                + (nbdPort == LocalNode.NBD_BASE_PORT ? "" : " --nbd-port " + nbdPort) + "'";
    }

    /** Stops (SIGTERM) the nodes this command started that never became ready; running ones stay. */
    private static void stopUnready(Map<LocalNode, ProcessHandle> processes, Set<LocalNode> started,
                                    Set<LocalNode> waiting) {
        for (LocalNode node : waiting) {
            if (started.contains(node)) {
                processes.get(node).destroy();
            }
        }
    }
}
