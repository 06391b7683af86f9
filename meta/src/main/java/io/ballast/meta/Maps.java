package io.ballast.meta;

import java.util.AbstractMap;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * Immutable, key-sorted maps for the records of the state.
 *
 * <p>Why sorted: the state is serialized into snapshots and compared across replicas and restarts;
 * a key order that does not depend on hash seeds makes the JSON itself deterministic.
 *
 * <p>Why a class of our own rather than {@code Map.copyOf}: {@link ClusterState}'s constructor must
 * freeze whatever map it is given, but re-copying a 5,000-volume map on every command would make each
 * write O(n) twice over. A {@link Frozen} map is known to be immutable, so freezing it again is free,
 * and an update costs exactly one copy of the tree ({@link #with}/{@link #without}).
 */
final class Maps {
    private Maps() {
    }

    /** An immutable sorted copy, or {@code map} itself if it is already one; null becomes empty. */
    static <V> Map<String, V> frozenCopy(Map<String, V> map) {
        if (map instanceof Frozen<V> frozen) {
            return frozen;
        }
        if (map == null || map.isEmpty()) {
            return Frozen.empty();
        }
        TreeMap<String, V> tree = new TreeMap<>();
        map.forEach((k, v) -> tree.put(Objects.requireNonNull(k, "null key"), Objects.requireNonNull(v, "null value")));
        return new Frozen<>(tree);
    }

    /** A copy of {@code map} with {@code key} mapped to {@code value}. */
    static <V> Map<String, V> with(Map<String, V> map, String key, V value) {
        TreeMap<String, V> tree = treeCopy(map);
        tree.put(Objects.requireNonNull(key, "null key"), Objects.requireNonNull(value, "null value"));
        return new Frozen<>(tree);
    }

    /** A copy of {@code map} without {@code key}. */
    static <V> Map<String, V> without(Map<String, V> map, String key) {
        if (!map.containsKey(key)) {
            return frozenCopy(map);
        }
        TreeMap<String, V> tree = treeCopy(map);
        tree.remove(key);
        return new Frozen<>(tree);
    }

    private static <V> TreeMap<String, V> treeCopy(Map<String, V> map) {
        // new TreeMap(SortedMap) builds the tree from the sorted entries in linear time, no comparisons.
        return map instanceof Frozen<V> frozen ? new TreeMap<>(frozen.tree) : new TreeMap<>(frozenCopy(map));
    }

    /** An unmodifiable view of a TreeMap that nobody else holds. */
    static final class Frozen<V> extends AbstractMap<String, V> {
        private static final Frozen<?> EMPTY = new Frozen<>(new TreeMap<>());

        private final TreeMap<String, V> tree;
        private final Map<String, V> view;

        private Frozen(TreeMap<String, V> tree) {
            this.tree = tree;
            this.view = Collections.unmodifiableMap(tree);
        }

        @SuppressWarnings("unchecked")
        static <V> Frozen<V> empty() {
            return (Frozen<V>) EMPTY;
        }

        @Override public int size() { return tree.size(); }
        @Override public boolean isEmpty() { return tree.isEmpty(); }
        @Override public boolean containsKey(Object key) { return key != null && tree.containsKey(key); }
        @Override public V get(Object key) { return key == null ? null : tree.get(key); }
        @Override public Set<Entry<String, V>> entrySet() { return view.entrySet(); }
        @Override public Set<String> keySet() { return view.keySet(); }
        @Override public java.util.Collection<V> values() { return view.values(); }
    }
}
