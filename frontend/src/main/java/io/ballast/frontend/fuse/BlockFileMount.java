package io.ballast.frontend.fuse;

import io.ballast.replication.BlockTarget;
import java.io.Closeable;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.cryptomator.jfuse.api.Fuse;
import org.cryptomator.jfuse.api.FuseBuilder;
import org.cryptomator.jfuse.api.FuseMountFailedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A FUSE filesystem owned by the daemon in which every volume attached on this host is one
 * regular file, as large as the volume, for {@code losetup --direct-io=on} to turn into a
 * block device.
 *
 * <p>Files are opened for direct IO and nothing is cached in the kernel (see
 * {@link BlockFileSystem}). Requests are served concurrently by libfuse's multithreaded loop,
 * one cloned {@code /dev/fuse} descriptor per worker thread.
 *
 * <p>Needs root, {@code /dev/fuse}, libfuse 3 and the JVM flag
 * {@code --enable-native-access=ALL-UNNAMED} (jfuse uses the FFM API). jfuse must be on the
 * class path, not the module path: what jfuse does not expose (fallocate, libfuse's
 * configuration) is installed through one of its protected fields.
 */
public final class BlockFileMount implements Closeable {

    private static final Logger log = LoggerFactory.getLogger(BlockFileMount.class);

    /** Where distributions put libfuse 3; jfuse's default lookup by name does not find the versioned file. */
    private static final List<Path> LIBFUSE = List.of(
            Path.of("/lib/x86_64-linux-gnu/libfuse3.so.3"),
            Path.of("/usr/lib/x86_64-linux-gnu/libfuse3.so.3"),
            Path.of("/usr/lib64/libfuse3.so.3"),
            Path.of("/lib64/libfuse3.so.3"));
    /**
     * libfuse worker threads. A loop device keeps up to 128 requests queued; targets block on
     * replication round trips, so more threads than cores pay off, while each idle one costs a
     * 1 MiB request buffer.
     */
    private static final int MAX_THREADS = 32;
    private static final String OPTIONS = "fsname=ballast,subtype=ballast,clone_fd,max_threads=" + MAX_THREADS;
    private static final Path FUSECTL = Path.of("/sys/fs/fuse/connections");

    private final Path mountPoint;
    private final Fuse fuse;
    private final Arena upcalls;
    private final BlockFileSystem files;
    /** The connection's number under {@link #FUSECTL}: the minor device number of the mount. */
    private final int connection;
    private final AtomicBoolean closed = new AtomicBoolean();

    private BlockFileMount(Path mountPoint, Fuse fuse, Arena upcalls, BlockFileSystem files, int connection) {
        this.mountPoint = mountPoint;
        this.fuse = fuse;
        this.upcalls = upcalls;
        this.files = files;
        this.connection = connection;
    }

    /**
     * Mounts an empty FUSE filesystem at {@code mountPoint} (created if missing). A stale FUSE
     * mount left there by a crashed daemon ("Transport endpoint is not connected") is lazily
     * unmounted first.
     *
     * @throws IOException when /dev/fuse or libfuse 3 is missing, we are not root, a live FUSE
     *     filesystem is already mounted there, or mounting fails
     */
    public static BlockFileMount mount(Path mountPoint) throws IOException {
        if (!Files.exists(Path.of("/dev/fuse"))) {
            throw new IOException("/dev/fuse does not exist: this kernel has no FUSE or the device is not exposed here");
        }
        if (Linux.geteuid() != 0) {
            throw new IOException("mounting FUSE block files needs root (effective uid is " + Linux.geteuid() + ")");
        }
        Path library = LIBFUSE.stream().filter(Files::exists).findFirst()
                .orElseThrow(() -> new IOException("libfuse 3 not found (looked for " + LIBFUSE + "); install fuse3"));
        Path absolute = mountPoint.toAbsolutePath().normalize();
        Files.createDirectories(absolute.getParent());
        // /proc/self/mountinfo names mount points by their real path.
        Path target = absolute.getParent().toRealPath().resolve(absolute.getFileName());
        clearStaleMount(target);
        Files.createDirectories(target);

        FuseBuilder builder = Fuse.builder();
        builder.setLibraryPath(library.toString());
        BlockFileSystem files = new BlockFileSystem(builder.errno());
        Fuse fuse = builder.build(files);
        Arena upcalls = Arena.ofShared();
        try {
            files.bindRaw(operationsStruct(fuse), upcalls);
            fuse.mount("ballast", target, "-o", OPTIONS);
            int connection = fuseMount(target)
                    .orElseThrow(() -> new IOException("FUSE mount at " + target + " is missing from /proc/self/mountinfo"))
                    .minor();
            log.info("FUSE block files mounted at {} (connection {})", target, connection);
            return new BlockFileMount(target, fuse, upcalls, files, connection);
        } catch (IOException | FuseMountFailedException | IllegalArgumentException e) {
            closeFuse(fuse, upcalls);
            throw new IOException("cannot mount FUSE block files at " + target + ": " + e.getMessage(), e);
        }
    }

    public Path mountPoint() {
        return mountPoint;
    }

    /**
     * Makes volume {@code name} appear as {@code mountPoint()/name}, backed by {@code target};
     * returns that path.
     *
     * @throws IllegalStateException if the name is taken or the mount is closed
     * @throws IllegalArgumentException if {@code name} cannot be a file name
     */
    public Path add(String name, BlockTarget target) {
        if (name.isEmpty() || name.equals(".") || name.equals("..") || name.indexOf('/') >= 0
                || name.indexOf('\0') >= 0 || name.length() > 255) {
            throw new IllegalArgumentException("not a usable file name: \"" + name + "\"");
        }
        if (closed.get()) {
            throw new IllegalStateException("FUSE block files at " + mountPoint + " are closed");
        }
        files.add(name, target);
        return mountPoint.resolve(name);
    }

    /**
     * Removes the file: later opens fail, and so does IO through descriptors still open on it.
     * Returns once the IO already in flight has finished, after which the target is no longer
     * called. No-op if absent.
     */
    public void remove(String name) {
        files.remove(name);
    }

    public boolean contains(String name) {
        return files.contains(name);
    }

    /**
     * Unmounts and stops the FUSE loop. If the mount is busy (a loop device still on one of the
     * files), its FUSE connection is aborted first, so that its users get EIO at once rather than
     * hanging, and it is unmounted lazily.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        int error = Linux.umount2(mountPoint, 0);
        if (error == Linux.EBUSY) {
            log.warn("FUSE block files at {} still in use: aborting the connection, unmounting lazily", mountPoint);
            abortConnection();
            error = Linux.umount2(mountPoint, Linux.MNT_DETACH);
        }
        if (error != 0 && error != Linux.EINVAL) {
            log.warn("unmounting {} failed with errno {}", mountPoint, error);
        }
        closeFuse(fuse, upcalls);
        log.info("FUSE block files at {} unmounted", mountPoint);
    }

    /**
     * Stops jfuse's loop and frees its native memory, then the fallocate upcall. If the loop
     * did not stop, its worker threads may still call into the upcall, so its memory is left
     * allocated rather than freed under them.
     */
    private static void closeFuse(Fuse fuse, Arena upcalls) {
        try {
            fuse.close();
            upcalls.close();
        } catch (TimeoutException e) {
            log.error("the FUSE loop did not stop; leaving its upcall memory allocated", e);
        }
    }

    /** Aborts the FUSE connection through fusectl, mounting fusectl first if the host has not. */
    private void abortConnection() {
        Path abort = FUSECTL.resolve(Integer.toString(connection)).resolve("abort");
        try {
            if (!Files.exists(abort)) {
                int error = Linux.mount("fusectl", FUSECTL, "fusectl");
                if (error != 0 && error != Linux.EBUSY) {
                    log.warn("mounting fusectl at {} failed with errno {}", FUSECTL, error);
                }
            }
            Files.writeString(abort, "1");
        } catch (IOException e) {
            log.warn("aborting FUSE connection {} failed", connection, e);
        }
    }

    /**
     * Lazily unmounts a dead FUSE mount at {@code target}; refuses a live one. Dead means the
     * daemon that served it is gone, so every access fails (ENOTCONN).
     */
    private static void clearStaleMount(Path target) throws IOException {
        while (fuseMount(target).isPresent()) {
            try {
                Files.readAttributes(target, BasicFileAttributes.class);
            } catch (IOException dead) {
                int error = Linux.umount2(target, Linux.MNT_DETACH);
                if (error != 0) {
                    throw new IOException("cannot unmount the dead FUSE mount at " + target + ": errno " + error, dead);
                }
                log.warn("lazily unmounted a dead FUSE mount at {} ({})", target, dead.getMessage());
                continue;
            }
            throw new IOException("a live FUSE filesystem is already mounted at " + target);
        }
    }

    private record MountInfo(int minor) {}

    /** The topmost FUSE mount at {@code target}, from /proc/self/mountinfo (proc(5)). */
    private static Optional<MountInfo> fuseMount(Path target) throws IOException {
        MountInfo found = null;
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] fields = line.split(" ");
            int separator = List.of(fields).indexOf("-");
            if (separator < 0 || separator + 1 >= fields.length || !fields[separator + 1].startsWith("fuse")) {
                continue;
            }
            if (unescape(fields[4]).equals(target.toString())) {
                String device = fields[2];
                // Later lines are mounted on top of earlier ones.
                found = new MountInfo(Integer.parseInt(device.substring(device.indexOf(':') + 1)));
            }
        }
        return Optional.ofNullable(found);
    }

    /** Undoes mountinfo's octal escapes of space, tab, newline and backslash. */
    private static String unescape(String field) {
        StringBuilder out = new StringBuilder(field.length());
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '\\' && i + 3 < field.length()) {
                out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /**
     * libfuse's {@code struct fuse_operations} of {@code fuse}, which jfuse keeps in a protected
     * field; readable by reflection because jfuse is in the unnamed module.
     */
    private static MemorySegment operationsStruct(Fuse fuse) throws IOException {
        try {
            Field field = Fuse.class.getDeclaredField("fuseOperationsStruct");
            field.setAccessible(true);
            return (MemorySegment) field.get(fuse);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IOException("cannot reach jfuse's fuse_operations (is jfuse on the module path?)", e);
        }
    }
}
