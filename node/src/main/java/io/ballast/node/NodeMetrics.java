package io.ballast.node;

import io.ballast.replication.IoObserver;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.EnumMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The daemon's Prometheus metrics: per-volume IO (operations, bytes, errors, latency) and,
 * through callbacks read at scrape time, pool capacity and use.
 */
public final class NodeMetrics {
    // From 20 µs to about 10 s: covers a page-cache hit and a stalled replica alike.
    private static final double[] LATENCY_BOUNDS = {
        0.00002, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
        2.5, 5, 10};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter ops;
    private final Counter bytes;
    private final Counter errors;
    private final Histogram latency;
    private final Histogram createLatency;

    public NodeMetrics() {
        ops = Counter.builder().name("ballast_volume_ops_total")
                .help("Requests completed on a volume, by operation")
                .labelNames("volume", "op").register(registry);
        bytes = Counter.builder().name("ballast_volume_bytes_total")
                .help("Bytes read, written, trimmed or zeroed on a volume")
                .labelNames("volume", "op").register(registry);
        errors = Counter.builder().name("ballast_volume_errors_total")
                .help("Requests on a volume that failed, by operation")
                .labelNames("volume", "op").register(registry);
        latency = Histogram.builder().name("ballast_volume_latency_seconds")
                .help("Time to serve a request on a volume, by operation")
                .classicOnly().classicUpperBounds(LATENCY_BOUNDS)
                .labelNames("volume", "op").register(registry);
        createLatency = Histogram.builder().name("ballast_volume_create_seconds")
                .help("Time the daemon takes to create a volume, from request to committed metadata")
                .classicOnly().classicUpperBounds(LATENCY_BOUNDS).register(registry);
    }

    /** Reports pool figures at scrape time: the callback calls {@code sink} once per pool. */
    public void registerPools(Consumer<PoolSink> pools) {
        GaugeWithCallback.builder().name("ballast_pool_capacity_bytes").help("Capacity of a storage pool")
                .labelNames("pool", "path")
                .callback(cb -> pools.accept((id, path, capacity, used) -> cb.call(capacity, id, path)))
                .register(registry);
        GaugeWithCallback.builder().name("ballast_pool_used_bytes").help("Bytes allocated in a storage pool")
                .labelNames("pool", "path")
                .callback(cb -> pools.accept((id, path, capacity, used) -> cb.call(used, id, path)))
                .register(registry);
    }

    @FunctionalInterface
    public interface PoolSink {
        void pool(String id, String path, long capacityBytes, long usedBytes);
    }

    public void volumeCreated(long nanos) {
        createLatency.observe(nanos / 1e9);
    }

    /**
     * An observer for one volume. It resolves its label children once, so the IO path only
     * touches counters and never looks a label up.
     */
    public IoObserver observer(String volume) {
        Map<IoObserver.Op, VolumeOp> byOp = new EnumMap<>(IoObserver.Op.class);
        for (IoObserver.Op op : IoObserver.Op.values()) {
            String name = op.name().toLowerCase(java.util.Locale.ROOT);
            byOp.put(op, new VolumeOp(ops.labelValues(volume, name), bytes.labelValues(volume, name),
                    errors.labelValues(volume, name), latency.labelValues(volume, name)));
        }
        return (op, n, nanos, ok) -> byOp.get(op).record(n, nanos, ok);
    }

    /** Forgets a deleted volume's series. */
    public void forget(String volume) {
        for (IoObserver.Op op : IoObserver.Op.values()) {
            String name = op.name().toLowerCase(java.util.Locale.ROOT);
            ops.remove(volume, name);
            bytes.remove(volume, name);
            errors.remove(volume, name);
            latency.remove(volume, name);
        }
    }

    public String scrape() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, registry.scrape(), io.prometheus.metrics.config.EscapingScheme.ALLOW_UTF8);
        return out.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    public static String contentType() {
        return PrometheusTextFormatWriter.CONTENT_TYPE;
    }

    private record VolumeOp(CounterDataPoint ops, CounterDataPoint bytes, CounterDataPoint errors,
                            DistributionDataPoint latency) {
        void record(long n, long nanos, boolean ok) {
            ops.inc();
            if (!ok) {
                errors.inc();
                return;
            }
            bytes.inc(n);
            latency.observe(nanos / 1e9);
        }
    }
}
