package io.ballast.app;

import io.ballast.api.Sizes;
import io.ballast.node.Daemon;
import io.ballast.node.NodeConfig;
import java.nio.file.Path;
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

    @Option(names = "--dev-dir", paramLabel = "DIR",
            description = "where the FUSE mount of volume block files goes (default: DATA/dev)")
    Path devDir;

    static boolean running() {
        return running;
    }

    @Override
    public Integer call() throws Exception {
        if (join != null) {
            System.err.println("error: --join needs cluster membership, which this build does not have yet;"
                    + " start a single node without --join");
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
                overcommit, devDir == null ? null : devDir.toAbsolutePath());
        Daemon daemon;
        try {
            daemon = Daemon.start(config);
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
