package io.ballast.frontend.fuse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real kernel FUSE mount of block files, used through ordinary file calls and host tools. */
class FuseBlockFileMountTest {

    private static final long SIZE = 256L << 20;
    private static final int MIB = 1 << 20;
    /**
     * Platform threads for blocking file calls: a virtual thread in a file read holds its
     * carrier, and with two cores only a few of them would run at once.
     */
    private static final Executor THREADS = command -> new Thread(command).start();

    @TempDir
    Path dir;

    private Host host;
    private BlockFileMount mount;
    private final List<SparseFileTarget> targets = new ArrayList<>();

    @BeforeEach
    void mount() throws Exception {
        host = new Host(dir.resolve("scratch"));
        mount = BlockFileMount.mount(dir.resolve("fuse"));
    }

    @AfterEach
    void cleanUp() throws Exception {
        try {
            host.release();
        } finally {
            if (mount != null) {
                mount.close();
            }
            for (SparseFileTarget target : targets) {
                target.close();
            }
        }
        assertThat(host.leftovers(dir.toString())).isEmpty();
    }

    private SparseFileTarget target(String name) throws IOException {
        SparseFileTarget target = SparseFileTarget.create(dir.resolve(name + ".img"), SIZE);
        targets.add(target);
        return target;
    }

    @Test
    void fileHasTheVolumeSizeAndReadsZeroes() throws Exception {
        Path file = mount.add("vol1", target("vol1"));

        assertThat(file).isEqualTo(mount.mountPoint().resolve("vol1"));
        assertThat(host.check("stat", "-c", "%s %a %F %h", file.toString()).strip())
                .isEqualTo(SIZE + " 600 regular file 1");
        assertThat(host.check("ls", mount.mountPoint().toString()).strip()).isEqualTo("vol1");
        assertThat(read(file, SIZE - MIB, MIB)).isEqualTo(new byte[MIB]);
        assertThat(mount.contains("vol1")).isTrue();
    }

    @Test
    void writtenDataReadsBackThroughFuseAndReachesTheTarget() throws Exception {
        Path file = mount.add("vol1", target("vol1"));
        byte[] pattern = new byte[3 * MIB + 4321];
        new Random(42).nextBytes(pattern);
        long offset = 12_345_678;

        write(file, offset, pattern);

        assertThat(read(file, offset, pattern.length)).isEqualTo(pattern);
        assertThat(read(dir.resolve("vol1.img"), offset, pattern.length)).isEqualTo(pattern);
    }

    @Test
    void fsyncAndFdatasyncReachFlush() throws Exception {
        SparseFileTarget target = target("vol1");
        Path file = mount.add("vol1", target);

        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.wrap(new byte[4096]), 0);
            channel.force(true);
            assertThat(target.flushes).hasValue(1);
            channel.force(false);
            assertThat(target.flushes).hasValue(2);
        }
    }

    @Test
    void fallocateModesReachTrimAndWriteZeroes() throws Exception {
        SparseFileTarget target = target("vol1");
        Path file = mount.add("vol1", target);
        byte[] ones = new byte[4 * MIB];
        Arrays.fill(ones, (byte) 1);
        write(file, 0, ones);
        String path = file.toString();

        host.check("fallocate", "--punch-hole", "--offset", "1048576", "--length", "1048576", path);
        assertThat(target.trims).hasValue(1);
        assertThat(target.trimmedBytes).hasValue(MIB);
        assertThat(read(file, MIB, MIB)).isEqualTo(new byte[MIB]);

        host.check("fallocate", "--zero-range", "--keep-size", "--offset", "2097152", "--length", "4096", path);
        assertThat(target.zeroWrites).hasValue(1);
        assertThat(read(file, 2 * MIB, 4096)).isEqualTo(new byte[4096]);
        assertThat(read(file, 2 * MIB + 4096, 1)).containsExactly(1);

        // Preallocation succeeds without touching anything; growing does not.
        host.check("fallocate", "--offset", "0", "--length", "1048576", path);
        host.check("fallocate", "--keep-size", "--offset", String.valueOf(SIZE), "--length", "1048576", path);
        assertThat(host.run("fallocate", "--offset", "0", "--length", String.valueOf(SIZE + MIB), path).stderr())
                .contains("File too large");
        assertThat(host.run("fallocate", "--collapse-range", "--offset", "0", "--length", "1048576", path).exitCode())
                .isNotZero();
        assertThat(Files.size(file)).isEqualTo(SIZE);
        assertThat(read(file, 0, MIB)).isEqualTo(Arrays.copyOf(ones, MIB));
    }

    @Test
    void sizeIsManagedByBallast() throws Exception {
        SparseFileTarget target = target("vol1");
        Path file = mount.add("vol1", target);

        assertThat(host.run("truncate", "--size", String.valueOf(SIZE / 2), file.toString()).stderr())
                .contains("Operation not permitted");
        host.check("truncate", "--size", String.valueOf(SIZE), file.toString());
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            assertThat(channel.write(ByteBuffer.allocate(8192), SIZE - 4096)).as("write across the end").isEqualTo(4096);
            assertThatThrownBy(() -> channel.write(ByteBuffer.allocate(4096), SIZE)).hasMessageContaining("File too large");
            assertThat(channel.read(ByteBuffer.allocate(4096), SIZE)).as("read at the end").isEqualTo(-1);
            assertThat(channel.read(ByteBuffer.allocate(8192), SIZE - 4096)).as("read across the end").isEqualTo(4096);
        }
        assertThat(Files.size(file)).isEqualTo(SIZE);

        target.grow(2 * SIZE);
        assertThat(Files.size(file)).as("a grown volume").isEqualTo(2 * SIZE);
    }

    @Test
    void targetErrorsBecomeErrnos() throws Exception {
        SparseFileTarget target = target("vol1");
        Path file = mount.add("vol1", target);

        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            target.poolFull = true;
            assertThatThrownBy(() -> channel.write(ByteBuffer.allocate(4096), 0)).hasMessageContaining("No space left on device");
            target.poolFull = false;
            target.detached = true;
            assertThatThrownBy(() -> channel.read(ByteBuffer.allocate(4096), 0)).hasMessageContaining("Input/output error");
            assertThatThrownBy(() -> channel.force(false)).hasMessageContaining("Input/output error");
        }
    }

    @Test
    void servesRequestsConcurrently() throws Exception {
        SparseFileTarget target = target("vol1");
        Path file = mount.add("vol1", target);
        int parallel = 8;
        // Each read waits inside the target until all of them are there: only concurrent serving gets past.
        CyclicBarrier barrier = new CyclicBarrier(parallel);
        target.beforeRead = () -> {
            try {
                barrier.await(20, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        };
        List<CompletableFuture<byte[]>> reads = new ArrayList<>();
        for (int i = 0; i < parallel; i++) {
            long offset = (long) i * MIB;
            reads.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return read(file, offset, 4096);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }, THREADS));
        }

        for (CompletableFuture<byte[]> read : reads) {
            assertThat(read.get(30, TimeUnit.SECONDS)).isEqualTo(new byte[4096]);
        }
    }

    @Test
    void removeWaitsForIoInFlightThenTheFileIsGone() throws Exception {
        SparseFileTarget target = target("vol1");
        Path file = mount.add("vol1", target);
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        target.beforeRead = () -> {
            entered.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };

        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            CompletableFuture<Integer> read = CompletableFuture.supplyAsync(() -> {
                try {
                    return channel.read(ByteBuffer.allocate(4096), 0);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }, THREADS);
            assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
            CompletableFuture<Void> remove = CompletableFuture.runAsync(() -> mount.remove("vol1"), THREADS);
            Thread.sleep(300);
            assertThat(remove).as("remove waits for the read inside the target").isNotDone();

            target.beforeRead = null;
            release.countDown();
            assertThat(read.get(10, TimeUnit.SECONDS)).isEqualTo(4096);
            remove.get(10, TimeUnit.SECONDS);

            assertThatThrownBy(() -> channel.read(ByteBuffer.allocate(4096), 0)).hasMessageContaining("Input/output error");
        }
        assertThat(mount.contains("vol1")).isFalse();
        assertThat(Files.exists(file)).isFalse();
        assertThat(host.check("ls", "-A", mount.mountPoint().toString())).isEmpty();
        assertThatThrownBy(() -> FileChannel.open(file, StandardOpenOption.READ)).isInstanceOf(NoSuchFileException.class);
        mount.remove("vol1");

        // The name is free again, for a new attachment.
        mount.add("vol1", target("vol1-again"));
        assertThat(Files.size(file)).isEqualTo(SIZE);
    }

    @Test
    void addRefusesATakenNameAndNamesThatAreNoFileNames() throws Exception {
        mount.add("vol1", target("vol1"));

        assertThatThrownBy(() -> mount.add("vol1", target("other"))).isInstanceOf(IllegalStateException.class);
        for (String bad : List.of("", ".", "..", "a/b", "x".repeat(256))) {
            assertThatThrownBy(() -> mount.add(bad, target("bad"))).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void closeUnmounts() throws Exception {
        Path mountPoint = mount.mountPoint();
        mount.add("vol1", target("vol1"));

        mount.close();
        mount.close();

        assertThat(Files.readString(Path.of("/proc/mounts"))).doesNotContain(mountPoint.toString());
        assertThat(Files.exists(mountPoint.resolve("vol1"))).isFalse();
        assertThatThrownBy(() -> mount.add("vol2", target("vol2"))).isInstanceOf(IllegalStateException.class);
    }

    static byte[] read(Path file, long offset, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            while (buffer.hasRemaining()) {
                if (channel.read(buffer, offset + buffer.position()) < 0) {
                    break;
                }
            }
        }
        return Arrays.copyOf(buffer.array(), buffer.position());
    }

    static void write(Path file, long offset, byte[] data) throws IOException {
        ByteBuffer buffer = ByteBuffer.wrap(data);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            while (buffer.hasRemaining()) {
                channel.write(buffer, offset + buffer.position());
            }
        }
    }
}
