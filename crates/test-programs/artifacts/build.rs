//! Builds every guest in `guests/` with a nested `cargo build` (into the
//! shared guest target directory), copies each into OUT_DIR, embeds the
//! examples' WIT doc comments (the `package-docs` section, as `nanopod
//! embed-docs` does), and writes `pub const NAME: &str` paths.

use anyhow::{Context, Result};
use std::path::PathBuf;

/// (crate, target, WIT docs relative to guests/)
const GUESTS: &[(&str, &str, Option<&str>)] = &[
    ("thumbnail", "wasm32-wasip2", Some("wit")),
    ("upper", "wasm32-wasip2", Some("wit")),
    ("identity", "wasm32-wasip2", Some("wit")),
    ("wc", "wasm32-wasip2", Some("wit")),
    ("primes", "wasm32-wasip2", Some("wit")),
    ("geo", "wasm32-wasip2", Some("geo/wit")),
    ("geo-app", "wasm32-wasip2", Some("geo/wit")),
    ("calc", "wasm32-wasip2", Some("calc/wit")),
    ("calc-driver", "wasm32-wasip2", Some("calc/wit")),
    ("http-app", "wasm32-wasip2", None),
    ("http-auth", "wasm32-wasip2", None),
    ("http-log", "wasm32-wasip2", None),
    ("http-geo", "wasm32-wasip2", None),
    ("text-filter", "wasm32-wasip2", Some("text/wit")),
    ("text-client", "wasm32-wasip2", Some("text/wit")),
    ("p3-http-app", "wasm32-wasip2", None),
    ("p3-http-auth", "wasm32-wasip2", None),
    ("p3-http-log", "wasm32-wasip2", None),
    ("kitchen", "wasm32-wasip2", Some("kitchen/wit")),
    ("legacy", "wasm32-wasip2", None),
    ("report", "wasm32-wasip2", None),
    ("files", "wasm32-wasip2", None),
    ("p3-hello", "wasm32-wasip2", None),
    ("hello-p1", "wasm32-wasip1", None),
    ("pw-auth", "wasm32-wasip1", None),
    ("pw-log", "wasm32-wasip1", None),
    ("pw-ratelimit", "wasm32-wasip1", None),
    ("pw-kitchen", "wasm32-wasip1", None),
    ("cf-stamp", "wasm32-wasip2", None),
    ("settings", "wasm32-wasip2", None),
    ("kv", "wasm32-wasip2", None),
    ("probe", "wasm32-wasip2", Some("probe/wit")),
    ("probe-front", "wasm32-wasip2", Some("probe/wit")),
];

fn main() -> Result<()> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let guests = guest_build::guests_dir(&manifest_dir, 3)?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    println!("cargo:rerun-if-changed={}", guests.display());

    let target_dir = guest_build::shared_target_dir(&guests);
    for target in ["wasm32-wasip2", "wasm32-wasip1"] {
        let crates: Vec<&str> = GUESTS
            .iter()
            .filter(|g| g.1 == target)
            .map(|g| g.0)
            .collect();
        guest_build::cargo_build(&guests, &target_dir, target, &crates)?;
    }

    let mut consts = String::new();
    for (name, target, wit) in GUESTS {
        let file = name.replace('-', "_");
        // Libraries (cdylib) are named with underscores, binaries as is.
        let release = target_dir.join(target).join("release");
        let built = [format!("{file}.wasm"), format!("{name}.wasm")]
            .into_iter()
            .map(|f| release.join(f))
            .find(|p| p.exists())
            .with_context(|| format!("guest `{name}` was not built"))?;
        let bytes = std::fs::read(&built)?;
        let bytes = match wit {
            Some(wit) => nanopod_wit_docs::embed(&bytes, &guests.join(wit))?,
            None => bytes,
        };
        let dest = out_dir.join(format!("{name}.wasm"));
        std::fs::write(&dest, bytes)?;
        consts.push_str(&format!(
            "/// `guests/{name}`, built for `{target}`.\npub const {}: &str = {:?};\n",
            file.to_uppercase(),
            dest.display().to_string()
        ));
    }
    consts.push_str(&format!(
        "/// Every guest, as (name, path).\npub const ALL: &[(&str, &str)] = &[{}];\n",
        GUESTS
            .iter()
            .map(|g| format!("({:?}, {})", g.0, g.0.replace('-', "_").to_uppercase()))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    std::fs::write(out_dir.join("guests.rs"), consts)?;
    Ok(())
}
