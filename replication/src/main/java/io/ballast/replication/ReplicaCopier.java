package io.ballast.replication;

import static io.ballast.replication.VolumeTarget.REGION_BYTES;
import static io.ballast.replication.VolumeTarget.await;

import io.ballast.store.Extent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.roaringbitmap.RoaringBitmap;

/**
 * Makes one replica read the same as another, region by region: what a resync does under the
 * coordinator's region locks, and what a snapshot replay does between two replicas that take no writes.
 */
public final class ReplicaCopier {
    /** The largest read and write a copy is done with. */
    static final int COPY_BYTES = 1 << 20;

    private ReplicaCopier() {
    }

    /**
     * Makes {@code to} read the same as {@code from} over the whole volume. Neither may take writes
     * meanwhile (a private clone of a snapshot, a replica out of the in-sync set that no coordinator
     * writes to).
     *
     * @return the bytes copied
     */
    public static long makeIdentical(ReplicaChannel from, ReplicaChannel to, long sizeBytes) throws IOException {
        CompletableFuture<List<Extent>> targetAsked = to.allocatedExtents();
        List<Extent> sourceExtents = await(from.allocatedExtents());
        RoaringBitmap targetHolds = RegionRuns.regionsOf(await(targetAsked));
        RegionRuns runs = RegionRuns.of(sourceExtents).or(RegionRuns.of(targetHolds));
        long[] copied = {0};
        runs.forEachBatch(VolumeTarget.BATCH_REGIONS, (first, last) ->
                copied[0] += copyRegions(from, to, first, last, sizeBytes, sourceExtents, targetHolds));
        await(to.flush());
        return copied[0];
    }

    /**
     * Makes regions first..last of {@code to} equal to {@code from}'s. Where {@code to} held nothing
     * ({@code targetHolds}, read before), {@code from}'s data is copied as it is, extent by extent,
     * without comparing: whatever either replica got since was written to both. Elsewhere the regions are
     * compared by checksum and those that differ are copied whole. The caller keeps writes out of these
     * regions meanwhile.
     *
     * @param sourceExtents {@code from}'s allocated extents (sorted), read no earlier than {@code targetHolds}
     * @return the bytes copied
     */
    static long copyRegions(ReplicaChannel from, ReplicaChannel to, long first, long last, long sizeBytes,
                            List<Extent> sourceExtents, RoaringBitmap targetHolds) throws IOException {
        long start = first * REGION_BYTES;
        long end = Math.min(sizeBytes, (last + 1) * REGION_BYTES);
        List<long[]> ranges = new ArrayList<>();
        if (!targetHolds.intersects(first, last + 1)) {
            addExtents(ranges, sourceExtents, start, end);
        } else {
            CompletableFuture<long[]> asked = to.checksums(start, end - start, REGION_BYTES);
            long[] want = await(from.checksums(start, end - start, REGION_BYTES));
            long[] have = await(asked);
            for (int i = 0; i < want.length; i++) {
                long at = start + (long) i * REGION_BYTES;
                long regionEnd = Math.min(at + REGION_BYTES, end);
                if (!targetHolds.contains((int) (first + i))) {
                    addExtents(ranges, sourceExtents, at, regionEnd);
                } else if (want[i] != have[i]) {
                    ranges.add(new long[] {at, regionEnd - at});
                }
            }
        }
        return copyAll(from, to, coalesce(ranges));
    }

    /** Adds the parts of {@code extents} (sorted, not overlapping) inside [from, to) to {@code ranges}. */
    private static void addExtents(List<long[]> ranges, List<Extent> extents, long from, long to) {
        int low = 0;
        int high = extents.size();
        while (low < high) { // the first extent that ends after from
            int mid = (low + high) >>> 1;
            if (extents.get(mid).end() <= from) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        for (int i = low; i < extents.size() && extents.get(i).offset() < to; i++) {
            long start = Math.max(from, extents.get(i).offset());
            long end = Math.min(to, extents.get(i).end());
            ranges.add(new long[] {start, end - start});
        }
    }

    /** Joins touching ranges (in ascending order) into requests of at most {@link #COPY_BYTES}. */
    private static List<long[]> coalesce(List<long[]> ranges) {
        List<long[]> joined = new ArrayList<>();
        for (long[] range : ranges) {
            long[] previous = joined.isEmpty() ? null : joined.getLast();
            if (previous != null && previous[0] + previous[1] == range[0] && previous[1] + range[1] <= COPY_BYTES) {
                previous[1] += range[1];
            } else {
                joined.add(range.clone());
            }
        }
        return joined;
    }

    /**
     * Copies the ranges ({offset, length}) with every read in flight at once, then every write: one round
     * trip per batch instead of two per range.
     */
    private static long copyAll(ReplicaChannel from, ReplicaChannel to, List<long[]> ranges) throws IOException {
        List<ByteBuffer> buffers = new ArrayList<>(ranges.size());
        List<CompletableFuture<Void>> pending = new ArrayList<>(ranges.size());
        for (long[] range : ranges) {
            ByteBuffer buffer = ByteBuffer.allocate((int) range[1]);
            buffers.add(buffer);
            pending.add(from.read(range[0], buffer.duplicate()));
        }
        for (CompletableFuture<Void> read : pending) {
            await(read);
        }
        pending.clear();
        long bytes = 0;
        for (int i = 0; i < ranges.size(); i++) {
            pending.add(to.write(ranges.get(i)[0], buffers.get(i), false));
            bytes += ranges.get(i)[1];
        }
        for (CompletableFuture<Void> write : pending) {
            await(write);
        }
        return bytes;
    }
}
