//! A legacy `wasi:cli/run` command that only reads files and the
//! environment: the fixture of `nanopod virtualize`, whose output carries
//! its files inside itself.
//!
//! Usage: `files OP ARGS , OP ARGS , …`, each printing its outcome:
//! `cat F`, `ls D`, `stat P`, `env NAME`, `sum F` (size and a checksum,
//! read in 64 KiB blocks), `write F TEXT`, `mkdir D`, `rm F`.

use std::io::Read;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut failed = false;
    for op in args.split(|a| a == ",") {
        let outcome = run(op);
        failed |= outcome.is_err();
        match outcome {
            Ok(out) => println!("{} -> {out}", op.join(" ")),
            Err(e) => println!("{} -> error: {e}", op.join(" ")),
        }
    }
    if failed {
        std::process::exit(1);
    }
}

fn run(op: &[String]) -> Result<String, String> {
    let arg = |i: usize| op.get(i).map(String::as_str).unwrap_or("");
    let io = |e: std::io::Error| e.kind().to_string();
    match arg(0) {
        "cat" => std::fs::read_to_string(arg(1)).map_err(io),
        "ls" => {
            let mut names: Vec<String> = std::fs::read_dir(arg(1))
                .map_err(io)?
                .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect::<Result<_, _>>()
                .map_err(io)?;
            names.sort();
            Ok(names.join(" "))
        }
        "stat" => {
            let m = std::fs::metadata(arg(1)).map_err(io)?;
            let kind = if m.is_dir() { "dir" } else { "file" };
            Ok(format!(
                "{kind} {} bytes",
                if m.is_dir() { 0 } else { m.len() }
            ))
        }
        "env" => std::env::var(arg(1)).map_err(|_| "not set".to_string()),
        "sum" => {
            let mut f = std::fs::File::open(arg(1)).map_err(io)?;
            let mut buf = vec![0u8; 64 * 1024];
            let (mut total, mut sum) = (0u64, 0u64);
            loop {
                let n = f.read(&mut buf).map_err(io)?;
                if n == 0 {
                    break;
                }
                total += n as u64;
                sum = buf[..n]
                    .iter()
                    .fold(sum, |s, b| s.wrapping_mul(31).wrapping_add(u64::from(*b)));
            }
            Ok(format!("{total} bytes, checksum {sum:016x}"))
        }
        "write" => std::fs::write(arg(1), arg(2))
            .map(|()| "ok".into())
            .map_err(io),
        "mkdir" => std::fs::create_dir(arg(1))
            .map(|()| "ok".into())
            .map_err(io),
        "rm" => std::fs::remove_file(arg(1))
            .map(|()| "ok".into())
            .map_err(io),
        other => Err(format!("unknown operation `{other}`")),
    }
}
