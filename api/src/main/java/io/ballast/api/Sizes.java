package io.ballast.api;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses and prints sizes the way INTERFACE.md spells them: a whole number with an optional
 * binary unit (K, M, G, T or KiB, MiB, GiB, TiB; G means GiB). Volume sizes must come to a
 * multiple of 4 KiB, which {@link #parseVolumeSize} enforces.
 */
public final class Sizes {
    public static final long BLOCK = 4096;
    /** The largest volume: the store numbers blocks with 32 bits (docs/architecture.md). */
    public static final long MAX_VOLUME = BLOCK << 32;

    private static final Pattern SIZE =
            Pattern.compile("(\\d{1,19})\\s*([KMGT](?:iB)?|B)?", Pattern.CASE_INSENSITIVE);

    private Sizes() {}

    /** Parses a size; throws {@link IllegalArgumentException} with a message fit for a user. */
    public static long parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("size is missing: give a whole number with an optional unit, e.g. 10G");
        }
        Matcher m = SIZE.matcher(text.trim());
        if (text.trim().matches("(?i)\\d+\\s*[KMGT]B")) {
            throw new IllegalArgumentException("size '" + text + "': units are binary; write K, M, G, T or KiB,"
                    + " MiB, GiB, TiB (e.g. 10G or 10GiB)");
        }
        if (!m.matches()) {
            throw new IllegalArgumentException("size '" + text + "' is not a whole number with an optional unit"
                    + " K, M, G, T (or KiB, MiB, GiB, TiB), e.g. 10G");
        }
        int shift = switch (m.group(2) == null ? "" : m.group(2).substring(0, 1).toUpperCase(Locale.ROOT)) {
            case "K" -> 10;
            case "M" -> 20;
            case "G" -> 30;
            case "T" -> 40;
            default -> 0;
        };
        long number;
        try {
            number = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("size '" + text + "' is too large");
        }
        if (number > (Long.MAX_VALUE >> shift)) {
            throw new IllegalArgumentException("size '" + text + "' is too large");
        }
        return number << shift;
    }

    /** Parses a volume size: positive and a multiple of 4 KiB. */
    public static long parseVolumeSize(String text) {
        long bytes = parse(text);
        checkVolumeSize(bytes, text);
        return bytes;
    }

    /** Checks a volume size in bytes; {@code spelled} is how the user wrote it, for the message. */
    public static void checkVolumeSize(long bytes, String spelled) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("size " + spelled + " must be greater than zero");
        }
        if (bytes > MAX_VOLUME) {
            throw new IllegalArgumentException("size " + spelled + " is larger than the largest volume Ballast"
                    + " supports, 16 TiB");
        }
        if (bytes % BLOCK != 0) {
            throw new IllegalArgumentException("size " + spelled + " (" + bytes
                    + " bytes) is not a multiple of 4 KiB; round it to a multiple of 4096 bytes");
        }
    }

    /** Prints bytes in the largest binary unit that divides them exactly, else with one decimal. */
    public static String format(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        if (bytes < 1024) {
            return bytes + " B";
        }
        int unit = 0;
        double value = bytes;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        if (value == Math.rint(value)) {
            return (long) value + " " + units[unit];
        }
        return String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
    }
}
