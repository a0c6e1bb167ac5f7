//! `nanopod snapshot`: pre-initialized components give the same answers.

use crate::support::*;
use test_programs_artifacts::{KITCHEN, PRIMES};

#[test]
fn snapshot_answers_like_the_original_and_is_marked() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("primes.init.wasm");
    let o = run(&["snapshot", guest(PRIMES), "-o", out.to_str().unwrap()]);
    assert_exit(&o, 0);
    let snap = out.to_str().unwrap();
    for n in ["1", "10", "1000000"] {
        let before = run(&["run", guest(PRIMES), "--invoke", "nth-prime", n]);
        let after = run(&["run", snap, "--invoke", "nth-prime", n]);
        assert_exit(&after, 0);
        assert_eq!(stdout(&before), stdout(&after), "nth-prime {n}");
    }
    assert_eq!(
        stdout(&run(&["run", snap, "--invoke", "nth-prime", "1000000"])),
        "15485863\n"
    );
    let o = run(&["run", snap, "--invoke", "nth-prime", "0"]);
    assert_exit(&o, 1);

    let o = run(&["inspect", "--json", snap]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["snapshot"], "wizer-initialize");
    let o = run(&["inspect", "--json", guest(PRIMES)]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["snapshot"].is_null());
}

#[test]
fn snapshot_needs_an_init_function() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k.wasm");
    let o = run(&["snapshot", guest(KITCHEN), "-o", out.to_str().unwrap()]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("no `wizer-initialize`"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
    let o = run(&[
        "snapshot",
        "--init",
        "nope",
        guest(PRIMES),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("exports no function `nope`"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}

#[test]
fn init_that_traps_or_runs_forever_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k.wasm");
    let out_s = out.to_str().unwrap();
    // An init given as a WAVE call with arguments; this one panics.
    let o = run(&[
        "snapshot",
        "--init",
        "crash(\"boom\")",
        guest(KITCHEN),
        "-o",
        out_s,
    ]);
    assert_exit(&o, 3);
    assert!(
        stderr(&o).contains("error: the component trapped"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
    // `spin()` never returns: --timeout applies to the init function too.
    let o = run(&[
        "snapshot",
        "--timeout",
        "200ms",
        "--init",
        "spin()",
        guest(KITCHEN),
        "-o",
        out_s,
    ]);
    assert_exit(&o, 3);
    assert_eq!(stderr(&o), "error: the component ran past its --timeout\n");
    assert!(!out.exists());
}
