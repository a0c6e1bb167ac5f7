//! The menu against a real component: shapes read from its types, and
//! typed calls of its exports.

use super::*;
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};

/// `echo(list<u8>) -> list<u8>`, `count(string, u32) -> u32` (the string's
/// length plus the number), `fail(list<u8>) -> result<_, string>` (always
/// `err("no")`) and `pick(u32) -> u32`, over a bump allocator.
const WAT: &str = r#"
(component
  (core module $m
    (memory (export "memory") 1)
    (global $bump (mut i32) (i32.const 1024))
    (data (i32.const 64) "no")
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (global.get $bump))
      (global.set $bump (i32.add (global.get $bump) (i32.add (local.get 3) (i32.const 8))))
      (if (i32.gt_u (global.get $bump) (i32.mul (memory.size) (i32.const 65536)))
        (then (drop (memory.grow (i32.const 16)))))
      (local.get $p))
    (func (export "echo") (param i32 i32) (result i32)
      (i32.store (i32.const 0) (local.get 0))
      (i32.store (i32.const 4) (local.get 1))
      (i32.const 0))
    (func (export "count") (param i32 i32 i32) (result i32)
      (i32.add (local.get 1) (local.get 2)))
    (func (export "fail") (param i32 i32) (result i32)
      (i32.store8 (i32.const 16) (i32.const 1))
      (i32.store (i32.const 20) (i32.const 64))
      (i32.store (i32.const 24) (i32.const 2))
      (i32.const 16))
    (func (export "pick") (param i32) (result i32) (local.get 0)))
  (core instance $i (instantiate $m))
  (func (export "echo") (param "b" (list u8)) (result (list u8))
    (canon lift (core func $i "echo") (memory (core memory $i "memory")) (realloc (core func $i "realloc"))))
  (func (export "count") (param "s" string) (param "n" u32) (result u32)
    (canon lift (core func $i "count") (memory (core memory $i "memory")) (realloc (core func $i "realloc"))))
  (func (export "fail") (param "b" (list u8)) (result (result (error string)))
    (canon lift (core func $i "fail") (memory (core memory $i "memory")) (realloc (core func $i "realloc"))))
  (func (export "pick") (param "n" u32) (result u32)
    (canon lift (core func $i "pick"))))
"#;

fn component() -> (Engine, Component) {
    let engine = Engine::default();
    let component = Component::new(&engine, wat::parse_str(WAT).unwrap()).unwrap();
    (engine, component)
}

fn shape_of(engine: &Engine, component: &Component, name: &str) -> Option<Shape> {
    let ty = component.component_type();
    let (_, item) = ty.exports(engine).find(|(n, _)| *n == name).unwrap();
    let wasmtime::component::types::ComponentItem::ComponentFunc(f) = item.ty else {
        panic!("`{name}` is a function")
    };
    let params: Vec<Type> = f.params().map(|(_, t)| t).collect();
    let results: Vec<Type> = f.results().collect();
    Shape::of(&params, &results)
}

async fn call(name: &str, params: Vec<Bulk>) -> wasmtime::Result<Returned> {
    let (engine, component) = component();
    let shape = shape_of(&engine, &component, name).expect("a fast-path shape");
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate_async(&mut store, &component)
        .await?;
    let func = instance.get_func(&mut store, name).unwrap();
    shape
        .caller::<()>()
        .call(store.as_context_mut(), func, params)
        .await
}

use wasmtime::AsContextMut;

#[test]
fn shapes_are_read_from_wit_types_and_scalars_alone_are_left_out() {
    let (engine, component) = component();
    let shape = |n| shape_of(&engine, &component, n);
    assert_eq!(
        shape("echo"),
        Some(Shape {
            params: vec![Kind::Bytes],
            returns: Returns::Value(Kind::Bytes)
        })
    );
    assert_eq!(
        shape("count"),
        Some(Shape {
            params: vec![Kind::Text, Kind::U32],
            returns: Returns::Value(Kind::U32)
        })
    );
    assert_eq!(
        shape("fail"),
        Some(Shape {
            params: vec![Kind::Bytes],
            returns: Returns::Fallible(None)
        })
    );
    assert_eq!(shape("pick"), None, "u32 -> u32 carries no bulk bytes");
}

#[tokio::test]
async fn a_megabyte_list_goes_through_a_typed_call_whole() {
    let bytes: Vec<u8> = (0..1 << 20).map(|i: u32| (i * 7 % 251) as u8).collect();
    let back = call("echo", vec![Bulk::Bytes(bytes.clone())])
        .await
        .unwrap();
    assert_eq!(back, Returned::Value(Bulk::Bytes(bytes)));
}

#[tokio::test]
async fn strings_scalars_and_errors_come_back_typed() {
    let back = call("count", vec![Bulk::Text("héllo".into()), Bulk::U32(4)])
        .await
        .unwrap();
    assert_eq!(back, Returned::Value(Bulk::U32(6 + 4)));
    let back = call("fail", vec![Bulk::Bytes(vec![1])]).await.unwrap();
    assert_eq!(back, Returned::Err("no".into()));
}

#[tokio::test]
async fn parameters_of_another_shape_are_refused_before_the_call() {
    let err = call("echo", vec![Bulk::Text("x".into())])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("do not fit"), "{err}");
    let err = call("echo", vec![]).await.unwrap_err();
    assert!(err.to_string().contains("do not fit"), "{err}");
}

#[test]
fn returned_values_fit_only_their_own_shape() {
    assert!(Returned::Err("x".into()).fits(Returns::Fallible(Some(Kind::Bytes))));
    assert!(!Returned::Err("x".into()).fits(Returns::Value(Kind::Text)));
    assert!(Returned::Ok(None).fits(Returns::Fallible(None)));
    assert!(!Returned::Ok(None).fits(Returns::Fallible(Some(Kind::Text))));
    assert!(!Returned::Value(Bulk::U32(1)).fits(Returns::Value(Kind::Bytes)));
}
