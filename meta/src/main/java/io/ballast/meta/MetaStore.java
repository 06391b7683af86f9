package io.ballast.meta;

import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.netty.NettyConfigKeys;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.rpc.SupportedRpcType;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster's metadata store: an Apache Ratis group whose state machine holds the {@link ClusterState}.
 *
 * <p>Today the group has one voter, this node. The pieces are laid out for 3 or 5 voters: peer ids are
 * node names, each peer has its own address, the cluster id is the Raft group id (persisted in
 * {@code dir/group-id}), writes go through a {@link RaftClient} (which follows the leader wherever it is),
 * and linearizable reads are served by this node's own replica after a read-index round with the leader.
 *
 * <p>Thread-safe. {@link #submit} and {@link #state} block for at most {@link MetaConfig#submitTimeout()}.
 */
public final class MetaStore implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(MetaStore.class);

    static final String GROUP_ID_FILE = "group-id";
    static final String RAFT_DIR = "raft";

    static {
        quietRatisLogging();
    }

    private final MetaConfig config;
    private final RaftGroup group;
    private final RaftPeerId self;
    private final RaftServer server;
    private final MetaStateMachine stateMachine;
    private final RaftClient client;
    private volatile boolean closed;

    private MetaStore(MetaConfig config, RaftGroup group, RaftPeerId self, RaftServer server,
                      MetaStateMachine stateMachine, RaftClient client) {
        this.config = config;
        this.group = group;
        this.self = self;
        this.server = server;
        this.stateMachine = stateMachine;
        this.client = client;
    }

    /**
     * Starts this node's metadata server. The first start in an empty directory creates a new cluster (a
     * fresh group id and a one-voter group); later starts recover from the latest snapshot and the log.
     * Returns once this node leads the group and has applied everything committed.
     *
     * @throws IOException if the directory is unusable, the port is taken, or no leader was ready within
     *     {@link MetaConfig#startupTimeout()}
     */
    public static MetaStore open(MetaConfig config) throws IOException {
        Path dir = config.dir();
        Files.createDirectories(dir);
        RaftGroupId groupId = loadOrCreateGroupId(dir);
        RaftPeer peer = RaftPeer.newBuilder()
                .setId(config.nodeName())
                .setAddress(hostPort(config.address(), config.raftPort()))
                .build();
        RaftGroup group = RaftGroup.valueOf(groupId, peer);
        RaftProperties properties = properties(config);
        MetaStateMachine stateMachine = new MetaStateMachine();

        long started = System.nanoTime();
        RaftServer server = RaftServer.newBuilder()
                .setServerId(peer.getId())
                .setGroup(group)
                .setStateMachine(stateMachine)
                .setProperties(properties)
                // RECOVER formats the storage when there is none yet, so first start and restart are one path.
                .setOption(RaftStorage.StartupOption.RECOVER)
                .build();
        RaftClient client = null;
        try {
            try {
                server.start();
            } catch (IOException e) {
                throw new IOException("cannot start the metadata server of " + config.nodeName() + " on "
                        + peer.getAddress() + " with data in " + dir + " (is the port taken, or another daemon using"
                        + " this directory?): " + e.getMessage(), e);
            }
            awaitReady(config, server, groupId, stateMachine);
            client = RaftClient.newBuilder()
                    .setClientId(ClientId.randomId())
                    .setRaftGroup(group)
                    .setLeaderId(peer.getId())
                    .setProperties(properties)
                    // Bounded retries (e.g. while a leader is being elected); submit() bounds the total wait anyway,
                    // and an unbounded policy would leave requests retrying in the background forever.
                    .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(
                            (int) Math.max(1, config.submitTimeout().toMillis() / 100), TimeDuration.valueOf(100, TimeUnit.MILLISECONDS)))
                    .build();
        } catch (IOException | RuntimeException e) {
            closeQuietly(client);
            closeQuietly(server);
            throw e;
        }
        ClusterState state = stateMachine.state();
        LOG.info("metadata store of cluster {} open on {} in {} ms: {} nodes, {} pools, {} volumes, applied index {}",
                state.clusterId(), peer.getAddress(), (System.nanoTime() - started) / 1_000_000,
                state.nodes().size(), state.pools().size(), state.volumes().size(), state.appliedIndex());
        return new MetaStore(config, group, peer.getId(), server, stateMachine, client);
    }

    /**
     * Replicates a command and returns what applying it did. A rejected command (NOT_FOUND, CONFLICT,
     * INVALID) is a normal result, not an exception.
     *
     * @throws MetaUnavailableException if the command was not committed within the submit timeout; it may
     *     still commit later
     */
    public CommandResult submit(Command command) throws MetaUnavailableException {
        ensureOpen();
        Message request = Message.valueOf(ByteString.copyFrom(MetaJson.write(command)));
        RaftClientReply reply = await(client.async().send(request), "write " + command.getClass().getSimpleName());
        try {
            return MetaJson.read(reply.getMessage().getContent().toByteArray(), CommandResult.class);
        } catch (IOException e) {
            throw new MetaUnavailableException("metadata server sent an undecodable reply; is it running a"
                    + " different Ballast version? (" + e.getMessage() + ")", e);
        }
    }

    /**
     * The current state, linearizably: it reflects every write committed before this call started.
     * Costs a read-index round with the leader, then reads this node's replica.
     */
    public ClusterState state() throws MetaUnavailableException {
        ensureOpen();
        // Ask this node's own server: with a linearizable read option it gets the commit index from the
        // leader and answers only once its replica has applied up to there, so the local state read after
        // the reply is at least that new, without shipping the whole state through Raft.
        await(client.async().sendReadOnly(Message.valueOf(MetaStateMachine.QUERY_SYNC), self), "linearizable read");
        return stateMachine.state();
    }

    /** The latest state this node has applied, without any round trip. It may lag the leader. */
    public ClusterState localState() {
        return stateMachine.state();
    }

    /** This node's Raft peer id, which is its node name. */
    public String nodeName() {
        return self.toString();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        closeQuietly(client);
        // Takes a final snapshot (so the next start replays nothing) and can take up to ~1 s: Ratis' log
        // worker polls its queue once a second and close waits for it.
        closeQuietly(server);
    }

    private void ensureOpen() throws MetaUnavailableException {
        if (closed) {
            throw new MetaUnavailableException("metadata store is closed (the daemon is shutting down)");
        }
    }

    private RaftClientReply await(CompletableFuture<RaftClientReply> future, String what)
            throws MetaUnavailableException {
        Duration timeout = config.submitTimeout();
        RaftClientReply reply;
        try {
            reply = future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            future.cancel(true);
            throw new MetaUnavailableException("no quorum: metadata " + what + " got no answer within " + timeout.toMillis()
                    + " ms (" + leaderHint() + "). A write may still commit: re-read the state before retrying."
                    + " Check that a majority of the metadata voters " + voters() + " is running and reachable.", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MetaUnavailableException("interrupted while waiting for metadata " + what, e);
        } catch (ExecutionException e) {
            throw unavailable(what, e.getCause());
        }
        if (!reply.isSuccess()) {
            throw unavailable(what, reply.getException());
        }
        return reply;
    }

    private MetaUnavailableException unavailable(String what, Throwable cause) {
        if (closed) {
            return new MetaUnavailableException("metadata store is closed (the daemon is shutting down)", cause);
        }
        return new MetaUnavailableException("no quorum: metadata " + what + " failed (" + leaderHint() + "): " + cause
                + ". Check that a majority of the metadata voters " + voters() + " is running and reachable.", cause);
    }

    private String leaderHint() {
        try {
            DivisionInfo info = server.getDivision(group.getGroupId()).getInfo();
            RaftPeerId leader = info.getLeaderId();
            return leader == null ? "no leader known to " + self : "leader is " + leader + ", this node is " + info.getCurrentRole();
        } catch (IOException | RuntimeException e) {
            return "this node's metadata server is not running: " + e.getMessage();
        }
    }

    private String voters() {
        return group.getPeers().stream().map(p -> p.getId() + "@" + p.getAddress()).toList().toString();
    }

    // ---- startup ----

    private static void awaitReady(MetaConfig config, RaftServer server, RaftGroupId groupId,
                                   MetaStateMachine stateMachine) throws IOException {
        long deadline = System.nanoTime() + config.startupTimeout().toNanos();
        RaftServer.Division division = server.getDivision(groupId);
        for (;;) {
            DivisionInfo info = division.getInfo();
            // Leader-ready means the leader has committed an entry of its own term, so everything earlier
            // is committed too; once applied up to the commit index the state is complete.
            if (info.isLeaderReady()
                    && info.getLastAppliedIndex() >= division.getRaftLog().getLastCommittedIndex()) {
                return;
            }
            if (!info.isAlive()) {
                throw new IOException("metadata server of " + config.nodeName() + " stopped during startup ("
                        + info.getLifeCycleState() + "); see the log above for the cause");
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("metadata server of " + config.nodeName() + " did not become leader within "
                        + config.startupTimeout().toMillis() + " ms (role " + info.getCurrentRole() + ", leader "
                        + info.getLeaderId() + "); check " + config.dir() + " and the log above");
            }
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while starting the metadata server", e);
            }
        }
    }

    /**
     * The group id is created once, with the cluster, and kept in the metadata directory: Ratis keeps its
     * storage in a directory named after the group, so the same id must be used on every restart.
     */
    static RaftGroupId loadOrCreateGroupId(Path dir) throws IOException {
        Path file = dir.resolve(GROUP_ID_FILE);
        if (Files.exists(file)) {
            String text = Files.readString(file, StandardCharsets.US_ASCII).strip();
            try {
                return RaftGroupId.valueOf(UUID.fromString(text));
            } catch (IllegalArgumentException e) {
                throw new IOException(file + " does not hold a group id (\"" + text + "\"); restore it from a backup"
                        + " of this metadata directory, or remove the directory to create a new, empty cluster", e);
            }
        }
        if (Files.isDirectory(dir.resolve(RAFT_DIR))) {
            throw new IOException(dir.resolve(RAFT_DIR) + " holds Raft data but " + file + " is missing; restore it"
                    + " (it is the name of the single directory under " + dir.resolve(RAFT_DIR) + ")");
        }
        UUID uuid = UUID.randomUUID();
        Path tmp = dir.resolve(GROUP_ID_FILE + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(java.nio.ByteBuffer.wrap((uuid + "\n").getBytes(StandardCharsets.US_ASCII)));
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
        return RaftGroupId.valueOf(uuid);
    }

    static RaftProperties properties(MetaConfig config) {
        RaftProperties p = new RaftProperties();
        RaftConfigKeys.Rpc.setType(p, SupportedRpcType.NETTY);
        NettyConfigKeys.Server.setHost(p, config.address());
        NettyConfigKeys.Server.setPort(p, config.raftPort());
        RaftServerConfigKeys.setStorageDir(p, List.of(config.dir().resolve(RAFT_DIR).toFile()));

        // Elections: the first one after start is what open() waits for, so keep it short; the steady-state
        // timeout is sized for a LAN cluster of 3-5 voters (heartbeats go out at half the minimum).
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMin(p, ms(10));
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMax(p, ms(50));
        RaftServerConfigKeys.Rpc.setTimeoutMin(p, ms(500));
        RaftServerConfigKeys.Rpc.setTimeoutMax(p, ms(1000));

        // Reads: state() promises linearizability, which needs a read-index round, not just "ask the leader".
        RaftServerConfigKeys.Read.setOption(p, RaftServerConfigKeys.Read.Option.LINEARIZABLE);

        // Snapshots and log purging, so that the log does not grow forever.
        RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
        RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, config.snapshotThreshold());
        RaftServerConfigKeys.Snapshot.setRetentionFileNum(p, 2);
        RaftServerConfigKeys.Log.setSegmentSizeMax(p, SizeInBytes.valueOf(config.logSegmentSizeBytes()));
        RaftServerConfigKeys.Log.setPreallocatedSize(p, SizeInBytes.valueOf(Math.min(config.logSegmentSizeBytes(), 1 << 20)));
        // Purge as soon as a snapshot is taken: the default gap (1024) would keep small thresholds from purging.
        RaftServerConfigKeys.Log.setPurgeGap(p, (int) Math.min(config.snapshotThreshold(), 1024));

        RaftClientConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(config.submitTimeout().toMillis(), TimeUnit.MILLISECONDS));
        return p;
    }

    private static TimeDuration ms(long millis) {
        return TimeDuration.valueOf(millis, TimeUnit.MILLISECONDS);
    }

    private static String hostPort(String host, int port) {
        return (host.indexOf(':') >= 0 && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port;
    }

    /**
     * Ratis logs every election, segment roll and snapshot at INFO. With slf4j-simple (the daemon's
     * binding) a logger's level is read from a system property when the logger is created, so setting it
     * before the first Ratis class initializes quiets Ratis to WARN. An operator's own setting wins.
     */
    private static void quietRatisLogging() {
        String key = "org.slf4j.simpleLogger.log.org.apache.ratis";
        if (System.getProperty(key) == null) {
            System.setProperty(key, "warn");
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            LOG.warn("error closing {}", c.getClass().getSimpleName(), e);
        }
    }
}
