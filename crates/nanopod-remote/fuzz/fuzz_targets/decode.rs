//! Feeds arbitrary bytes to the exporter's side of the wire: frames, then
//! parameters decoded as a signature using every kind of WIT value. The
//! decoder must return an error or values, never panic, hang or allocate
//! more than the input justifies.
//!
//! `cargo fuzz run decode` (from crates/nanopod-remote).

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use wasmtime::component::types::{ComponentItem, Type};
use wasmtime::component::Component;
use wasmtime::{Config, Engine};

/// `f: func(a: …, b: …, …)` with records, variants, enums, flags, lists,
/// options, results, tuples, strings, chars and every integer and float.
const SIGNATURE: &str = r#"(component
  (type $rec (record (field "x" s16) (field "y" u64) (field "name" string)))
  (type $var (variant (case "a" f32) (case "b") (case "c" (list char))))
  (type $en (enum "red" "green" "blue"))
  (type $fl (flags "f0" "f1" "f2" "f3" "f4" "f5" "f6" "f7" "f8" "f9"))
  (type $f (func
    (param "a" (list $rec)) (param "b" $var) (param "c" $en) (param "d" $fl)
    (param "e" (option (tuple s8 u8 s32 u32 s64 f64 bool)))
    (param "g" (result (list u8) (error string)))
    (param "h" (list (list u16)))))
  (import "f" (func (type $f))))"#;

fn types() -> &'static Vec<Type> {
    static TYPES: OnceLock<Vec<Type>> = OnceLock::new();
    TYPES.get_or_init(|| {
        let engine = Engine::new(&Config::new()).unwrap();
        let component = Component::new(&engine, wat::parse_str(SIGNATURE).unwrap()).unwrap();
        let ty = component.component_type();
        let (_, item) = ty.imports(&engine).next().unwrap();
        let ComponentItem::ComponentFunc(f) = item.ty else { unreachable!() };
        f.params().map(|(_, t)| t).collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(async {
        let mut input = data;
        let _ = nanopod_remote::frame::read_message(&mut input, types()).await;
        let _ = nanopod_remote::codec::decode_all(data, types());
    });
});
