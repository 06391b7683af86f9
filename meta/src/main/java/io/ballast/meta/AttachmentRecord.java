package io.ballast.meta;

/** Where a volume is attached, and the fencing epoch its coordinator holds there. */
public record AttachmentRecord(String node, long epoch, long sinceMillis) {
}
