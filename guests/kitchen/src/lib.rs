//! Test fixture: a typed function per kind of WIT value, and misbehaving
//! functions (trap, endless loop, memory hog, deep recursion).

wit_bindgen::generate!({ path: "wit", world: "kitchen", generate_all });

use wasi::io::streams::StreamError;

struct Kitchen;

impl Guest for Kitchen {
    fn add(a: u32, b: u32) -> u32 {
        a.wrapping_add(b)
    }

    fn greet(name: String, excited: bool, title: Option<String>) -> String {
        let who = match title {
            Some(t) => format!("{t} {name}"),
            None => name,
        };
        format!("Hello, {who}{}", if excited { "!" } else { "." })
    }

    fn describe(shape: Shape, color: Color, style: Style, at: Position) -> String {
        let shape = match shape {
            Shape::Circle(r) => format!("circle of radius {r}"),
            Shape::Square(s) => format!("square of side {s}"),
            Shape::Dot => "dot".to_string(),
        };
        format!(
            "{color:?} {shape} at ({}, {}){}{}{}",
            at.x,
            at.y,
            if style.contains(Style::BOLD) { ", bold" } else { "" },
            if style.contains(Style::ITALIC) { ", italic" } else { "" },
            if style.contains(Style::UNDERLINE) { ", underlined" } else { "" },
        )
    }

    fn sum(values: Vec<i64>) -> i64 {
        values.iter().sum()
    }

    fn checksum(data: Vec<u8>) -> String {
        let mut hash: u64 = 0xcbf29ce484222325;
        for b in &data {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x100000001b3);
        }
        format!("{}:{hash:016x}", data.len())
    }

    fn repeat(byte: u8, count: u32) -> Vec<u8> {
        vec![byte; count as usize]
    }

    fn divide(a: f64, b: f64) -> Result<f64, String> {
        if b == 0.0 {
            Err(format!("cannot divide {a} by zero"))
        } else {
            Ok(a / b)
        }
    }

    fn initial(word: String) -> Option<char> {
        word.chars().next()
    }

    fn crash(message: String) {
        panic!("{message}")
    }

    fn spin() -> u64 {
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }

    fn hog(mebibytes: u32) -> u32 {
        let mut kept = Vec::new();
        for _ in 0..mebibytes {
            let block = vec![1u8; 1024 * 1024];
            kept.push(std::hint::black_box(block));
        }
        kept.len() as u32
    }

    fn recurse(depth: u64) -> u64 {
        if depth == 0 {
            0
        } else {
            let pad = std::hint::black_box([depth; 64]);
            1 + Self::recurse(depth - 1) + pad[63] - depth
        }
    }

    fn drain(input: InputStream) -> u64 {
        let mut total = 0u64;
        loop {
            match input.blocking_read(64 * 1024) {
                Ok(chunk) => total += chunk.len() as u64,
                Err(StreamError::Closed) => return total,
                Err(StreamError::LastOperationFailed(e)) => {
                    panic!("read failed: {}", e.to_debug_string())
                }
            }
        }
    }

    fn emit(out: OutputStream, text: String, times: u32) {
        for _ in 0..times {
            for piece in text.as_bytes().chunks(4096) {
                out.blocking_write_and_flush(piece).expect("write failed");
            }
        }
    }
}

export!(Kitchen);
