package io.ballast.replication;

import io.ballast.store.Extent;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.roaringbitmap.longlong.LongIterator;
import org.roaringbitmap.longlong.Roaring64Bitmap;

/**
 * A sorted set of regions ({@link VolumeTarget#REGION_BYTES} each) as runs of consecutive indexes: the
 * regions a resync, reconcile or verify must look at.
 */
final class RegionRuns {
    private final Roaring64Bitmap regions;

    private RegionRuns(Roaring64Bitmap regions) {
        this.regions = regions;
    }

    static RegionRuns of(Roaring64Bitmap regions) {
        return new RegionRuns(regions.clone());
    }

    /** The regions that overlap any of {@code extents} (in any order, overlapping or not). */
    static RegionRuns of(List<Extent> extents) {
        Roaring64Bitmap regions = new Roaring64Bitmap();
        for (Extent e : extents) {
            regions.addRange(e.offset() / VolumeTarget.REGION_BYTES, (e.end() - 1) / VolumeTarget.REGION_BYTES + 1);
        }
        return new RegionRuns(regions);
    }

    /** The bytes these regions cover in a volume of {@code sizeBytes} (its last region may be short). */
    long bytes(long sizeBytes) {
        long total = regions.getLongCardinality() * VolumeTarget.REGION_BYTES;
        long lastRegion = (sizeBytes - 1) / VolumeTarget.REGION_BYTES;
        if (!regions.isEmpty() && regions.contains(lastRegion)) {
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
        LongIterator it = regions.getLongIterator();
        long first = -1;
        long last = -1;
        while (it.hasNext()) {
            long r = it.next();
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
