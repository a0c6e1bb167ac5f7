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

#[test]
fn tar_archive_source() {
    let source = corpus();
    let (_archive_dir, archive) = tar_of(source.path());
    let o = run(&[
        "run",
        "--vfs",
        &format!("{}::/d", archive.display()),
        guest(LEGACY),
        "cat",
        "/d/sub/b.txt",
    ]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "beta\n");
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
