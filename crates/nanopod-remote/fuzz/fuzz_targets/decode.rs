//! Feeds arbitrary bytes to the exporter's side of the wire: frames, then
//! parameters decoded as a signature using every kind of WIT value, then
//! what is left as the chunk frames of two `stream<u8>` values. The decoder
//! must return an error or values, never panic, hang or allocate more than
//! the input justifies.
//!
//! `cargo fuzz run decode` (from crates/nanopod-remote).

#![no_main]

use futures::StreamExt;
use futures::channel::mpsc;
use libfuzzer_sys::fuzz_target;
use nanopod_remote::stream::{CHANNEL_CHUNKS, Demux};
use std::sync::OnceLock;
use std::time::Duration;
use wasmtime::component::Component;
use wasmtime::component::types::{ComponentItem, Type};
use wasmtime::{Config, Engine};
use wit_component::{ComponentEncoder, StringEncoding, embed_component_metadata};
use wit_parser::{ManglingAndAbi, Resolve};

/// `f: func(a: …, b: …, …)` with records, variants, enums, flags, lists,
/// options, results, tuples, strings, chars and every integer and float.
const SIGNATURE: &str = r#"
package fuzz:decode;
interface types {
  record rec { x: s16, y: u64, name: string }
  variant var { a(f32), b, c(list<char>) }
  enum en { red, green, blue }
  flags fl { f0, f1, f2, f3, f4, f5, f6, f7, f8, f9 }
  f: func(a: list<rec>, b: var, c: en, d: fl,
          e: option<tuple<s8, u8, s32, u32, s64, f64, bool>>,
          g: result<list<u8>, string>, h: list<list<u16>>);
}
world w { export types; }
"#;

/// The parameter types of `f`, taken from a component built from
/// [`SIGNATURE`] (wasmtime's `Type`s come only from components).
fn types() -> &'static Vec<Type> {
    static TYPES: OnceLock<Vec<Type>> = OnceLock::new();
    TYPES.get_or_init(|| {
        let mut resolve = Resolve::default();
        let pkg = resolve.push_str("fuzz.wit", SIGNATURE).unwrap();
        let world = resolve.select_world(&[pkg], Some("w")).unwrap();
        let mut module = wit_component::dummy_module(&resolve, world, ManglingAndAbi::Standard32);
        embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8).unwrap();
        let bytes = ComponentEncoder::default()
            .module(&module)
            .unwrap()
            .encode()
            .unwrap();
        let engine = Engine::new(&Config::new()).unwrap();
        let component = Component::new(&engine, bytes).unwrap();
        let ty = component.component_type();
        let (_, item) = ty.exports(&engine).next().unwrap();
        let ComponentItem::ComponentInstance(instance) = item.ty else {
            unreachable!()
        };
        let (_, f) = instance.exports(&engine).find(|(n, _)| *n == "f").unwrap();
        let ComponentItem::ComponentFunc(f) = f.ty else {
            unreachable!()
        };
        f.params().map(|(_, t)| t).collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut input = data;
        let _ = nanopod_remote::wire::frame::read_message(&mut input, types()).await;
        let _ = nanopod_remote::wire::value::decode_all(data, types());
        // Stream chunks on paths [0] and [1], read by readers that keep up.
        let mut demux = Demux::default();
        let (tx0, rx0) = mpsc::channel(CHANNEL_CHUNKS);
        let (tx1, rx1) = mpsc::channel(CHANNEL_CHUNKS);
        demux.expect(0, tx0);
        demux.expect(1, tx1);
        let drain = |rx: mpsc::Receiver<_>| rx.for_each(|_| async {});
        let _ = futures::join!(
            demux.run(&mut input, Duration::from_secs(1)),
            drain(rx0),
            drain(rx1)
        );
    });
});
