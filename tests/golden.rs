//! File-driven CLI cases, one test per file in `tests/golden/`
//! (libtest-mimic trials, as wasm-tools' `tests/cli.rs` runs its cases).
//! Each `NAME.golden` holds:
//!
//! ```text
//! args: run {kitchen} --invoke add 1 x
//! exit: 2
//! --- input pod.toml          (any number: written to %tmpdir first)
//! …
//! --- stdout
//! --- stderr
//! error: invalid value `x` for `--b` (u32): invalid digit found in string
//! --- output out.txt          (any number: what %tmpdir/out.txt holds after)
//! …
//! ```
//!
//! `{name}` stands for the path of a built guest, `{examples}` for the
//! examples folder and `%tmpdir` for a fresh directory of the case's own;
//! they are substituted in the arguments and inputs, and turned back into
//! placeholders in what the binary prints and writes. Arguments are split on
//! spaces; `'…'` keeps spaces. `BLESS=1 cargo test --test golden` rewrites
//! the expected output from what the binary prints.

#[path = "common/mod.rs"]
mod common;

use common::nanopod;
use libtest_mimic::{Arguments, Failed, Trial};
use std::path::{Path, PathBuf};

/// The placeholder of a case's own directory.
const TMPDIR: &str = "%tmpdir";

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

/// One case, as written in its file.
#[derive(PartialEq, Eq)]
struct Case {
    args: String,
    exit: i32,
    inputs: Vec<(String, String)>,
    stdout: String,
    stderr: String,
    outputs: Vec<(String, String)>,
}

/// Splits `text` at every line that starts with `--- {kind} `: the text
/// before the first, and each `(name, body)`.
fn named_sections<'a>(text: &'a str, kind: &str) -> (&'a str, Vec<(String, String)>) {
    let marker = format!("--- {kind} ");
    let mut starts: Vec<usize> = text
        .match_indices(&marker)
        .map(|(i, _)| i)
        .filter(|&i| i == 0 || text.as_bytes()[i - 1] == b'\n')
        .collect();
    let before = &text[..starts.first().copied().unwrap_or(text.len())];
    starts.push(text.len());
    let sections = starts
        .windows(2)
        .map(|w| {
            let section = &text[w[0] + marker.len()..w[1]];
            let (name, body) = section.split_once('\n').unwrap_or((section, ""));
            (name.to_string(), body.to_string())
        })
        .collect();
    (before, sections)
}

/// Reads a case. stdout and stderr need not end with a newline (the
/// next section's line may follow on the same line).
fn parse(text: &str) -> Result<Case, String> {
    let (head, rest) = text
        .split_once("--- stdout\n")
        .ok_or("no `--- stdout` section")?;
    let (stdout, rest) = rest
        .split_once("--- stderr\n")
        .ok_or("no `--- stderr` section")?;
    let (stderr, outputs) = named_sections(rest, "output");
    let (head, inputs) = named_sections(head, "input");
    let mut args = None;
    let mut exit = None;
    for line in head.lines() {
        if let Some(a) = line.strip_prefix("args: ") {
            args = Some(a.to_string());
        } else if let Some(e) = line.strip_prefix("exit: ") {
            exit = Some(e.trim().parse().map_err(|_| "a bad `exit:` line")?);
        } else if !line.is_empty() {
            return Err(format!("an unknown line `{line}`"));
        }
    }
    Ok(Case {
        args: args.ok_or("no `args:` line")?,
        exit: exit.ok_or("no `exit:` line")?,
        inputs,
        stdout: stdout.to_string(),
        stderr: stderr.to_string(),
        outputs,
    })
}

fn render(c: &Case) -> String {
    let mut s = format!("args: {}\nexit: {}\n", c.args, c.exit);
    for (name, body) in &c.inputs {
        s += &format!("--- input {name}\n{body}");
    }
    s += &format!("--- stdout\n{}--- stderr\n{}", c.stdout, c.stderr);
    for (name, body) in &c.outputs {
        s += &format!("--- output {name}\n{body}");
    }
    s
}

/// Runs the case in `file`; with `bless`, rewrites the file from what the
/// binary did.
fn run_case(file: &Path, bless: bool) -> Result<(), Failed> {
    let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    let expected = parse(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut subs = placeholders();
    subs.push((TMPDIR.into(), tmp.path().display().to_string()));
    let substitute = |s: &str| {
        subs.iter()
            .fold(s.to_string(), |s, (k, v)| s.replace(k.as_str(), v))
    };
    let unsubstitute = |bytes: &[u8]| {
        subs.iter()
            .fold(String::from_utf8_lossy(bytes).into_owned(), |s, (k, v)| {
                s.replace(v.as_str(), k)
            })
    };
    for (name, body) in &expected.inputs {
        let path = tmp.path().join(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        std::fs::write(path, substitute(body)).map_err(|e| e.to_string())?;
    }
    let out = nanopod()
        .args(split_args(&substitute(&expected.args)))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .map_err(|e| e.to_string())?;
    let outputs = expected
        .outputs
        .iter()
        .map(|(name, _)| {
            let written = std::fs::read(tmp.path().join(name))
                .map(|b| unsubstitute(&b))
                .unwrap_or_else(|e| format!("(not written: {e})\n"));
            (name.clone(), written)
        })
        .collect();
    let actual = Case {
        args: expected.args.clone(),
        exit: out.status.code().unwrap_or(-1),
        inputs: expected.inputs.clone(),
        stdout: unsubstitute(&out.stdout),
        stderr: unsubstitute(&out.stderr),
        outputs,
    };
    if bless {
        std::fs::write(file, render(&actual)).map_err(|e| e.to_string())?;
        return Ok(());
    }
    if actual != expected {
        return Err(format!(
            "{}:\n--- expected\n{}\n--- actual\n{}",
            file.display(),
            render(&expected),
            render(&actual)
        )
        .into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let bless = std::env::var_os("BLESS").is_some();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/golden")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "golden"))
        .collect();
    files.sort();
    let mut trials: Vec<Trial> = files
        .into_iter()
        .map(|file| {
            let name = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Trial::test(name, move || run_case(&file, bless))
        })
        .collect();
    trials.push(Trial::test(
        "the-case-format-round-trips",
        format_round_trips,
    ));
    libtest_mimic::run(&args, trials).exit();
}

/// The runner itself: a case reads back as it was written, and a case
/// without its sections is refused.
fn format_round_trips() -> Result<(), Failed> {
    let text = "args: up %tmpdir/pod.toml\nexit: 0\n--- input pod.toml\nentry = \"a\"\n--- stdout\nok\n--- stderr\n--- output out.txt\nx\n";
    let case = parse(text)?;
    if render(&case) != text {
        return Err(format!("read back as:\n{}", render(&case)).into());
    }
    for bad in [
        "args: run\nexit: 0\n--- stdout\n",
        "exit: 0\n--- stdout\n--- stderr\n",
    ] {
        if parse(bad).is_ok() {
            return Err(format!("accepted {bad:?}").into());
        }
    }
    Ok(())
}
