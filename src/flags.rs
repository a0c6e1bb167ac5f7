//! Flags shared by several subcommands, defined once.

use anyhow::{Context, Result, bail};
use clap::Args;
use nanopod_host::vfs::VirtualDir;
use nanopod_host::{DirGrant, Grants, Limits};
use nanopod_wit_docs::DocIndex;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Capabilities and limits: nothing is granted unless named here. The same
/// struct reads a pod component's `grants` table in `pod.toml`, so each
/// flag and its manifest key (`dirs`, `ro-dirs`, `env`, `allow-http`,
/// `max-memory`, `timeout`) have one definition.
#[derive(Args, Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct CapabilityFlags {
    /// Grant read-write access to host directory HOST, seen by the guest as
    /// GUEST (default: the same path). Repeatable.
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    pub dirs: Vec<String>,

    /// Grant read-only access to host directory HOST, seen as GUEST.
    #[arg(long = "ro-dir", value_name = "HOST[::GUEST]")]
    pub ro_dirs: Vec<String>,

    /// Give the guest a private in-memory copy of directory (or .tar archive)
    /// SOURCE at GUEST: it may change it freely; nothing reaches the host disk.
    #[arg(long = "vfs", value_name = "SOURCE::GUEST")]
    #[serde(skip)]
    pub vfs: Option<String>,

    /// After a successful run, write the final state of `--vfs` to this new
    /// directory.
    #[arg(long = "vfs-out", value_name = "DIR", requires = "vfs")]
    #[serde(skip)]
    pub vfs_out: Option<PathBuf>,

    /// Set an environment variable; NAME alone passes the host's value.
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    pub env: Vec<String>,

    /// Allow outbound HTTP requests to HOST (any port) or HOST:PORT.
    #[arg(long = "allow-http", value_name = "HOST[:PORT]")]
    pub allow_http: Vec<String>,

    /// Cap the guest's linear memory, e.g. `64MiB`, `1GiB`, `500000`.
    #[arg(long = "max-memory", value_name = "SIZE", value_parser = parse_size)]
    #[serde(deserialize_with = "de_size")]
    pub max_memory: Option<usize>,

    /// Interrupt the guest after this long, e.g. `500ms`, `2s`, `1m`.
    #[arg(long = "timeout", value_name = "DURATION", value_parser = parse_duration)]
    #[serde(deserialize_with = "de_duration")]
    pub timeout: Option<Duration>,
}

impl CapabilityFlags {
    /// The grants these flags describe.
    pub fn grants(&self) -> Result<Grants> {
        let mut g = Grants::new();
        for (spec, read_only) in self
            .dirs
            .iter()
            .map(|d| (d, false))
            .chain(self.ro_dirs.iter().map(|d| (d, true)))
        {
            let flag = if read_only { "--ro-dir" } else { "--dir" };
            g.dir(parse_dir(spec, read_only))
                .with_context(|| format!("invalid `{flag} {spec}`"))?;
        }
        if let Some(spec) = &self.vfs {
            let (source, guest) = spec
                .split_once("::")
                .with_context(|| format!("invalid `--vfs {spec}`: expected SOURCE::GUEST"))?;
            let dir = VirtualDir::load(Path::new(source), guest)
                .with_context(|| format!("invalid `--vfs {spec}`"))?;
            g.virtual_dir(std::sync::Arc::new(dir));
        }
        for e in &self.env {
            let (name, value) = parse_env(e)?;
            g.env(name, value);
        }
        for h in &self.allow_http {
            g.allow_http(h.as_str());
        }
        g.limits = Limits {
            max_memory: self.max_memory,
            timeout: self.timeout,
        };
        Ok(g)
    }
}

/// `--wit PATH`: doc comments from WIT sources, for components built
/// without them.
#[derive(Args, Debug, Clone, Default)]
pub struct WitFlag {
    /// Read doc comments from these WIT sources (a .wit file or a directory).
    #[arg(long = "wit", value_name = "PATH")]
    pub path: Option<PathBuf>,
}

impl WitFlag {
    /// The docs `--wit` names, if given.
    pub fn docs(&self) -> Result<Option<DocIndex>> {
        self.path
            .as_deref()
            .map(DocIndex::from_wit_path)
            .transpose()
    }
}

impl CapabilityFlags {
    /// Whether any of these flags was given.
    pub fn any(&self) -> bool {
        !(self.dirs.is_empty()
            && self.ro_dirs.is_empty()
            && self.vfs.is_none()
            && self.env.is_empty()
            && self.allow_http.is_empty()
            && self.max_memory.is_none()
            && self.timeout.is_none())
    }

    /// The flags given, in their manifest spelling (`ro-dirs data::/data`),
    /// for reports.
    pub fn describe(&self) -> Vec<String> {
        let lists = [
            ("dirs", &self.dirs),
            ("ro-dirs", &self.ro_dirs),
            ("env", &self.env),
            ("allow-http", &self.allow_http),
        ];
        let mut out: Vec<String> = lists
            .into_iter()
            .flat_map(|(key, values)| values.iter().map(move |v| format!("{key} {v}")))
            .collect();
        if let Some(m) = self.max_memory {
            out.push(format!("max-memory {m} bytes"));
        }
        if let Some(t) = self.timeout {
            out.push(format!("timeout {t:?}"));
        }
        out
    }

    /// The same grants with relative host directories taken relative to
    /// `base` (a manifest's directory) instead of the working directory.
    pub fn relative_to(mut self, base: &Path) -> Self {
        for spec in self.dirs.iter_mut().chain(self.ro_dirs.iter_mut()) {
            let (host, guest) = spec
                .split_once("::")
                .unwrap_or((spec.as_str(), spec.as_str()));
            if Path::new(host).is_relative() {
                *spec = format!("{}::{guest}", base.join(host).display());
            }
        }
        self
    }

    /// After a run that exited 0, writes `--vfs` to `--vfs-out` if asked.
    pub fn finish(&self, grants: &Grants, exit_code: u8) -> Result<()> {
        if let (Some(out), Some(dir), 0) = (&self.vfs_out, grants.virtual_dirs().first(), exit_code)
        {
            dir.write_out(out)
                .with_context(|| format!("invalid `--vfs-out {}`", out.display()))?;
        }
        Ok(())
    }
}

/// Reads a manifest string with a flag's parser (`max-memory = "64MiB"`).
fn de_text<'de, D, T>(d: D, parse: fn(&str) -> Result<T, String>) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let text = String::deserialize(d)?;
    parse(&text).map(Some).map_err(serde::de::Error::custom)
}

fn de_size<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    de_text(d, parse_size)
}

fn de_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    de_text(d, parse_duration)
}

/// `--env NAME=VALUE`, or `--env NAME` for the host's value.
pub fn parse_env(spec: &str) -> Result<(String, String)> {
    match spec.split_once('=') {
        Some((k, v)) => Ok((k.to_string(), v.to_string())),
        None => match std::env::var(spec) {
            Ok(v) => Ok((spec.to_string(), v)),
            Err(_) => bail!("invalid `--env {spec}`: `{spec}` is not set on the host"),
        },
    }
}

/// `--dir HOST[::GUEST]`; the guest path defaults to the host path.
pub fn parse_dir(spec: &str, read_only: bool) -> DirGrant {
    let (host, guest) = match spec.split_once("::") {
        Some((h, g)) => (h, g.to_string()),
        None => (spec, spec.to_string()),
    };
    DirGrant {
        host: PathBuf::from(host),
        guest,
        read_only,
    }
}

/// Parses `64MiB`, `1GiB`, `512KiB`, `10MB`, or a plain byte count.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size like 64MiB"))?;
    let mult: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "kb" => 1000,
        "m" | "mib" => 1 << 20,
        "mb" => 1_000_000,
        "g" | "gib" => 1 << 30,
        "gb" => 1_000_000_000,
        _ => return Err(format!("unknown size unit in `{s}` (use KiB, MiB or GiB)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
}

/// Parses `500ms`, `2s`, `1.5s`, `3m`, `1h`; a bare number is seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like 2s"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => {
            return Err(format!(
                "unknown duration unit in `{s}` (use ms, s, m or h)"
            ));
        }
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("`{s}` is not a valid duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5XB").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn manifest_keys_share_the_flags_syntax() {
        let caps: CapabilityFlags = toml::from_str(
            "ro-dirs = [\"data::/data\"]\nenv = [\"A=1\"]\nmax-memory = \"64MiB\"\ntimeout = \"2s\"",
        )
        .unwrap();
        assert_eq!(caps.max_memory, Some(64 << 20));
        assert_eq!(caps.timeout, Some(Duration::from_secs(2)));
        let caps = caps.relative_to(Path::new("/pods/geo"));
        assert_eq!(caps.ro_dirs, ["/pods/geo/data::/data"]);
        let err = toml::from_str::<CapabilityFlags>("dir = [\"x\"]").unwrap_err();
        assert!(err.message().contains("unknown field `dir`"), "{err}");
        let err = toml::from_str::<CapabilityFlags>("timeout = \"soon\"").unwrap_err();
        assert!(err.message().contains("not a duration"), "{err}");
    }

    #[test]
    fn dir_specs() {
        let d = parse_dir("./data::/data", true);
        assert_eq!(d.host, PathBuf::from("./data"));
        assert_eq!(d.guest, "/data");
        assert!(d.read_only);
        assert_eq!(parse_dir("x", false).guest, "x");
    }
}
