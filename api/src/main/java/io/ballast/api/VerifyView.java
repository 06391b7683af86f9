package io.ballast.api;

import java.util.List;
import java.util.Map;

/**
 * What {@code POST /v1/volumes/{name}/verify} and {@code volume verify} report: the volume's in-sync
 * replicas compared region by region.
 *
 * @param replicas         the nodes whose replicas were compared
 * @param regionBytes      the size of one compared region
 * @param regionsCompared  regions holding data on some replica (regions that are holes everywhere are equal)
 * @param identical        whether every compared region has the same checksum on every replica
 * @param differing        how many regions differ
 * @param differences      the first differing regions (at most 100), with each replica's checksum
 */
public record VerifyView(String volume, List<String> replicas, int regionBytes, long regionsCompared,
                         boolean identical, long differing, List<Difference> differences) {

    public record Difference(long offset, long length, Map<String, String> checksums) {}
}
