//! A component built by another toolchain: componentize-py, from source.

use crate::support::*;
use std::path::PathBuf;
use std::process::Command;

/// Builds module `module` of `tests/fixtures/FIXTURE` for `world` of
/// `wit` (relative to the project root) with componentize-py (installed
/// by `scripts/test.sh`) into `OUT` in the test target directory.
fn componentize(fixture: &str, wit: &str, world: &str, module: &str, out: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(out);
    let status = Command::new("componentize-py")
        .current_dir(root.join("tests/fixtures").join(fixture))
        .arg("-d")
        .arg(root.join(wit))
        .args(["-w", world, "componentize", module, "-o"])
        .arg(&out)
        .status()
        .expect("componentize-py is not installed: run scripts/test.sh, or `pip install componentize-py`");
    assert!(status.success(), "componentize-py failed on {fixture}");
    out
}

/// `tests/fixtures/python` as a component, built once per test run.
fn python_component() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            componentize(
                "python",
                "tests/fixtures/python/calc.wit",
                "calc",
                "app",
                "calc.wasm",
            )
        })
        .clone()
}

#[test]
fn python_component_exports_typed_functions() {
    let calc = python_component();
    let calc = calc.to_str().unwrap();
    let o = run(&["run", calc, "--invoke", "hello", "World"]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "Hello from Python, World!\n");

    let o = run(&[
        "run",
        calc,
        "--invoke",
        "divide",
        "7",
        "2",
        "--rounding",
        "up",
    ]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "4\n");

    let o = run(&["run", calc, "--invoke", "divide", "7", "0", "down"]);
    assert_exit(&o, 1);
    assert_eq!(stderr(&o), "error: cannot divide 7 by zero\n");

    let o = run(&["run", calc, "--invoke", "divide", "7", "2", "sideways"]);
    assert_exit(&o, 2);

    let photo = format!("{}/examples/photo.png", env!("CARGO_MANIFEST_DIR"));
    let expected: u64 = std::fs::read(&photo)
        .unwrap()
        .iter()
        .map(|b| u64::from(*b))
        .sum();
    let o = run(&["run", calc, "--invoke", "byte-sum", &photo]);
    assert_eq!(stdout(&o), format!("{expected}\n"));

    let wit = format!(
        "{}/tests/fixtures/python/calc.wit",
        env!("CARGO_MANIFEST_DIR")
    );
    let o = run(&["run", "--wit", &wit, calc, "--invoke", "divide", "--help"]);
    assert!(
        stdout(&o).contains("Divide, rounding as asked"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("enum rounding"), "{}", stdout(&o));
}

#[test]
fn a_python_component_filter_runs_synchronously_in_front_of_the_app() {
    let filter = componentize(
        "python-filter",
        "crates/nanopod-serve/wit",
        "http-filter",
        "filter",
        "python-filter.wasm",
    );
    assert_the_key_filter_in("python", "python", "py-key", &filter);
}
