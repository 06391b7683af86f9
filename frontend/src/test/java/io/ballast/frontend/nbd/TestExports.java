package io.ballast.frontend.nbd;

import io.ballast.replication.BlockTarget;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** An NBD server on a loopback port with file-backed exports, for tests. */
final class TestExports implements ExportRegistry, AutoCloseable {

    private final Path dir;
    private final Map<String, BlockTarget> targets = new ConcurrentHashMap<>();
    private final Map<String, ExportRefusedException> refusals = new ConcurrentHashMap<>();
    final NbdServer server;
    /** Calls of {@link #open}, which attaches a volume in the real registry. */
    final AtomicInteger opens = new AtomicInteger();

    TestExports(Path dir) throws IOException {
        this.dir = dir;
        this.server = NbdServer.start(new InetSocketAddress("127.0.0.1", 0), this);
    }

    FileBlockTarget add(String name, long size) throws IOException {
        FileBlockTarget target = FileBlockTarget.create(dir.resolve(name + ".img"), size);
        targets.put(name, target);
        return target;
    }

    void add(String name, BlockTarget target) {
        targets.put(name, target);
    }

    void refuse(String name, ExportRefusedException.Reason reason, String message) {
        refusals.put(name, new ExportRefusedException(reason, message));
    }

    String uri(String name) {
        return "nbd://127.0.0.1:" + server.port() + "/" + name;
    }

    @Override
    public List<String> exportNames() {
        return targets.keySet().stream().sorted().toList();
    }

    @Override
    public long exportSize(String exportName) throws ExportRefusedException {
        return lookUp(exportName).sizeBytes();
    }

    @Override
    public BlockTarget open(String exportName) throws ExportRefusedException {
        opens.incrementAndGet();
        return lookUp(exportName);
    }

    private BlockTarget lookUp(String exportName) throws ExportRefusedException {
        ExportRefusedException refusal = refusals.get(exportName);
        if (refusal != null) {
            throw new ExportRefusedException(refusal.reason(), refusal.getMessage());
        }
        BlockTarget target = targets.get(exportName);
        if (target == null) {
            throw new ExportRefusedException(ExportRefusedException.Reason.UNKNOWN, "no volume named '" + exportName + "'");
        }
        return target;
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (BlockTarget target : targets.values()) {
            if (target instanceof FileBlockTarget file) {
                file.close();
            }
        }
    }
}
