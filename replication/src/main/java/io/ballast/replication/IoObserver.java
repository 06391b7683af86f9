package io.ballast.replication;

/**
 * Hears about every completed request on a volume, for metrics. Called on the IO path, so an
 * implementation must be cheap and must not block.
 */
public interface IoObserver {

    enum Op { READ, WRITE, FLUSH, TRIM, WRITE_ZEROES }

    /** One request finished; {@code bytes} is its payload (0 for FLUSH), {@code ok} false if it failed. */
    void completed(Op op, long bytes, long nanos, boolean ok);

    IoObserver NONE = (op, bytes, nanos, ok) -> {};
}
