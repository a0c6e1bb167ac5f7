//! Cold start of a small command: `ctr run` of an image through the shim
//! to the command's first output, against `nanopod run` of the same file
//! measured in the same run. Build nanopod first:
//!
//! ```text
//! cargo build --release -p nanopod
//! cargo bench -p containerd-shim-nanopod --bench cold_start
//! ```
//!
//! Two images: the binary as a Wasm artifact layer (precompiled into
//! containerd's content store at its first start) against `nanopod run`
//! with its compile cache warm, and the binary as a file in a filesystem
//! image (compiled at every start) against `nanopod run` with its cache
//! off. With Debian's `busybox-static` installed, also containerd's own
//! floor: runc starting a static native `echo` the same way.

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{Containerd, wasm_layer_image};

const RUNS: usize = 15;

/// Time from spawning `command` to its first byte of stdout; the command
/// is then waited for.
fn to_first_output(mut command: Command) -> Duration {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut byte = [0u8; 1];
    let n = child.stdout.as_mut().unwrap().read(&mut byte).unwrap();
    let elapsed = started.elapsed();
    assert_eq!(n, 1, "no output");
    assert!(child.wait().unwrap().success());
    elapsed
}

fn median(mut f: impl FnMut(usize) -> Duration) -> Duration {
    f(usize::MAX); // warm-up
    let mut times: Vec<Duration> = (0..RUNS).map(&mut f).collect();
    times.sort();
    times[RUNS / 2]
}

fn main() {
    let nanopod = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("nanopod");
    assert!(
        nanopod.exists(),
        "build nanopod first: cargo build --release -p nanopod"
    );
    let wasm = test_programs_artifacts::LEGACY;
    let ctd = Containerd::start();
    ctd.import_files(
        "cold:fs",
        &[("app.wasm", &std::fs::read(wasm).unwrap())],
        &["/app.wasm"],
    );
    let archive = ctd.scratch().join("artifact.tar");
    wasm_layer_image(
        &archive,
        "cold:artifact",
        &std::fs::read(wasm).unwrap(),
        &["app.wasm"],
    );
    ctd.import(&archive);
    let cache = tempfile::tempdir().unwrap();

    let ctd = &ctd;
    let shim = |image: &'static str, flags: &'static [&'static str]| {
        move |i: usize| {
            to_first_output(ctd.run_command(
                flags,
                image,
                &format!("cold{i}"),
                &["app.wasm", "echo", "hi"],
            ))
        }
    };
    let run = |cache_dir: &std::path::Path| {
        let cache_dir = cache_dir.to_path_buf();
        let nanopod = nanopod.clone();
        move |_| {
            let mut c = Command::new(&nanopod);
            c.args(["run", wasm, "echo", "hi"])
                .env("NANOPOD_CACHE_DIR", &cache_dir);
            to_first_output(c)
        }
    };
    let artifact = median(shim("cold:artifact", &["--platform", "wasip2/wasm"]));
    let cached = median(run(cache.path()));
    let fs = median(shim("cold:fs", &[]));
    let uncached = median(run(std::path::Path::new("")));
    let busybox = std::path::Path::new("/bin/busybox");
    let native = busybox.exists().then(|| {
        ctd.import_files(
            "cold:native",
            &[("busybox", &std::fs::read(busybox).unwrap())],
            &["/busybox"],
        );
        median(|i| {
            let mut c = ctd.ctr(&["run", "--rm"]);
            c.args([
                "cold:native",
                &format!("native{i}"),
                "/busybox",
                "echo",
                "hi",
            ]);
            to_first_output(c)
        })
    });
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("cold start of `legacy echo hi` to first output, median of {RUNS}:");
    println!(
        "  artifact image, precompiled: ctr run {:.1} ms, nanopod run (cache warm) {:.1} ms: {:.2}x",
        ms(artifact),
        ms(cached),
        ms(artifact) / ms(cached)
    );
    println!(
        "  filesystem image, compiled:  ctr run {:.1} ms, nanopod run (cache off)  {:.1} ms: {:.2}x",
        ms(fs),
        ms(uncached),
        ms(fs) / ms(uncached)
    );
    match native {
        Some(native) => println!(
            "  containerd's floor: runc starting a static native echo {:.1} ms; the shim's artifact start is {:.2}x that",
            ms(native),
            ms(artifact) / ms(native)
        ),
        None => println!("  (install busybox-static to measure runc's start of a native echo too)"),
    }
}
