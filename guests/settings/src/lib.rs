//! `settings`: a component configured through `wasi:config/store`
//! (`--var`, `--var-file`, pod.toml's `variables`).

wit_bindgen::generate!({
    path: ["../../crates/nanopod-host/wit/config", "wit"],
    world: "nanopod:settings/settings",
    generate_all,
});

use wasi::config::store;

struct Settings;

fn describe(e: store::Error) -> String {
    match e {
        store::Error::Upstream(m) => format!("upstream: {m}"),
        store::Error::Io(m) => format!("io: {m}"),
    }
}

impl Guest for Settings {
    fn get(key: String) -> Result<String, String> {
        store::get(&key)
            .map_err(describe)?
            .ok_or_else(|| format!("`{key}` is not configured"))
    }

    fn all() -> Result<String, String> {
        let mut pairs = store::get_all().map_err(describe)?;
        pairs.sort();
        let lines: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        Ok(lines.join("\n"))
    }
}

export!(Settings);
