//! A virtualized component runs on a plain wasmtime embedding with stock
//! WASI and no preopens: none of nanopod's host code is involved, so any
//! host that runs WASI 0.2 components can run it.

use nanopod_virt::{Mount, virtualize};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

struct State {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// Runs the `files` guest's `args` in `component` on stock WASI.
fn run(component: &[u8], args: &[&str]) -> String {
    let engine = Engine::default();
    let component = Component::new(&engine, component).unwrap();
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
    let stdout = MemoryOutputPipe::new(1 << 20);
    let ctx = WasiCtxBuilder::new()
        .stdout(stdout.clone())
        .args(&[&["files"], args].concat())
        .env("HOST_ONLY", "set on the host")
        .build();
    let mut store = Store::new(
        &engine,
        State {
            ctx,
            table: ResourceTable::new(),
        },
    );
    let command =
        wasmtime_wasi::p2::bindings::sync::Command::instantiate(&mut store, &component, &linker)
            .unwrap();
    let result = command.wasi_cli_run().call_run(&mut store).unwrap();
    assert!(result.is_ok(), "the command failed");
    String::from_utf8(stdout.contents().to_vec()).unwrap()
}

#[test]
fn runs_on_stock_wasi_with_no_preopens() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/a.txt"), "alpha").unwrap();
    let original = std::fs::read(test_programs_artifacts::FILES).unwrap();
    let mounts = [Mount {
        host: dir.path().into(),
        guest: "/d".into(),
    }];
    let env = [("K".to_string(), "V".to_string())];
    let out = virtualize(&original, &mounts, Some(&env)).unwrap();
    assert_eq!(out.files, 1);
    assert_eq!(
        run(
            &out.bytes,
            &["cat", "/d/sub/a.txt", ",", "ls", "/d", ",", "env", "K"]
        ),
        "cat /d/sub/a.txt -> alpha\nls /d -> sub\nenv K -> V\n"
    );

    // Without --env, the host's environment passes through.
    let out = virtualize(&original, &mounts, None).unwrap();
    assert_eq!(
        run(&out.bytes, &["env", "HOST_ONLY"]),
        "env HOST_ONLY -> set on the host\n"
    );
}
