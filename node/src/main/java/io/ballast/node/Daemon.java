package io.ballast.node;

import io.ballast.frontend.fuse.BlockFileMount;
import io.ballast.frontend.nbd.NbdServer;
import io.ballast.api.JoinRequest;
import io.ballast.api.JoinResponse;
import io.ballast.meta.Command;
import io.ballast.meta.CommandResult;
import io.ballast.meta.MetaPeer;
import io.ballast.meta.MetaConfig;
import io.ballast.meta.MetaStore;
import io.ballast.meta.NodeRecord;
import io.ballast.meta.PoolRecord;
import io.ballast.replication.peer.PeerClient;
import io.ballast.replication.peer.PoolReplicaControl;
import io.ballast.replication.peer.PeerServer;
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
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Ballast daemon: opens the node's pools and its metadata store, then serves NBD and the
 * REST API. {@link #start} returns once every endpoint is listening; {@link #close} shuts down
 * in the reverse order, flushing every attached volume.
 */
public final class Daemon implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Daemon.class);
    /** How long a joining node keeps asking its seed, which may itself still be starting. */
    private static final Duration JOIN_TIMEOUT = Duration.ofSeconds(60);
    /** Written when this node learns it was removed from the cluster; a later start refuses to run. */
    static final String REMOVED_MARKER = "removed";

    private final NodeConfig config;
    private final List<AutoCloseable> resources = new ArrayList<>();
    private volatile long leaseRenewedNanos;
    private final ScheduledExecutorService heartbeat =
            Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("heartbeat").daemon().factory());
    private final Runnable onRemoved;
    private final AtomicBoolean removed = new AtomicBoolean();
    private Map<String, Pool> pools = Map.of();
    private FileChannel lockChannel;
    private MetaStore meta;
    private ApiServer api;
    private NbdServer nbd;

    private Daemon(NodeConfig config, Runnable onRemoved) {
        this.config = config;
        this.onRemoved = onRemoved;
    }

    /** Starts a daemon that just logs when it is removed from the cluster. */
    public static Daemon start(NodeConfig config) throws IOException {
        return start(config, () -> {});
    }

    /**
     * Starts the daemon. {@code onRemoved} runs (once, on a thread of its own) when this node learns that it
     * was removed from the cluster ({@code ballast node remove}); the caller should then shut it down.
     */
    public static Daemon start(NodeConfig config, Runnable onRemoved) throws IOException {
        Daemon daemon = new Daemon(config, onRemoved);
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
        Path removedMarker = config.dataDir().resolve(REMOVED_MARKER);
        if (Files.exists(removedMarker)) {
            throw new IOException("node " + config.name() + " was removed from its cluster ("
                    + Files.readString(removedMarker).strip() + "); its data in " + config.dataDir() + " is no longer"
                    + " part of any cluster. Start it with a fresh --data and --join to bring this host back");
        }
        Files.writeString(config.pidFile(), ProcessHandle.current().pid() + "\n", StandardCharsets.US_ASCII);

        Map<String, Pool> opened = new LinkedHashMap<>();
        Map<String, String> classes = new LinkedHashMap<>();
        for (NodeConfig.PoolConfig poolConfig : config.effectivePools()) {
            Pool pool = Pool.open(poolConfig.path(), config.poolSizeBytes());
            resources.add(pool);
            opened.put(pool.id(), pool);
            // The operator's --pool PATH:CLASS wins over what the fingerprint measured.
            classes.put(pool.id(), poolConfig.cos() != null ? poolConfig.cos() : pool.fingerprint().cos());
        }
        pools = Map.copyOf(opened);

        NodeApiClient nodeApi = new NodeApiClient();
        resources.add(nodeApi);
        Path metaDir = config.dataDir().resolve("meta");
        MetaConfig metaConfig = new MetaConfig(metaDir, config.name(), config.address(), config.raftPort());
        java.util.Optional<String> member = MetaStore.clusterIdIn(metaDir);
        if (config.join() != null && member.isEmpty()) {
            metaConfig = metaConfig.withJoin(join(nodeApi));
        } else if (config.join() != null) {
            log.info("this node is already a member of cluster {}; --join {} is ignored", member.get(), config.join());
        }
        meta = MetaStore.open(metaConfig);
        resources.add(meta);
        // Pools this metadata store knew before this start: only there may reconcile delete.
        java.util.Set<String> knownPools = meta.state().pools().keySet();
        long now = clock.millis();
        NodeRecord previous = meta.state().nodes().get(config.name());
        // Keeps the registration time: the membership controller seats voters in order of registration.
        CommandResult registered = meta.submit(new Command.RegisterNode(new NodeRecord(config.name(), config.address(),
                config.apiPort(), config.nbdPort(), config.peerPort(), config.raftPort(), config.labels(),
                previous == null ? now : previous.registeredAtMillis(), now)));
        if (registered.code().equals(CommandResult.NOT_FOUND)) {
            Files.writeString(config.dataDir().resolve(REMOVED_MARKER), "found removed at start, "
                    + java.time.Instant.now() + "\n");
            throw new IOException("node " + config.name() + " is not a member of cluster " + meta.localState().clusterId()
                    + " any more (it was removed while it was down). Start it with a fresh --data and --join to bring"
                    + " this host back");
        }
        for (Pool pool : pools.values()) {
            meta.submit(new Command.RegisterPool(new PoolRecord(pool.id(), config.name(),
                    pool.dir().toAbsolutePath().toString(), classes.get(pool.id()), pool.capacityBytes(), pool.usedBytes())));
        }

        PeerClient peers = new PeerClient();
        resources.add(peers);
        ReplicaControls replicaControls = new ReplicaControls(config.name(), new PoolReplicaControl(config.name(), pools),
                peers);

        NodeMetrics metrics = new NodeMetrics();
        metrics.registerPools(sink -> pools.values().forEach(
                p -> sink.pool(p.id(), p.dir().toString(), p.capacityBytes(), p.usedBytes())));
        leaseRenewedNanos = System.nanoTime(); // registered just now
        Coordinators coordinators = new Coordinators(config.name(), meta,
                new io.ballast.replication.PoolReplicaChannels(config.name(), pools), peers, replicaControls,
                this::leaseValid);
        VolumeService volumes = new VolumeService(config, meta, pools, replicaControls, coordinators, nodeApi, metrics,
                clock);
        resources.add(volumes);
        volumes.reconcile(knownPools);
        // Only after reconcile: it deletes replicas the metadata does not name, and another node creates a
        // new volume's replica before it commits the volume, so one arriving during reconcile would be lost.
        PeerServer peer = PeerServer.start(new InetSocketAddress(config.address(), config.peerPort()),
                () -> meta.localState().clusterId(), new PoolReplicaControl(config.name(), pools),
                new io.ballast.replication.PoolReplicaChannels(config.name(), pools));
        resources.add(peer);

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
                new ClusterService(config.name(), meta, pools), metrics);
        resources.add(api);

        ClusterControllers controllers = new ClusterControllers(meta, config.lease(), config.rebuildGrace(),
                volumes::replaceReplica);
        resources.add(controllers);
        controllers.start(config.heartbeatInterval());
        long beat = config.heartbeatInterval().toMillis();
        heartbeat.scheduleWithFixedDelay(this::beat, beat, beat, TimeUnit.MILLISECONDS);
        log.info("node {} ready in {} ms: api http://{}:{} nbd {}:{} data {}", config.name(),
                (System.nanoTime() - begin) / 1_000_000, config.address(), api.port(), config.address(), nbd.port(),
                config.dataDir());
    }

    /**
     * Asks the member at {@code --join} to register this node, retrying while it is unreachable (it may be
     * starting too); a refusal (a name already taken, say) fails the start at once.
     */
    private MetaConfig.Join join(NodeApiClient nodeApi) throws IOException {
        JoinRequest request = new JoinRequest(config.name(), config.address(), config.apiPort(), config.nbdPort(),
                config.peerPort(), config.raftPort(), config.labels());
        long deadline = System.nanoTime() + JOIN_TIMEOUT.toNanos();
        long nextLog = 0;
        for (;;) {
            try {
                JoinResponse response = nodeApi.post("at " + config.join(), config.join(), "/v1/cluster/join", request,
                        JoinResponse.class);
                log.info("joining cluster {} through {}; metadata members {}", response.clusterId(), config.join(),
                        response.members());
                return new MetaConfig.Join(response.clusterId(), response.members().stream()
                        .map(m -> new MetaPeer(m.name(), m.address())).toList());
            } catch (ApiException e) {
                if (!e.code().equals(io.ballast.api.ErrorCodes.UNAVAILABLE) || System.nanoTime() > deadline) {
                    throw new IOException("cannot join the cluster through " + config.join() + ": " + e.getMessage(), e);
                }
                if (System.nanoTime() > nextLog) {
                    log.info("waiting for {} to accept the join: {}", config.join(), e.getMessage());
                    nextLog = System.nanoTime() + 5_000_000_000L;
                }
                try {
                    Thread.sleep(250);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while joining", interrupted);
                }
            }
        }
    }

    /**
     * Whether this node's lease still holds: its last heartbeat was committed within four fifths of a lease,
     * counted from when it was sent. The leader marks the node down only after a whole lease without one, so
     * while this holds (the fifth is the margin for clocks that run at slightly different rates) no other
     * node can have taken over its volumes; a coordinator serves IO only then.
     */
    private boolean leaseValid() {
        return System.nanoTime() - leaseRenewedNanos < config.lease().toNanos() / 5 * 4;
    }

    private void beat() {
        try {
            Map<String, Long> used = new LinkedHashMap<>();
            pools.values().forEach(p -> used.put(p.id(), p.usedBytes()));
            long sent = System.nanoTime();
            CommandResult result = meta.submit(new Command.Heartbeat(config.name(), System.currentTimeMillis(), used));
            if (result.ok()) {
                leaseRenewedNanos = sent;
            }
            if (result.code().equals(CommandResult.NOT_FOUND) && removed.compareAndSet(false, true)) {
                // So that a restart says what happened instead of waiting for a group that dropped it.
                Files.writeString(config.dataDir().resolve(REMOVED_MARKER), "removed by ballast node remove, noticed at "
                        + java.time.Instant.now() + "\n");
                log.error("node {} was removed from the cluster (ballast node remove); it stops now. To bring this"
                        + " host back, start it with a new --data and --join", config.name());
                Thread.ofPlatform().name("removed").start(onRemoved);
            }
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
