package io.ballast.replication;

import io.ballast.store.Extent;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A {@link ReplicaChannel} that forwards every call to another channel, in the style of Guava's
 * {@code Forwarding*} classes. It exists for channels that change one behaviour of a real channel and
 * pass the rest through: test doubles (a held flush, a page cache that a crash undoes) and the node's
 * deliberate breakage for the fault campaign. A subclass overrides only what it changes.
 */
public abstract class ForwardingReplicaChannel implements ReplicaChannel {
    private final ReplicaChannel delegate;

    protected ForwardingReplicaChannel(ReplicaChannel delegate) {
        this.delegate = delegate;
    }

    /** The channel every call not overridden goes to. */
    protected final ReplicaChannel delegate() {
        return delegate;
    }

    @Override
    public String node() {
        return delegate.node();
    }

    @Override
    public long epoch() {
        return delegate.epoch();
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuffer data, boolean fua) {
        return delegate.write(offset, data, fua);
    }

    @Override
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean fua) {
        return delegate.writeZeroes(offset, length, fua);
    }

    @Override
    public CompletableFuture<Void> trim(long offset, long length) {
        return delegate.trim(offset, length);
    }

    @Override
    public CompletableFuture<Void> flush() {
        return delegate.flush();
    }

    @Override
    public CompletableFuture<Void> markActivity(boolean replace, long[] add, long[] remove) {
        return delegate.markActivity(replace, add, remove);
    }

    @Override
    public CompletableFuture<long[]> activeExtents() {
        return delegate.activeExtents();
    }

    @Override
    public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
        return delegate.read(offset, dst);
    }

    @Override
    public CompletableFuture<long[]> checksums(long offset, long length, int regionBytes) {
        return delegate.checksums(offset, length, regionBytes);
    }

    @Override
    public CompletableFuture<List<Extent>> allocatedExtents() {
        return delegate.allocatedExtents();
    }

    @Override
    public void close() {
        delegate.close();
    }
}
