package io.ballast.meta;

import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.raftlog.RaftLog;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.util.MD5FileUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Ratis side of the metadata: decodes log entries, hands them to {@link ClusterStateTransitions},
 * publishes the resulting immutable state, and snapshots it as one JSON file.
 *
 * <p>Threading: Ratis calls {@link #applyTransaction}, {@link #takeSnapshot} and {@link #reinitialize}
 * from its single state-machine updater thread, one at a time and in log order, so the state is written
 * by that thread only. Readers on other threads see it through the volatile {@link #state} reference; as
 * states are immutable, a reader always sees one consistent log prefix.
 */
final class MetaStateMachine extends BaseStateMachine {
    private static final Logger LOG = LoggerFactory.getLogger(MetaStateMachine.class);

    /** Read-only query: answer with the applied index only; the caller reads the local state itself. */
    static final String QUERY_SYNC = "sync";
    /** Read-only query: answer with the whole state as JSON (for callers without a local replica). */
    static final String QUERY_STATE = "state";

    private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
    /** Told when Ratis shut this division down because the group no longer has this server (see below). */
    private final Runnable removedFromGroup;

    MetaStateMachine() {
        this(() -> { });
    }

    MetaStateMachine(Runnable removedFromGroup) {
        this.removedFromGroup = removedFromGroup;
    }

    /**
     * Ratis calls this with {@code allServer == false} only from a leader election that ended with "this
     * server is not in the configuration": either its own latest configuration leaves it out, or the
     * leader answered its vote request with "shut down" (the committed configuration left it out). The
     * division is then closed for good while the process runs on; {@link MetaStore} replaces it with an
     * empty one, so that the node can be seated again. ({@code allServer == true} is the whole server closing.)
     */
    @Override
    public void notifyServerShutdown(org.apache.ratis.proto.RaftProtos.RoleInfoProto roleInfo, boolean allServer) {
        if (!allServer) {
            LOG.warn("the metadata group shut this node's Raft server down: it is no longer a member (role was {})",
                    roleInfo.getRole());
            removedFromGroup.run();
        }
    }
    private volatile ClusterState state;
    /** Monitor that readers waiting for an index sleep on; notified after every change of {@link #state}. */
    private final Object applied = new Object();

    ClusterState state() {
        return state;
    }

    /**
     * Waits until the state has applied {@code index}, or until {@code deadlineNanos} (System.nanoTime).
     * Returns whether it got there.
     */
    boolean awaitApplied(long index, long deadlineNanos) throws MetaUnavailableException {
        if (state.appliedIndex() >= index) {
            return true;
        }
        synchronized (applied) {
            while (state.appliedIndex() < index) {
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    applied.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new MetaUnavailableException("interrupted while waiting for the metadata to catch up", e);
                }
            }
            return true;
        }
    }

    private void publish(ClusterState next) {
        state = next;
        synchronized (applied) {
            applied.notifyAll();
        }
    }

    @Override
    public SimpleStateMachineStorage getStateMachineStorage() {
        return storage;
    }

    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
        super.initialize(server, groupId, raftStorage);
        storage.init(raftStorage);
        // The cluster id is the Raft group id: the same on every member of the group without any log
        // entry, and a node handed the group id (to join later) knows which cluster it belongs to.
        state = ClusterState.empty(groupId.getUuid().toString());
        loadSnapshot(storage.getLatestSnapshot());
    }

    @Override
    public void reinitialize() throws IOException {
        // Called after a snapshot was installed from the leader (multi-voter groups).
        loadSnapshot(storage.loadLatestSnapshot());
    }

    private void loadSnapshot(SingleFileSnapshotInfo snapshot) throws IOException {
        if (snapshot == null) {
            return;
        }
        Path path = snapshot.getFile().getPath();
        byte[] bytes = Files.readAllBytes(path);
        MD5Hash expected = snapshot.getFile().getFileDigest();
        if (expected != null && !expected.equals(md5(bytes))) {
            throw new IOException("metadata snapshot " + path + " is corrupt (MD5 mismatch); move it away to"
                    + " recover from an older snapshot and the log, or restore the metadata directory from a backup");
        }
        ClusterState loaded = MetaJson.read(bytes, ClusterState.class);
        publish(loaded);
        setLastAppliedTermIndex(snapshot.getTermIndex());
        LOG.info("loaded metadata snapshot {} ({} nodes, {} pools, {} volumes)", path.getFileName(),
                loaded.nodes().size(), loaded.pools().size(), loaded.volumes().size());
    }

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        LogEntryProto entry = trx.getLogEntry();
        ClusterStateTransitions.Applied applied =
                apply(state, entry.getStateMachineLogEntry().getLogData().toByteArray(), entry.getIndex());
        publish(applied.state());
        updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
        return CompletableFuture.completedFuture(message(MetaJson.write(applied.result())));
    }

    private static ClusterStateTransitions.Applied apply(ClusterState before, byte[] data, long index) {
        Command command;
        try {
            command = MetaJson.read(data, Command.class);
        } catch (IOException e) {
            // Every replica fails to decode the same bytes the same way, so rejecting is deterministic.
            return rejected(before, index, "undecodable command at log index " + index + ": " + e.getMessage());
        }
        try {
            return ClusterStateTransitions.apply(before, command, index);
        } catch (RuntimeException e) {
            // A bug in the transition code. Failing the future would stop this server for good (and it
            // would fail again on every replay), so reject the command instead: equally deterministic.
            LOG.error("metadata command at log index {} failed: {}", index, command, e);
            return rejected(before, index, "internal error applying " + command.getClass().getSimpleName() + ": " + e);
        }
    }

    private static ClusterStateTransitions.Applied rejected(ClusterState before, long index, String message) {
        return new ClusterStateTransitions.Applied(before.withAppliedIndex(index), CommandResult.invalid(message));
    }

    @Override
    public CompletableFuture<Message> query(Message request) {
        String query = request.getContent().toString(StandardCharsets.UTF_8);
        ClusterState current = state;
        return switch (query) {
            case QUERY_SYNC -> CompletableFuture.completedFuture(Message.valueOf(Long.toString(current.appliedIndex())));
            case QUERY_STATE -> CompletableFuture.completedFuture(message(MetaJson.write(current)));
            default -> CompletableFuture.failedFuture(new IllegalArgumentException("unknown metadata query: " + query));
        };
    }

    @Override
    public long takeSnapshot() throws IOException {
        // Runs on the updater thread between two applies, so state and last-applied index agree.
        ClusterState snapshotState = state;
        TermIndex last = getLastAppliedTermIndex();
        if (last == null || last.getIndex() < 0) {
            return RaftLog.INVALID_LOG_INDEX;
        }
        File file = storage.getSnapshotFile(last.getTerm(), last.getIndex());
        Path target = file.toPath();
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        byte[] bytes = MetaJson.write(snapshotState);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        }
        MD5Hash digest = md5(bytes);
        // The MD5 file first, then the rename: Ratis only trusts (and retains by count) snapshots with an
        // MD5 file, and an MD5 file left without its snapshot by a crash is cleaned up by Ratis itself.
        MD5FileUtil.saveMD5File(file, digest);
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        fsyncDirectory(target.getParent());
        storage.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(target, digest), last));
        LOG.debug("metadata snapshot at {}: {} bytes", last, bytes.length);
        return last.getIndex();
    }

    private static Message message(byte[] bytes) {
        return Message.valueOf(ByteString.copyFrom(bytes));
    }

    private static MD5Hash md5(byte[] bytes) {
        return MD5Hash.newInstance(MD5FileUtil.newMD5().digest(bytes));
    }

    private static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
