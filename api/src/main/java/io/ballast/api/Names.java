package io.ballast.api;

import java.util.regex.Pattern;

/** The rules for names users choose: volumes, snapshots, nodes and labels. */
public final class Names {
    // Names appear in NBD export names, file names and URLs, so keep them to a safe alphabet.
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}");
    private static final Pattern LABEL_KEY = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_./-]{0,62}");

    private Names() {}

    public static void checkVolumeName(String name) {
        check("volume", name);
    }

    public static void checkSnapshotName(String name) {
        check("snapshot", name);
    }

    public static void checkNodeName(String name) {
        check("node", name);
    }

    public static void checkLabel(String key, String value) {
        if (key == null || !LABEL_KEY.matcher(key).matches()) {
            throw new IllegalArgumentException("label key '" + key + "' is not valid: use letters, digits, '_', '.', '/', '-'");
        }
        if (value == null || value.length() > 256 || value.contains(",") || value.contains("=")) {
            throw new IllegalArgumentException("label " + key + " has an invalid value: at most 256 characters, no ',' or '='");
        }
    }

    private static void check(String what, String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException(what + " name is missing");
        }
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException(what + " name '" + name + "' is not valid: use 1 to 63 letters, digits,"
                    + " '_', '.' or '-', starting with a letter or digit");
        }
    }
}
