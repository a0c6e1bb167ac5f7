//! The WASI preview1 a filter gets: stdout and stderr (to the log, with
//! the filter's name), clocks, random numbers, and the environment
//! variables it was granted. Nothing else: no preopened directory, no
//! argument, no socket; every other preview1 function answers `ENOSYS`
//! ([`crate::vm`] links the stubs).

use crate::host::read;
use crate::vm::VmState;
use std::time::{Instant, SystemTime};
use wasmtime::{Caller, Linker};

const WASI: &str = "wasi_snapshot_preview1";
const SUCCESS: i32 = 0;
const BADF: i32 = 8;
const FAULT: i32 = 21;
const INVAL: i32 = 28;
/// What every preview1 function nanopod does not give filters answers.
pub(crate) const NOSYS: i32 = 52;

type Ctx<'a> = Caller<'a, VmState>;

fn put(c: &mut Ctx<'_>, ptr: i32, bytes: &[u8]) -> Result<(), i32> {
    let mem = c.data().memory.ok_or(FAULT)?;
    mem.write(&mut *c, ptr as u32 as usize, bytes)
        .map_err(|_| FAULT)
}

fn errno(result: Result<(), i32>) -> i32 {
    result.err().unwrap_or(SUCCESS)
}

/// The time the monotonic clock counts from.
fn monotonic_origin() -> Instant {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

pub(crate) fn add_to_linker(linker: &mut Linker<VmState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        WASI,
        "args_sizes_get",
        |mut c: Ctx<'_>, argc: i32, size: i32| -> i32 {
            errno(
                put(&mut c, argc, &0u32.to_le_bytes())
                    .and_then(|()| put(&mut c, size, &0u32.to_le_bytes())),
            )
        },
    )?;
    linker.func_wrap(
        WASI,
        "args_get",
        |_c: Ctx<'_>, _argv: i32, _buf: i32| -> i32 { SUCCESS },
    )?;
    linker.func_wrap(
        WASI,
        "environ_sizes_get",
        |mut c: Ctx<'_>, count: i32, size: i32| -> i32 {
            let env = &c.data().plugin.env;
            let n = env.len() as u32;
            let bytes: usize = env.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
            errno(
                put(&mut c, count, &n.to_le_bytes())
                    .and_then(|()| put(&mut c, size, &(bytes as u32).to_le_bytes())),
            )
        },
    )?;
    linker.func_wrap(
        WASI,
        "environ_get",
        |mut c: Ctx<'_>, environ: i32, buf: i32| -> i32 {
            let env = c.data().plugin.env.clone();
            let mut at = buf as u32;
            for (i, (k, v)) in env.iter().enumerate() {
                let entry = format!("{k}={v}\0");
                let written = put(&mut c, environ + 4 * i as i32, &at.to_le_bytes())
                    .and_then(|()| put(&mut c, at as i32, entry.as_bytes()));
                if let Err(e) = written {
                    return e;
                }
                at += entry.len() as u32;
            }
            SUCCESS
        },
    )?;
    linker.func_wrap(
        WASI,
        "clock_res_get",
        |mut c: Ctx<'_>, id: i32, ret: i32| -> i32 {
            if !(0..=3).contains(&id) {
                return INVAL;
            }
            errno(put(&mut c, ret, &1u64.to_le_bytes()))
        },
    )?;
    linker.func_wrap(
        WASI,
        "clock_time_get",
        |mut c: Ctx<'_>, id: i32, _precision: i64, ret: i32| -> i32 {
            let nanos = match id {
                0 => SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64),
                1..=3 => monotonic_origin().elapsed().as_nanos() as u64,
                _ => return INVAL,
            };
            errno(put(&mut c, ret, &nanos.to_le_bytes()))
        },
    )?;
    linker.func_wrap(
        WASI,
        "random_get",
        |mut c: Ctx<'_>, buf: i32, len: i32| -> i32 {
            let len = len as u32 as usize;
            if len > 1 << 16 {
                return INVAL;
            }
            let mut bytes = vec![0u8; len];
            if getrandom::fill(&mut bytes).is_err() {
                return NOSYS;
            }
            errno(put(&mut c, buf, &bytes))
        },
    )?;
    linker.func_wrap(
        WASI,
        "fd_write",
        |mut c: Ctx<'_>, fd: i32, iovs: i32, iovs_len: i32, ret: i32| -> i32 {
            if fd != 1 && fd != 2 {
                return BADF;
            }
            let Ok(list) = read(&mut c, iovs, iovs_len.saturating_mul(8)) else {
                return FAULT;
            };
            let mut text = Vec::new();
            for iov in list.chunks_exact(8) {
                let ptr = i32::from_le_bytes(iov[..4].try_into().expect("4 bytes"));
                let len = i32::from_le_bytes(iov[4..].try_into().expect("4 bytes"));
                match read(&mut c, ptr, len) {
                    Ok(b) => text.extend_from_slice(&b),
                    Err(_) => return FAULT,
                }
            }
            let shown = String::from_utf8_lossy(&text);
            let shown = shown.strip_suffix('\n').unwrap_or(&shown);
            let filter = &c.data().plugin.name;
            if fd == 1 {
                tracing::info!(target: "nanopod::filter", "{filter}: {shown}");
            } else {
                tracing::warn!(target: "nanopod::filter", "{filter}: {shown}");
            }
            errno(put(&mut c, ret, &(text.len() as u32).to_le_bytes()))
        },
    )?;
    linker.func_wrap(
        WASI,
        "fd_fdstat_get",
        |mut c: Ctx<'_>, fd: i32, ret: i32| -> i32 {
            if !(0..=2).contains(&fd) {
                return BADF;
            }
            // A character device, no flags, every right.
            let mut stat = [0u8; 24];
            stat[0] = 2;
            stat[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
            stat[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
            errno(put(&mut c, ret, &stat))
        },
    )?;
    for name in [
        "fd_prestat_get",
        "fd_prestat_dir_name",
        "fd_close",
        "fd_read",
        "fd_seek",
    ] {
        // No preopens, and no file but the standard streams.
        linker.func_new(
            WASI,
            name,
            match name {
                "fd_prestat_get" => wasmtime::FuncType::new(
                    linker.engine(),
                    [wasmtime::ValType::I32, wasmtime::ValType::I32],
                    [wasmtime::ValType::I32],
                ),
                "fd_prestat_dir_name" => wasmtime::FuncType::new(
                    linker.engine(),
                    [
                        wasmtime::ValType::I32,
                        wasmtime::ValType::I32,
                        wasmtime::ValType::I32,
                    ],
                    [wasmtime::ValType::I32],
                ),
                "fd_close" => wasmtime::FuncType::new(
                    linker.engine(),
                    [wasmtime::ValType::I32],
                    [wasmtime::ValType::I32],
                ),
                "fd_read" => wasmtime::FuncType::new(
                    linker.engine(),
                    [
                        wasmtime::ValType::I32,
                        wasmtime::ValType::I32,
                        wasmtime::ValType::I32,
                        wasmtime::ValType::I32,
                    ],
                    [wasmtime::ValType::I32],
                ),
                _ => wasmtime::FuncType::new(
                    linker.engine(),
                    [
                        wasmtime::ValType::I32,
                        wasmtime::ValType::I64,
                        wasmtime::ValType::I32,
                        wasmtime::ValType::I32,
                    ],
                    [wasmtime::ValType::I32],
                ),
            },
            |_c, _params, results| {
                results[0] = wasmtime::Val::I32(BADF);
                Ok(())
            },
        )?;
    }
    linker.func_wrap(WASI, "sched_yield", |_c: Ctx<'_>| -> i32 { SUCCESS })?;
    linker.func_wrap(
        WASI,
        "proc_exit",
        |_c: Ctx<'_>, code: i32| -> wasmtime::Result<()> {
            Err(wasmtime::Error::msg(format!(
                "the filter called proc_exit({code})"
            )))
        },
    )?;
    Ok(())
}
