//! `nanopod virtualize`: files embedded in the component behave like a real
//! read-only preopen, the output imports no filesystem, and bad inputs are
//! refused with nothing written.

use crate::support::*;
use std::path::Path;
use test_programs_artifacts::{FILES, LEGACY, UPPER};

/// A corpus: files, a nested and an empty directory, a 3 MiB file (more
/// than one read of the image), and a symlink leading out of it.
fn corpus() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "alpha\n").unwrap();
    std::fs::create_dir_all(dir.path().join("sub/empty")).unwrap();
    std::fs::write(dir.path().join("sub/b.txt"), "beta\n").unwrap();
    let big: Vec<u8> = (0..3 * 1024 * 1024 + 7).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.path().join("sub/big.bin"), big).unwrap();
    std::fs::write(dir.path().join("../secret-outside.txt"), "SECRET").unwrap();
    std::os::unix::fs::symlink(
        dir.path().join("../secret-outside.txt"),
        dir.path().join("leak"),
    )
    .unwrap();
    dir
}

/// A corpus, its `--dir` spec (seen as `/d`), and a temporary directory
/// for outputs.
struct Fixture {
    dir: tempfile::TempDir,
    spec: String,
    out: std::path::PathBuf,
    _work: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = corpus();
    let work = tempfile::tempdir().unwrap();
    Fixture {
        spec: format!("{}::/d", dir.path().display()),
        out: work.path().join("files.virt.wasm"),
        dir,
        _work: work,
    }
}

/// Virtualizes `FILES` with `args`, into `out`.
fn virtualize(args: &[&str], out: &Path) -> std::process::Output {
    let mut all = vec!["virtualize"];
    all.extend_from_slice(args);
    all.extend_from_slice(&[guest(FILES), "-o", out.to_str().unwrap()]);
    run(&all)
}

/// `files` operations, comma-separated.
fn ops(list: &[&[&str]]) -> Vec<String> {
    list.join(&[","][..])
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[test]
fn embedded_files_read_like_a_real_read_only_preopen() {
    let Fixture { spec, out, .. } = &fixture();
    let o = virtualize(&["--dir", spec], out);
    assert_exit(&o, 0);
    assert!(stderr(&o).contains("3 files"), "{}", stderr(&o));

    let script = ops(&[
        &["cat", "/d/a.txt"],
        &["ls", "/d"],
        &["ls", "/d/sub"],
        &["ls", "/d/sub/empty"],
        &["stat", "/d/sub"],
        &["stat", "/d/sub/b.txt"],
        &["cat", "/d/sub/../a.txt"],
        &["sum", "/d/sub/big.bin"],
        &["cat", "/d/missing"],
        &["cat", "/d/sub"],
        &["ls", "/d/a.txt"],
        &["cat", "/d/../secret-outside.txt"],
        &["cat", "/d/leak"],
    ]);
    let script: Vec<&str> = script.iter().map(String::as_str).collect();
    let real = run(&[&["run", "--ro-dir", spec, guest(FILES)], &script[..]].concat());
    let virt = run(&[&["run", out.to_str().unwrap()], &script[..]].concat());
    assert_eq!(real.status.code(), virt.status.code());
    // The symlink is not embedded (it leads out of the directory); a real
    // preopen lists it and refuses to follow it. Every other outcome is
    // the same.
    let (real_out, virt_out) = (stdout(&real), stdout(&virt));
    let differs: Vec<(&str, &str)> = real_out
        .lines()
        .zip(virt_out.lines())
        .filter(|(r, v)| r != v)
        .collect();
    let lines: Vec<&str> = virt_out.lines().collect();
    assert!(
        differs
            .iter()
            .all(|(r, _)| r.starts_with("cat /d/leak") || r.starts_with("ls /d -> ")),
        "differs from a real preopen: {differs:#?}"
    );
    for expected in [
        "cat /d/a.txt -> alpha",
        "ls /d -> a.txt sub",
        "ls /d/sub -> b.txt big.bin empty",
        "stat /d/sub/b.txt -> file 5 bytes",
        "sum /d/sub/big.bin -> 3145735 bytes",
        "cat /d/missing -> error: entity not found",
        "cat /d/leak -> error: entity not found",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(expected)),
            "no `{expected}` in {lines:#?}"
        );
    }
    assert!(
        !std::fs::read(out)
            .unwrap()
            .windows(6)
            .any(|w| w == b"SECRET"),
        "the symlink's target must not be embedded"
    );
}

#[test]
fn output_imports_no_filesystem_and_inspect_says_what_it_carries() {
    let Fixture { spec, out, .. } = &fixture();
    assert_exit(&virtualize(&["--dir", spec], out), 0);
    let o = run(&["inspect", "--json", out.to_str().unwrap()]);
    assert_exit(&o, 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let imports: Vec<&str> = v["capabilities"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|c| c["imports"].as_array().unwrap())
        .map(|i| i.as_str().unwrap())
        .collect();
    assert!(!imports.is_empty());
    assert!(
        imports.iter().all(|i| !i.starts_with("wasi:filesystem")),
        "{imports:?}"
    );
    assert_eq!(
        v["virtualized"],
        "3 files (3145746 bytes) in /d; the host's environment"
    );
    let text = stdout(&run(&["inspect", out.to_str().unwrap()]));
    assert!(
        text.contains("virtualized by `nanopod virtualize`: 3 files"),
        "{text}"
    );
}

#[test]
fn embedded_environment_replaces_the_hosts_and_writes_are_refused() {
    let Fixture { dir, spec, out, .. } = &fixture();
    assert_exit(
        &virtualize(&["--dir", spec, "--env", "GREETING=hi"], out),
        0,
    );
    // The host grants OTHER at run time.
    let run_with_other = |script: &[&str]| {
        run(&[&["run", "--env", "OTHER=x", out.to_str().unwrap()], script].concat())
    };
    let o = run_with_other(&[
        "env",
        "GREETING",
        ",",
        "env",
        "OTHER",
        ",",
        "write",
        "/d/new.txt",
        "x",
        ",",
        "write",
        "/d/a.txt",
        "x",
        ",",
        "mkdir",
        "/d/n",
        ",",
        "rm",
        "/d/a.txt",
    ]);
    assert_exit(&o, 1);
    assert_eq!(
        stdout(&o),
        "env GREETING -> hi\n\
         env OTHER -> error: not set\n\
         write /d/new.txt x -> error: read-only filesystem or storage medium\n\
         write /d/a.txt x -> error: read-only filesystem or storage medium\n\
         mkdir /d/n -> error: read-only filesystem or storage medium\n\
         rm /d/a.txt -> error: read-only filesystem or storage medium\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.txt")).unwrap(),
        "alpha\n"
    );

    // Without --env, the environment granted at run time passes through.
    assert_exit(&virtualize(&["--dir", spec], out), 0);
    let o = run_with_other(&["env", "OTHER"]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "env OTHER -> x\n");
}

#[test]
fn a_tar_archive_embeds_like_its_directory() {
    let Fixture { dir, out, .. } = &fixture();
    let (_archive_dir, archive) = tar_of(dir.path());
    let spec = format!("{}::/d", archive.display());
    assert_exit(&virtualize(&["--dir", &spec], out), 0);
    let o = run(&[
        "run",
        out.to_str().unwrap(),
        "cat",
        "/d/sub/b.txt",
        ",",
        "ls",
        "/d/sub",
    ]);
    assert_exit(&o, 0);
    assert_eq!(
        stdout(&o),
        "cat /d/sub/b.txt -> beta\n\nls /d/sub -> b.txt big.bin empty\n"
    );
}

#[test]
fn bad_inputs_are_refused_with_nothing_written() {
    let Fixture { spec, out, .. } = &fixture();
    let not_wasm = out.with_file_name("notes.txt");
    std::fs::write(&not_wasm, "not a component").unwrap();
    let not_a_dir = format!("{}::/d", not_wasm.display());
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--dir", "/no/such/dir::/d", guest(FILES)],
            "cannot open `/no/such/dir`",
        ),
        (
            vec!["--dir", &spec, guest(LEGACY)],
            "which shares wasi:io streams with the filesystem",
        ),
        (
            vec!["--dir", &spec, guest(UPPER)],
            "does not import wasi:filesystem",
        ),
        (vec![guest(FILES)], "nothing to virtualize"),
        (
            vec!["--dir", &not_a_dir, guest(FILES)],
            "is neither a directory nor a .tar archive",
        ),
        (
            vec!["--dir", &spec, not_wasm.to_str().unwrap()],
            "notes.txt",
        ),
        (
            vec!["--env", "NOT_SET_ANYWHERE_42", guest(FILES)],
            "`NOT_SET_ANYWHERE_42` is not set",
        ),
    ];
    for (args, message) in cases {
        let o = run(&[&["virtualize"], &args[..], &["-o", out.to_str().unwrap()]].concat());
        assert_exit(&o, 2);
        let err = stderr(&o);
        assert!(err.contains(message), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(!out.exists(), "{args:?} left an output behind");
    }
}
