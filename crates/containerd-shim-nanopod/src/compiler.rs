//! The compiler hook: runwasi calls it the first time an image of Wasm
//! artifact layers starts and keeps what it returns in containerd's
//! content store, labelled with [`NanopodCompiler::cache_key`]; later
//! starts get those bytes instead of the layer's.

use containerd_shim_wasm::sandbox::context::WasmLayer;
use containerd_shim_wasm::shim::Compiler;
use nanopod_host::Engines;
use nanopod_host::precompiled;

/// Compiles layers into nanopod's precompiled bundles.
pub(crate) struct NanopodCompiler {
    engines: Engines,
    key: String,
}

impl NanopodCompiler {
    /// The compiler of this build; `None` (layers run from their bytes,
    /// compiled at every start) when its engines cannot be built.
    pub(crate) fn new() -> Option<Self> {
        let engines = Engines::default();
        match precompiled::compatibility_key(&engines) {
            Ok(key) => Some(NanopodCompiler { engines, key }),
            Err(e) => {
                log::warn!("not precompiling: {e}");
                None
            }
        }
    }
}

impl Compiler for NanopodCompiler {
    fn cache_key(&self) -> impl std::hash::Hash {
        self.key.clone()
    }

    async fn compile(&self, layers: &[WasmLayer]) -> anyhow::Result<Vec<Option<Vec<u8>>>> {
        layers
            .iter()
            .map(|layer| {
                let bytes = &layer.layer;
                let is_wasm = wasmparser::Parser::is_component(bytes)
                    || wasmparser::Parser::is_core_wasm(bytes);
                if !is_wasm {
                    return Ok(None);
                }
                let origin = layer.config.digest().to_string();
                log::info!("precompiling layer {origin}");
                Ok(Some(precompiled::bundle(
                    &self.engines,
                    bytes.clone(),
                    &origin,
                )?))
            })
            .collect()
    }
}
