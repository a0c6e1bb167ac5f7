//! The data component: an image held in the data segment of a generated
//! core module, exported as `nanopod:image/image`. `read` returns a slice of
//! its memory without copying; the component model's adapter copies it
//! once into the reader's memory.

use anyhow::{Context, Result, bail};
use wasm_encoder::{
    CodeSection, ConstExpr, DataSection, ExportKind, ExportSection, Function, FunctionSection,
    MemArg, MemorySection, MemoryType, Module, TypeSection, ValType,
};
use wit_component::StringEncoding;

/// The `nanopod:image` package: its WIT is shared with `guests/virt`.
pub const IMAGE_WIT: &str = include_str!("../../../guests/virt/wit/deps/image/image.wit");

/// Where `read` writes its (pointer, length) result.
const RESULT_AREA: i32 = 8;
/// Where the image starts in memory.
const IMAGE_BASE: u64 = 16;
const PAGE: u64 = 64 * 1024;

/// The component exporting `nanopod:image/image` over `image`.
pub fn component(image: &[u8]) -> Result<Vec<u8>> {
    let size = image.len() as u64;
    if IMAGE_BASE + size > u64::from(u32::MAX) {
        bail!(
            "{} MiB is too much to embed: a component's memory holds at most 4 GiB",
            size >> 20
        );
    }
    let mut module = core_module(image).finish();

    let mut resolve = wit_parser::Resolve::default();
    let package = resolve.push_str("image.wit", IMAGE_WIT)?;
    let world = resolve.select_world(&[package], Some("provider"))?;
    wit_component::embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8)?;
    wit_component::ComponentEncoder::default()
        .module(&module)?
        .validate(true)
        .encode()
        .context("cannot encode the data component")
}

fn core_module(image: &[u8]) -> Module {
    let size = image.len() as i64;
    let mut types = TypeSection::new();
    types.ty().function([], [ValType::I64]);
    types
        .ty()
        .function([ValType::I64, ValType::I32], [ValType::I32]);
    let mut functions = FunctionSection::new();
    functions.function(0).function(1);
    let pages = (IMAGE_BASE + image.len() as u64).div_ceil(PAGE);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: pages,
        maximum: Some(pages),
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let mut exports = ExportSection::new();
    exports
        .export("memory", ExportKind::Memory, 0)
        .export("nanopod:image/image#size", ExportKind::Func, 0)
        .export("nanopod:image/image#read", ExportKind::Func, 1);

    let mut size_fn = Function::new([]);
    size_fn.instructions().i64_const(size).end();

    // read(offset: i64, len: i32) -> i32, with locals start: i64, n: i64:
    // start = min(offset, size); n = min(len, size - start)
    let mut read_fn = Function::new([(2, ValType::I64)]);
    let store = MemArg {
        offset: 0,
        align: 2,
        memory_index: 0,
    };
    read_fn
        .instructions()
        .local_get(0)
        .i64_const(size)
        .local_get(0)
        .i64_const(size)
        .i64_lt_u()
        .select()
        .local_set(2)
        .local_get(1)
        .i64_extend_i32_u()
        .i64_const(size)
        .local_get(2)
        .i64_sub()
        .local_get(1)
        .i64_extend_i32_u()
        .i64_const(size)
        .local_get(2)
        .i64_sub()
        .i64_lt_u()
        .select()
        .local_set(3)
        .i32_const(RESULT_AREA)
        .local_get(2)
        .i32_wrap_i64()
        .i32_const(IMAGE_BASE as i32)
        .i32_add()
        .i32_store(store)
        .i32_const(RESULT_AREA + 4)
        .local_get(3)
        .i32_wrap_i64()
        .i32_store(store)
        .i32_const(RESULT_AREA)
        .end();
    let mut code = CodeSection::new();
    code.function(&size_fn).function(&read_fn);

    let mut data = DataSection::new();
    data.active(
        0,
        &ConstExpr::i32_const(IMAGE_BASE as i32),
        image.iter().copied(),
    );

    let mut module = Module::new();
    module
        .section(&types)
        .section(&functions)
        .section(&memories)
        .section(&exports)
        .section(&code)
        .section(&data);
    module
}
