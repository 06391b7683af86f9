package io.ballast.store;

/** A byte range {@code [offset, offset + length)} of a volume. */
public record Extent(long offset, long length) {
    public Extent {
        if (offset < 0 || length <= 0) {
            throw new IllegalArgumentException("bad extent: offset " + offset + ", length " + length);
        }
    }

    public long end() {
        return offset + length;
    }
}
