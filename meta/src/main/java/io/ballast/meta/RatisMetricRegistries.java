package io.ballast.meta;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.ratis.metrics.LongCounter;
import org.apache.ratis.metrics.MetricRegistries;
import org.apache.ratis.metrics.MetricRegistryInfo;
import org.apache.ratis.metrics.RatisMetricRegistry;
import org.apache.ratis.metrics.Timekeeper;
import org.apache.ratis.util.TimeDuration;

/**
 * Ratis' metrics, kept in plain counters. Ratis' server cannot start without an implementation of
 * {@link MetricRegistries} (its default lives in ratis-metrics-default, which drags in Dropwizard); this
 * one is registered through {@code META-INF/services} and costs a LongAdder per metric. The counters,
 * timers and gauges are readable through {@link #getMetricRegistries()} should the daemon want to export
 * them. A shaded daemon jar must merge service files (the shade plugin's ServicesResourceTransformer).
 */
public final class RatisMetricRegistries extends MetricRegistries {
    private final Map<MetricRegistryInfo, Registry> registries = new ConcurrentHashMap<>();

    /** For {@link java.util.ServiceLoader}. */
    public RatisMetricRegistries() {
    }

    @Override
    public void clear() {
        registries.clear();
    }

    @Override
    public RatisMetricRegistry create(MetricRegistryInfo info) {
        return registries.computeIfAbsent(info, Registry::new);
    }

    @Override
    public boolean remove(MetricRegistryInfo info) {
        return registries.remove(info) != null;
    }

    @Override
    public Optional<RatisMetricRegistry> get(MetricRegistryInfo info) {
        return Optional.ofNullable(registries.get(info));
    }

    @Override
    public Set<MetricRegistryInfo> getMetricRegistryInfos() {
        return Set.copyOf(registries.keySet());
    }

    @Override
    public Collection<RatisMetricRegistry> getMetricRegistries() {
        return List.copyOf(registries.values());
    }

    @Override
    public void addReporterRegistration(Consumer<RatisMetricRegistry> add, Consumer<RatisMetricRegistry> remove) {
        // No reporters: the daemon exports metrics itself.
    }

    @Override
    public void enableJmxReporter() {
    }

    @Override
    public void enableConsoleReporter(TimeDuration period) {
    }

    /** One component's metrics. */
    public static final class Registry implements RatisMetricRegistry {
        private final MetricRegistryInfo info;
        private final Map<String, Counter> counters = new ConcurrentHashMap<>();
        private final Map<String, Timer> timers = new ConcurrentHashMap<>();
        private final Map<String, Supplier<?>> gauges = new ConcurrentHashMap<>();

        Registry(MetricRegistryInfo info) {
            this.info = info;
        }

        @Override
        public Timekeeper timer(String name) {
            return timers.computeIfAbsent(name, n -> new Timer());
        }

        @Override
        public LongCounter counter(String name) {
            return counters.computeIfAbsent(name, n -> new Counter());
        }

        @Override
        public boolean remove(String name) {
            return counters.remove(name) != null | timers.remove(name) != null | gauges.remove(name) != null;
        }

        @Override
        public <T> void gauge(String name, Supplier<Supplier<T>> gaugeSupplier) {
            gauges.put(name, gaugeSupplier.get());
        }

        @Override
        public MetricRegistryInfo getMetricRegistryInfo() {
            return info;
        }

        public Map<String, Long> counters() {
            Map<String, Long> out = new java.util.TreeMap<>();
            counters.forEach((k, v) -> out.put(k, v.getCount()));
            return out;
        }

        public Map<String, Object> gauges() {
            Map<String, Object> out = new java.util.TreeMap<>();
            gauges.forEach((k, v) -> out.put(k, v.get()));
            return out;
        }

        /** Per timer: {count, total nanoseconds}. */
        public Map<String, long[]> timers() {
            Map<String, long[]> out = new java.util.TreeMap<>();
            timers.forEach((k, v) -> out.put(k, new long[] {v.count.sum(), v.totalNanos.sum()}));
            return out;
        }
    }

    private static final class Counter implements LongCounter {
        private final LongAdder value = new LongAdder();

        @Override public void inc(long n) { value.add(n); }
        @Override public void dec(long n) { value.add(-n); }
        @Override public long getCount() { return value.sum(); }
    }

    private static final class Timer implements Timekeeper {
        final LongAdder count = new LongAdder();
        final LongAdder totalNanos = new LongAdder();

        @Override
        public Context time() {
            long start = System.nanoTime();
            return () -> {
                long elapsed = System.nanoTime() - start;
                count.increment();
                totalNanos.add(elapsed);
                return elapsed;
            };
        }
    }
}
