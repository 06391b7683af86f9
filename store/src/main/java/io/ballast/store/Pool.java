package io.ballast.store;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import org.roaringbitmap.IntIterator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A storage pool: a directory of layer files and replica manifests on one filesystem.
 *
 * <pre>
 * pool.properties              id, format, fingerprint (class of service and the rates measured)
 * layers/&lt;layer&gt;.data          sparse data, block n at byte n*4096
 * layers/&lt;layer&gt;.meta          parent layer id (empty for a root), owning replica id
 * replicas/&lt;replica&gt;.properties size, head layer id, snapshot names to layer ids (oldest first),
 *                              the highest attach epoch admitted
 * replicas/&lt;replica&gt;.activity   the extents its coordinator marked hot ({@link ActivityLog})
 * </pre>
 *
 * Layers form a tree shared by replicas and their clones. Nothing stores reference counts:
 * at open a layer is alive if a manifest names it (as a head or a snapshot) or if it is an
 * ancestor of one that is, and everything else is garbage from an interrupted operation.
 * Every metadata operation touches a constant number of files, whatever the number of
 * replicas in the pool.
 *
 * <p>Structural changes (create, snapshot, clone, restore, delete, grow) are serialized by
 * one pool-wide lock, so they need no lock ordering among themselves; IO never takes it.
 */
public final class Pool implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(Pool.class);
    private static final Pattern REPLICA_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,199}");
    /** Block numbers are 32-bit in the index. */
    static final long MAX_SIZE = (1L << 32) * Layer.BLOCK;
    private static final int MERGE_RUN = 256;

    private final Path dir;
    private final Path layersDir;
    private final Path replicasDir;
    private final String id;
    private final Fingerprint fingerprint;
    final Space space;
    final StripedLocks stripes = new StripedLocks();
    private final ReentrantLock structure = new ReentrantLock();
    private final ConcurrentHashMap<String, Replica> replicas = new ConcurrentHashMap<>();
    /** Guarded by {@link #structure}. */
    private final Map<String, Layer> layers = new HashMap<>();
    private volatile boolean closed;
    /** Holds the pool's lock file for as long as the pool is open. */
    private final FileChannel lock;

    private Pool(Path dir, String id, Fingerprint fingerprint, long capacityBytes, FileChannel lock) {
        this.lock = lock;
        this.dir = dir;
        this.layersDir = dir.resolve("layers");
        this.replicasDir = dir.resolve("replicas");
        this.id = id;
        this.fingerprint = fingerprint;
        this.space = new Space(capacityBytes);
    }

    public static Pool open(Path dir, long capacityBytes) throws IOException {
        Files.createDirectories(dir.resolve("layers"));
        Files.createDirectories(dir.resolve("replicas"));
        FileChannel lock = lock(dir);
        try {
            FileStore store = Files.getFileStore(dir);
            checkAllocationIsExact(dir, store);
            Properties manifest = readOrCreateManifest(dir);
            Pool pool = new Pool(dir, manifest.getProperty("id"), Fingerprint.from(manifest),
                    capacityBytes > 0 ? capacityBytes : store.getTotalSpace(), lock);
            pool.load();
            return pool;
        } catch (IOException | RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    /**
     * One process per pool: loading deletes layer files no manifest names, which would destroy
     * what another process just created, and two writers would corrupt the same files.
     */
    private static FileChannel lock(Path dir) throws IOException {
        FileChannel channel = FileChannel.open(dir.resolve("pool.lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
        try {
            if (channel.tryLock() == null) {
                throw new IOException("pool " + dir + " is in use by another process; a pool belongs to one node");
            }
        } catch (OverlappingFileLockException e) {
            channel.close();
            throw new IOException("pool " + dir + " is already open in this process");
        } catch (IOException e) {
            channel.close();
            throw e;
        }
        return channel;
    }

    /**
     * The index is the files' allocation, so the filesystem must report it exactly, in 4 KiB
     * blocks: with smaller blocks a torn copy-up could surface zeroes over a lower layer's data,
     * and a filesystem without real SEEK_HOLE reports every file as all data. A probe file with
     * one block written at 1 MiB must show exactly that block.
     */
    private static void checkAllocationIsExact(Path dir, FileStore store) throws IOException {
        long fsBlock = store.getBlockSize();
        if (fsBlock != Layer.BLOCK) {
            throw new IOException("the filesystem of pool " + dir + " has " + fsBlock + "-byte blocks; pools need"
                    + " a filesystem with 4096-byte blocks (ext4, xfs and tmpfs have them by default)");
        }
        Path probe = dir.resolve("allocation.probe");
        Files.deleteIfExists(probe);
        try (FileChannel channel = FileChannel.open(probe, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.wrap(new byte[Layer.BLOCK]), 1 << 20);
        }
        try {
            List<long[]> ranges = new ArrayList<>();
            Native.scanData(probe, (start, end) -> ranges.add(new long[] {start, end}));
            if (ranges.size() != 1 || ranges.get(0)[0] != 1 << 20 || ranges.get(0)[1] != (1 << 20) + Layer.BLOCK) {
                throw new IOException("the filesystem of pool " + dir + " does not report holes in sparse files"
                        + " (SEEK_DATA/SEEK_HOLE); use ext4, xfs, btrfs or tmpfs");
            }
        } finally {
            Files.deleteIfExists(probe);
        }
    }

    /**
     * Reads pool.properties, or creates it for a new pool. A new pool is fingerprinted before
     * its manifest is written, and so is a pool created before fingerprints existed, at its
     * first open since: the measurement runs once in a pool's life.
     */
    private static Properties readOrCreateManifest(Path dir) throws IOException {
        Path path = dir.resolve("pool.properties");
        boolean exists = Files.exists(path);
        Properties manifest = exists ? DurableFiles.read(path) : new Properties();
        if (!exists) {
            manifest.setProperty("id", UUID.randomUUID().toString());
            manifest.setProperty("format", "1");
        }
        if (Fingerprint.from(manifest) == null) {
            Fingerprint f = PoolFingerprint.measure(dir);
            f.storeInto(manifest);
            // Also makes the deletion of the measurement's probe file durable (same directory).
            DurableFiles.write(path, manifest);
            log.info("pool {} at {}: class {} ({} fsynced random 4 KiB writes/s, {} random 4 KiB reads/s){}",
                    manifest.getProperty("id"), dir, f.cos(), Math.round(f.syncWriteIops()),
                    Math.round(f.randomReadIops()), exists ? ", measured for a pool created before fingerprints" : "");
        }
        return manifest;
    }

    public String id() {
        return id;
    }

    public Path dir() {
        return dir;
    }

    /** The pool's class of service and the rates it was derived from, measured when the pool was created. */
    public Fingerprint fingerprint() {
        return fingerprint;
    }

    public long capacityBytes() {
        return space.capacityBytes();
    }

    public long usedBytes() {
        return space.usedBytes();
    }

    public Replica create(String replicaId, long sizeBytes) throws IOException {
        checkReplicaId(replicaId);
        checkSize(sizeBytes);
        structure.lock();
        try {
            ensureOpen();
            if (replicas.containsKey(replicaId)) {
                throw new ReplicaExistsException(replicaId);
            }
            return register(new Replica(this, replicaId, sizeBytes, randomSalt()), null);
        } finally {
            structure.unlock();
        }
    }

    public Replica replica(String replicaId) throws NoSuchReplicaException {
        Replica r = closed ? null : replicas.get(replicaId);
        if (r == null) {
            throw new NoSuchReplicaException(replicaId);
        }
        return r;
    }

    public Replica cloneFrom(String sourceReplicaId, String snapshotName, String newReplicaId) throws IOException {
        checkReplicaId(newReplicaId);
        structure.lock();
        try {
            ensureOpen();
            Replica source = replica(sourceReplicaId);
            Layer base = snapshotLayer(source, snapshotName);
            if (replicas.containsKey(newReplicaId)) {
                throw new ReplicaExistsException(newReplicaId);
            }
            return register(new Replica(this, newReplicaId, source.sizeBytes(), randomSalt()), base);
        } finally {
            structure.unlock();
        }
    }

    /**
     * Removes the replica. Its layers are freed, except those a clone still stands on: such a
     * layer stays, owned by no replica, and is merged into the clone's chain once only one
     * child is left on it.
     */
    public void delete(String replicaId) throws IOException {
        structure.lock();
        try {
            ensureOpen();
            Replica r = replica(replicaId);
            exclusive(r, () -> r.setClosed(true));
            try {
                DurableFiles.delete(manifestPath(replicaId));
            } catch (IOException e) {
                r.setClosed(false);
                throw e;
            }
            replicas.remove(replicaId);
            try {
                r.activityLog().delete();
            } catch (IOException e) { // a leftover is harmless: a new replica of this id starts a log of its own
                log.warn("replica {}: its activity log could not be deleted: {}", replicaId, e.getMessage());
            }
            Layer head = r.head();
            head.headOf = null;
            List<Layer> named = snapshotLayers(r);
            for (Layer l : named) {
                l.snapshotName = null;
                l.snapshotTag = null;
            }
            settle(head);
            for (Layer l : named) {
                settle(l);
            }
        } finally {
            structure.unlock();
        }
    }

    public Set<String> replicaIds() {
        return Set.copyOf(replicas.keySet());
    }

    @Override
    public void close() throws IOException {
        structure.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            for (Replica r : replicas.values()) {
                exclusive(r, () -> r.setClosed(true));
            }
            IOException failure = null;
            for (Layer l : layers.values()) {
                try {
                    l.close();
                } catch (IOException e) {
                    if (failure == null) {
                        failure = e;
                    } else {
                        failure.addSuppressed(e);
                    }
                }
            }
            replicas.clear();
            layers.clear();
            try {
                lock.close(); // releases the lock file for the next open
            } catch (IOException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
            if (failure != null) {
                throw failure;
            }
        } finally {
            structure.unlock();
        }
    }

    @Override
    public String toString() {
        return "Pool[" + id + " at " + dir + "]";
    }

    // ---- replica operations that change the layer tree ----

    /**
     * Freezes the head and starts a new one on top of it: constant time, whatever the size.
     *
     * @param tag recorded with the name (null for none): the same snapshot carries the same tag on every
     *            replica of a volume, so a name deleted and taken again is told apart from the old one
     */
    void snapshot(Replica r, String name, String tag) throws IOException {
        checkSnapshotName(name);
        if (tag != null && (tag.isEmpty() || tag.length() > 255 || tag.chars().anyMatch(Character::isISOControl))) {
            throw new IllegalArgumentException("snapshot tag must have 1 to 255 printable characters: " + tag);
        }
        structure.lock();
        try {
            ensureOpen(r);
            LinkedHashMap<String, Layer> snapshots = snapshotMap(r);
            if (snapshots.containsKey(name)) {
                throw new SnapshotExistsException(r.id() + "@" + name);
            }
            Layer frozen = r.head();
            Layer head = newLayer(frozen, r);
            snapshots.put(name, frozen);
            frozen.snapshotTag = tag; // the manifest records it
            try {
                commit(r, r.sizeBytes(), head, snapshots);
            } catch (IOException e) {
                frozen.snapshotTag = null;
                free(head);
                throw e;
            }
            exclusive(r, () -> {
                // Writes acknowledged before the snapshot must not depend on a later flush,
                // which only syncs the new head.
                frozen.sync();
                frozen.snapshotName = name;
                frozen.headOf = null;
                head.headOf = r;
                r.rebuildChain(head);
            });
            r.setSnapshots(snapshots);
        } finally {
            structure.unlock();
        }
    }

    /**
     * Removes the name and merges the layer into its child. A layer with several children (a
     * clone or a restored head stands on it beside the original chain) cannot be merged into
     * both: it stays, nameless, until all but one child are gone, and is merged then.
     */
    void deleteSnapshot(Replica r, String name) throws IOException {
        structure.lock();
        try {
            ensureOpen(r);
            LinkedHashMap<String, Layer> snapshots = snapshotMap(r);
            Layer layer = snapshots.remove(name);
            if (layer == null) {
                throw new NoSuchSnapshotException(r.id() + "@" + name);
            }
            commit(r, r.sizeBytes(), r.head(), snapshots);
            layer.snapshotName = null;
            layer.snapshotTag = null;
            r.setSnapshots(snapshots);
            settle(layer);
        } finally {
            structure.unlock();
        }
    }

    /** Discards the head and starts an empty one on the snapshot; later snapshots stay. */
    void restore(Replica r, String name) throws IOException {
        structure.lock();
        try {
            ensureOpen(r);
            Layer base = snapshotLayer(r, name);
            Layer head = newLayer(base, r);
            try {
                commit(r, r.sizeBytes(), head, snapshotMap(r));
            } catch (IOException e) {
                free(head);
                throw e;
            }
            Layer old = r.head();
            exclusive(r, () -> {
                old.headOf = null;
                head.headOf = r;
                r.rebuildChain(head);
            });
            settle(old);
        } finally {
            structure.unlock();
        }
    }

    void grow(Replica r, long newSize) throws IOException {
        checkSize(newSize);
        structure.lock();
        try {
            ensureOpen(r);
            if (newSize < r.sizeBytes()) {
                throw new IllegalArgumentException("replica " + r.id() + " can only grow: "
                        + newSize + " < " + r.sizeBytes());
            }
            commit(r, newSize, r.head(), snapshotMap(r));
            r.setSize(newSize);
        } finally {
            structure.unlock();
        }
    }

    // ---- the layer tree ----

    /** Every live layer, for tests that check the space accounting. */
    List<Layer> layers() {
        structure.lock();
        try {
            return List.copyOf(layers.values());
        } finally {
            structure.unlock();
        }
    }

    private Replica register(Replica r, Layer base) throws IOException {
        // Before the manifest: a log a deleted replica of the same id left behind must not be read as this one's.
        r.activity(ActivityLog.create(activityPath(r.id())));
        Layer head = newLayer(base, r);
        try {
            commit(r, r.sizeBytes(), head, new LinkedHashMap<>());
        } catch (IOException e) {
            free(head);
            throw e;
        }
        head.headOf = r;
        r.rebuildChain(head);
        replicas.put(r.id(), r);
        return r;
    }

    /** Creates an empty layer on {@code parent}, durable before any manifest names it. */
    private Layer newLayer(Layer parent, Replica owner) throws IOException {
        String layerId = UUID.randomUUID().toString().replace("-", "");
        Layer layer = Layer.create(layerId, owner.id(), layersDir.resolve(layerId + ".data"),
                layersDir.resolve(layerId + ".meta"), owner.ownBlocks);
        try {
            writeLayerMeta(layer, parent); // fsyncs the directory: the data file's entry too
        } catch (IOException e) {
            layer.destroy();
            throw e;
        }
        layer.parent = parent;
        if (parent != null) {
            parent.children.add(layer);
        }
        layers.put(layerId, layer);
        return layer;
    }

    /**
     * Frees or merges a layer that nothing names any more, then walks down: freeing a layer
     * can leave its parent unnamed and childless too.
     */
    private void settle(Layer layer) {
        while (layer != null && !layer.freed && layer.headOf == null && layer.snapshotName == null) {
            if (layer.children.isEmpty()) {
                Layer parent = layer.parent;
                free(layer);
                layer = parent;
            } else if (layer.children.size() == 1) {
                try {
                    merge(layer, layer.children.getFirst());
                } catch (IOException e) {
                    // The tree is consistent at every step of a merge; an unmerged layer only
                    // costs space, and the next open tries again.
                    log.warn("merge of layer {} failed; it stays until the pool is reopened", layer.id, e);
                }
                return;
            } else {
                return;
            }
        }
    }

    private void free(Layer layer) {
        if (layer.parent != null) {
            layer.parent.children.remove(layer);
        }
        layer.freed = true;
        layers.remove(layer.id);
        space.release(layer.blocks());
        try {
            layer.destroy();
        } catch (IOException e) {
            // Unreferenced files are garbage-collected at the next open.
            log.warn("could not remove files of freed layer {}", layer.id, e);
        }
    }

    /**
     * Merges {@code parent} into its only child, crash-safely: the parent's blocks the child
     * lacks are copied into the child (the child's own blocks win), the child is fsynced, its
     * meta switches to the grandparent atomically, and only then is the parent deleted. A
     * crash before the switch leaves copies that equal what the child would have read through
     * the parent anyway.
     *
     * <p>The copy runs concurrently with IO. If the child is a head, each run of blocks is
     * copied under the writer's stripes and only blocks still absent are copied, so a
     * concurrent write is never overwritten. Readers need no exclusion: before and after a
     * copy a block reads the same bytes. Only the pointer switch takes the exclusive lock of
     * every replica reading through the child, for a moment.
     */
    private void merge(Layer parent, Layer child) throws IOException {
        Replica writer = child.headOf;
        ByteBuffer buffer = ByteBuffer.allocateDirect(MERGE_RUN * Layer.BLOCK);
        IntIterator blocks = parent.index.frozenIterator();
        long runFirst = -1;
        long runLast = -1;
        while (true) {
            long b = blocks.hasNext() ? Integer.toUnsignedLong(blocks.next()) : -1;
            if (b >= 0 && runFirst >= 0 && b == runLast + 1 && b - runFirst < MERGE_RUN) {
                runLast = b;
                continue;
            }
            if (runFirst >= 0) {
                copyAbsent(parent, child, writer, runFirst, runLast, buffer);
            }
            if (b < 0) {
                break;
            }
            runFirst = b;
            runLast = b;
        }
        child.force();
        writeLayerMeta(child, parent.parent);
        List<Replica> readers = readersOf(child);
        lockAll(readers);
        try {
            child.parent = parent.parent;
            if (parent.parent != null) {
                List<Layer> siblings = parent.parent.children;
                siblings.set(siblings.indexOf(parent), child);
            }
            parent.children.clear();
            parent.parent = null;
            for (Replica r : readers) {
                r.rebuildChain(r.head());
            }
        } finally {
            unlockAll(readers);
        }
        free(parent);
    }

    private void copyAbsent(Layer from, Layer to, Replica writer, long first, long last,
            ByteBuffer buffer) throws IOException {
        if (writer != null) {
            stripes.lock(writer.salt, first, last);
        }
        try {
            long b = first;
            while (b <= last) {
                if (to.holds(b)) {
                    b++;
                    continue;
                }
                long start = b;
                while (b <= last && !to.holds(b)) {
                    b++;
                }
                int length = (int) ((b - start) << Layer.SHIFT);
                buffer.clear();
                from.read(buffer, start << Layer.SHIFT, length);
                space.charge(b - start);
                try {
                    to.write(buffer, 0, start << Layer.SHIFT, length);
                } catch (IOException e) {
                    space.release(b - start);
                    to.punchAbsent(start, b - 1);
                    throw e;
                }
                for (long x = start; x < b; x++) {
                    to.markPresent(x);
                }
            }
        } finally {
            if (writer != null) {
                stripes.unlock(writer.salt, first, last);
            }
        }
    }

    /** The replicas whose chain passes through the layer: the heads of its subtree. */
    private static List<Replica> readersOf(Layer layer) {
        List<Replica> readers = new ArrayList<>();
        List<Layer> pending = new ArrayList<>(List.of(layer));
        while (!pending.isEmpty()) {
            Layer l = pending.removeLast();
            if (l.headOf != null) {
                readers.add(l.headOf);
            }
            pending.addAll(l.children);
        }
        return readers;
    }

    // ---- persistence ----

    private void load() throws IOException {
        removeTemporaries(layersDir);
        removeTemporaries(replicasDir);
        Map<String, Properties> metas = new HashMap<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(layersDir, "*.meta")) {
            for (Path f : files) {
                metas.put(stripSuffix(f, ".meta"), DurableFiles.read(f));
            }
        }
        Map<String, Properties> manifests = new HashMap<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(replicasDir, "*.properties")) {
            for (Path f : files) {
                manifests.put(stripSuffix(f, ".properties"), DurableFiles.read(f));
            }
        }
        Map<String, Replica> byId = new HashMap<>();
        for (String rid : manifests.keySet()) {
            Properties m = manifests.get(rid);
            Replica r = new Replica(this, rid, Long.parseLong(m.getProperty("size")), randomSalt());
            r.loaded(m);
            r.activity(ActivityLog.open(activityPath(rid)));
            byId.put(rid, r);
        }
        // Alive: named by a manifest, or an ancestor of such a layer.
        Set<String> alive = new HashSet<>();
        for (Properties m : manifests.values()) {
            List<String> roots = new ArrayList<>();
            roots.add(m.getProperty("head"));
            roots.addAll(snapshotEntries(m).values());
            for (String root : roots) {
                for (String l = root; l != null && alive.add(l); l = parentOf(metas, l)) {
                    // the loop header walks up
                }
            }
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(layersDir)) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                String layerId = name.substring(0, name.lastIndexOf('.'));
                if (!alive.contains(layerId)) {
                    Files.delete(f); // left behind by an interrupted create, delete or merge
                }
            }
        }
        for (String layerId : alive) {
            String owner = metas.get(layerId).getProperty("owner", "");
            Replica r = byId.get(owner);
            AtomicLong ownerBlocks = r != null ? r.ownBlocks : new AtomicLong();
            Layer layer = Layer.open(layerId, owner, layersDir.resolve(layerId + ".data"),
                    layersDir.resolve(layerId + ".meta"), ownerBlocks);
            space.charge(layer.blocks());
            layers.put(layerId, layer);
        }
        for (Layer layer : layers.values()) {
            String parentId = parentOf(metas, layer.id);
            if (parentId != null) {
                layer.parent = layers.get(parentId);
                layer.parent.children.add(layer);
            }
        }
        for (Map.Entry<String, Properties> e : manifests.entrySet()) {
            Replica r = byId.get(e.getKey());
            Layer head = layers.get(e.getValue().getProperty("head"));
            head.headOf = r;
            LinkedHashMap<String, Layer> snapshots = new LinkedHashMap<>();
            Properties manifest = e.getValue();
            snapshotEntries(manifest).forEach((name, layerId) -> {
                Layer named = layers.get(layerId);
                named.snapshotName = name;
                snapshots.put(name, named);
            });
            int index = 0;
            for (Layer named : snapshots.values()) {
                named.snapshotTag = manifest.getProperty("snapshot." + index++ + ".tag");
            }
            r.setSnapshots(snapshots);
            r.rebuildChain(head);
            replicas.put(r.id(), r);
        }
        // Finish merges that a crash or a failure interrupted.
        for (Layer layer : List.copyOf(layers.values())) {
            settle(layer);
        }
    }

    private static String parentOf(Map<String, Properties> metas, String layerId) throws IOException {
        Properties meta = metas.get(layerId);
        if (meta == null) {
            throw new IOException("layer " + layerId + " is referenced but has no meta file");
        }
        String parent = meta.getProperty("parent", "");
        return parent.isEmpty() ? null : parent;
    }

    private void writeLayerMeta(Layer layer, Layer parent) throws IOException {
        Properties p = new Properties();
        p.setProperty("parent", parent == null ? "" : parent.id);
        p.setProperty("owner", layer.ownerId);
        DurableFiles.write(layer.metaFile, p);
    }

    /**
     * Writes the replica's manifest atomically; the commit point of every structural change. The
     * replica adds its epoch.
     */
    private void commit(Replica r, long size, Layer head, LinkedHashMap<String, Layer> snapshots)
            throws IOException {
        Properties p = new Properties();
        p.setProperty("size", Long.toString(size));
        p.setProperty("head", head.id);
        p.setProperty("snapshots", Integer.toString(snapshots.size()));
        int i = 0;
        for (Map.Entry<String, Layer> e : snapshots.entrySet()) {
            p.setProperty("snapshot." + i + ".name", e.getKey());
            p.setProperty("snapshot." + i + ".layer", e.getValue().id);
            if (e.getValue().snapshotTag != null) {
                p.setProperty("snapshot." + i + ".tag", e.getValue().snapshotTag);
            }
            i++;
        }
        r.writeManifest(p);
    }

    private static LinkedHashMap<String, String> snapshotEntries(Properties manifest) {
        LinkedHashMap<String, String> entries = new LinkedHashMap<>();
        int count = Integer.parseInt(manifest.getProperty("snapshots", "0"));
        for (int i = 0; i < count; i++) {
            entries.put(manifest.getProperty("snapshot." + i + ".name"),
                    manifest.getProperty("snapshot." + i + ".layer"));
        }
        return entries;
    }

    Path manifestPath(String replicaId) {
        return replicasDir.resolve(replicaId + ".properties");
    }

    private Path activityPath(String replicaId) {
        return replicasDir.resolve(replicaId + ActivityLog.SUFFIX);
    }

    private static void removeTemporaries(Path directory) throws IOException {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "*" + DurableFiles.TEMP_SUFFIX)) {
            for (Path f : files) {
                Files.delete(f);
            }
        }
    }

    private static String stripSuffix(Path file, String suffix) {
        String name = file.getFileName().toString();
        return name.substring(0, name.length() - suffix.length());
    }

    // ---- helpers ----

    /** The replica's named snapshots, oldest first, as a fresh map to edit and commit. */
    private static LinkedHashMap<String, Layer> snapshotMap(Replica r) {
        return new LinkedHashMap<>(r.snapshotLayers());
    }

    private static List<Layer> snapshotLayers(Replica r) {
        return List.copyOf(r.snapshotLayers().values());
    }

    private static Layer snapshotLayer(Replica r, String name) throws NoSuchSnapshotException {
        Layer layer = r.snapshotLayers().get(name);
        if (layer == null) {
            throw new NoSuchSnapshotException(r.id() + "@" + name);
        }
        return layer;
    }

    private interface Action {
        void run() throws IOException;
    }

    /** Runs the action while no IO of the replica is in flight. */
    private static void exclusive(Replica r, Action action) throws IOException {
        r.structure.writeLock().lock();
        try {
            action.run();
        } finally {
            r.structure.writeLock().unlock();
        }
    }

    /**
     * Only structural changes take exclusive locks, and they are serialized by the pool's
     * structure lock, so the order among several replicas does not matter.
     */
    private static void lockAll(List<Replica> rs) {
        for (Replica r : rs) {
            r.structure.writeLock().lock();
        }
    }

    private static void unlockAll(List<Replica> rs) {
        for (Replica r : rs) {
            r.structure.writeLock().unlock();
        }
    }

    private void ensureOpen() throws IOException {
        if (closed) {
            throw new IOException("pool " + id + " is closed");
        }
    }

    private void ensureOpen(Replica r) throws IOException {
        ensureOpen();
        if (replicas.get(r.id()) != r) {
            throw new IOException("replica " + r.id() + " is closed");
        }
    }

    private static void checkReplicaId(String replicaId) {
        if (replicaId == null || !REPLICA_ID.matcher(replicaId).matches()) {
            throw new IllegalArgumentException("replica id must match " + REPLICA_ID + ": " + replicaId);
        }
    }

    private static void checkSnapshotName(String name) {
        if (name == null || name.isEmpty() || name.length() > 255) {
            throw new IllegalArgumentException("snapshot name must have 1 to 255 characters: " + name);
        }
    }

    private static void checkSize(long sizeBytes) {
        if (sizeBytes <= 0 || sizeBytes % Layer.BLOCK != 0 || sizeBytes > MAX_SIZE) {
            throw new IllegalArgumentException("size must be a positive multiple of 4096 up to "
                    + MAX_SIZE + ": " + sizeBytes);
        }
    }

    private static int randomSalt() {
        return ThreadLocalRandom.current().nextInt();
    }
}
