package io.ballast.meta;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.List;
import java.util.Map;

/** Builders for records with sensible defaults, so tests spell out only what they are about. */
final class Fixtures {
    private Fixtures() {
    }

    static NodeRecord node(String name) {
        return new NodeRecord(name, "10.0.0." + (Math.abs(name.hashCode()) % 250 + 1), 9001, 10809, 9002, 9003,
                Map.of("zone", "z1"), 1_000, 1_000);
    }

    static PoolRecord pool(String id, String node) {
        return new PoolRecord(id, node, "/var/lib/ballast/" + id, "medium", 100L << 30);
    }

    static VolumeRecord volume(String name) {
        return new VolumeRecord("id-" + name, name, 1L << 30, 2, "medium", "ext4", Map.of("app", "db"), 5_000,
                List.of(new ReplicaRecord("n1", "p1", "in-sync"), new ReplicaRecord("n2", "p2", "in-sync")),
                null, 0, List.of(), null, null);
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
