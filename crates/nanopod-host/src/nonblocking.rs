//! WASI 0.2 for guests called synchronously on an executor thread (the
//! synchronous HTTP filters of `nanopod serve`).
//!
//! wasmtime-wasi's synchronous bindings run every blocking call (`poll`,
//! `blocking-write-and-flush`, even dropping a stream) through
//! `Handle::block_on`, which panics on a tokio worker thread; and any
//! asynchronous host function in a linker makes every call into its
//! instances asynchronous. So a synchronous guest gets only the interfaces
//! whose calls cannot block (clocks, random, the environment, stdio
//! handles, preopens), and `wasi:io` here answers a "blocking" call only
//! when it would not block: it polls the operation once, and a guest that
//! would have to wait traps instead of holding the thread. Writes to
//! stdout and stderr are always ready, so printing works.

use crate::interface::InterfaceName;
use crate::store::HostState;
use std::future::Future;
use std::task::{Context, Poll, Waker};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, HasData, Linker, Resource, ResourceTable, ResourceType};
use wasmtime_wasi::WasiView;
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView};
use wasmtime_wasi::p2::bindings::sync::io::{poll, streams};
use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, random};
use wasmtime_wasi::p2::{StreamError, StreamResult};
use wasmtime_wasi::random::{WasiRandom, WasiRandomView};
use wasmtime_wasi_io::bindings::wasi::io::{poll as async_poll, streams as async_streams};
use wasmtime_wasi_io::poll::DynPollable;
use wasmtime_wasi_io::streams::{DynInputStream, DynOutputStream};

/// The interfaces [`add_to_linker`] provides, unversioned.
const LINKED: &[&str] = &[
    "wasi:clocks/wall-clock",
    "wasi:clocks/monotonic-clock",
    "wasi:filesystem/preopens",
    "wasi:filesystem/types",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:cli/exit",
    "wasi:cli/environment",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
];

/// Adds the non-blocking WASI 0.2 interfaces to `linker`.
///
/// `wasi:filesystem/types` is among them although its calls block: they
/// all need a descriptor, and a synchronous guest is granted no directory
/// (the caller refuses one), so none can be reached.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    type T = HostState;
    let l = linker;
    clocks::wall_clock::add_to_linker::<T, WasiClocks>(l, T::clocks)?;
    clocks::monotonic_clock::add_to_linker::<T, WasiClocks>(l, T::clocks)?;
    filesystem::preopens::add_to_linker::<T, WasiFilesystem>(l, T::filesystem)?;
    random::random::add_to_linker::<T, WasiRandom>(l, T::random)?;
    random::insecure::add_to_linker::<T, WasiRandom>(l, T::random)?;
    random::insecure_seed::add_to_linker::<T, WasiRandom>(l, T::random)?;
    cli::exit::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::environment::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::stdin::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::stdout::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::stderr::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_input::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_output::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stdin::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stdout::add_to_linker::<T, WasiCli>(l, T::cli)?;
    cli::terminal_stderr::add_to_linker::<T, WasiCli>(l, T::cli)?;
    wasmtime_wasi::p2::bindings::sync::filesystem::types::add_to_linker::<T, WasiFilesystem>(
        l,
        T::filesystem,
    )?;
    wasmtime_wasi_io::bindings::wasi::io::error::add_to_linker::<T, Tables>(l, |t| t.ctx().table)?;
    poll::add_to_linker::<T, Io>(l, |t| NonBlocking(t.ctx().table))?;
    streams::add_to_linker::<T, Io>(l, |t| NonBlocking(t.ctx().table))?;
    Ok(())
}

/// Defines every function `component` imports from an interface that is
/// neither one [`add_to_linker`] provides nor one of `also_linked`
/// (unversioned names) as a trap naming it, and its resources as opaque
/// types: sockets and HTTP, whose calls would wait. (wasmtime's
/// `define_unknown_imports_as_traps` matches names exactly, so it would
/// stub a `@0.2.6` import that the linker serves as `@0.2.x`.)
pub(crate) fn trap_the_rest(
    linker: &mut Linker<HostState>,
    component: &Component,
    also_linked: &[&str],
) -> anyhow::Result<()> {
    let engine = component.engine();
    // Resources an earlier import introduced (a `use` in a later one
    // names them again) need no definition.
    let mut introduced: Vec<ResourceType> = Vec::new();
    for (name, import) in component.component_type().imports(engine) {
        let ComponentItem::ComponentInstance(instance) = import.ty else {
            continue;
        };
        let interface = InterfaceName::parse(name);
        let unversioned = interface.unversioned();
        let linked = LINKED.contains(&unversioned) || also_linked.contains(&unversioned);
        let mut stubs = if linked {
            None
        } else {
            Some(linker.instance(name)?)
        };
        for (item, ty) in instance.exports(engine) {
            match (ty.ty, &mut stubs) {
                (ComponentItem::Resource(resource), stubs) => {
                    if introduced.contains(&resource) {
                        continue;
                    }
                    introduced.push(resource);
                    if let Some(stubs) = stubs {
                        stubs.resource(item, ResourceType::host::<Opaque>(), |_, _| Ok(()))?;
                    }
                }
                (ComponentItem::ComponentFunc(_), Some(stubs)) => {
                    let what = format!("{name}#{item}");
                    stubs.func_new(item, move |_, _, _, _| {
                        Err(wasmtime::format_err!(
                            "a synchronous filter may not call `{what}` (its calls would wait)"
                        ))
                    })?;
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// The host type of a stubbed interface's resources, never made.
struct Opaque;

struct Tables;

impl HasData for Tables {
    type Data<'a> = &'a mut ResourceTable;
}

struct Io;

impl HasData for Io {
    type Data<'a> = NonBlocking<'a>;
}

/// `wasi:io` over a store's resource table, never waiting.
struct NonBlocking<'a>(&'a mut ResourceTable);

/// What a guest that would wait is told, as a trap.
const WOULD_BLOCK: &str = "a synchronous filter may not wait for I/O (it called a blocking \
                           `wasi:io` function that was not ready)";

/// The operation's result if it is ready at once.
fn at_once<F: Future>(operation: F) -> Option<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    match std::pin::pin!(operation).poll(&mut cx) {
        Poll::Ready(done) => Some(done),
        Poll::Pending => None,
    }
}

fn would_block() -> wasmtime::Error {
    wasmtime::format_err!("{WOULD_BLOCK}")
}

/// A stream operation's result if it is ready at once, else a trap.
fn stream_at_once<T>(operation: impl Future<Output = StreamResult<T>>) -> StreamResult<T> {
    at_once(operation).unwrap_or_else(|| Err(StreamError::Trap(would_block())))
}

impl poll::Host for NonBlocking<'_> {
    fn poll(&mut self, pollables: Vec<Resource<DynPollable>>) -> wasmtime::Result<Vec<u32>> {
        at_once(async_poll::Host::poll(self.0, pollables)).unwrap_or_else(|| Err(would_block()))
    }
}

impl poll::HostPollable for NonBlocking<'_> {
    fn ready(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<bool> {
        // Asking is never waiting: not ready yet is `false`.
        at_once(async_poll::HostPollable::ready(self.0, pollable)).unwrap_or(Ok(false))
    }

    fn block(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        at_once(async_poll::HostPollable::block(self.0, pollable))
            .unwrap_or_else(|| Err(would_block()))
    }

    fn drop(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        async_poll::HostPollable::drop(self.0, pollable)
    }
}

impl streams::Host for NonBlocking<'_> {
    fn convert_stream_error(&mut self, err: StreamError) -> wasmtime::Result<streams::StreamError> {
        Ok(
            match async_streams::Host::convert_stream_error(self.0, err)? {
                async_streams::StreamError::LastOperationFailed(e) => {
                    streams::StreamError::LastOperationFailed(e)
                }
                async_streams::StreamError::Closed => streams::StreamError::Closed,
            },
        )
    }
}

type Output = Resource<DynOutputStream>;
type Input = Resource<DynInputStream>;
use async_streams::{HostInputStream as In, HostOutputStream as Out};

impl streams::HostOutputStream for NonBlocking<'_> {
    fn drop(&mut self, stream: Output) -> wasmtime::Result<()> {
        // Dropping cancels the stream's pending work; work that does not
        // stop at once is dropped with it.
        at_once(Out::drop(self.0, stream)).unwrap_or(Ok(()))
    }

    fn check_write(&mut self, stream: Output) -> StreamResult<u64> {
        Out::check_write(self.0, stream)
    }

    fn write(&mut self, stream: Output, bytes: Vec<u8>) -> StreamResult<()> {
        Out::write(self.0, stream, bytes)
    }

    fn blocking_write_and_flush(&mut self, stream: Output, bytes: Vec<u8>) -> StreamResult<()> {
        stream_at_once(Out::blocking_write_and_flush(self.0, stream, bytes))
    }

    fn blocking_write_zeroes_and_flush(&mut self, stream: Output, len: u64) -> StreamResult<()> {
        stream_at_once(Out::blocking_write_zeroes_and_flush(self.0, stream, len))
    }

    fn subscribe(&mut self, stream: Output) -> wasmtime::Result<Resource<DynPollable>> {
        Out::subscribe(self.0, stream)
    }

    fn write_zeroes(&mut self, stream: Output, len: u64) -> StreamResult<()> {
        Out::write_zeroes(self.0, stream, len)
    }

    fn flush(&mut self, stream: Output) -> StreamResult<()> {
        Out::flush(self.0, stream)
    }

    fn blocking_flush(&mut self, stream: Output) -> StreamResult<()> {
        stream_at_once(Out::blocking_flush(self.0, stream))
    }

    fn splice(&mut self, dst: Output, src: Input, len: u64) -> StreamResult<u64> {
        Out::splice(self.0, dst, src, len)
    }

    fn blocking_splice(&mut self, dst: Output, src: Input, len: u64) -> StreamResult<u64> {
        stream_at_once(Out::blocking_splice(self.0, dst, src, len))
    }
}

impl streams::HostInputStream for NonBlocking<'_> {
    fn drop(&mut self, stream: Input) -> wasmtime::Result<()> {
        at_once(In::drop(self.0, stream)).unwrap_or(Ok(()))
    }

    fn read(&mut self, stream: Input, len: u64) -> StreamResult<Vec<u8>> {
        In::read(self.0, stream, len)
    }

    fn blocking_read(&mut self, stream: Input, len: u64) -> StreamResult<Vec<u8>> {
        stream_at_once(In::blocking_read(self.0, stream, len))
    }

    fn skip(&mut self, stream: Input, len: u64) -> StreamResult<u64> {
        In::skip(self.0, stream, len)
    }

    fn blocking_skip(&mut self, stream: Input, len: u64) -> StreamResult<u64> {
        stream_at_once(In::blocking_skip(self.0, stream, len))
    }

    fn subscribe(&mut self, stream: Input) -> wasmtime::Result<Resource<DynPollable>> {
        In::subscribe(self.0, stream)
    }
}
