package io.ballast.replication;

import java.util.List;
import java.util.Map;

/**
 * The outcome of comparing a volume's in-sync replicas region by region.
 *
 * @param replicas      the nodes whose replicas were compared
 * @param regionBytes   the size of a compared region
 * @param regions       how many regions were compared (regions no replica holds data in are equal and skipped)
 * @param differences   the regions that differ, at most {@link #MAX_LISTED}; empty when the replicas are identical
 * @param differing     how many regions differ in all
 */
public record VerifyReport(List<String> replicas, int regionBytes, long regions, List<Difference> differences,
                           long differing) {
    public static final int MAX_LISTED = 100;

    public boolean identical() {
        return differing == 0;
    }

    /** One region whose checksum is not the same on every replica; the checksums are by node. */
    public record Difference(long offset, long length, Map<String, String> checksums) {
    }
}
