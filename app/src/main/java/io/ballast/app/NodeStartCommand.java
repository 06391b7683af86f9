package io.ballast.app;

import io.ballast.api.Sizes;
import io.ballast.node.Daemon;
import io.ballast.node.NodeConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ballast node start}: runs one daemon in the foreground until SIGTERM. */
@Command(name = "start", description = "Run a Ballast daemon in the foreground; SIGTERM stops it cleanly.")
final class NodeStartCommand implements Callable<Integer> {
    private static volatile boolean running;

    @Option(names = "--data", required = true, paramLabel = "DIR", description = "the node's data directory")
    Path data;

    @Option(names = "--name", paramLabel = "NAME", description = "the node's name (default: the host name)")
    String name;

    @Option(names = "--address", paramLabel = "ADDR", description = "address to listen on (default 127.0.0.1)")
    String address = "127.0.0.1";

    @Option(names = "--api-port", paramLabel = "PORT")
    int apiPort = 9420;

    @Option(names = "--nbd-port", paramLabel = "PORT")
    int nbdPort = 10809;

    @Option(names = "--peer-port", paramLabel = "PORT")
    int peerPort = 9422;

    @Option(names = "--raft-port", paramLabel = "PORT")
    int raftPort = 9423;

    @Option(names = "--pool", paramLabel = "PATH[:CLASS]",
            description = "a storage pool directory, optionally with its class low|medium|high (repeatable)")
    List<String> pools = new ArrayList<>();

    @Option(names = "--pool-size", paramLabel = "SIZE",
            description = "cap each pool's capacity (default: its filesystem's size)")
    String poolSize;

    @Option(names = "--overcommit", paramLabel = "RATIO",
            description = "how many times its capacity a pool may promise to thin volumes (default 20)")
    double overcommit = NodeConfig.DEFAULT_OVERCOMMIT;

    @Option(names = "--label", paramLabel = "KEY=VALUE", description = "node labels such as zone=z1 (repeatable)")
    Map<String, String> labels = new LinkedHashMap<>();

    @Option(names = "--join", paramLabel = "HOST:API_PORT", description = "join an existing cluster")
    String join;

    @Option(names = "--lease", paramLabel = "DURATION",
            description = "a node without a heartbeat for this long is reported down, e.g. 5s or 1500ms (default 5s)")
    String lease = "5s";

    @Option(names = "--rebuild-grace", paramLabel = "DURATION",
            description = "a node down for longer than this has its replicas rebuilt on other nodes; one back"
                    + " sooner only catches up on what it missed, e.g. 10m or 30s (default 10m)")
    String rebuildGrace = "10m";

    @Option(names = "--dev-dir", paramLabel = "DIR",
            description = "where the FUSE mount of volume block files goes (default: DATA/dev)")
    Path devDir;

    /** 5s, 1500ms, 1m: a whole number and a unit, between 1 s and 10 min. */
    static Duration parseDuration(String text) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d{1,9})(ms|s|m)").matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a duration; write e.g. 5s, 1500ms or 1m");
        }
        long n = Long.parseLong(m.group(1));
        Duration d = switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            default -> Duration.ofMinutes(n);
        };
        if (d.compareTo(Duration.ofSeconds(1)) < 0 || d.compareTo(Duration.ofMinutes(10)) > 0) {
            throw new IllegalArgumentException(text + " is out of range: use 1s to 10m");
        }
        return d;
    }

    static boolean running() {
        return running;
    }

    @Override
    public Integer call() throws Exception {
        if (join != null && !join.matches("[^:\\s]+:\\d{1,5}")) {
            System.err.println("error: --join takes HOST:API_PORT of a node of the cluster, e.g. 10.0.0.1:9420; got '"
                    + join + "'");
            return 2;
        }
        Duration leaseDuration;
        try {
            leaseDuration = parseDuration(lease);
        } catch (IllegalArgumentException e) {
            System.err.println("error: --lease: " + e.getMessage());
            return 2;
        }
        Duration graceDuration;
        try {
            graceDuration = parseDuration(rebuildGrace);
        } catch (IllegalArgumentException e) {
            System.err.println("error: --rebuild-grace: " + e.getMessage());
            return 2;
        }
        if (overcommit < 1) {
            System.err.println("error: --overcommit must be at least 1");
            return 2;
        }
        long poolSizeBytes;
        try {
            poolSizeBytes = poolSize == null ? 0 : Sizes.parse(poolSize);
        } catch (IllegalArgumentException e) {
            System.err.println("error: --pool-size: " + e.getMessage());
            return 2;
        }
        String nodeName = name != null ? name : java.net.InetAddress.getLocalHost().getHostName();
        NodeConfig config = new NodeConfig(data.toAbsolutePath(), nodeName, address, apiPort, nbdPort, peerPort,
                raftPort, pools.stream().map(NodeConfig.PoolConfig::parse).toList(), labels, join, poolSizeBytes,
                overcommit, devDir == null ? null : devDir.toAbsolutePath(), leaseDuration, graceDuration);
        Daemon daemon;
        try {
            // A removed node exits (the shutdown hook closes the daemon): it must not keep serving a cluster
            // that no longer counts it as a member.
            daemon = Daemon.start(config, () -> System.exit(0));
        } catch (Exception e) {
            System.err.println("error: node " + nodeName + " could not start: " + e.getMessage());
            org.slf4j.LoggerFactory.getLogger(NodeStartCommand.class).debug("start failure", e);
            return 1;
        }
        running = true;
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            daemon.close();
            stopped.countDown();
        }, "shutdown"));
        stopped.await();
        return 0;
    }
}
