//! A private tmpfs of bounded size, reachable only through a directory
//! descriptor this process holds.
//!
//! A short-lived child enters a user and mount namespace of its own (so no
//! privilege is needed), mounts a tmpfs with `size=` and `nr_inodes=`
//! there, and passes the open root directory back over a socket before it
//! exits. The size is a real quota: a write past it fails with `ENOSPC`,
//! as on a full disk. No path outside this process reaches the mount (its
//! namespace is gone with the child), so the kernel frees it when the last
//! descriptor closes: at drop, and when the process dies however it dies
//! (a `SIGKILL` or the OOM killer included). The directory is used
//! through `/proc/self/fd/N`.

#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

/// An open private tmpfs.
#[derive(Debug)]
pub(crate) struct PrivateTmpfs {
    root: OwnedFd,
}

/// The steps of the child, for the error that names the one that failed.
const STEPS: [&str; 6] = [
    "",
    "entering a user and mount namespace (unshare)",
    "mapping the user in the namespace",
    "making the namespace's mounts private",
    "mounting the tmpfs",
    "opening the tmpfs",
];

/// What the child sends back: the failed step (0: none) and its errno.
type Report = [u8; 5];

/// Control-message space for one descriptor.
#[repr(C, align(8))]
struct ControlBuffer([u8; 64]);

impl PrivateTmpfs {
    /// Mounts a tmpfs holding at most `max_bytes` of data and `max_inodes`
    /// files and directories.
    pub(crate) fn mount(max_bytes: u64, max_inodes: u64) -> io::Result<PrivateTmpfs> {
        // Everything the child needs is made here: after `fork` in a
        // threaded process the child may only make system calls.
        // SAFETY: getuid/getgid cannot fail and touch no memory.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let text = |s: String| CString::new(s).expect("no NUL");
        let uid_map = format!("0 {uid} 1\n");
        let gid_map = format!("0 {gid} 1\n");
        let paths = [
            text("/proc/self/setgroups".into()),
            text("/proc/self/uid_map".into()),
            text("/proc/self/gid_map".into()),
        ];
        let options = text(format!(
            "size={},nr_inodes={},mode=0700",
            max_bytes.max(4096),
            max_inodes.max(1)
        ));
        let (none, tmpfs, mount_point, root) = (
            text("none".into()),
            text("tmpfs".into()),
            text("/tmp".into()),
            text("/".into()),
        );
        let mut pair = [0 as RawFd; 2];
        // SAFETY: `pair` has room for the two descriptors.
        if unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
                0,
                pair.as_mut_ptr(),
            )
        } != 0
        {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both were just opened and are owned here alone.
        let (parent_end, child_end) =
            unsafe { (OwnedFd::from_raw_fd(pair[0]), OwnedFd::from_raw_fd(pair[1])) };
        // SAFETY: the child runs only system calls on memory prepared
        // above, then `_exit`s; it never returns into Rust code.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        if pid == 0 {
            // SAFETY: see above.
            unsafe {
                child(
                    child_end.as_raw_fd(),
                    &paths,
                    [b"deny".as_slice(), uid_map.as_bytes(), gid_map.as_bytes()],
                    [&none, &tmpfs, &mount_point, &root, &options],
                )
            }
        }
        drop(child_end);
        let received = receive(parent_end.as_raw_fd());
        let mut status = 0;
        // SAFETY: `pid` is our child; `status` is a valid out pointer.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        let (report, fd) = received?;
        if report[0] != 0 {
            let errno = i32::from_ne_bytes([report[1], report[2], report[3], report[4]]);
            let step = STEPS.get(report[0] as usize).copied().unwrap_or("?");
            let error = io::Error::from_raw_os_error(errno);
            return Err(io::Error::new(error.kind(), format!("{step}: {error}")));
        }
        let root = fd.ok_or_else(|| io::Error::other("the mount helper sent no directory"))?;
        Ok(PrivateTmpfs { root })
    }

    /// A path to its root directory, good in this process only.
    pub(crate) fn path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", self.root.as_raw_fd()))
    }
}

/// The child's work: namespaces, mount, and the root sent back. Never
/// returns.
unsafe fn child(
    socket: RawFd,
    id_files: &[CString; 3],
    id_texts: [&[u8]; 3],
    [none, tmpfs, mount_point, root, options]: [&CString; 5],
) -> ! {
    unsafe {
        let fail = |step: u8| -> ! {
            let errno = *libc::__errno_location();
            let e = errno.to_ne_bytes();
            send(socket, &[step, e[0], e[1], e[2], e[3]], None);
            libc::_exit(1)
        };
        if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS) != 0 {
            fail(1);
        }
        for (i, (file, text)) in id_files.iter().zip(id_texts).enumerate() {
            let fd = libc::open(file.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            // Kernels before 3.19 have no `setgroups` file.
            if fd < 0 && i == 0 {
                continue;
            }
            if fd < 0 || libc::write(fd, text.as_ptr().cast(), text.len()) < 0 {
                fail(2);
            }
            libc::close(fd);
        }
        let null = std::ptr::null();
        if libc::mount(
            null,
            root.as_ptr(),
            null,
            libc::MS_REC | libc::MS_PRIVATE,
            null.cast(),
        ) != 0
        {
            fail(3);
        }
        let flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
        if libc::mount(
            none.as_ptr(),
            mount_point.as_ptr(),
            tmpfs.as_ptr(),
            flags,
            options.as_ptr().cast(),
        ) != 0
        {
            fail(4);
        }
        let dir = libc::open(
            mount_point.as_ptr(),
            libc::O_DIRECTORY | libc::O_RDONLY | libc::O_CLOEXEC,
        );
        if dir < 0 {
            fail(5);
        }
        send(socket, &[0; 5], Some(dir));
        libc::_exit(0)
    }
}

/// Sends `report`, and `fd` if given, over `socket`.
unsafe fn send(socket: RawFd, report: &Report, fd: Option<RawFd>) {
    unsafe {
        let mut iov = libc::iovec {
            iov_base: report.as_ptr() as *mut libc::c_void,
            iov_len: report.len(),
        };
        let mut control = ControlBuffer([0; 64]);
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if let Some(fd) = fd {
            msg.msg_control = control.0.as_mut_ptr().cast();
            msg.msg_controllen = libc::CMSG_SPACE(size_of::<RawFd>() as u32) as _;
            let header = libc::CMSG_FIRSTHDR(&msg);
            (*header).cmsg_level = libc::SOL_SOCKET;
            (*header).cmsg_type = libc::SCM_RIGHTS;
            (*header).cmsg_len = libc::CMSG_LEN(size_of::<RawFd>() as u32) as _;
            std::ptr::write_unaligned(libc::CMSG_DATA(header).cast::<RawFd>(), fd);
        }
        libc::sendmsg(socket, &msg, 0);
    }
}

/// Receives the child's report, and the descriptor it sent if any.
fn receive(socket: RawFd) -> io::Result<(Report, Option<OwnedFd>)> {
    let mut report: Report = [0; 5];
    let mut iov = libc::iovec {
        iov_base: report.as_mut_ptr().cast(),
        iov_len: report.len(),
    };
    let mut control = ControlBuffer([0; 64]);
    // SAFETY: msghdr is plain data; every pointer set below outlives the
    // call, and the control message is read only as far as the kernel
    // says it wrote.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.0.as_mut_ptr().cast();
        msg.msg_controllen = control.0.len() as _;
        let n = libc::recvmsg(socket, &mut msg, libc::MSG_CMSG_CLOEXEC);
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n as usize != report.len() {
            return Err(io::Error::other("the mount helper ended without a word"));
        }
        let mut fd = None;
        let header = libc::CMSG_FIRSTHDR(&msg);
        if !header.is_null()
            && (*header).cmsg_level == libc::SOL_SOCKET
            && (*header).cmsg_type == libc::SCM_RIGHTS
        {
            let raw = std::ptr::read_unaligned(libc::CMSG_DATA(header).cast::<RawFd>());
            fd = Some(OwnedFd::from_raw_fd(raw));
        }
        Ok((report, fd))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Skips (with a note) where the system refuses user namespaces.
    fn mounted(bytes: u64, inodes: u64) -> Option<PrivateTmpfs> {
        match PrivateTmpfs::mount(bytes, inodes) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                eprintln!("no private tmpfs here: {e}");
                None
            }
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn writes_past_the_size_fail_as_on_a_full_disk() {
        let Some(fs) = mounted(1 << 20, 100) else {
            return;
        };
        let file = fs.path().join("f");
        std::fs::write(&file, vec![1u8; 512 << 10]).unwrap();
        let error = std::fs::write(fs.path().join("g"), vec![1u8; 1 << 20]).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(libc::ENOSPC), "{error}");
        assert_eq!(std::fs::read(&file).unwrap().len(), 512 << 10);
    }

    #[test]
    fn entries_are_bounded_too() {
        let Some(fs) = mounted(1 << 20, 10) else {
            return;
        };
        let made = (0..20)
            .take_while(|i| std::fs::create_dir(fs.path().join(i.to_string())).is_ok())
            .count();
        assert!(made < 10, "{made} directories in a tmpfs of 10 inodes");
    }

    #[test]
    fn nothing_of_it_is_reachable_by_path_from_outside() {
        let Some(fs) = mounted(1 << 20, 100) else {
            return;
        };
        std::fs::write(fs.path().join("marker-7c1d"), "x").unwrap();
        // The host's /tmp is not the private one.
        assert!(!std::path::Path::new("/tmp/marker-7c1d").exists());
    }
}
