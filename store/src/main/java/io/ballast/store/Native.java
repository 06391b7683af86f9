package io.ballast.store;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;

/**
 * The few Linux calls the JDK does not offer: SEEK_DATA/SEEK_HOLE to learn a sparse file's
 * allocation, and fallocate(PUNCH_HOLE) to give blocks back to the filesystem. They are
 * called through the FFM API on a file descriptor of their own, because FileChannel does not
 * expose its descriptor. Native access is granted with --enable-native-access=ALL-UNNAMED.
 */
@SuppressWarnings("restricted") // this class exists to make restricted FFM calls
final class Native {
    private static final int O_RDONLY = 0;
    private static final int O_RDWR = 2;
    private static final int O_CLOEXEC = 0x80000;
    private static final int SEEK_DATA = 3;
    private static final int SEEK_HOLE = 4;
    private static final int FALLOC_FL_KEEP_SIZE = 1;
    private static final int FALLOC_FL_PUNCH_HOLE = 2;
    private static final int EINTR = 4;
    private static final int ENXIO = 6;
    static final int ENOSPC = 28;

    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    private static final MethodHandle OPEN;
    private static final MethodHandle CLOSE;
    private static final MethodHandle LSEEK;
    private static final MethodHandle FALLOCATE;
    /** strerror(ENOSPC) in this process's locale: how the JDK words a full filesystem. */
    static final String ENOSPC_MESSAGE;

    static {
        Linker linker = Linker.nativeLinker();
        SymbolLookup libc = linker.defaultLookup();
        Linker.Option errno = Linker.Option.captureCallState("errno");
        // open(2) is variadic in C; the mode argument is passed (and ignored without O_CREAT)
        // so that the call follows the variadic calling convention exactly.
        OPEN = linker.downcallHandle(libc.find("open").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
                errno, Linker.Option.firstVariadicArg(2));
        CLOSE = linker.downcallHandle(libc.find("close").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        LSEEK = linker.downcallHandle(libc.find("lseek").orElseThrow(),
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT), errno);
        FALLOCATE = linker.downcallHandle(libc.find("fallocate").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), errno);
        MethodHandle strerror = linker.downcallHandle(libc.find("strerror").orElseThrow(),
                FunctionDescriptor.of(ADDRESS, JAVA_INT));
        try {
            MemorySegment text = (MemorySegment) strerror.invokeExact(ENOSPC);
            ENOSPC_MESSAGE = text.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            throw new ExceptionInInitializerError(t);
        }
    }

    private Native() {}

    /** Receives one allocated byte range [start, end) of a file. */
    interface DataRangeSink {
        void accept(long start, long end);
    }

    static int open(Path file, boolean writable) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            MemorySegment path = arena.allocateFrom(file.toString());
            int flags = (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC;
            int fd = (int) OPEN.invokeExact(state, path, flags, 0);
            if (fd < 0) {
                throw failure("open " + file, errno(state));
            }
            return fd;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    static void close(int fd) {
        try {
            // close(2) must not be retried on EINTR on Linux: the descriptor is gone anyway.
            int ignored = (int) CLOSE.invokeExact(fd);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Reports every allocated range of the file, in order, as the filesystem sees it. */
    static void scanData(Path file, DataRangeSink sink) throws IOException {
        int fd = open(file, false);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            long offset = 0;
            while (true) {
                long data = (long) LSEEK.invokeExact(state, fd, offset, SEEK_DATA);
                if (data < 0) {
                    int err = errno(state);
                    if (err == ENXIO) {
                        return; // no data at or after offset
                    }
                    throw failure("lseek SEEK_DATA " + file, err);
                }
                long hole = (long) LSEEK.invokeExact(state, fd, data, SEEK_HOLE);
                if (hole < 0) {
                    throw failure("lseek SEEK_HOLE " + file, errno(state));
                }
                sink.accept(data, hole);
                offset = hole;
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        } finally {
            close(fd);
        }
    }

    /** Deallocates [offset, offset+length) without changing the file's size. */
    static void punchHole(int fd, long offset, long length) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            while (true) {
                int rc = (int) FALLOCATE.invokeExact(state, fd,
                        FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length);
                if (rc == 0) {
                    return;
                }
                int err = errno(state);
                if (err != EINTR) {
                    throw failure("fallocate PUNCH_HOLE", err);
                }
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    private static IOException failure(String what, int errno) {
        String message = what + " failed, errno " + errno;
        return errno == ENOSPC ? new PoolFullException(message) : new IOException(message);
    }
}
