package io.ballast.frontend.fuse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Mounting where a FUSE filesystem already is: a dead one left by a killed daemon, or a live one. */
class FuseStaleMountTest {

    @TempDir
    Path dir;

    private Host host;
    private Path mountPoint;
    private Process daemon;
    private BlockFileMount mount;

    @BeforeEach
    void setUp() throws Exception {
        host = new Host(dir.resolve("scratch"));
        mountPoint = dir.resolve("fuse");
    }

    @AfterEach
    void cleanUp() throws Exception {
        if (daemon != null) {
            daemon.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        if (mount != null) {
            mount.close();
        }
        if (Files.readString(Path.of("/proc/mounts")).contains(mountPoint.toString())) {
            host.run("umount", "-l", mountPoint.toString());
        }
        assertThat(host.leftovers(dir.toString())).isEmpty();
    }

    @Test
    void mountClearsTheDeadMountOfAKilledDaemon() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        daemon = new ProcessBuilder(java.toString(), "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), MountAndWait.class.getName(),
                mountPoint.toString(), dir.resolve("daemon.img").toString())
                .redirectError(dir.resolve("daemon.log").toFile())
                .start();
        BufferedReader out = new BufferedReader(new InputStreamReader(daemon.getInputStream(), StandardCharsets.UTF_8));
        String said = CompletableFuture.supplyAsync(() -> {
            try {
                return out.readLine();
            } catch (IOException e) {
                return e.toString();
            }
        }).get(60, TimeUnit.SECONDS);
        assertThat(said).as(() -> readLog()).isEqualTo("mounted");
        assertThat(Files.size(mountPoint.resolve("vol1"))).isEqualTo(1 << 20);

        daemon.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        assertThatThrownBy(() -> Files.readAttributes(mountPoint, BasicFileAttributes.class))
                .hasMessageContaining("Transport endpoint is not connected");

        try (SparseFileTarget target = SparseFileTarget.create(dir.resolve("vol2.img"), 1 << 20)) {
            mount = BlockFileMount.mount(mountPoint);
            Path file = mount.add("vol2", target);
            assertThat(FuseBlockFileMountTest.read(file, 0, 4096)).isEqualTo(new byte[4096]);
            assertThat(Files.exists(mountPoint.resolve("vol1"))).isFalse();
            mount.close();
        }
        assertThat(Files.readString(Path.of("/proc/mounts"))).doesNotContain(mountPoint.toString());
    }

    @Test
    void mountingOverALiveMountFailsClearly() throws Exception {
        mount = BlockFileMount.mount(mountPoint);

        assertThatThrownBy(() -> BlockFileMount.mount(mountPoint))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("a live FUSE filesystem is already mounted at " + mountPoint);
        assertThat(Files.exists(mountPoint)).isTrue();
    }

    private String readLog() {
        try {
            return Files.readString(dir.resolve("daemon.log"));
        } catch (IOException e) {
            return e.toString();
        }
    }
}
