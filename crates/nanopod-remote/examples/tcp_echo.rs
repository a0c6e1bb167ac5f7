//! The baseline of the remote-call benchmark (`bench/remote.py`): a plain
//! TCP echo between two native processes, with the same framing cost a
//! sidecar protocol would have (a 4-byte length prefix).
//!
//! `tcp_echo serve ADDR` echoes every frame back; `tcp_echo client ADDR
//! SIZE N` sends N frames of SIZE bytes one after another, each waiting for
//! its echo, and prints the mean round trip in microseconds.

use std::io::{BufReader, BufWriter, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Instant;

fn read_frame(r: &mut impl Read, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut len = [0u8; 4];
    if let Err(e) = r.read_exact(&mut len) {
        return if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Ok(false)
        } else {
            Err(e)
        };
    }
    buf.resize(u32::from_le_bytes(len) as usize, 0);
    r.read_exact(buf)?;
    Ok(true)
}

fn write_frame(w: &mut impl Write, data: &[u8]) -> std::io::Result<()> {
    w.write_all(&(data.len() as u32).to_le_bytes())?;
    w.write_all(data)?;
    w.flush()
}

fn serve(addr: &str) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    println!("{}", listener.local_addr()?);
    for conn in listener.incoming() {
        let conn = conn?;
        conn.set_nodelay(true)?;
        std::thread::spawn(move || -> std::io::Result<()> {
            let mut r = BufReader::new(conn.try_clone()?);
            let mut w = BufWriter::new(conn);
            let mut buf = Vec::new();
            while read_frame(&mut r, &mut buf)? {
                write_frame(&mut w, &buf)?;
            }
            Ok(())
        });
    }
    Ok(())
}

fn client(addr: &str, size: usize, n: usize) -> std::io::Result<()> {
    let conn = TcpStream::connect(addr)?;
    conn.set_nodelay(true)?;
    let mut r = BufReader::new(conn.try_clone()?);
    let mut w = BufWriter::new(conn);
    let data = vec![7u8; size];
    let mut buf = Vec::new();
    // Warm up, then measure.
    for _ in 0..n.div_ceil(10) {
        write_frame(&mut w, &data)?;
        read_frame(&mut r, &mut buf)?;
    }
    let start = Instant::now();
    for _ in 0..n {
        write_frame(&mut w, &data)?;
        read_frame(&mut r, &mut buf)?;
        assert_eq!(buf.len(), size);
    }
    println!("{:.3}", start.elapsed().as_secs_f64() * 1e6 / n as f64);
    Ok(())
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[1..] {
        ["serve", addr] => serve(addr),
        ["client", addr, size, n] => {
            client(addr, size.parse().expect("SIZE"), n.parse().expect("N"))
        }
        _ => {
            eprintln!("usage: tcp_echo serve ADDR | tcp_echo client ADDR SIZE N");
            std::process::exit(2);
        }
    }
}
