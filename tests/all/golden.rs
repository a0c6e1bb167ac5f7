//! File-driven CLI cases. Each `tests/golden/NAME.golden` holds:
//!
//! ```text
//! args: run {kitchen} --invoke add 1 x
//! exit: 2
//! --- stdout
//! --- stderr
//! error: invalid value `x` for `--b` (u32): invalid digit found in string
//! ```
//!
//! `{name}` stands for the path of a built guest (and `{examples}` for the
//! examples folder); paths in the output are turned back into placeholders.
//! Arguments are split on spaces; `'…'` keeps spaces. `BLESS=1` rewrites the
//! expected output from what the binary prints.

use crate::support::nanopod;
use std::path::{Path, PathBuf};

fn placeholders() -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = test_programs_artifacts::ALL
        .iter()
        .map(|(name, path)| (format!("{{{name}}}"), path.to_string()))
        .collect();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    p.push(("{examples}".into(), examples.display().to_string()));
    p
}

fn split_args(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

struct Case {
    args: String,
    exit: i32,
    stdout: String,
    stderr: String,
}

fn parse(text: &str, file: &Path) -> Case {
    let (head, rest) = text
        .split_once("--- stdout\n")
        .unwrap_or_else(|| panic!("{}: no `--- stdout` line", file.display()));
    let (out, err) = rest
        .split_once("--- stderr\n")
        .unwrap_or_else(|| panic!("{}: no `--- stderr` line", file.display()));
    let mut args = None;
    let mut exit = None;
    for line in head.lines() {
        if let Some(a) = line.strip_prefix("args: ") {
            args = Some(a.to_string());
        } else if let Some(e) = line.strip_prefix("exit: ") {
            exit = Some(e.trim().parse().expect("exit code"));
        }
    }
    Case {
        args: args.expect("args: line"),
        exit: exit.expect("exit: line"),
        stdout: out.to_string(),
        stderr: err.to_string(),
    }
}

fn render(c: &Case) -> String {
    format!(
        "args: {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
        c.args, c.exit, c.stdout, c.stderr
    )
}

#[test]
fn golden_cli_cases() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let bless = std::env::var_os("BLESS").is_some();
    let subs = placeholders();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "golden"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 20,
        "expected the golden cases in {}",
        dir.display()
    );
    let mut failures = Vec::new();
    for file in &files {
        let expected = parse(&std::fs::read_to_string(file).unwrap(), file);
        let mut line = expected.args.clone();
        for (k, v) in &subs {
            line = line.replace(k, v);
        }
        let out = nanopod()
            .args(split_args(&line))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        let unsub = |bytes: &[u8]| {
            let mut s = String::from_utf8_lossy(bytes).into_owned();
            for (k, v) in &subs {
                s = s.replace(v, k);
            }
            s
        };
        let actual = Case {
            args: expected.args.clone(),
            exit: out.status.code().unwrap_or(-1),
            stdout: unsub(&out.stdout),
            stderr: unsub(&out.stderr),
        };
        if bless {
            std::fs::write(file, render(&actual)).unwrap();
        } else if render(&actual) != render(&expected) {
            failures.push(format!(
                "{}:\n--- expected\n{}\n--- actual\n{}",
                file.display(),
                render(&expected),
                render(&actual)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
