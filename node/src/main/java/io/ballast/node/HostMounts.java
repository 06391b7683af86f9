package io.ballast.node;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ballast.api.ErrorCodes;
import io.ballast.api.Json;
import io.ballast.api.VolumeView;
import io.ballast.frontend.fuse.BlockFileMount;
import io.ballast.replication.VolumeTarget;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Volumes attached on this host as kernel block devices and filesystems: volume → FUSE block
 * file (served by this daemon) → loop device (direct IO) → filesystem mounted at a path, and
 * bind mounts of it at further paths.
 *
 * <p>What it set up is recorded in {@code host-attachments.json} in the data directory, so that
 * after a restart the node can report mounts that outlived it. Such a mount is broken: its loop
 * device still points at the previous daemon's FUSE file, which no longer answers. It is
 * reported, and unmounting it still works.
 *
 * <p>Lock order: a volume's lock ({@link VolumeService#locked}) before this object's monitor,
 * the order a detach takes them too.
 */
final class HostMounts {
    private static final Logger log = LoggerFactory.getLogger(HostMounts.class);

    /** What this node set up for one volume; persisted. */
    record Attachment(String device, List<String> mounts) {}

    /** What {@code volume inspect} shows of it. */
    record View(String device, List<String> mounts, String error) {
        static final View NONE = new View(null, List.of(), null);
    }

    private final VolumeService volumes;
    private final BlockFileMount fuse;
    private final String fuseUnavailable;
    private final HostDevices devices;
    private final Path stateFile;
    private final ObjectMapper json = Json.mapper();
    private final Map<String, Attachment> attachments = new TreeMap<>();
    /** Volumes whose host attachment did not survive a restart, with what to do about it. */
    private final Map<String, String> broken = new HashMap<>();

    /** {@code fuse} is null when this node cannot serve block files; {@code fuseUnavailable} says why. */
    HostMounts(VolumeService volumes, BlockFileMount fuse, String fuseUnavailable, HostDevices devices, Path stateFile) {
        this.volumes = volumes;
        this.fuse = fuse;
        this.fuseUnavailable = fuseUnavailable;
        this.devices = devices;
        this.stateFile = stateFile;
    }

    // ---- requests ------------------------------------------------------------------------

    /** Attaches the volume here as a block device and returns it (/dev/loopN). */
    String attachBlock(String volume) {
        requireFuse();
        return volumes.locked(volume, () -> {
            synchronized (this) {
                if (broken.containsKey(volume)) {
                    repairUnmounted(volume);
                }
                Attachment existing = attachments.get(volume);
                return existing != null ? existing.device() : attachLocked(volume);
            }
        });
    }

    /**
     * Mounts the volume's filesystem at {@code path}, making one first only if the volume is
     * blank, never over data. A second path on this host gets a bind mount of the first.
     */
    VolumeView mount(String volume, Path path) {
        requireFuse();
        Path target = absolute(path);
        return volumes.locked(volume, () -> {
            VolumeView view = volumes.inspect(volume);
            if (view.fs().equals("none")) {
                throw ApiException.invalid("volume " + volume + " has no filesystem (fs none); use 'ballast volume"
                        + " attach " + volume + " --block' for the raw device");
            }
            synchronized (this) {
                if (broken.containsKey(volume)) {
                    repairUnmounted(volume);
                }
                Attachment existing = attachments.get(volume);
                if (existing != null && existing.mounts().contains(target.toString())) {
                    return volumes.inspect(volume);
                }
                if (devices.isMountPoint(target)) {
                    throw ApiException.conflict(target + " is already a mount point; choose an empty directory");
                }
                if (existing != null && !existing.mounts().isEmpty()) {
                    createDirectory(target);
                    devices.bindMount(Path.of(existing.mounts().getFirst()), target);
                    record(volume, existing.device(), plus(existing.mounts(), target));
                    return volumes.inspect(volume);
                }
                boolean attachedBefore = view.state().equals("attached");
                String device = existing != null ? existing.device() : attachLocked(volume);
                try {
                    formatIfBlank(volume, view, device);
                    createDirectory(target);
                    devices.mount(device, target, view.fs());
                } catch (RuntimeException e) {
                    if (existing == null) {
                        undoAttach(volume, device, attachedBefore);
                    }
                    throw e;
                }
                record(volume, device, plus(List.of(), target));
            }
            return volumes.inspect(volume);
        });
    }

    /** Unmounts {@code path}; the last mount of a volume also detaches its device and the volume. */
    VolumeView unmount(Path path) {
        Path target = absolute(path);
        String volume = volumeMountedAt(target);
        return volumes.locked(volume, () -> {
            synchronized (this) {
                Attachment attachment = attachments.get(volume);
                if (attachment == null || !attachment.mounts().contains(target.toString())) {
                    throw ApiException.invalid(target + " is no longer a Ballast mount");
                }
                if (devices.isMountPoint(target)) {
                    devices.unmount(target);
                }
                List<String> left = new ArrayList<>(attachment.mounts());
                left.remove(target.toString());
                if (!left.isEmpty()) {
                    record(volume, attachment.device(), left);
                    return volumes.inspect(volume);
                }
                record(volume, attachment.device(), List.of());
            }
            return volumes.detach(volume); // releases the loop device and the block file first
        });
    }

    /**
     * Called (under the volume's lock) before a volume is detached: refuses while it is mounted,
     * otherwise removes its loop device and block file.
     */
    synchronized void release(String volume) {
        Attachment attachment = attachments.get(volume);
        if (attachment != null && !attachment.mounts().isEmpty()) {
            throw ApiException.conflict("volume " + volume + " is mounted at " + String.join(", ", attachment.mounts())
                    + "; unmount it first (ballast volume unmount " + attachment.mounts().getFirst() + ")");
        }
        if (attachment != null && devices.loopExists(attachment.device())) {
            devices.detachLoop(attachment.device());
        }
        if (fuse != null) {
            fuse.remove(volume);
        }
        if (attachment != null) {
            attachments.remove(volume);
            broken.remove(volume);
            save();
        }
    }

    synchronized View view(String volume) {
        Attachment attachment = attachments.get(volume);
        if (attachment == null) {
            return View.NONE;
        }
        return new View(attachment.device(), List.copyOf(attachment.mounts()), broken.get(volume));
    }

    // ---- start-up ------------------------------------------------------------------------

    /**
     * Reads what the previous run set up. A record whose loop device and mounts are all gone is
     * dropped; anything still there is reported broken: its device reaches a FUSE file that died
     * with the previous daemon.
     */
    synchronized void recover() {
        if (!Files.exists(stateFile)) {
            return;
        }
        Map<String, Attachment> recorded;
        try {
            recorded = json.readValue(Files.readString(stateFile), new TypeReference<TreeMap<String, Attachment>>() {});
        } catch (IOException e) {
            log.error("cannot read {}: {}; host attachments of the previous run are not reported", stateFile,
                    e.getMessage());
            return;
        }
        recorded.forEach((volume, attachment) -> {
            List<String> mounted = attachment.mounts().stream().filter(m -> devices.isMountPoint(Path.of(m))).toList();
            boolean loop = devices.loopExists(attachment.device());
            if (mounted.isEmpty() && !loop) {
                return;
            }
            attachments.put(volume, new Attachment(attachment.device(), mounted));
            String what = mounted.isEmpty() ? "attached as " + attachment.device()
                    : "mounted at " + String.join(", ", mounted);
            String todo = mounted.isEmpty() ? "detach it (ballast volume detach " + volume + ") or attach it again"
                    : "unmount it (ballast volume unmount " + mounted.getFirst() + ") and mount it again";
            broken.put(volume, "the node restarted while the volume was " + what + "; " + attachment.device()
                    + " no longer reaches the volume and fails IO: " + todo);
            log.warn("volume {}: {}", volume, broken.get(volume));
        });
        save();
    }

    // ---- helpers -------------------------------------------------------------------------

    private String attachLocked(String volume) {
        VolumeTarget target = volumes.attachHere(volume);
        Path file = fuse.contains(volume) ? fuse.mountPoint().resolve(volume) : fuse.add(volume, target);
        String device;
        try {
            device = devices.attachLoop(file);
        } catch (RuntimeException e) {
            fuse.remove(volume);
            throw e;
        }
        record(volume, device, List.of());
        return device;
    }

    /** A broken attachment with nothing mounted is replaced by a fresh one. */
    private void repairUnmounted(String volume) {
        Attachment attachment = attachments.get(volume);
        if (attachment != null && !attachment.mounts().isEmpty()) {
            throw ApiException.conflict(broken.get(volume));
        }
        if (attachment != null && devices.loopExists(attachment.device())) {
            devices.detachLoop(attachment.device());
        }
        attachments.remove(volume);
        broken.remove(volume);
        save();
    }

    private void formatIfBlank(String volume, VolumeView view, String device) {
        HostDevices.Probe probe = devices.probe(device);
        if (probe.blank()) {
            // usedBytes counts a volume's own layers only: a clone's data lives in its source's
            // snapshot, so a clone is never taken for blank.
            if (view.usedBytes() > 0 || view.source() != null) {
                throw ApiException.conflict("volume " + volume + " holds data but no filesystem that blkid recognises;"
                        + " refusing to format it. Use 'ballast volume attach " + volume + " --block' to look at it");
            }
            log.info("volume {}: blank, making an {} filesystem", volume, view.fs());
            devices.mkfs(device, view.fs());
        } else if (!probe.type().equals(view.fs())) {
            throw ApiException.conflict("volume " + volume + " holds a " + probe.type() + " filesystem, not " + view.fs()
                    + " as its fs says; nothing was changed");
        }
    }

    private void undoAttach(String volume, String device, boolean attachedBefore) {
        try {
            devices.detachLoop(device);
            fuse.remove(volume);
            attachments.remove(volume);
            save();
            if (!attachedBefore) {
                volumes.detach(volume);
            }
        } catch (RuntimeException e) {
            log.error("volume {}: could not undo a failed mount: {}", volume, e.getMessage());
        }
    }

    private synchronized String volumeMountedAt(Path path) {
        for (Map.Entry<String, Attachment> e : attachments.entrySet()) {
            if (e.getValue().mounts().contains(path.toString())) {
                return e.getKey();
            }
        }
        if (devices.isMountPoint(path)) {
            throw ApiException.invalid(path + " is not a Ballast mount; unmount it with umount");
        }
        throw ApiException.invalid(path + " is not mounted");
    }

    private void record(String volume, String device, List<String> mounts) {
        attachments.put(volume, new Attachment(device, List.copyOf(mounts)));
        save();
    }

    /** Written atomically: a torn file would lose track of mounts after a crash. */
    private void save() {
        Path temp = stateFile.resolveSibling(stateFile.getFileName() + ".tmp");
        try {
            Files.writeString(temp, json.writeValueAsString(attachments), StandardCharsets.UTF_8);
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                channel.force(true);
            }
            Files.move(temp, stateFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new ApiException(ErrorCodes.INTERNAL, "cannot record host attachments in " + stateFile + ": "
                    + e.getMessage());
        }
    }

    private void requireFuse() {
        if (fuse == null) {
            throw new ApiException(ErrorCodes.UNAVAILABLE, "this node cannot attach volumes as block devices: "
                    + fuseUnavailable);
        }
    }

    private static Path absolute(Path path) {
        if (!path.isAbsolute()) {
            throw ApiException.invalid("mount path " + path + " must be absolute");
        }
        return path.normalize();
    }

    private static void createDirectory(Path path) {
        try {
            Files.createDirectories(path);
        } catch (IOException e) {
            throw ApiException.invalid("cannot create mount point " + path + ": " + e.getMessage());
        }
    }

    private static List<String> plus(List<String> mounts, Path path) {
        List<String> all = new ArrayList<>(mounts);
        all.add(path.toString());
        return all;
    }
}
