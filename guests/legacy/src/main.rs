//! A legacy `wasi:cli/run` command that reaches for the operating system the
//! old way: paths, environment variables, sockets. nanopod runs it under the
//! capabilities granted on the command line.
//!
//! Usage: `legacy cat PATH` · `legacy write PATH TEXT` · `legacy env NAME` ·
//! `legacy connect HOST:PORT` · `legacy exit CODE`

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
        "exit" => exit(arg(1).parse().unwrap_or(0)),
        other => fail(&format!("unknown mode `{other}`")),
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("legacy: {msg}");
    exit(1)
}
