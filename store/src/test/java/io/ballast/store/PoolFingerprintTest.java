package io.ballast.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PoolFingerprintTest {
    @TempDir
    Path dir;

    @Test
    void classifiesBySyncWriteIopsAtTheDocumentedThresholds() {
        assertThat(PoolFingerprint.classify(0)).isEqualTo("low");
        assertThat(PoolFingerprint.classify(299.9)).isEqualTo("low");
        assertThat(PoolFingerprint.classify(300)).isEqualTo("medium");
        assertThat(PoolFingerprint.classify(1999.9)).isEqualTo("medium");
        assertThat(PoolFingerprint.classify(2000)).isEqualTo("high");
        assertThat(PoolFingerprint.classify(1_000_000)).isEqualTo("high");
        assertThat(PoolFingerprint.classify(Double.NaN)).isEqualTo("low");
        assertThat(PoolFingerprint.CLASSES).containsExactly("low", "medium", "high");
    }

    @Test
    void aFingerprintRoundTripsThroughTheManifestAndHasOneOfTheClasses() {
        Fingerprint f = new Fingerprint("medium", 812, 4321, 1_700_000_000_000L);
        Properties manifest = new Properties();
        assertThat(Fingerprint.from(manifest)).isNull();
        f.storeInto(manifest);
        assertThat(Fingerprint.from(manifest)).isEqualTo(f);
        assertThatThrownBy(() -> new Fingerprint("fast", 1, 1, 1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aNewPoolIsMeasuredOnceAndTheResultPersisted() throws IOException {
        Fingerprint measured;
        try (Pool pool = Pool.open(dir, 0)) {
            measured = pool.fingerprint();
        }
        System.out.println("fingerprint of a pool under " + dir.getParent() + ": " + measured);
        assertThat(measured.cos()).isIn(PoolFingerprint.CLASSES);
        assertThat(measured.cos()).isEqualTo(PoolFingerprint.classify(measured.syncWriteIops()));
        assertThat(measured.syncWriteIops()).isPositive();
        assertThat(measured.randomReadIops()).isNotNegative();
        assertThat(measured.measuredAtMillis()).isPositive();
        assertThat(Fingerprint.from(DurableFiles.read(dir.resolve("pool.properties")))).isEqualTo(measured);
        assertThat(entries(dir)).containsExactlyInAnyOrder("pool.properties", "pool.lock", "layers", "replicas");

        try (Pool pool = Pool.open(dir, 0)) {
            assertThat(pool.fingerprint()).isEqualTo(measured); // not measured again
        }
    }

    @Test
    void aPoolCreatedBeforeFingerprintsIsMeasuredAtItsNextOpen() throws IOException {
        String id;
        try (Pool pool = Pool.open(dir, 0)) {
            id = pool.id();
            pool.create("v", 1 << 20);
        }
        Properties old = new Properties();
        old.setProperty("id", id);
        old.setProperty("format", "1");
        DurableFiles.write(dir.resolve("pool.properties"), old);
        Files.write(dir.resolve(PoolFingerprint.PROBE), new byte[4096]); // a crash during a measurement

        Fingerprint measured;
        try (Pool pool = Pool.open(dir, 0)) {
            assertThat(pool.id()).isEqualTo(id);
            assertThat(pool.replicaIds()).containsExactly("v");
            measured = pool.fingerprint();
            assertThat(measured.cos()).isIn(PoolFingerprint.CLASSES);
        }
        Properties manifest = DurableFiles.read(dir.resolve("pool.properties"));
        assertThat(manifest.getProperty("id")).isEqualTo(id);
        assertThat(Fingerprint.from(manifest)).isEqualTo(measured);
        assertThat(entries(dir)).containsExactlyInAnyOrder("pool.properties", "pool.lock", "layers", "replicas");
        try (Pool pool = Pool.open(dir, 0)) {
            assertThat(pool.fingerprint()).isEqualTo(measured);
        }
    }

    private static Set<String> entries(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(f -> f.getFileName().toString()).collect(Collectors.toSet());
        }
    }
}
