package io.ballast.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.ballast.faults.Blocks.Content;
import io.ballast.faults.Blocks.Written;
import io.ballast.faults.Blocks.Zero;
import io.ballast.faults.History.Op;
import io.ballast.faults.History.Read;
import io.ballast.faults.History.Outcome;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The checker against hand-made histories: each rule passes what it must and fails what it must. */
class CheckerTest {
    private static final int VOLUME = 1;
    private final List<Op> ops = new ArrayList<>();
    private final List<Read> reads = new ArrayList<>();

    private Op write(long id, long block, long sent, long replied, Outcome outcome) {
        return write(id, block, 1, "node1", 1, sent, replied, outcome);
    }

    private Op write(long id, long block, int blocks, String node, long epoch, long sent, long replied, Outcome outcome) {
        Op op = new Op(id, VOLUME, block, blocks, node, epoch, sent, replied, outcome);
        ops.add(op);
        return op;
    }

    private void flush(long sent, long replied) {
        flush("node1", 1, sent, replied);
    }

    private void flush(String node, long epoch, long sent, long replied) {
        ops.add(new Op(0, VOLUME, 0, 0, node, epoch, sent, replied, Outcome.ACKED));
    }

    private Checker.Verdict check(Map<Long, Content> contents) {
        return Checker.check("v", VOLUME, ops, reads, contents);
    }

    private void read(long block, long sent, long replied, long seen) {
        reads.add(new Read(VOLUME, block, "node1", 1, sent, replied, Outcome.ACKED, new long[] {seen}));
    }

    private static Written holds(long block, long write) {
        return new Written(VOLUME, block, write);
    }

    @Test
    void aFlushedWriteReadBackPasses() {
        write(1, 7, 10, 20, Outcome.ACKED);
        flush(30, 40);
        Checker.Verdict verdict = check(Map.of(7L, holds(7, 1)));
        assertThat(verdict.passed()).isTrue();
        assertThat(verdict.durableBlocks()).isEqualTo(1);
        assertThat(verdict.writesAcked()).isEqualTo(1);
        assertThat(verdict.flushesAcked()).isEqualTo(1);
    }

    @Test
    void anOlderValueUnderAFlushedWriteIsLost() {
        write(1, 7, 10, 20, Outcome.ACKED);
        write(2, 7, 30, 40, Outcome.ACKED);
        flush(50, 60);
        Checker.Verdict verdict = check(Map.of(7L, holds(7, 1)));
        assertThat(verdict.lost()).isEqualTo(1);
        assertThat(verdict.examples()).singleElement().asString().contains("older than durable write #2");
    }

    @Test
    void zerosUnderAFlushedWriteAreLost() {
        write(1, 7, 10, 20, Outcome.ACKED);
        flush(30, 40);
        assertThat(check(Map.of(7L, new Zero())).lost()).isEqualTo(1);
    }

    @Test
    void aWriteNotFollowedByAnAcknowledgedFlushMayBeLost() {
        write(1, 7, 10, 20, Outcome.ACKED);
        flush(15, 40); // sent before the write was acknowledged: it does not cover it
        ops.add(new Op(0, VOLUME, 0, 0, "node1", 1, 50, -1, Outcome.UNKNOWN));
        assertThat(check(Map.of(7L, new Zero())).passed()).isTrue();
    }

    @Test
    void writesInFlightTogetherMayLandInEitherOrder() {
        write(1, 7, 10, 30, Outcome.ACKED);
        write(2, 7, 20, 40, Outcome.ACKED); // overlaps write 1: either may be last
        flush(50, 60);
        assertThat(check(Map.of(7L, holds(7, 1))).passed()).isTrue();
        assertThat(check(Map.of(7L, holds(7, 2))).passed()).isTrue();
    }

    @Test
    void aWriteWithoutReplyMayLandAnyTimeButAFailedOneNotAfterItsReply() {
        write(1, 7, 10, -1, Outcome.UNKNOWN);
        write(2, 8, 10, 15, Outcome.FAILED);
        write(3, 7, 20, 30, Outcome.ACKED);
        write(4, 8, 20, 30, Outcome.ACKED);
        flush(40, 50);
        Checker.Verdict verdict = check(Map.of(7L, holds(7, 1), 8L, holds(8, 2)));
        assertThat(verdict.lost()).isEqualTo(1);
        assertThat(verdict.examples()).singleElement().asString().startsWith("v block 8");
    }

    @Test
    void aGarbledOrMisplacedBlockIsCorrupt() {
        write(1, 7, 2, "node1", 1, 10, 20, Outcome.ACKED);
        byte[] data = new byte[2 * Blocks.SIZE];
        Blocks.fill(data, VOLUME, 7, 1);
        assertThat(Blocks.parse(data, 1)).isEqualTo(holds(8, 1));
        data[Blocks.SIZE + 100] ^= 1;
        Checker.Verdict verdict = check(Map.of(7L, holds(8, 1), 8L, Blocks.parse(data, 1)));
        assertThat(verdict.corrupt()).isEqualTo(2);
        assertThat(verdict.passed()).isFalse();
    }

    @Test
    void anAcknowledgementOfAnOldEpochAfterANewerOneServedIsAnOverlap() {
        write(1, 7, 1, "node1", 4, 10, 20, Outcome.ACKED);
        write(2, 8, 1, "node2", 5, 30, 40, Outcome.ACKED);
        write(3, 9, 1, "node1", 4, 35, 45, Outcome.ACKED); // sent before epoch 5's first ack came back: fine
        assertThat(check(Map.of()).overlaps()).isZero();
        write(4, 9, 1, "node1", 4, 50, 60, Outcome.ACKED); // sent after it: two writers
        Checker.Verdict verdict = check(Map.of());
        assertThat(verdict.overlaps()).isEqualTo(1);
        assertThat(verdict.examples()).singleElement().asString().contains("epoch 4");
    }

    @Test
    void oneEpochAcknowledgedByTwoNodesIsAnOverlap() {
        write(1, 7, 1, "node1", 4, 10, 20, Outcome.ACKED);
        write(2, 8, 1, "node2", 4, 30, 40, Outcome.ACKED);
        assertThat(check(Map.of()).overlaps()).isEqualTo(1);
    }

    @Test
    void aWriteWithoutReplyFromAFencedEpochCannotLandAfterTheNewerEpochServed() {
        write(1, 7, 1, "node1", 4, 10, -1, Outcome.UNKNOWN); // cut off by a fault: no reply
        write(2, 8, 1, "node2", 5, 30, 40, Outcome.ACKED); // epoch 5 serves from 40 on: epoch 4 is fenced
        write(3, 7, 1, "node2", 5, 50, 60, Outcome.ACKED);
        flush("node2", 5, 70, 80);
        // Write 1 could only have landed before 40, so before write 3 was sent: reading it back loses write 3.
        Checker.Verdict verdict = check(Map.of(7L, holds(7, 1), 8L, holds(8, 2)));
        assertThat(verdict.lost()).isEqualTo(1);
        assertThat(verdict.examples()).singleElement().asString().contains("older than durable write #3");
    }

    @Test
    void aWriteWithoutReplyInTheSameEpochMayStillLandLast() {
        write(1, 7, 1, "node2", 5, 10, -1, Outcome.UNKNOWN);
        write(2, 8, 1, "node2", 5, 30, 40, Outcome.ACKED);
        write(3, 7, 1, "node2", 5, 50, 60, Outcome.ACKED);
        flush("node2", 5, 70, 80);
        assertThat(check(Map.of(7L, holds(7, 1), 8L, holds(8, 2))).passed()).isTrue();
    }

    @Test
    void aBlockNoWriteCoveredMustReadZeros() {
        write(1, 7, 10, 20, Outcome.ACKED);
        assertThat(check(Map.of(7L, holds(7, 1), 9L, new Zero())).passed()).isTrue();
        Checker.Verdict verdict = check(Map.of(7L, new Zero(), 9L, holds(7, 1)));
        assertThat(verdict.corrupt()).isEqualTo(1);
        assertThat(verdict.lost()).isZero(); // write 1 was never flushed: zeros at 7 are allowed
    }

    @Test
    void writesAndFlushesOfAnotherVolumeAreIgnored() {
        write(1, 7, 10, 20, Outcome.ACKED);
        ops.add(new Op(0, VOLUME + 1, 0, 0, "node1", 1, 30, 40, Outcome.ACKED)); // another volume's flush
        assertThat(check(Map.of(7L, new Zero())).passed()).isTrue();
    }

    @Test
    void aReadOlderThanAWriteDurableBeforeTheReadWasSentIsStale() {
        write(1, 7, 10, 20, Outcome.ACKED);
        write(2, 7, 30, 40, Outcome.ACKED);
        flush(50, 60);
        read(7, 55, 58, 1); // sent before the flush was acknowledged: write 2 was not yet promised
        read(7, 70, 75, 2);
        assertThat(check(Map.of(7L, holds(7, 2))).passed()).isTrue();
        read(7, 80, 85, 1);
        read(7, 90, 95, History.ZEROS);
        Checker.Verdict verdict = check(Map.of(7L, holds(7, 2)));
        assertThat(verdict.staleReads()).isEqualTo(2);
        assertThat(verdict.passed()).isFalse();
        assertThat(verdict.examples()).first().asString().contains("read sent at", "older than durable write #2");
    }

    @Test
    void aReadMayReturnAWriteStillInFlightOrNotYetFlushed() {
        write(1, 7, 10, 20, Outcome.ACKED);
        flush(30, 40);
        write(2, 7, 50, -1, Outcome.UNKNOWN);
        write(3, 8, 50, 60, Outcome.ACKED); // never flushed
        read(7, 55, 58, 2);
        read(8, 70, 75, 3);
        read(8, 80, 85, History.ZEROS);
        read(9, 80, 85, History.ZEROS);
        assertThat(check(Map.of(7L, holds(7, 1), 8L, holds(8, 3))).passed()).isTrue();
    }

    @Test
    void aReadOfGarbageOrOfAWriteNotYetSentIsCorrupt() {
        write(1, 7, 10, 20, Outcome.ACKED);
        write(2, 7, 100, 110, Outcome.ACKED);
        read(7, 30, 40, History.GARBLED);
        read(7, 50, 60, 2); // write 2 was sent after this read was answered
        read(8, 50, 60, 1); // write 1 never touched block 8
        Checker.Verdict verdict = check(Map.of(7L, holds(7, 2)));
        assertThat(verdict.corrupt()).isEqualTo(3);
    }

    @Test
    void aTornReadOfABlockBeingWrittenIsNotCorrupt() {
        write(1, 7, 10, 20, Outcome.ACKED);
        write(2, 7, 50, 70, Outcome.ACKED); // in flight during the read: the read may see it half done
        read(7, 55, 60, History.GARBLED);
        assertThat(check(Map.of(7L, holds(7, 2))).passed()).isTrue();
        read(7, 80, 85, History.GARBLED); // nothing in flight then
        assertThat(check(Map.of(7L, holds(7, 2))).corrupt()).isEqualTo(1);
    }
}
