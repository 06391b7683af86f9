package io.ballast.node;

import io.ballast.frontend.fuse.BlockFileMount;
import io.ballast.frontend.nbd.NbdServer;
import io.ballast.meta.Command;
import io.ballast.meta.MetaConfig;
import io.ballast.meta.MetaStore;
import io.ballast.meta.NodeRecord;
import io.ballast.meta.PoolRecord;
import io.ballast.store.Pool;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Ballast daemon: opens the node's pools and its metadata store, then serves NBD and the
 * REST API. {@link #start} returns once every endpoint is listening; {@link #close} shuts down
 * in the reverse order, flushing every attached volume.
 */
public final class Daemon implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Daemon.class);
    private static final long HEARTBEAT_SECONDS = 1;

    private final NodeConfig config;
    private final List<AutoCloseable> resources = new ArrayList<>();
    private final ScheduledExecutorService heartbeat =
            Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("heartbeat").daemon().factory());
    private FileChannel lockChannel;
    private MetaStore meta;
    private ApiServer api;
    private NbdServer nbd;

    private Daemon(NodeConfig config) {
        this.config = config;
    }

    public static Daemon start(NodeConfig config) throws IOException {
        Daemon daemon = new Daemon(config);
        try {
            daemon.startUp();
        } catch (IOException | RuntimeException e) {
            daemon.close();
            throw e;
        }
        return daemon;
    }

    private void startUp() throws IOException {
        long begin = System.nanoTime();
        Clock clock = Clock.systemUTC();
        Files.createDirectories(config.dataDir());
        lockDataDir();
        Files.writeString(config.pidFile(), ProcessHandle.current().pid() + "\n", StandardCharsets.US_ASCII);

        Map<String, Pool> pools = new LinkedHashMap<>();
        Map<String, String> classes = new LinkedHashMap<>();
        for (NodeConfig.PoolConfig poolConfig : config.effectivePools()) {
            Pool pool = Pool.open(poolConfig.path(), config.poolSizeBytes());
            resources.add(pool);
            pools.put(pool.id(), pool);
            classes.put(pool.id(), poolConfig.cos() == null ? "low" : poolConfig.cos());
        }

        meta = MetaStore.open(new MetaConfig(config.dataDir().resolve("meta"), config.name(), config.address(),
                config.raftPort()));
        resources.add(meta);
        // Pools this metadata store knew before this start: only there may reconcile delete.
        java.util.Set<String> knownPools = meta.state().pools().keySet();
        long now = clock.millis();
        meta.submit(new Command.RegisterNode(new NodeRecord(config.name(), config.address(), config.apiPort(),
                config.nbdPort(), config.peerPort(), config.raftPort(), config.labels(), now, now)));
        for (Pool pool : pools.values()) {
            meta.submit(new Command.RegisterPool(new PoolRecord(pool.id(), config.name(),
                    pool.dir().toAbsolutePath().toString(), classes.get(pool.id()), pool.capacityBytes())));
        }

        NodeMetrics metrics = new NodeMetrics();
        metrics.registerPools(sink -> pools.values().forEach(
                p -> sink.pool(p.id(), p.dir().toString(), p.capacityBytes(), p.usedBytes())));
        VolumeService volumes = new VolumeService(config, meta, pools, metrics, clock);
        resources.add(volumes);
        volumes.reconcile(knownPools);

        BlockFileMount fuse = null;
        String fuseUnavailable = null;
        try {
            fuse = BlockFileMount.mount(config.effectiveDevDir());
            resources.add(fuse); // closed before the volumes: no FUSE request outlives its target
        } catch (IOException | RuntimeException e) {
            fuseUnavailable = e.getMessage();
            log.warn("volumes cannot be attached as block devices or mounted on this node: {}", fuseUnavailable);
        }
        HostMounts host = new HostMounts(volumes, fuse, fuseUnavailable, new HostDevices(),
                config.dataDir().resolve("host-attachments.json"));
        volumes.hostMounts(host);
        host.recover();

        nbd = NbdServer.start(new InetSocketAddress(config.address(), config.nbdPort()), new NbdExports(volumes));
        resources.add(nbd);
        volumes.onDetach(nbd::disconnect);

        api = new ApiServer(config.address(), config.apiPort(), volumes, host,
                new ClusterService(config.name(), meta, pools, clock), metrics);
        resources.add(api);

        heartbeat.scheduleWithFixedDelay(this::beat, HEARTBEAT_SECONDS, HEARTBEAT_SECONDS, TimeUnit.SECONDS);
        log.info("node {} ready in {} ms: api http://{}:{} nbd {}:{} data {}", config.name(),
                (System.nanoTime() - begin) / 1_000_000, config.address(), api.port(), config.address(), nbd.port(),
                config.dataDir());
    }

    private void beat() {
        try {
            meta.submit(new Command.Heartbeat(config.name(), System.currentTimeMillis()));
        } catch (IOException | RuntimeException e) {
            log.warn("heartbeat failed: {}", e.getMessage());
        }
    }

    /** One daemon per data directory: a second one would corrupt the first one's pools. */
    private void lockDataDir() throws IOException {
        lockChannel = FileChannel.open(config.dataDir().resolve("node.lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
        FileLock lock = lockChannel.tryLock();
        if (lock == null) {
            String pid = Files.exists(config.pidFile()) ? Files.readString(config.pidFile()).trim() : "unknown";
            throw new IOException("another Ballast node (pid " + pid + ") is using " + config.dataDir()
                    + "; stop it first (ballast down) or choose another --data");
        }
    }

    public int apiPort() {
        return api.port();
    }

    @Override
    public void close() {
        heartbeat.shutdownNow();
        for (int i = resources.size() - 1; i >= 0; i--) {
            try {
                resources.get(i).close();
            } catch (Exception e) {
                log.error("shutdown: closing {} failed: {}", resources.get(i).getClass().getSimpleName(), e.getMessage());
            }
        }
        resources.clear();
        try {
            Files.deleteIfExists(config.pidFile());
            if (lockChannel != null) {
                lockChannel.close();
            }
        } catch (IOException e) {
            log.warn("shutdown: {}", e.getMessage());
        }
    }
}
