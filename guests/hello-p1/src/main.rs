//! A classic WASI preview1 command (`wasm32-wasip1`): prints its arguments
//! and exits with the code given as the first one, if any.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    println!("hello from preview1: {}", args[1..].join(" "));
    if let Some(code) = args.get(1).and_then(|a| a.parse::<i32>().ok()) {
        std::process::exit(code);
    }
}
