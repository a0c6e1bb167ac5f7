//! `--vfs`: an in-memory copy behaves like a real preopen, and nothing
//! reaches the host disk.

use crate::support::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;
use test_programs_artifacts::LEGACY;

/// A corpus: two files and a nested directory.
fn corpus() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "alpha\n").unwrap();
    std::fs::create_dir_all(dir.path().join("sub/deeper")).unwrap();
    std::fs::write(dir.path().join("sub/b.txt"), "beta\n").unwrap();
    dir
}

/// Every path under `root` with its size and modification time.
fn tree(root: &Path) -> BTreeMap<String, (u64, SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            let rel = e.path().strip_prefix(root).unwrap().display().to_string();
            out.insert(
                rel,
                (
                    if meta.is_dir() { 0 } else { meta.len() },
                    meta.modified().unwrap(),
                ),
            );
            if meta.is_dir() {
                stack.push(e.path());
            }
        }
    }
    out
}

/// The same operations, as one `legacy fs` script.
const SCRIPT: &[&str] = &[
    "ls",
    "/d",
    ",",
    "read",
    "/d/a.txt",
    ",",
    "write",
    "/d/a.txt",
    "changed",
    ",",
    "read",
    "/d/a.txt",
    ",",
    "mkdir",
    "/d/new",
    ",",
    "write",
    "/d/new/c.txt",
    "gamma",
    ",",
    "mv",
    "/d/sub/b.txt",
    "/d/new/b.txt",
    ",",
    "ls",
    "/d/new",
    ",",
    "stat",
    "/d/new/c.txt",
    ",",
    "rm",
    "/d/new/c.txt",
    ",",
    "rmdir",
    "/d/sub/deeper",
    ",",
    "rmdir",
    "/d/sub",
    ",",
    "ls",
    "/d",
    ",",
    "stat",
    "/d/missing",
    ",",
    "read",
    "/d/../escape",
    ",",
    "mkdir",
    "/d/new",
];

fn run_script(grant_flag: &str, grant: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", grant_flag, grant];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[guest(LEGACY), "fs"]);
    args.extend_from_slice(SCRIPT);
    run(&args)
}

#[test]
fn same_outcomes_as_a_real_preopen() {
    let real = corpus();
    let source = corpus();
    let out_parent = tempfile::tempdir().unwrap();
    let out = out_parent.path().join("state");

    let with_dir = run_script("--dir", &format!("{}::/d", real.path().display()), &[]);
    assert_exit(&with_dir, 0);
    let with_vfs = run_script(
        "--vfs",
        &format!("{}::/d", source.path().display()),
        &["--vfs-out", out.to_str().unwrap()],
    );
    assert_exit(&with_vfs, 0);
    assert_eq!(stdout(&with_vfs), stdout(&with_dir));
    assert!(
        stdout(&with_vfs).contains("mv /d/sub/b.txt /d/new/b.txt -> ok"),
        "{}",
        stdout(&with_vfs)
    );
    assert!(
        stdout(&with_vfs).contains("read /d/../escape -> error"),
        "{}",
        stdout(&with_vfs)
    );

    // The written-out state is the real directory's final state.
    let names = |t: BTreeMap<String, (u64, SystemTime)>| {
        t.into_iter()
            .map(|(k, (len, _))| (k, len))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(tree(&out)), names(tree(real.path())));
    assert_eq!(
        std::fs::read_to_string(out.join("a.txt")).unwrap(),
        "changed"
    );
}

#[test]
fn nothing_reaches_the_host_disk() {
    let source = corpus();
    let before = tree(source.path());
    let o = run_script("--vfs", &format!("{}::/d", source.path().display()), &[]);
    assert_exit(&o, 0);
    assert!(stdout(&o).contains("write /d/a.txt changed -> ok"));
    assert_eq!(
        tree(source.path()),
        before,
        "names, sizes and mtimes unchanged"
    );
}

/// A `.tar` source is unpacked, without its symlinks (the low finding on
/// archives: as for a directory source, none is created).
#[test]
fn tar_archive_source() {
    let source = corpus();
    std::os::unix::fs::symlink("/etc/passwd", source.path().join("link")).unwrap();
    let (_archive_dir, archive) = tar_of(source.path());
    let o = run(&[
        "run",
        "--vfs",
        &format!("{}::/d", archive.display()),
        guest(LEGACY),
        "fs",
        "read",
        "/d/sub/b.txt",
        ",",
        "ls",
        "/d",
        ",",
        "read",
        "/d/link",
    ]);
    assert_exit(&o, 0);
    assert_eq!(
        stdout(&o),
        "read /d/sub/b.txt -> \"beta\\n\"\nls /d -> a.txt sub/\nread /d/link -> error: NotFound\n"
    );
}

#[test]
fn vfs_out_is_only_written_after_success_and_never_over_a_directory() {
    let source = corpus();
    let parent = tempfile::tempdir().unwrap();
    let out = parent.path().join("state");
    let spec = format!("{}::/d", source.path().display());
    let with_out = |command: &[&str]| {
        let mut args = vec![
            "run",
            "--vfs",
            &spec,
            "--vfs-out",
            out.to_str().unwrap(),
            guest(LEGACY),
        ];
        args.extend_from_slice(command);
        run(&args)
    };
    let o = with_out(&["cat", "/d/nope"]);
    assert_exit(&o, 1);
    assert!(!out.exists(), "a failed run writes nothing out");

    std::fs::create_dir(&out).unwrap();
    let o = with_out(&["exit", "0"]);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));

    let o = run(&["run", "--vfs-out", "x", guest(LEGACY), "exit", "0"]);
    assert_exit(&o, 2);
    let o = run(&[
        "run",
        "--vfs",
        "/no/such/dir::/d",
        guest(LEGACY),
        "exit",
        "0",
    ]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).starts_with("error: invalid `--vfs /no/such/dir::/d`"),
        "{}",
        stderr(&o)
    );
}

/// The `nanopod-vfs-*` entries in `dir`.
fn vfs_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("nanopod-vfs-"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Issue 14, section 1: `--vfs` space is bounded (`--vfs-max`, default
/// `--max-memory`): a write past it fails as on a full disk, and the run
/// goes on.
#[test]
fn writes_past_vfs_max_fail_as_on_a_full_disk_and_the_run_goes_on() {
    let source = corpus();
    let spec = format!("{}::/d", source.path().display());
    for limit in [["--vfs-max", "4MiB"], ["--max-memory", "4MiB"]] {
        let o = run(&[
            "run",
            "--vfs",
            &spec,
            limit[0],
            limit[1],
            guest(LEGACY),
            "fs",
            "fill",
            "/d/big",
            "8",
            ",",
            "rm",
            "/d/big",
            ",",
            "write",
            "/d/small",
            "fits",
            ",",
            "read",
            "/d/small",
        ]);
        assert_exit(&o, 0);
        assert_eq!(
            stdout(&o),
            "fill /d/big 8 -> error: insufficient-space\nrm /d/big -> ok\nwrite /d/small fits -> ok\nread /d/small -> \"fits\"\n",
            "{limit:?}"
        );
    }
    // Under the limit, the same write succeeds.
    let o = run(&[
        "run",
        "--vfs",
        &spec,
        "--vfs-max",
        "16MiB",
        guest(LEGACY),
        "fs",
        "fill",
        "/d/big",
        "8",
    ]);
    assert_eq!(stdout(&o), "fill /d/big 8 -> ok\n");
}

/// A source larger than the space is refused before the run.
#[test]
fn a_vfs_source_larger_than_vfs_max_is_refused_before_the_run() {
    let source = corpus();
    std::fs::write(source.path().join("big"), vec![0u8; 3 << 20]).unwrap();
    let spec = format!("{}::/d", source.path().display());
    let o = run(&[
        "run",
        "--vfs",
        &spec,
        "--vfs-max",
        "1MiB",
        guest(LEGACY),
        "cat",
        "/d/a.txt",
    ]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o)
            .ends_with("does not fit in 1 MiB of in-memory space (raise it with --vfs-max)\n"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stdout(&o), "");
}

/// Finding 3 (and section 1): a `nanopod` killed with SIGKILL mid-run
/// leaves no copy behind: the copy is a private tmpfs the kernel frees.
#[test]
fn finding_03_a_killed_run_leaves_no_vfs_copy_behind() {
    let source = corpus();
    std::fs::write(source.path().join("payload"), vec![1u8; 4 << 20]).unwrap();
    let before = (
        vfs_entries(Path::new("/dev/shm")),
        vfs_entries(Path::new("/tmp")),
    );
    let spec = format!("{}::/d", source.path().display());
    let (mut child, _) = legacy_listening(guest(LEGACY), &["--vfs", &spec]);
    child.kill().unwrap();
    child.wait().unwrap();
    let after = (
        vfs_entries(Path::new("/dev/shm")),
        vfs_entries(Path::new("/tmp")),
    );
    assert_eq!(after, before, "nothing new in /dev/shm or /tmp");
}

/// A directory `PREFIX{pid}-abcdef` holding a file in `root`, for a pid
/// no process has (above the kernel's largest).
fn left_by_a_dead_process(root: &std::path::Path, prefix: &str) -> std::path::PathBuf {
    let stale = root.join(format!("{prefix}4194305-abcdef"));
    std::fs::create_dir(&stale).unwrap();
    std::fs::write(stale.join("left.txt"), "x").unwrap();
    stale
}

/// `legacy cat /d/a.txt` with `--vfs SOURCE::/d`, its copy made under
/// `NANOPOD_VFS_ROOT=root`.
fn cat_a_txt_under_vfs_root(
    root: &std::path::Path,
    source: &std::path::Path,
) -> std::process::Output {
    nanopod()
        .env("NANOPOD_VFS_ROOT", root)
        .args([
            "run",
            "--vfs",
            &format!("{}::/d", source.display()),
            guest(LEGACY),
            "cat",
            "/d/a.txt",
        ])
        .output()
        .unwrap()
}

/// With `NANOPOD_VFS_ROOT` (for systems that refuse user namespaces),
/// copies whose process died are swept at the next start, and a run
/// removes its own.
#[test]
fn copies_under_nanopod_vfs_root_of_dead_processes_are_swept() {
    let root = tempfile::tempdir().unwrap();
    let stale = left_by_a_dead_process(root.path(), "nanopod-vfs-");
    let source = corpus();
    let o = cat_a_txt_under_vfs_root(root.path(), source.path());
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "alpha\n");
    assert_eq!(vfs_entries(root.path()), Vec::<String>::new());
    assert!(!stale.exists(), "the dead process's copy is gone");
}

/// The low finding on a `--vfs` source that holds the copy's own place
/// (`NANOPOD_VFS_ROOT` inside it): refused at once, exit 2, instead of
/// copying itself until `File name too long`.
#[test]
fn finding_low_a_vfs_source_holding_nanopod_vfs_root_is_refused() {
    let source = corpus();
    let root = source.path().join("vfs-root");
    std::fs::create_dir(&root).unwrap();
    let o = cat_a_txt_under_vfs_root(&root, source.path());
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("holds NANOPOD_VFS_ROOT")
            && stderr(&o).contains("set NANOPOD_VFS_ROOT outside it"),
        "{}",
        stderr(&o)
    );
    assert_eq!(vfs_entries(&root), Vec::<String>::new());
}

/// A `--vfs-out` tree left half-written by a killed run (its staging
/// directory beside the destination) is removed by the next write-out
/// there; one of a process still running is left alone.
#[test]
fn staging_trees_of_dead_runs_are_swept_by_the_next_vfs_out() {
    let parent = tempfile::tempdir().unwrap();
    let stale = left_by_a_dead_process(parent.path(), ".nanopod-vfs-out-");
    let alive = parent
        .path()
        .join(format!(".nanopod-vfs-out-{}-abcdef", std::process::id()));
    std::fs::create_dir(&alive).unwrap();
    let source = corpus();
    let out = parent.path().join("state");
    let o = run(&[
        "run",
        "--vfs",
        &format!("{}::/d", source.path().display()),
        "--vfs-out",
        out.to_str().unwrap(),
        guest(LEGACY),
        "cat",
        "/d/a.txt",
    ]);
    assert_exit(&o, 0);
    assert!(!stale.exists(), "the dead run's staging tree is gone");
    assert!(alive.exists(), "a live process's is kept");
    assert_eq!(
        std::fs::read_to_string(out.join("a.txt")).unwrap(),
        "alpha\n"
    );
}
