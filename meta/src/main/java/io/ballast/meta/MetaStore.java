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
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.GroupManagementRequest;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.SetConfigurationRequest;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.rpc.SupportedRpcType;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftConfiguration;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.LifeCycle;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster's metadata store: an Apache Ratis group whose state machine holds the {@link ClusterState}.
 *
 * <p>Every node runs a Raft server for the group. One, three or five of them vote (see {@link VoterPolicy});
 * the others are clients whose server waits, outside the configuration, to be given a seat. Voters read
 * their own copy of the state; clients fetch it from the group when it changed. Peer ids are node names;
 * the cluster id is the Raft group id (persisted in {@code dir/group-id}). Writes go through a
 * {@link RaftClient}, which finds the leader wherever it is; that is how any node's API can serve every
 * request.
 *
 * <p>Thread-safe. {@link #submit} and {@link #state} block for at most {@link MetaConfig#submitTimeout()}.
 */
public final class MetaStore implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(MetaStore.class);

    static final String GROUP_ID_FILE = "group-id";
    static final String RAFT_DIR = "raft";
    /** One try at a read index; a healthy leader answers within milliseconds, an election takes ~1 s. */
    private static final Duration READ_ATTEMPT = Duration.ofSeconds(2);
    /** One attempt of a write, before it is sent again (to the leader the client knows of by then). */
    private static final Duration WRITE_ATTEMPT = Duration.ofSeconds(2);
    /** How long a voter waits for its own copy before it fetches the state instead (it may have been dropped). */
    private static final Duration VOTER_CATCH_UP = Duration.ofSeconds(1);

    static {
        quietRatisLogging();
        // Ratis' gRPC server calls System.exit when it cannot bind its port; a daemon must report that as an
        // error of its own instead (the start then fails with a message naming the port).
        org.apache.ratis.util.ExitUtils.disableSystemExit();
    }

    private final MetaConfig config;
    private final RaftGroupId groupId;
    private final RaftPeerId self;
    private final RaftServer server;
    /** The state machine of this node's current division; replaced with it when the division is (see {@link #rejoinAsClient}). */
    private volatile MetaStateMachine stateMachine;
    private final RaftClient client;
    /** Asks one given server for a read index, once: {@link #leaderIndex} retries with a fresh target. */
    private final RaftClient readClient;
    private final Set<RaftPeerId> knownToReadClient = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** Every member this node has met, with its address: written to {@link #PEERS_FILE} when it grows. */
    private final Map<RaftPeerId, RaftPeer> knownPeers = new java.util.concurrent.ConcurrentHashMap<>();
    /** Runs blocking Ratis writes, so that {@link #submit} can give up after its timeout. */
    private final java.util.concurrent.ExecutorService calls = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
    /** The state last fetched from the group, for a node whose own copy does not follow the log. */
    private volatile ClusterState fetched;
    private volatile boolean closed;
    /** Set when Ratis shut this node's division down because the group left it out; cleared once it is replaced. */
    private final java.util.concurrent.atomic.AtomicBoolean removedFromGroup;
    /** One replacement of the division at a time. */
    private final Object rejoinLock = new Object();
    /** Since when (System.nanoTime) this leader's membership changes are refused as "already in progress", or 0. */
    private volatile long reconfigureStuckSince;

    private MetaStore(MetaConfig config, RaftGroupId groupId, RaftPeerId self, RaftServer server,
                      MetaStateMachine stateMachine, RaftClient client, RaftClient readClient,
                      java.util.concurrent.atomic.AtomicBoolean removedFromGroup) {
        this.config = config;
        this.removedFromGroup = removedFromGroup;
        this.groupId = groupId;
        this.self = self;
        this.server = server;
        this.stateMachine = stateMachine;
        this.client = client;
        this.readClient = readClient;
    }

    /**
     * Starts this node's metadata server and returns once its copy of the state is current.
     *
     * <ul>
     *   <li>First start without {@link MetaConfig#join()}: creates a new cluster, a one-voter group.</li>
     *   <li>First start with a join: takes the cluster's group id and starts an empty server, which the
     *       leader's membership controller seats as a voter when the cluster needs one (this node must
     *       already be registered with {@link Command.JoinNode}); returns once it can read the state.</li>
     *   <li>Later starts: recover from the latest snapshot and the log, then catch up with the leader.</li>
     * </ul>
     *
     * @throws IOException if the directory is unusable or belongs to another cluster, the port is taken,
     *     or the state could not be brought up to date within {@link MetaConfig#startupTimeout()} (for
     *     instance because a majority of the voters is down)
     */
    public static MetaStore open(MetaConfig config) throws IOException {
        Path dir = config.dir();
        Files.createDirectories(dir);
        boolean fresh = !Files.isDirectory(dir.resolve(RAFT_DIR));
        boolean hadGroupId = Files.exists(dir.resolve(GROUP_ID_FILE));
        MetaConfig.Join join = config.join();
        RaftGroupId groupId = loadOrCreateGroupId(dir, join == null ? null : join.clusterId());
        RaftPeer peer = RaftPeer.newBuilder()
                .setId(config.nodeName())
                .setAddress(hostPort(config.address(), config.raftPort()))
                .build();
        // Only a brand-new cluster is told its members; every other start learns them from its own storage
        // (or, when joining, from the leader). Telling a restarted node "you are the only voter" could make
        // it elect itself beside the real group.
        // Never when a group id exists without Raft storage: that node belonged to a cluster, and founding a
        // one-voter group under the same id would be a second cluster claiming to be the first.
        boolean bootstrap = fresh && !hadGroupId && join == null;
        RaftGroup initial = bootstrap ? RaftGroup.valueOf(groupId, peer) : RaftGroup.valueOf(groupId);
        RaftProperties properties = properties(config);
        // A removed member's division is closed by Ratis while this process runs on (see rejoinAsClient): the
        // store is told through its state machine, and the replacement division needs a state machine of its
        // own (a closed one cannot start again), hence a registry rather than one instance.
        java.util.concurrent.atomic.AtomicBoolean removed = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicReference<MetaStore> owner = new java.util.concurrent.atomic.AtomicReference<>();
        Runnable onRemoved = () -> {
            removed.set(true);
            MetaStore s = owner.get();
            if (s != null) {
                s.rejoinSoon();
            }
        };

        long started = System.nanoTime();
        RaftServer server = RaftServer.newBuilder()
                .setServerId(peer.getId())
                .setGroup(initial)
                .setStateMachineRegistry(gid -> new MetaStateMachine(onRemoved))
                .setProperties(properties)
                // RECOVER formats the storage when there is none yet, so first start and restart are one path.
                .setOption(RaftStorage.StartupOption.RECOVER)
                .build();
        RaftClient client = null;
        RaftClient readClient = null;
        MetaStore store;
        try {
            try {
                server.start();
            } catch (IOException | org.apache.ratis.util.ExitUtils.ExitException e) {
                throw new IOException("cannot start the metadata server of " + config.nodeName() + " on "
                        + peer.getAddress() + " with data in " + dir + " (is the port taken, or another daemon using"
                        + " this directory?): " + e.getMessage(), e);
            }
            Set<RaftPeer> contacts = new LinkedHashSet<>();
            contacts.add(peer);
            contacts.addAll(server.getDivision(groupId).getRaftConf().getAllPeers());
            if (join != null) {
                join.members().forEach(m -> contacts.add(RaftPeer.newBuilder().setId(m.name()).setAddress(m.address()).build()));
            }
            // A node that does not vote has no members in its own log: without the ones it met before, a restart
            // would know nobody to read the state from.
            contacts.addAll(readPeers(dir));
            // An attempt sent to a leader that is paused (SIGSTOP, a VM frozen) gets no answer at all, not a
            // NotLeaderException: without a short attempt timeout the whole submit timeout went to it, and
            // the new leader's own first writes (marking that node down) waited 10 s. A retry carries the same
            // call id, so a write that was slow rather than lost is applied once (the leader's retry cache).
            RaftProperties writeProperties = properties(config);
            RaftClientConfigKeys.Rpc.setRequestTimeout(writeProperties,
                    TimeDuration.valueOf(WRITE_ATTEMPT.toMillis(), TimeUnit.MILLISECONDS));
            client = RaftClient.newBuilder()
                    .setClientId(ClientId.randomId())
                    .setRaftGroup(RaftGroup.valueOf(groupId, contacts))
                    .setProperties(writeProperties)
                    // Bounded retries (e.g. while a leader is being elected); submit() bounds the total wait anyway,
                    // and an unbounded policy would leave requests retrying in the background forever.
                    .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(
                            (int) Math.max(1, config.submitTimeout().toMillis() / 100), TimeDuration.valueOf(100, TimeUnit.MILLISECONDS)))
                    .build();
            RaftProperties readProperties = properties(config);
            RaftClientConfigKeys.Rpc.setRequestTimeout(readProperties,
                    TimeDuration.valueOf(READ_ATTEMPT.toMillis(), TimeUnit.MILLISECONDS));
            readClient = RaftClient.newBuilder()
                    .setClientId(ClientId.randomId())
                    .setRaftGroup(RaftGroup.valueOf(groupId, contacts))
                    .setProperties(readProperties)
                    .setRetryPolicy(RetryPolicies.noRetry())
                    .build();
            store = new MetaStore(config, groupId, peer.getId(), server,
                    (MetaStateMachine) server.getDivision(groupId).getStateMachine(), client, readClient, removed);
            contacts.forEach(c -> store.knownPeers.put(c.getId(), c));
            store.writePeers();
            owner.set(store);
            if (removed.get()) {
                store.rejoinSoon(); // shut down before the store existed to be told
            }
            store.awaitCurrent(fresh, join != null);
        } catch (IOException | RuntimeException e) {
            closeQuietly(readClient);
            closeQuietly(client);
            closeQuietly(server);
            if (fresh && !hadGroupId) {
                // A first start that failed (port taken, seed unreachable) leaves nothing behind, so the next
                // start takes the same path (found or join) instead of waiting for a group it never had.
                deleteQuietly(dir.resolve(RAFT_DIR));
                deleteQuietly(dir.resolve(GROUP_ID_FILE));
            }
            throw e;
        }
        ClusterState state = store.localState();
        LOG.info("metadata store of cluster {} open on {} in {} ms as {}: {} nodes, {} pools, {} volumes, applied index {}",
                state.clusterId(), peer.getAddress(), (System.nanoTime() - started) / 1_000_000,
                store.role(),
                state.nodes().size(), state.pools().size(), state.volumes().size(), state.appliedIndex());
        return store;
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
        // Blocking calls on virtual threads, not the async API: when a bounded retry runs out (no quorum for a
        // while), Ratis closes the async client's ordered window for good, and every later write would fail.
        RaftClientReply reply = await(CompletableFuture.supplyAsync(() -> {
            try {
                return client.io().send(request);
            } catch (IOException e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        }, calls), "write " + command.getClass().getSimpleName(), config.submitTimeout());
        try {
            return MetaJson.read(reply.getMessage().getContent().toByteArray(), CommandResult.class);
        } catch (IOException e) {
            throw new MetaUnavailableException("metadata server sent an undecodable reply; is it running a"
                    + " different Ballast version? (" + e.getMessage() + ")", e);
        }
    }

    /**
     * The current state, linearizably: it reflects every write committed before this call started.
     *
     * <p>First a read-index round: the leader answers with an applied index at least as new as every commit
     * before the call. A voter then waits until its own copy has applied that far and reads it. A node that
     * does not vote (or a voter the group dropped while it was down) has no copy that follows the log, so
     * it fetches the whole state from the group, and keeps it until a newer index is reported.
     */
    public ClusterState state() throws MetaUnavailableException {
        ensureOpen();
        long deadline = System.nanoTime() + config.submitTimeout().toNanos();
        long index = leaderIndex(deadline);
        if (isVoter() && stateMachine.awaitApplied(index, Math.min(deadline, System.nanoTime() + VOTER_CATCH_UP.toNanos()))) {
            return stateMachine.state();
        }
        ClusterState newest = localState();
        if (newest.appliedIndex() >= index) {
            return newest;
        }
        ClusterState copy = fetchState(deadline);
        synchronized (this) {
            if (fetched == null || fetched.appliedIndex() < copy.appliedIndex()) {
                fetched = copy;
            }
        }
        return copy;
    }

    /**
     * An applied index of the leader at least as new as every commit before this call. Each attempt (at most
     * {@link #READ_ATTEMPT}) asks this node's own server when it votes (its read-index round reaches whichever
     * leader it follows now), else the leader it knows of, else any member; after a failure the next attempt
     * chooses again, so a dead leader is not retried.
     */
    private long leaderIndex(long deadline) throws MetaUnavailableException {
        RaftClientReply reply = readOnce(MetaStateMachine.QUERY_SYNC, deadline);
        return Long.parseLong(reply.getMessage().getContent().toString(StandardCharsets.US_ASCII));
    }

    private ClusterState fetchState(long deadline) throws MetaUnavailableException {
        RaftClientReply reply = readOnce(MetaStateMachine.QUERY_STATE, deadline);
        try {
            return MetaJson.read(reply.getMessage().getContent().toByteArray(), ClusterState.class);
        } catch (IOException e) {
            throw new MetaUnavailableException("metadata server sent an undecodable state; is it running a"
                    + " different Ballast version? (" + e.getMessage() + ")", e);
        }
    }

    /** One linearizable read-only query, retried with a fresh target until {@code deadline}. */
    private RaftClientReply readOnce(String query, long deadline) throws MetaUnavailableException {
        Message message = Message.valueOf(query);
        MetaUnavailableException last = null;
        for (;;) {
            RaftPeerId target = readTarget();
            try {
                learnMembers();
                // Blocking, not async: a failed async request to one server closes the client's ordered
                // window to it for good, and that server may well lead again later.
                RaftClientReply reply = target == null ? readClient.io().sendReadOnly(message)
                        : readClient.io().sendReadOnly(message, target);
                if (reply.isSuccess()) {
                    return reply;
                }
                last = unavailable("linearizable read", reply.getException());
            } catch (IOException | RuntimeException e) {
                last = unavailable("linearizable read" + (target == null ? "" : " from " + target), e);
            }
            if (closed || System.nanoTime() + 50_000_000L >= deadline) {
                throw new MetaUnavailableException("no quorum: metadata read got no answer within "
                        + config.submitTimeout().toMillis() + " ms (" + leaderHint() + "). Check that a majority of"
                        + " the metadata voters " + voters() + " is running and reachable. Last error: "
                        + rootMessage(last), last);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
                throw new MetaUnavailableException("interrupted while reading the metadata", interrupted);
            }
        }
    }

    /**
     * A recent state, for a caller whose write is checked again when it commits (a create, whose name must
     * still be free when the command applies): a voter's own applied copy, with no read round, which lags
     * the leader by the few milliseconds a commit takes to reach it. A node without a copy that follows
     * the log, or a voter that knows of no leader (no quorum: the read round then fails with the reason,
     * before the caller does work it cannot commit), reads as {@link #state()} does. Stale by a moment,
     * such a read costs at most a refused commit, never a wrong one, and it saves a read round per create
     * (measured: 3.3 ms at the median, 17 ms at p99, a quarter of a create through a follower).
     */
    public ClusterState recentState() throws MetaUnavailableException {
        ensureOpen();
        return isVoter() && knowsLeader() ? stateMachine.state() : state();
    }

    private boolean knowsLeader() {
        try {
            return server.getDivision(groupId).getInfo().getLeaderId() != null;
        } catch (IOException e) {
            return false;
        }
    }

    /** The latest state this node has, without any round trip. It may lag the leader. */
    public ClusterState localState() {
        ClusterState own = stateMachine.state();
        ClusterState copy = fetched;
        return copy != null && copy.appliedIndex() > own.appliedIndex() ? copy : own;
    }

    private RaftPeerId readTarget() {
        try {
            RaftServer.Division division = server.getDivision(groupId);
            DivisionInfo info = division.getInfo();
            if (info.getLifeCycleState() == LifeCycle.State.RUNNING && isVoter()) {
                return self;
            }
            return info.getLeaderId(); // null: the client picks a member, and moves on if it fails
        } catch (IOException e) {
            return null;
        }
    }

    /** Whether this node's Raft server is a voter in the configuration it knows. */
    private boolean isVoter() {
        if (removedFromGroup.get()) {
            return false; // its division is closed, whatever configuration it last knew
        }
        try {
            return server.getDivision(groupId).getRaftConf().getPeer(self, RaftPeerRole.FOLLOWER) != null;
        } catch (IOException e) {
            return false;
        }
    }

    /** Tells the read client about members it has not met: those added after it was built. */
    private void learnMembers() throws IOException {
        List<RaftPeer> fresh = new ArrayList<>();
        for (RaftPeer peer : server.getDivision(groupId).getRaftConf().getAllPeers()) {
            if (knownToReadClient.add(peer.getId())) {
                fresh.add(peer);
            }
        }
        ClusterState state = localState();
        for (NodeRecord node : state.nodes().values()) {
            if (state.metadataVoters().contains(node.name()) && knownToReadClient.add(RaftPeerId.valueOf(node.name()))) {
                fresh.add(RaftPeer.newBuilder().setId(node.name()).setAddress(hostPort(node.address(), node.raftPort())).build());
            }
        }
        if (!fresh.isEmpty()) {
            readClient.getClientRpc().addRaftPeers(fresh);
            fresh.forEach(p -> knownPeers.put(p.getId(), p));
            writePeers();
        }
    }

    /** True while this node leads the group and has committed an entry of its term. */
    public boolean isLeader() {
        try {
            return !closed && server.getDivision(groupId).getInfo().isLeaderReady();
        } catch (IOException e) {
            return false;
        }
    }

    /** The leader this node last heard from, or null while none is known. */
    public String leaderName() {
        try {
            RaftPeerId leader = server.getDivision(groupId).getInfo().getLeaderId();
            return leader == null ? null : leader.toString();
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * The group's voters: as this node's server knows them when it votes (the leader's view is
     * authoritative), else as the leader last recorded them in the state.
     */
    public Membership membership() throws MetaUnavailableException {
        try {
            RaftConfiguration conf = server.getDivision(groupId).getRaftConf();
            if (isVoter()) {
                return new Membership(peers(conf.getCurrentPeers(RaftPeerRole.FOLLOWER)));
            }
            // A client's own server knows no configuration (or a stale one): use what the leader recorded.
            ClusterState state = localState();
            List<MetaPeer> recorded = new ArrayList<>();
            for (String name : state.metadataVoters()) {
                NodeRecord node = state.nodes().get(name);
                if (node != null) {
                    recorded.add(MetaPeer.of(name, node.address(), node.raftPort()));
                }
            }
            return new Membership(recorded.isEmpty() ? peers(conf.getCurrentPeers(RaftPeerRole.FOLLOWER)) : recorded);
        } catch (IOException e) {
            throw new MetaUnavailableException("metadata server of " + self + " is not running: " + e.getMessage(), e);
        }
    }

    /**
     * Changes who votes, through Raft's joint consensus. New voters must be running: the leader copies the
     * log to them before the change commits. Raft listeners are never used (see {@link VoterPolicy}).
     */
    public void reconfigure(Membership target) throws MetaUnavailableException {
        ensureOpen();
        SetConfigurationRequest.Arguments arguments = SetConfigurationRequest.Arguments.newBuilder()
                .setServersInNewConf(raftPeers(target.voters(), RaftPeerRole.FOLLOWER))
                .setListenersInNewConf(List.of())
                .setMode(SetConfigurationRequest.Mode.SET_UNCONDITIONALLY)
                .build();
        RaftClientReply reply;
        // A client of its own, aimed at this node: only the leader reconfigures, and the shared client may
        // be pointed at a new voter whose server is still starting, which it would retry until it gave up.
        try (RaftClient admin = adminClient(raftPeers(target.voters(), RaftPeerRole.FOLLOWER))) {
            reply = admin.admin().setConfiguration(arguments);
        } catch (IOException e) {
            throw reconfigureFailed(target, e);
        }
        if (!reply.isSuccess()) {
            throw reconfigureFailed(target, reply.getException());
        }
        reconfigureStuckSince = 0;
    }

    /**
     * How long this leader's membership changes may keep failing with "reconfiguration already in progress"
     * while its configuration is stable before it steps down: far longer than a healthy change takes (a
     * catch-up of the log to a live node takes a second or two).
     */
    private Duration stuckReconfiguration() {
        return config.submitTimeout().multipliedBy(3);
    }

    /**
     * The error for a failed {@link #reconfigure}, after stepping down if an earlier change is stuck.
     *
     * <p>Ratis keeps a change that adds voters in a <em>staging</em> phase, in the leader's memory only, until the
     * new voters have caught up, and refuses every other change meanwhile ("Reconfiguration is already in
     * progress" with a stable configuration). It gives up on a new voter that did not answer for 3 election
     * timeouts, but only checks that while its event queue stays empty for a whole election timeout: on a
     * leader that commits anything at least once a second (node heartbeats do) the check never runs, and a new
     * voter that only ever answers with errors (its Raft division closed, say) blocks membership forever
     * (Ratis 3.3.0 LeaderStateImpl.EventProcessor / checkStaging). The remedy Ratis supports is a leader
     * change: the staging state and its pending request go with the old leadership, the configuration in the
     * log is unchanged, and the next leader starts afresh.
     */
    private MetaUnavailableException reconfigureFailed(Membership target, Throwable cause) {
        MetaUnavailableException failure = unavailable("membership change to voters " + target.voterNames(), cause);
        if (!inProgress(cause) || !stableAndCommitted()) {
            reconfigureStuckSince = 0;
            return failure;
        }
        long now = System.nanoTime();
        if (reconfigureStuckSince == 0) {
            reconfigureStuckSince = now;
        }
        if (now - reconfigureStuckSince < stuckReconfiguration().toNanos()) {
            return failure;
        }
        reconfigureStuckSince = 0;
        LOG.warn("metadata membership changes have been refused for {} s because an earlier change is still pending"
                + " on this leader with the configuration unchanged (a new voter that never caught up); stepping down"
                + " so that the next leader starts without it", stuckReconfiguration().toSeconds());
        try (RaftClient admin = adminClient(List.of())) {
            RaftClientReply reply = admin.admin().transferLeadership(null, config.submitTimeout().toMillis());
            if (!reply.isSuccess()) {
                LOG.warn("stepping down failed: {}", rootMessage(reply.getException()));
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("stepping down failed: {}", rootMessage(e));
        }
        return new MetaUnavailableException(failure.getMessage() + " (stuck for longer than "
                + stuckReconfiguration().toSeconds() + " s: this leader stepped down to clear it)", failure);
    }

    private static boolean inProgress(Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof org.apache.ratis.protocol.exceptions.ReconfigurationInProgressException
                    || (t.getMessage() != null && t.getMessage().contains("Reconfiguration is already in progress"))) {
                return true;
            }
        }
        return false;
    }

    /** Whether this node's configuration is a single (not joint) one, committed: a refusal is then due to staging. */
    private boolean stableAndCommitted() {
        try {
            RaftServer.Division division = server.getDivision(groupId);
            RaftConfiguration conf = division.getRaftConf();
            return conf.getPreviousPeers().isEmpty()
                    && division.getRaftLog().getLastCommittedIndex() >= conf.getLogEntryIndex();
        } catch (IOException e) {
            return false;
        }
    }

    /** A client of its own for an admin request to this node's server, which must lead. */
    private RaftClient adminClient(List<RaftPeer> others) {
        List<RaftPeer> peers = new ArrayList<>(others);
        if (peers.stream().noneMatch(p -> p.getId().equals(self))) {
            peers.add(knownPeers.getOrDefault(self, RaftPeer.newBuilder().setId(self)
                    .setAddress(hostPort(config.address(), config.raftPort())).build()));
        }
        return RaftClient.newBuilder()
                .setClientId(ClientId.randomId())
                .setRaftGroup(RaftGroup.valueOf(groupId, peers))
                .setLeaderId(self)
                .setProperties(properties(config))
                .setRetryPolicy(RetryPolicies.noRetry())
                .build();
    }

    // ---- a member the group removed ----

    /** Called (on a Ratis thread) when the group shut this node's division down; the work is done elsewhere. */
    private void rejoinSoon() {
        if (closed) {
            return;
        }
        try {
            calls.submit(this::rejoinAsClient);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closing
        }
    }

    /**
     * Replaces a division that the group shut down with an empty one, which waits outside the configuration
     * like a joining node's, so that this node is a client again and can be seated again later.
     *
     * <p>Ratis shuts a member's division down for good when a leader election finds it outside the
     * configuration: a voter removed while it runs (its election after the leader stopped sending to it), or
     * one removed while it was down and restarted with the old configuration in its log (the leader answers
     * its vote request with "shut down"). The process runs on with a closed division, which answers every
     * request with "not in [STARTING, RUNNING]: current state is CLOSED"; a leader that later gives the node
     * a seat back then waits forever for it to catch up (see {@link #reconfigureFailed}).
     *
     * <p>The old log is deleted: a node that does not vote holds nothing the group needs, and when seated
     * again it is sent the state like any new voter. It is deleted only once the group's state (read from
     * the other members) no longer records this node as a voter, i.e. once the change that removed it is
     * committed, so a vote that counts is never forgotten.
     */
    private void rejoinAsClient() {
        synchronized (rejoinLock) {
            String logged = null;
            while (!closed && removedFromGroup.get()) {
                String why;
                try {
                    ClusterState current = fetchState(System.nanoTime() + config.submitTimeout().toNanos());
                    if (current.metadataVoters().contains(self.toString())) {
                        why = "the group's state still records this node as a voter";
                    } else {
                        replaceDivision();
                        return;
                    }
                } catch (IOException | RuntimeException e) {
                    why = e.getMessage();
                }
                if (closed) {
                    return;
                }
                if (!why.equals(logged)) {
                    LOG.info("waiting to replace the shut-down metadata server of {}: {}", self, why);
                    logged = why;
                }
                try {
                    Thread.sleep(500);
                } catch (InterruptedException e) {
                    return; // closing
                }
            }
        }
    }

    private void replaceDivision() throws IOException {
        ClusterState last = localState();
        synchronized (this) {
            if (fetched == null || fetched.appliedIndex() < last.appliedIndex()) {
                fetched = last; // so that localState() does not go back while the new division has no state yet
            }
        }
        RaftClientReply removed = server.groupManagement(GroupManagementRequest.newRemove(ClientId.randomId(), self,
                0, groupId, true, false));
        if (!removed.isSuccess()) {
            throw new IOException("cannot remove the shut-down metadata division: " + rootMessage(removed.getException()));
        }
        // Cleared before the new division starts: if the group shuts that one down too, it is replaced again.
        removedFromGroup.set(false);
        RaftClientReply added = server.groupManagement(GroupManagementRequest.newAdd(ClientId.randomId(), self,
                0, RaftGroup.valueOf(groupId), true));
        if (!added.isSuccess()) {
            removedFromGroup.set(true);
            throw new IOException("cannot start an empty metadata division: " + rootMessage(added.getException()));
        }
        stateMachine = (MetaStateMachine) server.getDivision(groupId).getStateMachine();
        LOG.warn("the metadata group removed {}: its Raft server was shut down and is replaced by an empty one, which"
                + " waits as a client until it is given a seat again", self);
    }

    /** This node's Raft role, for the log. */
    private String role() {
        if (removedFromGroup.get()) {
            return "a member the group removed (being replaced by a client)";
        }
        try {
            return String.valueOf(server.getDivision(groupId).getInfo().getCurrentRole());
        } catch (IOException e) {
            return "(division being replaced)";
        }
    }

    private static List<MetaPeer> peers(java.util.Collection<RaftPeer> peers) {
        return peers.stream().map(p -> new MetaPeer(p.getId().toString(), p.getAddress())).sorted(
                java.util.Comparator.comparing(MetaPeer::name)).toList();
    }

    private static List<RaftPeer> raftPeers(List<MetaPeer> peers, RaftPeerRole role) {
        return peers.stream().map(p -> RaftPeer.newBuilder().setId(p.name()).setAddress(p.address())
                .setStartupRole(role).build()).toList();
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
        calls.shutdownNow();
        closeQuietly(readClient);
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

    private RaftClientReply await(CompletableFuture<RaftClientReply> future, String what, Duration timeout)
            throws MetaUnavailableException {
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
        return new MetaUnavailableException("no quorum: metadata " + what + " failed (" + leaderHint() + "): "
                + (cause == null ? "no reason given" : rootMessage(cause)) + ". Check that a majority of the metadata voters " + voters() + " is running and reachable.", cause);
    }

    private static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
        return message.endsWith(".") ? message.substring(0, message.length() - 1) : message;
    }

    private String leaderHint() {
        try {
            DivisionInfo info = server.getDivision(groupId).getInfo();
            RaftPeerId leader = info.getLeaderId();
            return leader == null ? "no leader known to " + self : "leader is " + leader + ", this node is " + info.getCurrentRole();
        } catch (IOException | RuntimeException e) {
            return "this node's metadata server is not running: " + e.getMessage();
        }
    }

    private String voters() {
        try {
            return peers(server.getDivision(groupId).getRaftConf().getCurrentPeers(RaftPeerRole.FOLLOWER)).stream()
                    .map(p -> p.name() + "@" + p.address()).toList().toString();
        } catch (IOException | RuntimeException e) {
            return "(unknown: " + e.getMessage() + ")";
        }
    }

    // ---- startup ----

    /**
     * Waits until this node's copy of the state has applied everything the leader had applied when the
     * wait began. A new cluster first waits to elect itself; a joining node waits to be added to the group.
     */
    private void awaitCurrent(boolean fresh, boolean joining) throws IOException {
        long deadline = System.nanoTime() + config.startupTimeout().toNanos();
        String lastError = null;
        long stoppedSince = 0;
        for (;;) {
            // Not an error when the group shut the division down because it left this node out (a voter removed
            // while it was down, restarting with its old configuration): it is being replaced by an empty one.
            // Ratis closes the division before it tells the state machine why, hence the grace period.
            DivisionInfo info;
            try {
                info = server.getDivision(groupId).getInfo();
            } catch (IOException e) {
                info = null; // between the removal of a shut-down division and the addition of its replacement
            }
            if (info == null || info.isAlive() || removedFromGroup.get()) {
                stoppedSince = 0;
            } else if (stoppedSince == 0) {
                stoppedSince = System.nanoTime();
            } else if (System.nanoTime() - stoppedSince > 2_000_000_000L && !removedFromGroup.get()) {
                throw new IOException("metadata server of " + config.nodeName() + " stopped during startup ("
                        + info.getLifeCycleState() + "); see the log above for the cause");
            }
            if (System.nanoTime() > deadline) {
                String why = joining && fresh
                        ? "could not reach the metadata group of cluster " + groupId.getUuid() + " through "
                        + config.join().members() + "; is it reachable from here?"
                        : "could not catch up with the metadata leader (" + leaderHint() + "); is a majority of the"
                        + " voters " + voters() + " running?";
                throw new IOException("metadata server of " + config.nodeName() + " " + why + " Waited "
                        + config.startupTimeout().toMillis() + " ms" + (lastError == null ? "" : "; last error: " + lastError));
            }
            try {
                state();
                return;
            } catch (MetaUnavailableException e) {
                lastError = e.getMessage();
                sleep(20);
            }
        }
    }

    private static void sleep(long millis) throws IOException {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while starting the metadata server", e);
        }
    }

    /** The id of the cluster whose metadata is in {@code dir}, if this node has ever started or joined one. */
    public static java.util.Optional<String> clusterIdIn(Path dir) throws IOException {
        Path file = dir.resolve(GROUP_ID_FILE);
        return Files.exists(file) ? java.util.Optional.of(Files.readString(file, StandardCharsets.US_ASCII).strip())
                : java.util.Optional.empty();
    }

    /**
     * The group id is created once, with the cluster, and kept in the metadata directory: Ratis keeps its
     * storage in a directory named after the group, so the same id must be used on every restart.
     */
    static RaftGroupId loadOrCreateGroupId(Path dir, String joining) throws IOException {
        Path file = dir.resolve(GROUP_ID_FILE);
        if (Files.exists(file)) {
            String text = Files.readString(file, StandardCharsets.US_ASCII).strip();
            RaftGroupId id;
            try {
                id = RaftGroupId.valueOf(UUID.fromString(text));
            } catch (IllegalArgumentException e) {
                throw new IOException(file + " does not hold a group id (\"" + text + "\"); restore it from a backup"
                        + " of this metadata directory, or remove the directory to create a new, empty cluster", e);
            }
            if (joining != null && !joining.equals(text)) {
                throw new IOException("this node's data belongs to cluster " + text + ", not to cluster " + joining
                        + " that it was asked to join; use another --data to join that cluster");
            }
            return id;
        }
        if (Files.isDirectory(dir.resolve(RAFT_DIR))) {
            throw new IOException(dir.resolve(RAFT_DIR) + " holds Raft data but " + file + " is missing; restore it"
                    + " (it is the name of the single directory under " + dir.resolve(RAFT_DIR) + ")");
        }
        UUID uuid;
        try {
            uuid = joining == null ? UUID.randomUUID() : UUID.fromString(joining);
        } catch (IllegalArgumentException e) {
            throw new IOException("cluster id " + joining + " is not a UUID", e);
        }
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

    /** The members this node met (one "name address" per line), for a restart of a node that does not vote. */
    static final String PEERS_FILE = "peers";

    private static List<RaftPeer> readPeers(Path dir) {
        Path file = dir.resolve(PEERS_FILE);
        List<RaftPeer> peers = new ArrayList<>();
        try {
            if (Files.exists(file)) {
                for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                    String[] parts = line.trim().split(" ");
                    if (parts.length == 2) {
                        peers.add(RaftPeer.newBuilder().setId(parts[0]).setAddress(parts[1]).build());
                    }
                }
            }
        } catch (IOException e) {
            LOG.warn("cannot read {}: {}; starting with the members in the Raft log only", file, e.getMessage());
        }
        return peers;
    }

    /** Best effort: a node that loses the file only forgets whom to ask after a restart as a client. */
    private synchronized void writePeers() {
        Path file = config.dir().resolve(PEERS_FILE);
        Path tmp = config.dir().resolve(PEERS_FILE + ".tmp");
        StringBuilder text = new StringBuilder();
        knownPeers.values().stream().sorted(java.util.Comparator.comparing(p -> p.getId().toString()))
                .forEach(p -> text.append(p.getId()).append(' ').append(p.getAddress()).append('\n'));
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            LOG.warn("cannot write {}: {}", file, e.getMessage());
        }
    }

    static RaftProperties properties(MetaConfig config) {
        RaftProperties p = new RaftProperties();
        // gRPC, not Netty: Ratis' Netty transport lacks the server-to-server async protocol that a follower
        // needs to get a read index from the leader, so linearizable reads on followers would never answer.
        RaftConfigKeys.Rpc.setType(p, SupportedRpcType.GRPC);
        GrpcConfigKeys.Server.setHost(p, config.address());
        GrpcConfigKeys.Server.setPort(p, config.raftPort());
        RaftServerConfigKeys.setStorageDir(p, List.of(config.dir().resolve(RAFT_DIR).toFile()));

        // Elections: the first one after start is what open() waits for, so keep it short; the steady-state
        // timeout is sized for a LAN cluster of 3-5 voters (heartbeats go out at half the minimum).
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMin(p, ms(10));
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMax(p, ms(50));
        RaftServerConfigKeys.Rpc.setTimeoutMin(p, ms(500));
        RaftServerConfigKeys.Rpc.setTimeoutMax(p, ms(1000));

        // Reads: state() promises linearizability, which needs a read-index round, not just "ask the leader".
        RaftServerConfigKeys.Read.setOption(p, RaftServerConfigKeys.Read.Option.LINEARIZABLE);
        // Leader lease: while a majority acknowledged the leader within 90% of the minimum election timeout,
        // no other leader can exist, so the leader answers a read index at once instead of waiting for the
        // next heartbeat round (measured: 6-12% of creates waited ~250 ms for it). Safe as long as clocks do
        // not drift by 10% within an election timeout.
        RaftServerConfigKeys.Read.setLeaderLeaseEnabled(p, true);

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

    private static void deleteQuietly(Path path) {
        try (java.util.stream.Stream<Path> walk = Files.walk(path)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            if (Files.exists(path)) {
                LOG.warn("could not delete {}: {}", path, e.getMessage());
            }
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
