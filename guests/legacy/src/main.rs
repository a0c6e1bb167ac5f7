//! A legacy `wasi:cli/run` command that reaches for the operating system the
//! old way: paths, environment variables, sockets. nanopod runs it under the
//! capabilities granted on the command line.
//!
//! Usage: `legacy cat PATH` · `legacy write PATH TEXT` · `legacy env NAME` ·
//! `legacy connect HOST:PORT` · `legacy listen ADDR:PORT` (bind, listen,
//! answer one client with `hello`) · `legacy udp HOST:PORT TEXT` (send one
//! datagram) · `legacy resolve NAME` · `legacy fetch HOST:PORT` (HTTP GET /) ·
//! `legacy exit CODE` · `legacy exit-code CODE` (through `exit-with-code`) ·
//! `legacy echo ARGS…` · `legacy fs OP ARGS , OP ARGS , …` (filesystem
//! operations in one run, each printing its outcome: `mkdir D`, `write F TEXT`,
//! `fill F MIB` (through `wasi:filesystem` itself),
//! `read F`, `mv A B`, `ln TARGET LINK`, `rm F`, `rmdir D`, `ls D`, `stat P`)

use std::io::Write;
use std::process::exit;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    match arg(0) {
        "cat" => match std::fs::read(arg(1)) {
            Ok(bytes) => std::io::stdout().write_all(&bytes).unwrap(),
            Err(e) => fail(&format!("cannot read {}: {e}", arg(1))),
        },
        "write" => {
            if let Err(e) = std::fs::write(arg(1), arg(2)) {
                fail(&format!("cannot write {}: {e}", arg(1)));
            }
        }
        "env" => match std::env::var(arg(1)) {
            Ok(v) => println!("{v}"),
            Err(_) => fail(&format!("{} is not set", arg(1))),
        },
        "connect" => match std::net::TcpStream::connect(arg(1)) {
            Ok(_) => println!("connected"),
            Err(e) => fail(&format!("cannot connect to {}: {e}", arg(1))),
        },
        "listen" => match std::net::TcpListener::bind(arg(1)) {
            Ok(listener) => {
                println!("listening");
                std::io::stdout().flush().unwrap();
                match listener.accept() {
                    Ok((mut client, _)) => client.write_all(b"hello").unwrap(),
                    Err(e) => fail(&format!("cannot accept on {}: {e}", arg(1))),
                }
            }
            Err(e) => fail(&format!("cannot listen on {}: {e}", arg(1))),
        },
        "udp" => {
            let sent = std::net::UdpSocket::bind("0.0.0.0:0")
                .and_then(|s| s.send_to(arg(2).as_bytes(), arg(1)));
            match sent {
                Ok(_) => println!("sent"),
                Err(e) => fail(&format!("cannot send to {}: {e}", arg(1))),
            }
        }
        "resolve" => {
            use std::net::ToSocketAddrs;
            match (arg(1), 0).to_socket_addrs() {
                Ok(addrs) => {
                    for a in addrs {
                        println!("{}", a.ip());
                    }
                }
                Err(e) => fail(&format!("cannot resolve {}: {e}", arg(1))),
            }
        }
        "fetch" => match http_util::get_status(arg(1)) {
            Ok(status) => println!("HTTP {status}"),
            Err(e) => fail(&format!("cannot fetch http://{}/: {e}", arg(1))),
        },
        "fs" => {
            for op in args[1..].split(|a| a == ",") {
                println!("{} -> {}", op.join(" "), fs_op(op));
            }
        }
        "exit" => exit(arg(1).parse().unwrap_or(0)),
        // The code itself, through `wasi:cli/exit.exit-with-code` (Rust's
        // `exit(N)` reports only success or failure on wasm32-wasip2).
        "exit-code" => wasip2::cli::exit::exit_with_code(arg(1).parse().unwrap_or(0)),
        "echo" => println!("{}", args[1..].join(" ")),
        other => fail(&format!("unknown mode `{other}`")),
    }
}

/// `symlink-at` through the preopen holding `link` (std's own symlink
/// call is unstable on WASI).
fn symlink(target: &str, link: &str) -> String {
    use wasip2::filesystem::preopens;
    for (dir, path) in preopens::get_directories() {
        if let Some(rest) = link.strip_prefix(&path).and_then(|r| r.strip_prefix('/')) {
            return match dir.symlink_at(target, rest) {
                Ok(()) => "ok".to_string(),
                Err(e) => format!("error: {}", e.name()),
            };
        }
    }
    format!("error: no preopen holds {link}")
}

/// One filesystem operation, described as its outcome.
fn fs_op(op: &[String]) -> String {
    use std::fs;
    let a = |i: usize| op.get(i).map(String::as_str).unwrap_or("");
    let done = |r: std::io::Result<()>| match r {
        Ok(()) => "ok".to_string(),
        Err(e) => format!("error: {:?}", e.kind()),
    };
    match a(0) {
        "mkdir" => done(fs::create_dir(a(1))),
        "write" => done(fs::write(a(1), a(2))),
        // `fill F N`: N MiB into F.
        "fill" => fill(a(1), a(2).parse().unwrap_or(0)),
        "read" => match fs::read_to_string(a(1)) {
            Ok(s) => format!("{s:?}"),
            Err(e) => format!("error: {:?}", e.kind()),
        },
        "mv" => done(fs::rename(a(1), a(2))),
        // `ln TARGET LINK`: a symlink at LINK whose target is TARGET.
        "ln" => symlink(a(1), a(2)),
        "rm" => done(fs::remove_file(a(1))),
        "rmdir" => done(fs::remove_dir(a(1))),
        "ls" => match fs::read_dir(a(1)) {
            Ok(entries) => {
                let mut names: Vec<String> = entries
                    .map(|e| {
                        let e = e.unwrap();
                        let dir = if e.file_type().unwrap().is_dir() { "/" } else { "" };
                        format!("{}{dir}", e.file_name().to_string_lossy())
                    })
                    .collect();
                names.sort();
                names.join(" ")
            }
            Err(e) => format!("error: {:?}", e.kind()),
        },
        // `hold F N`: opens F N times and keeps every handle.
        "hold" => {
            let n: usize = a(2).parse().unwrap_or(0);
            let mut held = Vec::with_capacity(n);
            for _ in 0..n {
                match fs::File::open(a(1)) {
                    Ok(f) => held.push(f),
                    Err(e) => return format!("error after {}: {:?}", held.len(), e.kind()),
                }
            }
            format!("held {}", held.len())
        }
        "stat" => match fs::metadata(a(1)) {
            Ok(m) => format!("dir={} len={}", m.is_dir(), if m.is_dir() { 0 } else { m.len() }),
            Err(e) => format!("error: {:?}", e.kind()),
        },
        other => format!("unknown op `{other}`"),
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("legacy: {msg}");
    exit(1)
}

/// Writes `mib` MiB into `path` with `wasi:filesystem`'s `write` itself,
/// so the outcome is the host's error code as it gave it (wasi-libc's
/// `write` reports any failed stream write as EIO).
fn fill(path: &str, mib: usize) -> String {
    use wasip2::filesystem::preopens::get_directories;
    use wasip2::filesystem::types::{DescriptorFlags, OpenFlags, PathFlags};
    let Some((dir, rest)) = get_directories().into_iter().find_map(|(d, guest)| {
        let rest = path.strip_prefix(guest.trim_end_matches('/'))?.strip_prefix('/')?;
        Some((d, rest.to_string()))
    }) else {
        return format!("error: `{path}` is in no preopened directory");
    };
    let file = match dir.open_at(PathFlags::empty(), &rest, OpenFlags::CREATE, DescriptorFlags::WRITE) {
        Ok(f) => f,
        Err(e) => return format!("error: {}", e.name()),
    };
    let chunk = vec![b'x'; 1 << 20];
    let mut offset = 0u64;
    while offset < (mib as u64) << 20 {
        match file.write(&chunk, offset) {
            Ok(n) => offset += n,
            Err(e) => return format!("error: {}", e.name()),
        }
    }
    "ok".to_string()
}
