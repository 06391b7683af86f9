package io.ballast.replication;

import io.ballast.store.Extent;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.roaringbitmap.IntIterator;
import org.roaringbitmap.RoaringBitmap;

/**
 * A sorted set of regions ({@link VolumeTarget#REGION_BYTES} each) as runs of consecutive indexes: the
 * regions a resync, reconcile or verify must look at. A 32-bit bitmap: a volume of at most 16 TiB has at most
 * 2^28 regions (and the 64-bit RoaringBitmap's range add measured 3.3 ms a call, the 32-bit one 0.6 us).
 */
final class RegionRuns {
    private final RoaringBitmap regions;

    private RegionRuns(RoaringBitmap regions) {
        this.regions = regions;
    }

    static RegionRuns of(RoaringBitmap regions) {
        return new RegionRuns(regions.clone());
    }

    /** The regions that overlap any of {@code extents} (in any order, overlapping or not). */
    static RegionRuns of(List<Extent> extents) {
        return new RegionRuns(regionsOf(extents));
    }

    /** The indexes of the regions that overlap any of {@code extents}. */
    static RoaringBitmap regionsOf(List<Extent> extents) {
        RoaringBitmap regions = new RoaringBitmap();
        for (Extent e : extents) {
            regions.add(e.offset() / VolumeTarget.REGION_BYTES, (e.end() - 1) / VolumeTarget.REGION_BYTES + 1);
        }
        return regions;
    }

    /** The regions in this set or in {@code other}. */
    RegionRuns or(RegionRuns other) {
        return new RegionRuns(RoaringBitmap.or(regions, other.regions));
    }

    /** The bytes these regions cover in a volume of {@code sizeBytes} (its last region may be short). */
    long bytes(long sizeBytes) {
        long total = regions.getLongCardinality() * VolumeTarget.REGION_BYTES;
        long lastRegion = (sizeBytes - 1) / VolumeTarget.REGION_BYTES;
        if (!regions.isEmpty() && regions.contains((int) lastRegion)) {
            total -= (lastRegion + 1) * VolumeTarget.REGION_BYTES - sizeBytes;
        }
        return total;
    }

    @FunctionalInterface
    interface Batch {
        void accept(long firstRegion, long lastRegion) throws IOException;
    }

    /** Calls {@code batch} for each run of consecutive regions, cut into runs of at most {@code max}, in order. */
    void forEachBatch(int max, Batch batch) throws IOException {
        List<long[]> runs = new ArrayList<>();
        IntIterator it = regions.getIntIterator();
        long first = -1;
        long last = -1;
        while (it.hasNext()) {
            long r = Integer.toUnsignedLong(it.next());
            if (first >= 0 && r == last + 1 && r - first < max) {
                last = r;
                continue;
            }
            if (first >= 0) {
                runs.add(new long[] {first, last});
            }
            first = r;
            last = r;
        }
        if (first >= 0) {
            runs.add(new long[] {first, last});
        }
        for (long[] run : runs) {
            batch.accept(run[0], run[1]);
        }
    }
}
