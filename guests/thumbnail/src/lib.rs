//! `thumbnail`: the flagship example. A typed function over streams: the host
//! opens the image file and hands the guest its bytes; the guest returns the
//! PNG bytes of the shrunk image. No filesystem, no argv.

wit_bindgen::generate!({ path: "../wit", world: "thumbnail" });

use std::io::Cursor;
use wit_bindgen::{StreamReader, StreamResult};

struct Thumbnail;

/// Largest input image accepted, in bytes.
const MAX_INPUT: usize = 64 * 1024 * 1024;

impl Guest for Thumbnail {
    async fn thumbnail(
        mut image: StreamReader<u8>,
        width: u32,
    ) -> Result<StreamReader<u8>, String> {
        if width == 0 {
            return Err("width must be at least 1".to_string());
        }
        let mut input = Vec::new();
        loop {
            let (status, chunk) = image.read(Vec::with_capacity(64 * 1024)).await;
            input.extend_from_slice(&chunk);
            if input.len() > MAX_INPUT {
                return Err(format!("image is larger than {MAX_INPUT} bytes"));
            }
            if let StreamResult::Dropped = status {
                break;
            }
        }
        let decoded = image::load_from_memory(&input)
            .map_err(|e| format!("cannot decode image: {e}"))?;
        let height = ((u64::from(decoded.height()) * u64::from(width))
            / u64::from(decoded.width().max(1)))
        .max(1) as u32;
        let small = decoded.resize_exact(width, height, image::imageops::FilterType::Triangle);
        let mut png = Vec::new();
        small
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .map_err(|e| format!("cannot encode PNG: {e}"))?;

        let (mut tx, rx) = wit_stream::new();
        wit_bindgen::spawn_local(async move {
            tx.write_all(png).await;
        });
        Ok(rx)
    }
}

export!(Thumbnail);
