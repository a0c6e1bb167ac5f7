//! Symlinks a guest creates in a granted directory must point down from
//! where they are.
//!
//! nanopod never follows a symlink out of a grant (cap-std resolves every
//! path beneath its directory), but a link a guest leaves on the host disk
//! (`mylink -> ../outside/secret.txt`) is followed by every other tool that
//! opens it later. So `symlink-at` (WASI 0.2 and 0.3) and `path_symlink`
//! (preview1) refuse, with `not-permitted` (`EPERM`), a target that is
//! absolute or has a `..` component anywhere; everything else is created
//! by wasmtime-wasi as before. The rule is lexical on purpose: a target
//! such as `a/../..` can escape through a symlink at `a`, and a link's
//! place below the grant is not known here, so no `..` at all is the one
//! rule that cannot be walked out of. A link to a sibling (`../b`) is
//! refused with the rest; a guest that needs one writes a path from a
//! common directory instead.
//!
//! wasmtime-wasi has no hook for this, so the three functions are defined
//! again in the linker (shadowing its own), check the target, and call
//! wasmtime-wasi's implementation.

use crate::store::{HostState, P1State};
use anyhow::Result;
use wasmtime::component::{Accessor, Linker, Resource};
use wasmtime_wasi::filesystem::{Descriptor, WasiFilesystem, WasiFilesystemView};

/// Whether a guest may create a symlink whose target is `target`.
pub(crate) fn target_stays_below(target: &str) -> bool {
    !target.is_empty() && !target.starts_with('/') && !target.split('/').any(|c| c == "..")
}

fn refused(target: &str) {
    tracing::warn!(
        "refused a symlink to `{target}`: a guest's symlink must point down from where it is (no `..`, not absolute)"
    );
}

/// Shadows WASI 0.2's `symlink-at` in `linker` (after wasmtime-wasi's).
pub(crate) fn guard_p2(linker: &mut Linker<HostState>) -> Result<()> {
    use wasmtime_wasi::p2::bindings::filesystem::types::{ErrorCode, Host, HostDescriptor};
    linker.allow_shadowing(true);
    linker
        .instance("wasi:filesystem/types@0.2.12")?
        .func_wrap_async(
            "[method]descriptor.symlink-at",
            |mut store, (fd, target, link): (Resource<Descriptor>, String, String)| {
                Box::new(async move {
                    if !target_stays_below(&target) {
                        refused(&target);
                        return Ok((Err(ErrorCode::NotPermitted),));
                    }
                    let mut view = store.data_mut().filesystem();
                    Ok((
                        match HostDescriptor::symlink_at(&mut view, fd, target, link).await {
                            Ok(()) => Ok(()),
                            Err(e) => Err(view.convert_error_code(e)?),
                        },
                    ))
                })
            },
        )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// Shadows WASI 0.3's `symlink-at` in `linker` (after wasmtime-wasi's).
pub(crate) fn guard_p3(linker: &mut Linker<HostState>) -> Result<()> {
    use wasmtime_wasi::p3::bindings::filesystem::types::{ErrorCode, HostDescriptorWithStore};
    linker.allow_shadowing(true);
    linker
        .instance("wasi:filesystem/types@0.3.0")?
        .func_wrap_concurrent(
            "[method]descriptor.symlink-at",
            |accessor: &Accessor<HostState>,
             (fd, target, link): (Resource<Descriptor>, String, String)| {
                Box::pin(async move {
                    if !target_stays_below(&target) {
                        refused(&target);
                        return Ok((Err(ErrorCode::NotPermitted),));
                    }
                    let fs = accessor.with_getter::<WasiFilesystem>(
                        <HostState as WasiFilesystemView>::filesystem,
                    );
                    Ok((
                        match <WasiFilesystem as HostDescriptorWithStore<HostState>>::symlink_at(
                            &fs, fd, target, link,
                        )
                        .await
                        {
                            Ok(()) => Ok(()),
                            Err(e) => Err(e.downcast()?),
                        },
                    ))
                })
            },
        )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// Shadows preview1's `path_symlink` in `linker` (after wasmtime-wasi's).
pub(crate) fn guard_p1(linker: &mut wasmtime::Linker<P1State>) -> Result<()> {
    use wasmtime::AsContextMut;
    use wasmtime_wasi::p1::types::Errno;
    use wasmtime_wasi::p1::wasi_snapshot_preview1::{WasiSnapshotPreview1, path_symlink};
    linker.allow_shadowing(true);
    linker.func_wrap_async(
        "wasi_snapshot_preview1",
        "path_symlink",
        |mut caller: wasmtime::Caller<'_, P1State>,
         (target_ptr, target_len, fd, link_ptr, link_len): (i32, i32, i32, i32, i32)| {
            Box::new(async move {
                let Some(wasmtime::Extern::Memory(memory)) = caller.get_export("memory") else {
                    return Ok(Errno::Inval as i32);
                };
                // What wasmtime-wasi's own glue does before each call.
                let fuel = caller.as_context_mut().hostcall_fuel();
                let (bytes, state) = memory.data_and_store_mut(&mut caller);
                state.wasi.set_hostcall_fuel(fuel);
                let (start, len) = (target_ptr as u32 as usize, target_len as u32 as usize);
                let Some(target) = start.checked_add(len).and_then(|end| bytes.get(start..end))
                else {
                    return Ok(Errno::Fault as i32);
                };
                let target = String::from_utf8_lossy(target);
                if !target_stays_below(&target) {
                    refused(&target);
                    return Ok(Errno::Perm as i32);
                }
                let mut memory = wiggle::GuestMemory::Unshared(bytes);
                path_symlink(
                    &mut state.wasi,
                    &mut memory,
                    target_ptr,
                    target_len,
                    fd,
                    link_ptr,
                    link_len,
                )
                .await
            })
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::target_stays_below;

    #[test]
    fn only_targets_that_point_down_are_allowed() {
        for ok in [
            "a", "a/b.txt", "./a", "a/./b", "..a", "a..", "a/...", "a//b",
        ] {
            assert!(target_stays_below(ok), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "..",
            "../x",
            "a/../..",
            "a/..",
            "./../x",
            "a/b/../../..",
        ] {
            assert!(!target_stays_below(bad), "{bad}");
        }
    }
}
