//! The container's mounts as directory grants.
//!
//! runwasi hands the sandbox a container's args, env and entry point, not
//! its spec, and calls it inside the container, after the mounts are made:
//! so the mounts are read from where the kernel reports them,
//! `/proc/self/mountinfo`. Each mounted directory (a `--mount` of `ctr`, a
//! Kubernetes volume) is granted at its own path, read-only when mounted
//! so; the rootfs itself, the runtime's `/run` tmpfs and the kernel's
//! filesystems (`/proc`, `/sys`, `/dev`, cgroups) are never granted: through `/proc/self/mem` a guest
//! could otherwise reach its host's memory.

use std::path::PathBuf;

/// A directory mounted into the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mount {
    /// Where it is mounted (the guest sees it at the same path).
    pub(crate) path: PathBuf,
    /// Whether it is mounted read-only.
    pub(crate) read_only: bool,
}

/// Filesystem types of the kernel's own trees, never granted.
const KERNEL_FILESYSTEMS: &[&str] = &[
    "proc",
    "sysfs",
    "devpts",
    "devtmpfs",
    "mqueue",
    "cgroup",
    "cgroup2",
    "securityfs",
    "debugfs",
    "tracefs",
    "bpf",
    "binfmt_misc",
    "hugetlbfs",
    "fusectl",
    "configfs",
];

/// Trees never granted, whatever is mounted under them.
const KERNEL_TREES: &[&str] = &["/proc", "/sys", "/dev"];

/// The scratch tmpfs containerd's default spec mounts in every container:
/// not something the user granted.
const RUNTIME_SCRATCH: &str = "/run";

/// The mounts of `/proc/self/mountinfo` text worth granting, in order:
/// neither the rootfs nor a kernel filesystem, nor anything under
/// `/proc`, `/sys` or `/dev`, nor the runtime's own `/run` tmpfs. Whether
/// each is a directory is left to the caller (a file mount such as
/// `/etc/hosts` is skipped there).
pub(crate) fn grantable(mountinfo: &str) -> Vec<Mount> {
    mountinfo
        .lines()
        .filter_map(|line| {
            // `ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL…] - TYPE SOURCE SUPER`
            let (before, after) = line.split_once(" - ")?;
            let fields: Vec<&str> = before.split(' ').collect();
            let point = unescape(fields.get(4)?);
            let options = fields.get(5)?;
            let fstype = after.split(' ').next()?;
            let kernel_tree = KERNEL_TREES
                .iter()
                .any(|t| point == *t || point.starts_with(&format!("{t}/")));
            let runtime_scratch = point == RUNTIME_SCRATCH && fstype == "tmpfs";
            if point == "/"
                || kernel_tree
                || runtime_scratch
                || KERNEL_FILESYSTEMS.contains(&fstype)
            {
                return None;
            }
            Some(Mount {
                path: PathBuf::from(point),
                read_only: options.split(',').any(|o| o == "ro"),
            })
        })
        .collect()
}

/// The directories mounted into this container (see [`grantable`]).
pub(crate) fn current() -> std::io::Result<Vec<Mount>> {
    let text = std::fs::read_to_string("/proc/self/mountinfo")?;
    Ok(grantable(&text)
        .into_iter()
        .filter(|m| m.path.is_dir())
        .collect())
}

/// Mount points escape space, tab, newline and backslash as octal.
fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut rest = field;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let code = rest.get(i + 1..i + 4);
        match code.and_then(|c| u8::from_str_radix(c, 8).ok()) {
            Some(byte) => {
                out.push(char::from(byte));
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
1 0 0:50 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
2 1 0:51 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
3 1 0:52 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755
4 3 0:53 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,gid=5,mode=620
5 3 0:54 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k
6 1 0:55 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro
7 6 0:56 / /sys/fs/cgroup ro,relatime - cgroup2 cgroup rw
8 1 8:1 /srv/data /data rw,relatime master:1 - ext4 /dev/sda1 rw
9 1 8:1 /srv/conf /etc/app ro,relatime - ext4 /dev/sda1 rw
10 1 8:1 /srv/my\\040files /my\\040files rw,relatime - ext4 /dev/sda1 rw
11 1 0:57 / /scratch rw,relatime - tmpfs tmpfs rw
12 2 0:51 /sys /proc/sys ro,relatime - proc proc rw
13 1 0:58 / /run rw,nosuid,nodev,relatime - tmpfs tmpfs rw,size=65536k,mode=755
14 13 8:1 /srv/sock /run/app rw,relatime - ext4 /dev/sda1 rw
";

    #[test]
    fn bind_mounts_are_granted_kernel_trees_and_the_rootfs_are_not() {
        let mounts = grantable(MOUNTINFO);
        let paths: Vec<_> = mounts.iter().map(|m| m.path.to_str().unwrap()).collect();
        assert_eq!(
            paths,
            ["/data", "/etc/app", "/my files", "/scratch", "/run/app"]
        );
        assert!(!mounts[0].read_only);
        assert!(mounts[1].read_only, "mounted ro, granted read-only");
    }

    #[test]
    fn malformed_lines_are_skipped() {
        assert!(grantable("garbage\n1 2 3 - x\n").is_empty());
        assert_eq!(unescape("a\\04"), "a\\04");
        assert_eq!(unescape("tab\\011x\\\\"), "tab\tx\\\\");
    }
}
