package io.ballast.replication;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Which extents the coordinator marks, and when it may unmark them. */
class ActivityTrackerTest {
    private static final long EXTENT = ActivityTracker.EXTENT_BYTES;

    @Test
    void aWriteMarksTheExtentsItTouchesOnce() {
        ActivityTracker tracker = new ActivityTracker(8);
        ActivityTracker.Marks marks = tracker.writing(EXTENT - 512, 1024);
        assertThat(marks.add()).containsExactly(0, 1);
        assertThat(marks.remove()).isEmpty();
        assertThat(tracker.writing(100, 4096)).as("hot already").isNull();
        assertThat(tracker.hot()).containsExactlyInAnyOrder(0, 1);
    }

    @Test
    void overTheLimitOnlyExtentsSettledByAFlushEverywhereAreUnmarked() {
        ActivityTracker tracker = new ActivityTracker(2);
        tracker.writing(0, 1);
        tracker.writing(EXTENT, 1);
        ActivityTracker.Marks unsettled = tracker.writing(2 * EXTENT, 1);
        assertThat(unsettled.remove()).as("no flush yet: every write may be missing somewhere").isEmpty();
        long flush = tracker.flushIssued();
        tracker.writing(0, 1); // written again after the flush was issued: not covered by it
        tracker.settled(flush);
        ActivityTracker.Marks marks = tracker.writing(3 * EXTENT, 1);
        assertThat(marks.add()).containsExactly(3);
        assertThat(marks.remove()).as("least recently written first, extent 0 is not settled")
                .containsExactly(1, 2);
        assertThat(tracker.hot()).containsExactlyInAnyOrder(0, 3);
    }

    @Test
    void aFlushThatFailedSomewhereSettlesNothing() {
        ActivityTracker tracker = new ActivityTracker(1);
        tracker.writing(0, 1);
        tracker.flushIssued(); // never settled: it failed on a replica
        assertThat(tracker.writing(EXTENT, 1).remove()).isEmpty();
        assertThat(tracker.hot()).containsExactlyInAnyOrder(0, 1);
    }
}
