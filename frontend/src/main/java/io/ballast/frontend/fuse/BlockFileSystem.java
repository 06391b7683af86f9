package io.ballast.frontend.fuse;

import io.ballast.replication.BlockTarget;
import io.ballast.store.OutOfRangeException;
import io.ballast.store.PoolFullException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.cryptomator.jfuse.api.DirFiller;
import org.cryptomator.jfuse.api.Errno;
import org.cryptomator.jfuse.api.FileInfo;
import org.cryptomator.jfuse.api.FuseOperations;
import org.cryptomator.jfuse.api.Stat;
import org.cryptomator.jfuse.api.Statvfs;
import org.cryptomator.jfuse.linux.amd64.extr.fuse3.fuse_config;
import org.cryptomator.jfuse.linux.amd64.extr.fuse3.fuse_conn_info;
import org.cryptomator.jfuse.linux.amd64.extr.fuse3.fuse_file_info;
import org.cryptomator.jfuse.linux.amd64.extr.fuse3.fuse_operations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The FUSE operations of a {@link BlockFileMount}: a root directory whose entries are the
 * attached volumes, each a regular file as large as its volume.
 *
 * <p>Every callback runs on one of libfuse's worker threads through an FFM upcall, where an
 * escaping exception would abort the JVM; so each one catches everything and answers an errno.
 * Read and write pass jfuse's view of libfuse's request buffer straight to the target: no copy,
 * no buffer of our own.
 */
final class BlockFileSystem implements FuseOperations {

    private static final Logger log = LoggerFactory.getLogger(BlockFileSystem.class);

    /**
     * The largest read or write the kernel sends in one request: libfuse's request buffer
     * holds 256 pages, which is also the kernel's default {@code max_pages_limit}.
     */
    private static final int MAX_WRITE = 1 << 20;
    /**
     * How many asynchronous requests (a loop device's direct IO is asynchronous) the kernel
     * keeps in flight. Its default of 12 would cap a loop device's queue depth below the
     * number of libfuse worker threads.
     */
    private static final int MAX_BACKGROUND = 128;
    private static final int BLOCK_SIZE = 4096;
    private static final int NAME_MAX = 255;

    private final Errno errno;
    /** The attached files by their FUSE path ({@code "/" + name}), the form every callback gets. */
    private final ConcurrentMap<String, BlockFile> files = new ConcurrentHashMap<>();
    /** Source of file handles; a handle names one attachment, so a name re-added later is a different file. */
    private final AtomicLong handles = new AtomicLong();

    BlockFileSystem(Errno errno) {
        this.errno = errno;
    }

    void add(String name, BlockTarget target) {
        BlockFile file = new BlockFile(handles.incrementAndGet(), target, Instant.now());
        if (files.putIfAbsent("/" + name, file) != null) {
            throw new IllegalStateException("a volume named " + name + " is already attached");
        }
    }

    void remove(String name) {
        BlockFile file = files.remove("/" + name);
        if (file != null) {
            file.retire();
        }
    }

    boolean contains(String name) {
        return files.containsKey("/" + name);
    }

    /**
     * Installs {@link #init} and {@link #fallocate} in {@code operations} (libfuse's
     * {@code struct fuse_operations}, before {@code fuse_new} copies it), as raw upcalls: jfuse
     * 0.7.3 never binds fallocate, without which a loop device cannot pass discards (fstrim)
     * through, and its init has no way to set {@code struct fuse_config} (direct IO, caching).
     */
    void bindRaw(MemorySegment operations, Arena arena) {
        fuse_operations.init(operations, fuse_operations.init.allocate(this::init, arena));
        fuse_operations.fallocate(operations, fuse_operations.fallocate.allocate(this::fallocate, arena));
    }

    @Override
    public Errno errno() {
        return errno;
    }

    @Override
    public Set<Operation> supportedOperations() {
        return EnumSet.of(Operation.GET_ATTR, Operation.READ_DIR, Operation.STATFS, Operation.OPEN,
                Operation.READ, Operation.WRITE, Operation.FSYNC, Operation.TRUNCATE);
    }

    /**
     * Sets up the connection and libfuse's configuration. Direct IO keeps the files' data out of
     * the kernel's page cache (the loop device and the filesystem on it cache already) and lets
     * O_DIRECT opens through; no attribute or entry caching, so that a grown volume shows its
     * new size and a removed one disappears at once (neither is on the IO path).
     */
    private MemorySegment init(MemorySegment conn, MemorySegment config) {
        try {
            fuse_conn_info.max_write(conn, MAX_WRITE);
            fuse_conn_info.max_background(conn, MAX_BACKGROUND);
            fuse_conn_info.congestion_threshold(conn, MAX_BACKGROUND * 3 / 4);
            fuse_config.direct_io(config, 1);
            fuse_config.attr_timeout(config, 0);
            fuse_config.entry_timeout(config, 0);
            fuse_config.negative_timeout(config, 0);
        } catch (Throwable e) {
            unexpected("init", "/", e);
        }
        return MemorySegment.NULL;
    }

    @Override
    public int getattr(String path, Stat stat, FileInfo fi) {
        try {
            if (path.equals("/")) {
                stat.setMode(Stat.S_IFDIR | 0755);
                stat.setNLink((short) 2);
                return 0;
            }
            BlockFile file = files.get(path);
            if (file == null) {
                return -Linux.ENOENT;
            }
            stat.setMode(Stat.S_IFREG | 0600);
            stat.setNLink((short) 1);
            // Read on every call: a volume may have grown since the last one.
            stat.setSize(file.target.sizeBytes());
            stat.mTime().set(file.added);
            stat.cTime().set(file.added);
            stat.aTime().set(file.added);
            return 0;
        } catch (Throwable e) {
            return unexpected("getattr", path, e);
        }
    }

    @Override
    public int readdir(String path, DirFiller filler, long offset, FileInfo fi, int flags) {
        try {
            filler.fill(".");
            filler.fill("..");
            for (String filePath : files.keySet()) {
                filler.fill(filePath.substring(1));
            }
            return 0;
        } catch (Throwable e) {
            return unexpected("readdir", path, e);
        }
    }

    @Override
    public int statfs(String path, Statvfs statvfs) {
        try {
            // A loop device takes its discard granularity from f_bsize.
            statvfs.setBsize(BLOCK_SIZE);
            statvfs.setFrsize(BLOCK_SIZE);
            long bytes = 0;
            for (BlockFile file : files.values()) {
                bytes += file.target.sizeBytes();
            }
            statvfs.setBlocks(bytes / BLOCK_SIZE);
            statvfs.setNameMax(NAME_MAX);
            return 0;
        } catch (Throwable e) {
            return unexpected("statfs", path, e);
        }
    }

    @Override
    public int open(String path, FileInfo fi) {
        try {
            BlockFile file = files.get(path);
            if (file == null) {
                return -Linux.ENOENT;
            }
            fi.setFh(file.handle);
            return 0;
        } catch (Throwable e) {
            return unexpected("open", path, e);
        }
    }

    @Override
    public int read(String path, ByteBuffer buf, long size, long offset, FileInfo fi) {
        BlockFile file = enter(path, fi.getFh());
        if (file == null) {
            return -Linux.EIO;
        }
        try {
            long fileSize = file.target.sizeBytes();
            if (offset >= fileSize) {
                return 0;
            }
            // Short only at the end of the file: the kernel takes a short read for EOF.
            int length = (int) Math.min(size, fileSize - offset);
            file.target.read(offset, buf.limit(length));
            return length;
        } catch (IOException e) {
            return failed("read", path, e);
        } catch (Throwable e) {
            return unexpected("read", path, e);
        } finally {
            file.exit();
        }
    }

    @Override
    public int write(String path, ByteBuffer buf, long size, long offset, FileInfo fi) {
        BlockFile file = enter(path, fi.getFh());
        if (file == null) {
            return -Linux.EIO;
        }
        try {
            long fileSize = file.target.sizeBytes();
            if (offset >= fileSize) {
                // The file cannot grow: its size is the volume's.
                return size == 0 ? 0 : -Linux.EFBIG;
            }
            // Across the end, a short write: the kernel reports it to the writer, as for a block device.
            int length = (int) Math.min(size, fileSize - offset);
            file.target.write(offset, buf.limit(length), false);
            return length;
        } catch (IOException e) {
            return failed("write", path, e);
        } catch (Throwable e) {
            return unexpected("write", path, e);
        } finally {
            file.exit();
        }
    }

    @Override
    public int fsync(String path, int datasync, FileInfo fi) {
        BlockFile file = enter(path, fi.getFh());
        if (file == null) {
            return -Linux.EIO;
        }
        try {
            file.target.flush();
            return 0;
        } catch (IOException e) {
            return failed("fsync", path, e);
        } catch (Throwable e) {
            return unexpected("fsync", path, e);
        } finally {
            file.exit();
        }
    }

    @Override
    public int truncate(String path, long size, FileInfo fi) {
        try {
            BlockFile file = files.get(path);
            if (file == null) {
                return -Linux.ENOENT;
            }
            // Ballast manages the volume's size; only a no-op truncate (which some tools issue) succeeds.
            return size == file.target.sizeBytes() ? 0 : -Linux.EPERM;
        } catch (Throwable e) {
            return unexpected("truncate", path, e);
        }
    }

    private int fallocate(MemorySegment pathSegment, int mode, long offset, long length, MemorySegment fi) {
        String path = "?";
        try {
            path = pathSegment.getString(0);
            BlockFile file = enter(path, fuse_file_info.fh(fi));
            if (file == null) {
                return -Linux.EIO;
            }
            try {
                return fallocate(file.target, mode, offset, length);
            } finally {
                file.exit();
            }
        } catch (IOException e) {
            return failed("fallocate", path, e);
        } catch (Throwable e) {
            return unexpected("fallocate", path, e);
        }
    }

    private static int fallocate(BlockTarget target, int mode, long offset, long length) throws IOException {
        long fileSize = target.sizeBytes();
        if (offset < 0 || length <= 0) {
            return -Linux.EINVAL;
        }
        boolean keepSize = (mode & Linux.FALLOC_FL_KEEP_SIZE) != 0;
        if (!keepSize && offset + length > fileSize) {
            return -Linux.EFBIG;
        }
        // With KEEP_SIZE, the part beyond the end is nothing to act on.
        long inside = Math.max(0, Math.min(length, fileSize - offset));
        switch (mode & ~Linux.FALLOC_FL_KEEP_SIZE) {
            case 0 -> {
                // Preallocation: the volume allocates its blocks on write.
            }
            case Linux.FALLOC_FL_PUNCH_HOLE -> {
                if (inside > 0) {
                    target.trim(offset, inside);
                }
            }
            case Linux.FALLOC_FL_ZERO_RANGE -> {
                if (inside > 0) {
                    target.writeZeroes(offset, inside, false);
                }
            }
            default -> {
                return -Linux.EOPNOTSUPP;
            }
        }
        return 0;
    }

    /** The file at {@code path} if it is still the one opened as {@code handle}, entered for one IO; null otherwise. */
    private BlockFile enter(String path, long handle) {
        BlockFile file = files.get(path);
        return file != null && file.handle == handle && file.enter() ? file : null;
    }

    private static int failed(String operation, String path, IOException e) {
        log.debug("{} on {} failed", operation, path, e);
        return -switch (e) {
            case OutOfRangeException _ -> Linux.EINVAL;
            case PoolFullException _ -> Linux.ENOSPC;
            // TargetClosedException included: a detached volume is an IO error to a loop device.
            default -> Linux.EIO;
        };
    }

    private static int unexpected(String operation, String path, Throwable e) {
        log.error("{} on {} failed unexpectedly", operation, path, e);
        return -Linux.EIO;
    }

    /** One attached volume. Its gate counts IOs in flight, so that {@link #retire} can wait for them. */
    private static final class BlockFile {

        private static final int RETIRED = Integer.MIN_VALUE;

        final long handle;
        final BlockTarget target;
        final Instant added;
        /** IOs in flight, plus {@link #RETIRED} once retired (the count then stays negative). */
        private final AtomicInteger gate = new AtomicInteger();

        BlockFile(long handle, BlockTarget target, Instant added) {
            this.handle = handle;
            this.target = target;
            this.added = added;
        }

        boolean enter() {
            if (gate.incrementAndGet() < 0) {
                exit();
                return false;
            }
            return true;
        }

        void exit() {
            if (gate.decrementAndGet() == RETIRED) {
                synchronized (this) {
                    notifyAll();
                }
            }
        }

        /** Refuses new IO and waits for the IO in flight. */
        void retire() {
            gate.getAndAdd(RETIRED);
            boolean interrupted = false;
            synchronized (this) {
                while (gate.get() != RETIRED) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
