package io.ballast.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a user asks for when creating a volume: the body of {@code POST /v1/volumes}.
 *
 * <p>{@code size} is a spelled size ("10G"); {@code sizeBytes} wins when both are given.
 * Absent fields take the defaults {@link #withDefaults()} fills in, except {@code cos}: absent, it
 * stays null, meaning "not requested".
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record VolumeSpec(String name, Long sizeBytes, String size, Integer repl, String cos, String fs,
                         Map<String, String> labels, List<String> zones, List<String> racks, List<String> nodes) {

    public static final List<String> CLASSES = List.of("low", "medium", "high");
    public static final List<String> FILESYSTEMS = List.of("ext4", "xfs", "none");
    public static final int MAX_REPL = 3;

    /** Checks every field and returns the spec with defaults and a resolved {@code sizeBytes}. */
    public VolumeSpec withDefaults() {
        Names.checkVolumeName(name);
        long bytes;
        if (sizeBytes != null && size != null) {
            throw new IllegalArgumentException("give either size or sizeBytes, not both");
        }
        if (sizeBytes != null) {
            bytes = sizeBytes;
            Sizes.checkVolumeSize(bytes, Long.toString(bytes));
        } else {
            bytes = Sizes.parseVolumeSize(size);
        }
        int replicas = repl == null ? 1 : repl;
        if (replicas < 1 || replicas > MAX_REPL) {
            throw new IllegalArgumentException("repl " + replicas + " is out of range: use 1, 2 or 3");
        }
        // No class asked for stays null, not "low": placement then takes the cheapest class that can
        // hold every replica, and only it knows which that is.
        String klass = cos == null ? null : normalizeCos(cos);
        String filesystem = fs == null ? "ext4" : fs.toLowerCase(Locale.ROOT);
        if (!FILESYSTEMS.contains(filesystem)) {
            throw new IllegalArgumentException("fs '" + fs + "' is not supported: use ext4, xfs or none");
        }
        Map<String, String> labelCopy = labels == null ? Map.of() : new LinkedHashMap<>(labels);
        labelCopy.forEach(Names::checkLabel);
        return new VolumeSpec(name, bytes, null, replicas, klass, filesystem, labelCopy,
                copy(zones), copy(racks), copy(nodes));
    }

    /** Accepts low, medium, high or their numbers 1, 2, 3. */
    public static String normalizeCos(String cos) {
        String c = cos.trim().toLowerCase(Locale.ROOT);
        return switch (c) {
            case "1", "low" -> "low";
            case "2", "medium" -> "medium";
            case "3", "high" -> "high";
            default -> throw new IllegalArgumentException("cos '" + cos + "' is not a class of service: use low, medium or high (or 1, 2, 3)");
        };
    }

    /**
     * Parses the inline form {@code name=NAME,size=SIZE,repl=N,cos=...,fs=...}. Unknown keys,
     * repeated keys and pieces without '=' are errors, so a typo never silently becomes a default.
     */
    public static VolumeSpec parseInline(String text) {
        Map<String, String> fields = new LinkedHashMap<>();
        for (String piece : text.split(",", -1)) {
            int eq = piece.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("inline spec '" + text + "': '" + piece
                        + "' is not KEY=VALUE; write e.g. 'name=db,size=10G,repl=1'");
            }
            String key = piece.substring(0, eq).trim().toLowerCase(Locale.ROOT);
            String value = piece.substring(eq + 1).trim();
            if (!List.of("name", "size", "repl", "cos", "fs").contains(key)) {
                throw new IllegalArgumentException("inline spec '" + text + "': unknown key '" + key
                        + "'; known keys are name, size, repl, cos, fs");
            }
            if (fields.put(key, value) != null) {
                throw new IllegalArgumentException("inline spec '" + text + "': key '" + key + "' is given twice");
            }
        }
        if (!fields.containsKey("name") || !fields.containsKey("size")) {
            throw new IllegalArgumentException("inline spec '" + text + "' needs at least name=NAME and size=SIZE");
        }
        Integer repl = null;
        if (fields.containsKey("repl")) {
            try {
                repl = Integer.parseInt(fields.get("repl"));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("inline spec '" + text + "': repl '" + fields.get("repl")
                        + "' is not a number; use 1, 2 or 3");
            }
        }
        return new VolumeSpec(fields.get("name"), null, fields.get("size"), repl, fields.get("cos"),
                fields.get("fs"), null, null, null, null);
    }

    private static List<String> copy(List<String> list) {
        if (list == null) {
            return List.of();
        }
        for (String item : list) {
            if (item == null || item.isBlank()) {
                throw new IllegalArgumentException("nodes, zones and racks must not contain empty names");
            }
        }
        return List.copyOf(list);
    }
}
