//! A component built by another toolchain: componentize-py, from source.

use crate::support::*;
use std::path::PathBuf;
use std::process::Command;

/// Builds `tests/fixtures/python` with componentize-py (installed by
/// `scripts/test.sh`), once per test run.
fn python_component() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/python");
            let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("calc.wasm");
            let status = Command::new("componentize-py")
                .current_dir(&src)
                .args(["-d", "calc.wit", "-w", "calc", "componentize", "app", "-o"])
                .arg(&out)
                .status()
                .expect("componentize-py is not installed: run scripts/test.sh, or `pip install componentize-py`");
            assert!(status.success(), "componentize-py failed");
            out
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
