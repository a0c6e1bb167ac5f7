//! `nanopod`: run WebAssembly components as typed functions (the command
//! line is the library's [`nanopod::main`]).

fn main() -> std::process::ExitCode {
    nanopod::main()
}
