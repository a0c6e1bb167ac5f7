//! Typed main: host-opened inputs, stdin, outputs written atomically, byte
//! lists and streams of every size.

use crate::support::*;
use test_programs_artifacts::{KITCHEN, THUMBNAIL, UPPER};

fn photo() -> String {
    format!("{}/examples/photo.png", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn thumbnail_writes_a_smaller_png_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("thumb.png");
    let o = run(&[
        "run",
        guest(THUMBNAIL),
        &photo(),
        "--width",
        "64",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_exit(&o, 0);
    let png = std::fs::read(&out).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // IHDR: width and height, big-endian, at bytes 16..24.
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (64, 48));
    // Nothing but the output is left in the directory.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn failed_call_leaves_no_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("thumb.png");
    let notpng = dir.path().join("not.png");
    std::fs::write(&notpng, b"this is not an image").unwrap();
    let o = run(&[
        "run",
        guest(THUMBNAIL),
        notpng.to_str().unwrap(),
        "--width",
        "10",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).starts_with("error: cannot decode image"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left"
    );
}

#[test]
fn existing_output_survives_a_failed_call() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("keep.bin");
    std::fs::write(&out, b"precious").unwrap();
    let o = run(&[
        "run",
        guest(KITCHEN),
        "--invoke",
        "crash",
        "x",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_exit(&o, 3);
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
}

#[test]
fn stdin_streams_through_upper() {
    let o = run_with_stdin(&["run", guest(UPPER), "-"], b"hello, pipes\n");
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "HELLO, PIPES\n");
}

#[test]
fn upper_streams_large_input_unchanged_in_size() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    let data: Vec<u8> = (0..20 * 1024 * 1024u32)
        .map(|i| b"abcXYZ \n"[(i % 8) as usize])
        .collect();
    std::fs::write(&input, &data).unwrap();
    let out = dir.path().join("out.txt");
    let o = run(&[
        "run",
        guest(UPPER),
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_exit(&o, 0);
    let got = std::fs::read(&out).unwrap();
    assert_eq!(got, data.to_ascii_uppercase());
}

/// `kitchen`'s `checksum: func(data: list<u8>) -> string` over a file.
fn checksum(input: &std::path::Path) -> std::process::Output {
    run(&[
        "run",
        guest(KITCHEN),
        "--invoke",
        "checksum",
        input.to_str().unwrap(),
    ])
}

#[test]
fn byte_list_input_of_64_mib_works() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("big.bin");
    let data: Vec<u8> = (0..64 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&input, &data).unwrap();
    let o = checksum(&input);
    assert_exit(&o, 0);
    let mut hash: u64 = 0xcbf29ce484222325;
    for b in &data {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x100000001b3);
    }
    assert_eq!(stdout(&o), format!("{}:{hash:016x}\n", data.len()));
}

#[test]
fn byte_list_input_past_the_limit_points_to_streams() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("huge.bin");
    let f = std::fs::File::create(&input).unwrap();
    // Sparse: refused from its size, before a byte is read.
    f.set_len((1 << 30) + 1).unwrap();
    let o = checksum(&input);
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains("larger than 1073741824 bytes") && err.contains("stream<u8>"),
        "{err}"
    );
}

#[test]
fn byte_list_result_of_8_mib_is_written_raw() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.bin");
    let n = 8 * 1024 * 1024;
    let o = run(&[
        "run",
        guest(KITCHEN),
        "--invoke",
        "repeat",
        "7",
        &n.to_string(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_exit(&o, 0);
    let got = std::fs::read(&out).unwrap();
    assert_eq!(got.len(), n);
    assert!(got.iter().all(|b| *b == 7));
}

#[test]
fn wasi_input_and_output_stream_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["run", guest(KITCHEN), "--invoke", "drain", &photo()]);
    assert_exit(&o, 0);
    let len = std::fs::metadata(photo()).unwrap().len();
    assert_eq!(stdout(&o), format!("{len}\n"));

    let out = dir.path().join("emitted.txt");
    let o = run(&[
        "run",
        guest(KITCHEN),
        "--invoke",
        "emit",
        "--out",
        out.to_str().unwrap(),
        "ab",
        "3",
    ]);
    assert_exit(&o, 0);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "ababab");

    // Without a path, an output-stream parameter is stdout.
    let o = run(&[
        "run",
        guest(KITCHEN),
        "--invoke",
        "emit",
        "--text",
        "hi",
        "--times",
        "2",
    ]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "hihi");
}

#[test]
fn trap_backtrace_only_with_verbose() {
    let o = run(&["run", guest(KITCHEN), "--invoke", "crash", "x"]);
    assert_exit(&o, 3);
    assert!(!stderr(&o).contains("wasm backtrace"));
    let o = run(&["-v", "run", guest(KITCHEN), "--invoke", "crash", "x"]);
    assert_exit(&o, 3);
    assert!(stderr(&o).contains("wasm backtrace"), "{}", stderr(&o));
}

#[test]
fn output_to_a_device_writes_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let o = run(&["run", guest(UPPER), &photo(), "-o", "/dev/null"]);
    assert_exit(&o, 0);
    let meta = std::fs::metadata("/dev/null").unwrap();
    assert!(
        meta.file_type().is_char_device(),
        "/dev/null must stay a device"
    );
}

#[test]
fn timeout_also_stops_a_guest_waiting_on_stdin() {
    // stdin stays open and silent: no wasm runs, so only the wall-clock
    // deadline can end the call. A hang fails the test via the kill below.
    let mut child = nanopod()
        .args(["run", "--timeout", "300ms", guest(UPPER), "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("nanopod hung past its --timeout");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    assert_exit(&o, 3);
    assert_eq!(stderr(&o), "error: the component ran past its --timeout\n");
}

#[test]
fn text_results_honour_output_and_errors_commit_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("greeting.txt");
    let o = run(&[
        "run",
        guest(KITCHEN),
        "--invoke",
        "greet",
        "Ada",
        "true",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "Hello, Ada!\n");

    let out = dir.path().join("quotient.txt");
    let o = run(&[
        "run",
        guest(KITCHEN),
        "--invoke",
        "divide",
        "1",
        "0",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_exit(&o, 1);
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left"
    );
}
