/**
 * The FUSE frontend: {@link io.ballast.frontend.fuse.BlockFileMount}, a daemon-owned FUSE mount
 * in which each attached volume is one regular file, for {@code losetup --direct-io=on}.
 *
 * <p>What of a file's interface is served: getattr (mode 0600, size read from the target every
 * time), read and write (short only across the end; a write at or past the end is
 * {@code EFBIG}), fsync and fdatasync (a target flush), fallocate (punch hole: trim; zero range:
 * write zeroes; plain: nothing, blocks are allocated on write; anything else:
 * {@code EOPNOTSUPP}) and truncate to the current size only ({@code EPERM} otherwise). The
 * root directory lists the files; nothing can be created, renamed or removed through FUSE.
 * Target errors map as: out of range {@code EINVAL}, pool full {@code ENOSPC}, anything else
 * (a detached volume included) {@code EIO}.
 */
package io.ballast.frontend.fuse;
