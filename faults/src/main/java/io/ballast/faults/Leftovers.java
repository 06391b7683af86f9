package io.ballast.faults;

import java.io.IOException;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Names the campaign's network objects after its pid ({@code bf<pid>}), and removes those of campaigns that
 * died without cleaning up (SIGKILL): their daemons, namespaces and links. A campaign still running is left
 * alone.
 */
final class Leftovers {
    private static final Pattern NAMESPACE = Pattern.compile("^(bf([0-9a-z]+))-n\\d+\\b");

    private Leftovers() {}

    static String prefix() {
        // base 36 keeps interface names ({@code <prefix>h<i>}) inside the kernel's 15 characters
        return "bf" + Long.toString(ProcessHandle.current().pid(), 36);
    }

    /** A /24 under 10.213.0.0/16 that no bridge on this host uses yet, chosen from the pid. */
    static int subnet() {
        String addresses;
        try {
            addresses = Shell.run(List.of("ip", "-o", "-4", "addr", "show"));
        } catch (IOException e) {
            throw new IllegalStateException("cannot list this host's addresses: " + e.getMessage(), e);
        }
        int start = (int) (ProcessHandle.current().pid() % 250);
        for (int i = 0; i < 250; i++) {
            int subnet = 1 + (start + i) % 250;
            if (!addresses.contains(" 10.213." + subnet + ".")) {
                return subnet;
            }
        }
        throw new IllegalStateException("every 10.213.x.0/24 is in use on this host");
    }

    static void remove() {
        String namespaces;
        try {
            namespaces = Shell.run(List.of("ip", "netns", "list"));
        } catch (IOException e) {
            return; // no namespaces at all: nothing left over
        }
        for (String line : namespaces.split("\n")) {
            Matcher m = NAMESPACE.matcher(line.trim());
            if (!m.find() || ProcessHandle.of(Long.parseLong(m.group(2), 36)).isPresent()) {
                continue;
            }
            String namespace = line.trim().split("\\s+")[0];
            try {
                for (String pid : Shell.run(List.of("ip", "netns", "pids", namespace)).split("\\s+")) {
                    if (!pid.isBlank()) {
                        ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
                    }
                }
            } catch (IOException e) {
                System.err.println("faults: cannot list the processes of " + namespace + ": " + e.getMessage());
            }
            System.err.println("faults: removing " + m.group(1) + "*, left by a campaign that is gone");
            try {
                NetworkLab.removeLeftovers(m.group(1));
            } catch (IOException e) {
                System.err.println("faults: " + e.getMessage());
            }
        }
    }
}
