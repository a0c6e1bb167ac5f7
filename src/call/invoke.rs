//! One call of an exported function: instantiate under the grants, turn
//! typed arguments into values (opening inputs through the host), call, and
//! deliver the result.

use crate::error::{COMPONENT_ERR, UsageError};
use anyhow::{Context, Result};
use nanopod_bulk::{Bulk, Returned, Shape};
use nanopod_host::io::{InputSource, OutputConsumer, OutputTarget};
use nanopod_host::linker::{component_linker, module_linker, prepare};
use nanopod_host::vfs::VirtualDir;
use nanopod_host::{Deadline, EngineMode, Grants, GuestFailure, HostEngine, HostState, Views};
use nanopod_remote::RemoteImports;
use nanopod_typed::exports::ParamKind;
use nanopod_typed::render::{Rendered, render};
use nanopod_typed::{ArgValue, ExportFn, TypedArgs};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use wasmtime::component::{Component, Func, Instance, ResourceAny, StreamAny, StreamReader, Val};
use wasmtime::{AsContextMut, Store};

/// Largest `list<u8>` argument or result, in bytes, of a function on the
/// byte fast path (see [`nanopod_bulk`]): its bytes are copied in bulk.
pub(super) const MAX_BYTE_LIST: usize = 1 << 30;

/// Largest `list<u8>` of a signature off the fast path (a byte list in a
/// record, say): those travel as dynamic `Val`s, 40 bytes of host memory
/// per byte. Use `stream<u8>` for anything larger.
const MAX_VAL_BYTE_LIST: usize = 64 * 1024 * 1024;

/// What to call and where its byte result goes.
pub(crate) struct Call<'a> {
    /// The engine the component was compiled for.
    pub engine: &'a HostEngine,
    /// The compiled component.
    pub component: &'a Component,
    /// The function.
    pub function: &'a ExportFn,
    /// Its arguments.
    pub args: TypedArgs,
    /// `-o FILE` for byte results; stdout when `None`.
    pub output: Option<&'a Path>,
    /// Imports served by exporters on other hosts (a pod's remote links).
    pub remote: Option<&'a RemoteImports>,
    /// The views through which a pod's components reach their own grants.
    pub views: Option<&'a Views>,
    /// Where input paths are opened: a pipeline's in-memory filesystem, or
    /// the host's when `None`.
    pub inputs: Option<&'a VirtualDir>,
}

/// Runs `call` under `grants`, to stop at `deadline`, and returns the
/// process exit code.
pub(crate) async fn call_component(
    call: Call<'_>,
    grants: &Grants,
    deadline: Deadline,
) -> Result<u8> {
    let mode = call.engine.mode();
    let mut linker = component_linker(call.engine, mode)?;
    if let Some(remote) = call.remote {
        remote.add_to_linker(&mut linker)?;
    }
    if let Some(views) = call.views {
        views.add_to_linker(&mut linker)?;
    }
    let pre = prepare(&linker, call.component)?;
    let mut store = call.engine.store(grants, deadline)?;

    let instance = pre.instantiate_async(&mut store).await?;
    let func = lookup(&mut store, &instance, call.function)?;

    if let Some(shape) = fast_shape(call.function) {
        store.set_hostcall_fuel(MAX_BYTE_LIST + (16 << 20));
        let mut params = Vec::with_capacity(call.args.len());
        for arg in call.args {
            params.push(arg_to_bulk(arg, call.inputs).await?);
        }
        let out = OutputTarget::create(call.output)?;
        let returned = shape
            .caller()
            .call(store.as_context_mut(), func, params)
            .await
            .map_err(|e| name_the_value_limit(e, MAX_BYTE_LIST))?;
        return deliver(
            rendered(returned),
            out,
            Vec::new(),
            call.function.is_cli_run(),
        );
    }
    store.set_hostcall_fuel(MAX_VAL_BYTE_LIST * size_of::<Val>() + (16 << 20));

    let mut outputs = Vec::new();
    let mut params = Vec::with_capacity(call.args.len());
    for arg in call.args {
        params.push(arg_to_val(&mut store, arg, call.inputs, &mut outputs).await?);
    }
    let result_ty = call.function.result.clone();
    let mut results = vec![Val::Bool(false); usize::from(result_ty.is_some())];
    let out = Arc::new(Mutex::new(OutputTarget::create(call.output)?));

    let rendered = match mode {
        EngineMode::Sync => {
            func.call_async(&mut store, &params, &mut results)
                .await
                .map_err(|e| name_the_value_limit(e, MAX_VAL_BYTE_LIST))?;
            match (&result_ty, results.pop()) {
                (Some(ty), Some(v)) => render(ty, v)?,
                _ => Rendered::Nothing,
            }
        }
        EngineMode::Concurrent => {
            let out = out.clone();
            store
                .run_concurrent(async move |acc| -> Result<Rendered> {
                    func.call_concurrent(acc, &params, &mut results)
                        .await
                        .map_err(|e| name_the_value_limit(e, MAX_VAL_BYTE_LIST))?;
                    let rendered = match (&result_ty, results.pop()) {
                        (Some(ty), Some(v)) => render(ty, v)?,
                        _ => Rendered::Nothing,
                    };
                    let Rendered::Stream(stream) = rendered else {
                        return Ok(rendered);
                    };
                    // Keep the store running until the guest has written the
                    // whole stream: its writer task stops with the store.
                    let (consumer, done) = OutputConsumer::new(out);
                    acc.with(|mut access| -> Result<()> {
                        let reader = stream.try_into_stream_reader::<u8>()?;
                        reader.pipe(&mut access, consumer)?;
                        Ok(())
                    })?;
                    done.wait().await?;
                    Ok(Rendered::Nothing)
                })
                .await??
        }
    };
    let out = Arc::try_unwrap(out)
        .ok()
        .context("output still in use after the call")?
        .into_inner()
        .unwrap();
    deliver(rendered, out, outputs, call.function.is_cli_run())
}

/// The fast-path shape of `f`'s signature, if it has one: a synchronous
/// function whose parameters and result the typed API carries in bulk.
fn fast_shape(f: &ExportFn) -> Option<Shape> {
    if f.is_async {
        return None;
    }
    let params: Vec<_> = f.params.iter().map(|p| p.ty.clone()).collect();
    let results: Vec<_> = f.result.iter().cloned().collect();
    Shape::of(&params, &results)
}

/// An argument of a fast-path call: a literal, or an input read whole.
async fn arg_to_bulk(arg: ArgValue, inputs: Option<&VirtualDir>) -> Result<Bulk> {
    Ok(match arg {
        ArgValue::Value(Val::String(s)) => Bulk::Text(s),
        ArgValue::Value(Val::U32(n)) => Bulk::U32(n),
        ArgValue::Value(Val::List(items)) => Bulk::Bytes(
            items
                .into_iter()
                .map(|v| match v {
                    Val::U8(b) => Ok(b),
                    other => Err(anyhow::anyhow!("a list<u8> holding {other:?}")),
                })
                .collect::<Result<_>>()?,
        ),
        ArgValue::Input {
            path,
            kind: ParamKind::ByteList,
        } => Bulk::Bytes(read_byte_list(path, inputs, MAX_BYTE_LIST).await?),
        other => anyhow::bail!("a fast-path call got the argument {other:?}"),
    })
}

/// What a fast-path call's result shows.
fn rendered(returned: Returned) -> Rendered {
    let value = |v| match v {
        Bulk::Bytes(b) => Rendered::Bytes(b),
        Bulk::Text(t) => Rendered::Text(t),
        Bulk::U32(n) => Rendered::Text(n.to_string()),
    };
    match returned {
        Returned::Nothing | Returned::Ok(None) => Rendered::Nothing,
        Returned::Value(v) | Returned::Ok(Some(v)) => value(v),
        Returned::Err(message) => Rendered::Error(message),
    }
}

/// Writes the rendered result and picks the exit code. Output files (`-o`
/// and `output-stream` parameters) are committed only when the call
/// succeeded; after an `err` their temporary files are removed.
fn deliver(
    rendered: Rendered,
    mut out: OutputTarget,
    outputs: Vec<OutputTarget>,
    is_cli_run: bool,
) -> Result<u8> {
    if let Rendered::Error(msg) = &rendered {
        // A legacy command has printed its own message already.
        if !is_cli_run {
            say!("error: {msg}");
        }
        return Ok(COMPONENT_ERR);
    }
    for o in outputs {
        o.commit()?;
    }
    match rendered {
        Rendered::Text(text) => {
            writeln!(out, "{text}")?;
            out.commit()?;
        }
        Rendered::Bytes(bytes) => {
            if bytes.len() > MAX_BYTE_LIST {
                anyhow::bail!(
                    "the component returned more than {} MiB as a list",
                    MAX_BYTE_LIST >> 20
                );
            }
            out.write_all(&bytes)?;
            out.commit()?;
        }
        Rendered::Nothing => out.commit()?,
        Rendered::Stream(_) | Rendered::Error(_) => unreachable!("handled above"),
    }
    Ok(0)
}

fn lookup(store: &mut Store<HostState>, instance: &Instance, f: &ExportFn) -> Result<Func> {
    let parent = match &f.instance {
        Some(i) => Some(
            instance
                .get_export_index(&mut *store, None, i)
                .with_context(|| format!("no exported instance `{i}`"))?,
        ),
        None => None,
    };
    let idx = instance
        .get_export_index(&mut *store, parent.as_ref(), &f.name)
        .with_context(|| format!("no exported function `{}`", f.key()))?;
    instance
        .get_func(&mut *store, idx)
        .with_context(|| format!("`{}` is not a function", f.key()))
}

async fn arg_to_val(
    store: &mut Store<HostState>,
    arg: ArgValue,
    inputs: Option<&VirtualDir>,
    outputs: &mut Vec<OutputTarget>,
) -> Result<Val> {
    Ok(match arg {
        ArgValue::Value(v) => v,
        ArgValue::Input {
            path,
            kind: ParamKind::ByteList,
        } => {
            let bytes = read_byte_list(path, inputs, MAX_VAL_BYTE_LIST).await?;
            Val::List(bytes.into_iter().map(Val::U8).collect())
        }
        ArgValue::Input { path, kind } => {
            let source = open_input(&path, inputs)?;
            match kind {
                ParamKind::ByteStream => {
                    let reader = StreamReader::new(&mut *store, source.into_producer())?;
                    Val::Stream(StreamAny::try_from_stream_reader(&mut *store, reader)?)
                }
                _ => {
                    let stream = store.data_mut().table().push(source.into_p2_stream()?)?;
                    Val::Resource(ResourceAny::try_from_resource(stream, &mut *store)?)
                }
            }
        }
        ArgValue::Output { path } => {
            let target = OutputTarget::create(path.as_deref())?;
            let stream = store.data_mut().table().push(target.p2_stream()?)?;
            outputs.push(target);
            Val::Resource(ResourceAny::try_from_resource(stream, &mut *store)?)
        }
    })
}

/// Opens an input path: in a pipeline's in-memory filesystem, or the
/// host's (and `-`, stdin, always the host's).
fn open_input(path: &Path, inputs: Option<&VirtualDir>) -> Result<InputSource> {
    match inputs {
        Some(dir) if path.as_os_str() != "-" => {
            let guest_path = path.to_str().with_context(|| {
                format!(
                    "`{}` is not UTF-8: a path in the pod's in-memory filesystem is a WASI path, a string",
                    path.display()
                )
            })?;
            dir.open(guest_path).map(InputSource::File)
        }
        _ => InputSource::open(path),
    }
}

/// Reads the input `path` whole for a `list<u8>` parameter, at most
/// `limit` bytes.
async fn read_byte_list(
    path: PathBuf,
    inputs: Option<&VirtualDir>,
    limit: usize,
) -> Result<Vec<u8>> {
    let source = open_input(&path, inputs)?;
    Ok(source
        .read_all(limit)
        .await
        .map_err(|source| ByteListInput { path, source })?)
}

/// Runs a WASI preview1 command module: `_start` with `argv`, stdio
/// inherited, within its `timeout`; returns the guest's exit code.
pub(crate) async fn run_module(
    engine: &HostEngine,
    module: &wasmtime::Module,
    grants: &Grants,
) -> Result<u8> {
    let deadline = Deadline::after(grants.limits.timeout);
    deadline
        .bound(start_module(engine, module, grants, deadline))
        .await
}

async fn start_module(
    engine: &HostEngine,
    module: &wasmtime::Module,
    grants: &Grants,
    deadline: Deadline,
) -> Result<u8> {
    let linker = module_linker(engine)?;
    let mut store = engine.module_store(grants, deadline)?;
    let instance = linker
        .instantiate_async(&mut store, module)
        .await
        .map_err(|e| {
            let e = anyhow::Error::from(e);
            match GuestFailure::classify(&e) {
                Some(_) => e,
                None => e.context("cannot instantiate the module"),
            }
        })?;
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .map_err(|_| UsageError::new("the module exports no `_start`: it is not a WASI command"))?;
    start.call_async(&mut store, ()).await?;
    Ok(0)
}

/// wasmtime's "hostcall fuel exhausted" (the bound on what one call copies
/// between guest and host, which nanopod sets from `limit`, the largest
/// byte list of the call's path) in the words of the limit it is.
fn name_the_value_limit(e: wasmtime::Error, limit: usize) -> anyhow::Error {
    let e = anyhow::Error::from(e);
    if e.chain().any(|c| {
        c.to_string()
            .contains("fuel allocated for hostcalls has been exhausted")
    }) {
        return UsageError::new(format!(
            "the component's values are larger than the {} MiB `nanopod run` copies in one call; take and return stream<u8> for data this large",
            limit >> 20
        ))
        .into();
    }
    e
}

/// An input too large (or unreadable) for a `list<u8>` parameter.
#[derive(Debug, thiserror::Error)]
#[error("cannot pass `{}` as list<u8> (functions that take stream<u8> have no size limit)", path.display())]
struct ByteListInput {
    path: PathBuf,
    #[source]
    source: nanopod_host::io::ReadAllError,
}
