package io.ballast.faults;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.StringJoiner;

/**
 * The campaign's hosts: one network namespace per node, each with a veth pair whose host end is on a bridge
 * the lab creates, so node {@code i} is {@code 10.213.S.i} and the campaign itself is {@code 10.213.S.254}.
 * Faults are nftables rules inside the namespaces, never on the host: isolating a node, splitting the nodes in
 * two, or steering one pair of nodes through a {@link DelayProxy}. The campaign process keeps reaching every
 * node, as a client does across a partition between servers.
 *
 * <p>Every namespace gets the same three chains at creation ({@code inet lab input/output} and
 * {@code ip labnat output}); a fault adds rules, and {@link #heal} flushes them, so healing never depends on
 * remembering what was done. {@link #close} removes the namespaces and the bridge;
 * {@link #removeLeftovers} does the same for a campaign that was killed before it could.
 */
final class NetworkLab implements AutoCloseable {
    private static final int HOST = 254;
    private static final String CHAINS = """
            table inet lab {
              chain input { type filter hook input priority 0; policy accept; }
              chain output { type filter hook output priority 0; policy accept; }
            }
            table ip labnat {
              chain output { type nat hook output priority -100; policy accept; }
            }
            """;

    private final String prefix;
    private final int nodes;
    private final int subnet;
    private final List<Integer> ports;
    private final List<DelayProxy> proxies = new ArrayList<>();
    /** The (from, to) pairs of nodes whose connections go through {@link #proxies} now. */
    private final List<int[]> steered = new ArrayList<>();

    private NetworkLab(String prefix, int nodes, int subnet, List<Integer> ports) {
        this.prefix = prefix;
        this.nodes = nodes;
        this.subnet = subnet;
        this.ports = List.copyOf(ports);
    }

    /**
     * Creates {@code nodes} namespaces named {@code <prefix>-n<i>} on a bridge {@code <prefix>br} with the
     * addresses of {@code 10.213.<subnet>.0/24}; {@code ports} are the TCP ports a slow link delays. The
     * prefix must be short enough for interface names (at most 9 characters).
     */
    static NetworkLab create(String prefix, int nodes, int subnet, List<Integer> ports) throws IOException {
        if (!prefix.matches("[a-z][a-z0-9]{0,8}")) {
            throw new IllegalArgumentException("a lab prefix is a lower-case letter and up to 8 more: " + prefix);
        }
        if (nodes < 1 || nodes > 200 || subnet < 0 || subnet > 255) {
            throw new IllegalArgumentException("nodes " + nodes + ", subnet " + subnet);
        }
        NetworkLab lab = new NetworkLab(prefix, nodes, subnet, ports);
        try {
            lab.build();
        } catch (IOException | RuntimeException e) {
            lab.close();
            throw e;
        }
        return lab;
    }

    private void build() throws IOException {
        String bridge = prefix + "br";
        Shell.run(List.of("ip", "link", "add", bridge, "type", "bridge"));
        Shell.run(List.of("ip", "addr", "add", hostAddress() + "/24", "dev", bridge));
        Shell.run(List.of("ip", "link", "set", bridge, "up"));
        for (int i = 1; i <= nodes; i++) {
            String ns = namespace(i);
            String veth = prefix + "h" + i;
            Shell.run(List.of("ip", "netns", "add", ns));
            Shell.run(List.of("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns));
            Shell.run(List.of("ip", "link", "set", veth, "master", bridge, "up"));
            Shell.run(List.of("ip", "-n", ns, "addr", "add", address(i) + "/24", "dev", "eth0"));
            Shell.run(List.of("ip", "-n", ns, "link", "set", "eth0", "up"));
            Shell.run(List.of("ip", "-n", ns, "link", "set", "lo", "up"));
            nft(i, CHAINS);
        }
    }

    String namespace(int node) {
        return prefix + "-n" + node;
    }

    String address(int node) {
        return "10.213." + subnet + "." + node;
    }

    /** The campaign's own address on the bridge: clients and delay proxies live here. */
    String hostAddress() {
        return "10.213." + subnet + "." + HOST;
    }

    /** {@code command} wrapped to run inside node {@code node}'s namespace. */
    List<String> inNamespace(int node, List<String> command) {
        List<String> wrapped = new ArrayList<>(List.of("ip", "netns", "exec", namespace(node)));
        wrapped.addAll(command);
        return wrapped;
    }

    /** Drops every packet between {@code node} and the other nodes, both ways; the campaign still reaches it. */
    synchronized void isolate(int node) throws IOException {
        List<Integer> others = new ArrayList<>();
        for (int i = 1; i <= nodes; i++) {
            if (i != node) {
                others.add(i);
            }
        }
        block(node, others);
        for (int other : others) {
            block(other, List.of(node));
        }
    }

    /** Drops every packet between the nodes in {@code side} and the rest. */
    synchronized void split(Set<Integer> side) throws IOException {
        List<Integer> rest = new ArrayList<>();
        for (int i = 1; i <= nodes; i++) {
            if (!side.contains(i)) {
                rest.add(i);
            }
        }
        for (int i : side) {
            block(i, rest);
        }
        for (int i : rest) {
            block(i, List.copyOf(side));
        }
    }

    private void block(int node, List<Integer> peers) throws IOException {
        if (peers.isEmpty()) {
            return;
        }
        String set = set(peers);
        nft(node, "add rule inet lab input ip saddr " + set + " drop\n"
                + "add rule inet lab output ip daddr " + set + " drop\n");
    }

    /**
     * Delays every new TCP connection between nodes {@code a} and {@code b} (either way, on the lab's ports) by
     * {@code delay} each way, and resets the connections already open between them, so that everything between
     * the two goes through the slow link from now on.
     */
    synchronized void slow(int a, int b, Duration delay) throws IOException {
        steer(a, b, delay);
        steer(b, a, delay);
    }

    /** In {@code from}'s namespace, sends connections to {@code to} through a delay proxy per port. */
    private void steer(int from, int to, Duration delay) throws IOException {
        StringBuilder rules = new StringBuilder();
        InetAddress host = InetAddress.getByName(hostAddress());
        for (int port : ports) {
            DelayProxy proxy = new DelayProxy(host, new InetSocketAddress(address(to), port), delay);
            proxies.add(proxy);
            rules.append("add rule ip labnat output ip daddr ").append(address(to)).append(" tcp dport ").append(port)
                    .append(" dnat to ").append(hostAddress()).append(':').append(proxy.port()).append('\n');
            // Connections opened before the rule keep their old route (NAT is decided once per connection):
            // they still carry the node's address after the nat hook, and are reset on their next packet.
            rules.append("add rule inet lab output ip daddr ").append(address(to)).append(" tcp dport ").append(port)
                    .append(" reject with tcp reset\n");
        }
        nft(from, rules.toString());
        steered.add(new int[] {from, to});
    }

    /** Removes every fault: rules in every namespace, and the delay proxies with their connections. */
    synchronized void heal() throws IOException {
        IOException failure = null;
        for (int i = 1; i <= nodes; i++) {
            try {
                nft(i, "flush chain inet lab input\nflush chain inet lab output\nflush chain ip labnat output\n");
            } catch (IOException e) {
                failure = e;
            }
        }
        proxies.forEach(DelayProxy::close);
        proxies.clear();
        // The proxies' resets do not reach the nodes' ends of the connections that were steered by DNAT
        // (seen with ss: they stay established), which would then wait out their own timeouts as if the
        // link were still up (NetworkLabTest#healingASlowLinkEndsTheConnectionsThroughIt). End them in the
        // namespace itself.
        for (int[] pair : steered) {
            try {
                Shell.run(inNamespace(pair[0], List.of("ss", "-K", "-t", "dst", address(pair[1]))));
            } catch (IOException e) {
                failure = e;
            }
        }
        steered.clear();
        if (failure != null) {
            throw failure;
        }
    }

    /** Removes the namespaces and the bridge. Processes inside the namespaces must be stopped first. */
    @Override
    public synchronized void close() {
        proxies.forEach(DelayProxy::close);
        proxies.clear();
        try {
            removeLeftovers(prefix);
        } catch (IOException e) {
            System.err.println("faults: " + e.getMessage());
        }
    }

    /** Removes the namespaces, veth pairs and bridge named after {@code prefix}, whatever of them exists. */
    static void removeLeftovers(String prefix) throws IOException {
        List<String> failures = new ArrayList<>();
        for (String line : Shell.run(List.of("ip", "netns", "list")).split("\n")) {
            String ns = line.trim().split("\\s+")[0];
            if (ns.startsWith(prefix + "-n")) {
                try {
                    Shell.run(List.of("ip", "netns", "del", ns));
                } catch (IOException e) {
                    failures.add(e.getMessage());
                }
            }
        }
        for (String line : Shell.run(List.of("ip", "-o", "link", "show")).split("\n")) {
            String[] fields = line.split(":\\s+");
            if (fields.length < 2) {
                continue;
            }
            String name = fields[1].split("@")[0];
            if (name.equals(prefix + "br") || name.matches(java.util.regex.Pattern.quote(prefix) + "h\\d+")) {
                try {
                    Shell.run(List.of("ip", "link", "del", name));
                } catch (IOException e) {
                    // a veth goes with its peer's namespace: gone already is fine
                    if (!e.getMessage().contains("Cannot find device")) {
                        failures.add(e.getMessage());
                    }
                }
            }
        }
        if (!failures.isEmpty()) {
            throw new IOException("cannot remove the lab " + prefix + ": " + String.join("; ", failures));
        }
    }

    private String set(List<Integer> peers) {
        StringJoiner set = new StringJoiner(", ", "{ ", " }");
        peers.forEach(p -> set.add(address(p)));
        return set.toString();
    }

    private void nft(int node, String script) throws IOException {
        Path file = Files.createTempFile("ballast-lab-", ".nft");
        try {
            Files.writeString(file, script);
            Shell.run(inNamespace(node, List.of("nft", "-f", file.toString())));
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
