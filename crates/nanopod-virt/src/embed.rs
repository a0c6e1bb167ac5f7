//! Puts the image inside the virtual filesystem's core module: a data
//! segment above the memory's initial size (which grows to hold it), and
//! its address and length patched into the module's `LOCATION` marker
//! (guests/virt/src/image.rs). Reads are then slices of the virtual
//! filesystem's own memory.

use anyhow::{Result, bail};
use std::convert::Infallible;
use wasm_encoder::reencode::{Error, Reencode, utils};
use wasm_encoder::{ConstExpr, DataSection, MemoryType, Module};

/// The marker before the image's address and length in the module's data.
const MARKER: &[u8; 16] = b"NPVIMG-LOCATION:";
const PAGE: u64 = 64 * 1024;
/// Pages in a 32-bit memory.
const MAX_PAGES: u64 = 1 << 16;

/// `module` with `image` in its memory.
pub fn with_image(module: &[u8], image: &[u8]) -> Result<Vec<u8>> {
    let mut embed = Embed {
        image,
        base: None,
        patched: 0,
        too_large: false,
    };
    let mut out = Module::new();
    embed
        .parse_core_module(&mut out, wasmparser::Parser::new(0), module)
        .map_err(|e| anyhow::anyhow!("cannot embed the image: {e}"))?;
    if embed.too_large {
        bail!(
            "{} MiB is too much to embed: a component's memory holds at most 4 GiB",
            image.len() >> 20
        );
    }
    if embed.patched != 1 {
        bail!(
            "the virtual filesystem module has {} image markers, not one",
            embed.patched
        );
    }
    Ok(out.finish())
}

struct Embed<'a> {
    image: &'a [u8],
    /// Where the image goes: the first memory's initial size, in bytes.
    base: Option<u64>,
    patched: usize,
    too_large: bool,
}

impl Reencode for Embed<'_> {
    type Error = Infallible;

    fn memory_type(
        &mut self,
        memory: wasmparser::MemoryType,
    ) -> Result<MemoryType, Error<Infallible>> {
        let mut ty = utils::memory_type(self, memory);
        if self.base.is_none() {
            let base = ty.minimum * PAGE;
            ty.minimum = (base + self.image.len() as u64).div_ceil(PAGE);
            ty.maximum = ty.maximum.map(|max| max.max(ty.minimum));
            self.too_large = ty.minimum > MAX_PAGES;
            self.base = Some(base);
        }
        Ok(ty)
    }

    fn data_count(&mut self, count: u32) -> Result<u32, Error<Infallible>> {
        Ok(count + 1)
    }

    fn parse_data(
        &mut self,
        data: &mut DataSection,
        datum: wasmparser::Data<'_>,
    ) -> Result<(), Error<Infallible>> {
        let Some(at) = datum.data.windows(MARKER.len()).position(|w| w == MARKER) else {
            return utils::parse_data(self, data, datum);
        };
        let mut bytes = datum.data.to_vec();
        let location = &mut bytes[at + MARKER.len()..at + MARKER.len() + 8];
        let base = self.base.unwrap_or(0) as u32;
        location[..4].copy_from_slice(&base.to_le_bytes());
        location[4..].copy_from_slice(&(self.image.len() as u32).to_le_bytes());
        self.patched += 1;
        let patched = wasmparser::Data {
            kind: datum.kind,
            data: &bytes,
            range: datum.range,
        };
        utils::parse_data(self, data, patched)
    }

    fn parse_data_section(
        &mut self,
        data: &mut DataSection,
        section: wasmparser::DataSectionReader<'_>,
    ) -> Result<(), Error<Infallible>> {
        utils::parse_data_section(self, data, section)?;
        if let Some(base) = self.base.filter(|_| !self.too_large) {
            data.active(
                0,
                &ConstExpr::i32_const(base as u32 as i32),
                self.image.iter().copied(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_the_image_above_the_initial_memory_and_patches_the_marker() {
        let module = wat::parse_str(
            r#"(module (memory 2)
                 (data (i32.const 100) "NPVIMG-LOCATION:\ff\ff\ff\ff\ff\ff\ff\ff"))"#,
        )
        .unwrap();
        let image = vec![7u8; 70_000];
        let out = with_image(&module, &image).unwrap();
        wasmparser::Validator::new().validate_all(&out).unwrap();
        let mut segments = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(&out) {
            match payload.unwrap() {
                wasmparser::Payload::MemorySection(r) => {
                    let m = r.into_iter().next().unwrap().unwrap();
                    assert_eq!(m.initial, 2 + 2, "grown by the image's pages");
                }
                wasmparser::Payload::DataSection(r) => {
                    segments = r.into_iter().map(|d| d.unwrap().data.to_vec()).collect();
                }
                _ => {}
            }
        }
        assert_eq!(segments.len(), 2);
        assert_eq!(&segments[0][16..20], &(2 * 65536u32).to_le_bytes());
        assert_eq!(&segments[0][20..24], &70_000u32.to_le_bytes());
        assert_eq!(segments[1], image);
    }

    #[test]
    fn refuses_a_module_without_the_marker() {
        let module = wat::parse_str("(module (memory 1) (data (i32.const 0) \"x\"))").unwrap();
        let err = with_image(&module, b"img").unwrap_err();
        assert!(err.to_string().contains("0 image markers"), "{err}");
    }
}
