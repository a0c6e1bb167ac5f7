//! Flags shared by several subcommands, defined once.

use anyhow::Result;
use clap::Args;
use nanopod_host::capability::sockets::{SocketSpecError, SocketUse};
use nanopod_host::limits::{deserialize_duration, deserialize_size, parse_duration, parse_size};
use nanopod_host::vfs::VirtualDir;
use nanopod_host::{DirError, DirGrant, Grants, Limits, StoreUrl};
use nanopod_pod::GrantSpec;
use nanopod_wit_docs::DocIndex;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A capability flag (or its manifest key) whose value is not valid.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FlagError {
    /// A directory that cannot be granted.
    #[error("invalid `{flag} {spec}`")]
    Dir {
        /// `--dir` or `--ro-dir`.
        flag: &'static str,
        /// The value given.
        spec: String,
        /// Why.
        #[source]
        source: DirError,
    },
    /// `--vfs` without `::`.
    #[error("invalid `--vfs {0}`: expected SOURCE::GUEST")]
    VfsSyntax(String),
    /// A `--vfs` source that cannot be copied.
    #[error("invalid `--vfs {spec}`")]
    Vfs {
        /// The value given.
        spec: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// `--env NAME` for a variable the host does not have.
    #[error("invalid `--env {0}`: `{0}` is not set on the host")]
    EnvUnset(String),
    /// `--env NAME` for a host variable that is not UTF-8.
    #[error("invalid `--env {0}`: the host's value of `{0}` is not UTF-8; give it as NAME=VALUE")]
    EnvNotUnicode(String),
    /// `--env` with no name, or one name twice.
    #[error("invalid `--env {spec}`: {reason}")]
    Env {
        /// The value given.
        spec: String,
        /// Why.
        reason: &'static str,
    },
    /// An `--allow-http` that is not a host or host:port.
    #[error("invalid `--allow-http {spec}`: {reason}")]
    Http {
        /// The value given.
        spec: String,
        /// Why.
        reason: &'static str,
    },
    /// A socket grant that cannot be read.
    #[error(transparent)]
    Socket(#[from] SocketSpecError),
    /// A `--kv` that names no store or an unknown kind of URL.
    #[error("invalid `--kv {spec}`: {reason}")]
    Kv {
        /// The spec given.
        spec: String,
        /// Why.
        reason: String,
    },
    /// `--var` without `=`.
    #[error("invalid `--var {0}`: expected KEY=VALUE")]
    VarSyntax(String),
    /// A `--var-file` that cannot be read as a table of values.
    #[error("invalid `--var-file {}`: {reason}", .path.display())]
    VarFile {
        /// The file given.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// `--vfs-out` cannot be written.
    #[error("invalid `--vfs-out {}`", .path.display())]
    VfsOut {
        /// The directory given.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Capabilities and limits: nothing is granted unless named here. The same
/// struct reads a pod component's `grants` table in `pod.toml`, so each
/// flag and its manifest key (`dirs`, `ro-dirs`, `env`, `allow-http`,
/// `allow-tcp`, `allow-listen`, `allow-udp`, `allow-dns`, `keyvalue`, `max-memory`,
/// `timeout`) have one definition.
#[derive(Args, Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct CapabilityFlags {
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

    /// The most bytes `--vfs` may hold, its copy of SOURCE included (a
    /// write past it fails as on a full disk). Default: `--max-memory`,
    /// else 256MiB.
    #[arg(long = "vfs-max", value_name = "SIZE", value_parser = parse_size, requires = "vfs")]
    #[serde(skip)]
    pub vfs_max: Option<usize>,

    /// Set an environment variable; NAME alone passes the host's value.
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    pub env: Vec<String>,

    /// Allow outbound HTTP requests to HOST (any port) or HOST:PORT.
    #[arg(long = "allow-http", value_name = "HOST[:PORT]")]
    pub allow_http: Vec<String>,

    /// Allow TCP connections to HOST:PORT. HOST is an IP, `[v6]`, `*` or a
    /// name (resolved now); PORT a number, a range `A-B`, or `*`.
    #[arg(long = "allow-tcp", value_name = "HOST:PORT")]
    pub allow_tcp: Vec<String>,

    /// Allow binding and listening on ADDR:PORT (TCP), e.g.
    /// `127.0.0.1:8080`; `*:PORT` for every interface.
    #[arg(long = "allow-listen", value_name = "ADDR:PORT")]
    pub allow_listen: Vec<String>,

    /// Allow UDP datagrams to and from HOST:PORT, and binding it.
    #[arg(long = "allow-udp", value_name = "HOST:PORT")]
    pub allow_udp: Vec<String>,

    /// Allow name lookup (wasi:sockets/ip-name-lookup).
    #[arg(long = "allow-dns")]
    pub allow_dns: bool,

    /// Set a configuration value (wasi:config/store). Repeatable.
    #[arg(long = "var", value_name = "KEY=VALUE")]
    #[serde(skip)]
    pub vars: Vec<String>,

    /// Read configuration values from a TOML file of `KEY = "VALUE"`
    /// lines; `--var` given after it wins.
    #[arg(long = "var-file", value_name = "FILE.toml")]
    #[serde(skip)]
    pub var_file: Option<PathBuf>,

    /// Grant the key-value store NAME (wasi:keyvalue), at URL: `memory:`,
    /// `file://PATH` or `nats://HOST:PORT/BUCKET`. Default URL: the file
    /// `.nanopod/kv/NAME.redb` (beside the manifest, in pod.toml).
    #[arg(long = "kv", value_name = "NAME[=URL]")]
    #[serde(rename = "keyvalue")]
    pub kv: Vec<String>,

    /// Cap the guest's linear memory, e.g. `64MiB`, `1GiB`, `500000`.
    #[arg(long = "max-memory", value_name = "SIZE", value_parser = parse_size)]
    #[serde(deserialize_with = "deserialize_size")]
    pub max_memory: Option<usize>,

    /// Interrupt the guest after this long, e.g. `500ms`, `2s`, `1m`.
    #[arg(long = "timeout", value_name = "DURATION", value_parser = parse_duration)]
    #[serde(deserialize_with = "deserialize_duration")]
    pub timeout: Option<Duration>,
}

impl CapabilityFlags {
    /// The grants these flags describe.
    pub(crate) fn grants(&self) -> Result<Grants, FlagError> {
        self.grants_at(Path::new(""))
    }

    /// The grants, with relative store files taken relative to `base`.
    fn grants_at(&self, base: &Path) -> Result<Grants, FlagError> {
        let mut g = Grants::new();
        for (spec, read_only) in self
            .dirs
            .iter()
            .map(|d| (d, false))
            .chain(self.ro_dirs.iter().map(|d| (d, true)))
        {
            let flag = if read_only { "--ro-dir" } else { "--dir" };
            let grant = parse_dir(spec, read_only);
            // `--dir d` keeps wasmtime's convention (the guest sees `d` as
            // written); a guest path given after `::` must be absolute.
            let explicit_relative = spec.contains("::") && !grant.guest.starts_with('/');
            if explicit_relative && !grant.guest.is_empty() {
                return Err(FlagError::Dir {
                    flag,
                    spec: spec.clone(),
                    source: nanopod_host::DirError::RelativeGuestPath(
                        grant.guest.trim_start_matches("./").to_string(),
                    ),
                });
            }
            g.dir(grant).map_err(|source| FlagError::Dir {
                flag,
                spec: spec.clone(),
                source,
            })?;
        }
        if let Some(spec) = &self.vfs {
            let (source, guest) = spec
                .split_once("::")
                .ok_or_else(|| FlagError::VfsSyntax(spec.clone()))?;
            let max = self
                .vfs_max
                .or(self.max_memory)
                .map_or(nanopod_host::vfs::DEFAULT_MAX, |m| m as u64);
            let dir =
                VirtualDir::load(Path::new(source), guest, max).map_err(|e| FlagError::Vfs {
                    spec: spec.clone(),
                    source: e.into(),
                })?;
            g.virtual_dir(std::sync::Arc::new(dir))
                .map_err(|source| FlagError::Dir {
                    flag: "--vfs",
                    spec: spec.clone(),
                    source,
                })?;
        }
        let mut names = std::collections::BTreeSet::new();
        for e in &self.env {
            let (name, value) = parse_env(e)?;
            let problem = if name.is_empty() {
                Some("a variable needs a name: NAME=VALUE")
            } else if !names.insert(name.clone()) {
                Some("the variable is given twice")
            } else {
                None
            };
            if let Some(reason) = problem {
                return Err(FlagError::Env {
                    spec: e.clone(),
                    reason,
                });
            }
            g.env(name, value);
        }
        for h in &self.allow_http {
            check_http_authority(h).map_err(|reason| FlagError::Http {
                spec: h.clone(),
                reason,
            })?;
            g.allow_http(h.as_str());
        }
        for (use_, specs) in self.socket_lists() {
            for spec in specs {
                g.allow_socket(use_, spec)?;
            }
        }
        if self.allow_dns {
            g.allow_dns();
        }
        if let Some(path) = &self.var_file {
            for (key, value) in read_var_file(path)? {
                g.config_value(key, value);
            }
        }
        for spec in &self.vars {
            let (key, value) = spec
                .split_once('=')
                .ok_or_else(|| FlagError::VarSyntax(spec.clone()))?;
            g.config_value(key, value);
        }
        for spec in &self.kv {
            let (name, url) = parse_kv(spec, base)?;
            g.keyvalue_store(name, url);
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
pub(crate) struct WitFlag {
    /// Read doc comments from these WIT sources (a .wit file or a directory).
    #[arg(long = "wit", value_name = "PATH")]
    pub path: Option<PathBuf>,
}

impl WitFlag {
    /// The docs `--wit` names, if given.
    pub(crate) fn docs(&self) -> Result<Option<DocIndex>> {
        self.path
            .as_deref()
            .map(DocIndex::from_wit_path)
            .transpose()
    }
}

impl GrantSpec for CapabilityFlags {
    type Error = FlagError;

    fn grants(&self, base: &Path) -> Result<Grants, FlagError> {
        self.clone().relative_to(base).grants_at(base)
    }

    fn describe(&self) -> Vec<String> {
        let lists = [
            ("dirs", &self.dirs),
            ("ro-dirs", &self.ro_dirs),
            ("env", &self.env),
            ("allow-http", &self.allow_http),
            ("allow-tcp", &self.allow_tcp),
            ("allow-listen", &self.allow_listen),
            ("allow-udp", &self.allow_udp),
            ("keyvalue", &self.kv),
        ];
        let mut out: Vec<String> = lists
            .into_iter()
            .flat_map(|(key, values)| values.iter().map(move |v| format!("{key} {v}")))
            .collect();
        if self.allow_dns {
            out.push("allow-dns".into());
        }
        if let Some(m) = self.max_memory {
            out.push(format!("max-memory {m} bytes"));
        }
        if let Some(t) = self.timeout {
            out.push(format!("timeout {t:?}"));
        }
        out
    }
}

impl CapabilityFlags {
    /// Whether any of these flags was given.
    pub(crate) fn any(&self) -> bool {
        !(self.dirs.is_empty()
            && self.ro_dirs.is_empty()
            && self.vfs.is_none()
            && self.env.is_empty()
            && self.allow_http.is_empty()
            && self.socket_lists().iter().all(|(_, l)| l.is_empty())
            && !self.allow_dns
            && self.vars.is_empty()
            && self.var_file.is_none()
            && self.kv.is_empty()
            && self.max_memory.is_none()
            && self.timeout.is_none())
    }

    /// The socket grants, by use.
    fn socket_lists(&self) -> [(SocketUse, &Vec<String>); 3] {
        [
            (SocketUse::Connect, &self.allow_tcp),
            (SocketUse::Listen, &self.allow_listen),
            (SocketUse::Udp, &self.allow_udp),
        ]
    }

    /// The same grants with relative host directories taken relative to
    /// `base` (a manifest's directory) instead of the working directory.
    fn relative_to(mut self, base: &Path) -> Self {
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
    pub(crate) fn finish(&self, grants: &Grants, exit_code: u8) -> Result<(), FlagError> {
        if let (Some(out), Some(dir), 0) = (&self.vfs_out, grants.virtual_dirs().first(), exit_code)
        {
            dir.write_out(out).map_err(|e| FlagError::VfsOut {
                path: out.clone(),
                source: e.into(),
            })?;
        }
        Ok(())
    }
}

/// The values of a `--var-file`: a TOML table whose values are strings,
/// numbers or booleans (given to the guest as their text).
fn read_var_file(path: &Path) -> Result<Vec<(String, String)>, FlagError> {
    let error = |reason: String| FlagError::VarFile {
        path: path.to_path_buf(),
        reason,
    };
    let text =
        nanopod_host::capability::config::read_bounded(path).map_err(|e| error(e.to_string()))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| error(e.message().to_string()))?;
    table
        .into_iter()
        .map(|(key, value)| {
            let text = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_) => {
                    value.to_string()
                }
                _ => return Err(error(format!("`{key}` is not a string, number or boolean"))),
            };
            Ok((key, text))
        })
        .collect()
}

/// `--env NAME=VALUE`, or `--env NAME` for the host's value.
/// `--kv NAME[=URL]`: the store's name and where it is (by default
/// `.nanopod/kv/NAME.redb` under `base`).
fn parse_kv(spec: &str, base: &Path) -> Result<(String, StoreUrl), FlagError> {
    let bad = |reason: String| FlagError::Kv {
        spec: spec.to_string(),
        reason,
    };
    let (name, url) = match spec.split_once('=') {
        Some((name, url)) => (name, Some(url)),
        None => (spec, None),
    };
    if name.is_empty() {
        return Err(bad("expected NAME[=URL]".into()));
    }
    let url = match url {
        Some(url) => StoreUrl::parse(url, base).map_err(bad)?,
        None => StoreUrl::default_for(name, base),
    };
    Ok((name.to_string(), url))
}

pub(crate) fn parse_env(spec: &str) -> Result<(String, String), FlagError> {
    match spec.split_once('=') {
        Some((k, v)) => Ok((k.to_string(), v.to_string())),
        None => match std::env::var(spec) {
            Ok(v) => Ok((spec.to_string(), v)),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(FlagError::EnvNotUnicode(spec.to_string()))
            }
            Err(std::env::VarError::NotPresent) => Err(FlagError::EnvUnset(spec.to_string())),
        },
    }
}

/// Checks an `--allow-http` grant: `HOST` (any port) or `HOST:PORT`, a
/// host being a name, an IPv4 address or a bracketed IPv6 one.
fn check_http_authority(spec: &str) -> Result<(), &'static str> {
    if spec.contains("://") {
        return Err("give the host alone, without a scheme: HOST or HOST:PORT");
    }
    if spec.contains('/') {
        return Err("give the host alone, without a path: HOST or HOST:PORT");
    }
    if spec.contains('*') {
        return Err("patterns are not supported: name each host");
    }
    let (host, port) = match spec.strip_prefix('[') {
        Some(rest) => {
            let (v6, after) = rest
                .split_once(']')
                .ok_or("an IPv6 address needs its `]`")?;
            if v6.parse::<std::net::Ipv6Addr>().is_err() {
                return Err("not an IPv6 address");
            }
            (spec, after.strip_prefix(':').map(Some).unwrap_or(None))
        }
        None => match spec.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (spec, None),
        },
    };
    if let Some(port) = port
        && !port.parse::<u16>().is_ok_and(|p| p != 0)
    {
        return Err("the port must be a number from 1 to 65535");
    }
    let name_ok = host.starts_with('[')
        || (!host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')));
    if !name_ok {
        return Err("expected HOST or HOST:PORT (a name or an IP address)");
    }
    Ok(())
}

/// `--dir HOST[::GUEST]`; the guest path defaults to the host path.
pub(crate) fn parse_dir(spec: &str, read_only: bool) -> DirGrant {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_grants_are_hosts_or_host_ports() {
        for ok in [
            "api.example.com",
            "127.0.0.1:8080",
            "[::1]:80",
            "[::1]",
            "svc_a",
        ] {
            assert_eq!(check_http_authority(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("http://x/y", "without a scheme"),
            ("x/y", "without a path"),
            ("*", "patterns"),
            ("*.example.com", "patterns"),
            ("127.0.0.1:0", "1 to 65535"),
            ("host:http", "1 to 65535"),
            ("", "expected HOST"),
            ("a b", "expected HOST"),
            ("[nope]:1", "IPv6"),
        ] {
            let reason = check_http_authority(bad).unwrap_err();
            assert!(reason.contains(why), "{bad}: {reason}");
        }
    }

    #[test]
    fn environment_variables_have_one_name_each() {
        let caps = |env: &[&str]| CapabilityFlags {
            env: env.iter().map(|e| e.to_string()).collect(),
            ..Default::default()
        };
        assert!(caps(&["A=1", "B=2"]).grants().is_ok());
        let twice = caps(&["A=1", "A=2"]).grants().unwrap_err().to_string();
        assert_eq!(twice, "invalid `--env A=2`: the variable is given twice");
        let nameless = caps(&["=x"]).grants().unwrap_err().to_string();
        assert_eq!(
            nameless,
            "invalid `--env =x`: a variable needs a name: NAME=VALUE"
        );
    }

    #[test]
    fn manifest_keys_share_the_flags_syntax() {
        let caps: CapabilityFlags = toml::from_str(
            "ro-dirs = [\"data::/data\"]\nenv = [\"A=1\"]\nmax-memory = \"64MiB\"\ntimeout = \"2s\"",
        )
        .unwrap();
        assert_eq!(caps.max_memory, Some(64 << 20));
        assert_eq!(caps.timeout, Some(Duration::from_secs(2)));
        assert_eq!(
            caps.describe(),
            [
                "ro-dirs data::/data",
                "env A=1",
                "max-memory 67108864 bytes",
                "timeout 2s"
            ]
        );
        let caps = caps.relative_to(Path::new("/pods/geo"));
        assert_eq!(caps.ro_dirs, ["/pods/geo/data::/data"]);
        let err = toml::from_str::<CapabilityFlags>("dir = [\"x\"]").unwrap_err();
        assert!(err.message().contains("unknown field `dir`"), "{err}");
        let err = toml::from_str::<CapabilityFlags>("timeout = \"soon\"").unwrap_err();
        assert!(err.message().contains("not a duration"), "{err}");
    }

    #[test]
    fn socket_grants_read_from_the_manifest() {
        let caps: CapabilityFlags = toml::from_str(
            "allow-tcp = [\"127.0.0.1:5432\"]\nallow-listen = [\"*:8000-8010\"]\nallow-dns = true",
        )
        .unwrap();
        assert!(caps.any());
        assert_eq!(
            caps.describe(),
            [
                "allow-tcp 127.0.0.1:5432",
                "allow-listen *:8000-8010",
                "allow-dns"
            ]
        );
        let g = caps.grants().unwrap();
        assert_eq!(
            g.measure(nanopod_host::Capability::Network),
            [
                "--allow-tcp 127.0.0.1:5432",
                "--allow-listen *:8000-8010",
                "--allow-dns"
            ]
        );
        let bad: CapabilityFlags = toml::from_str("allow-udp = [\"x\"]").unwrap();
        let e = bad.grants().unwrap_err().to_string();
        assert!(
            e.starts_with("invalid `--allow-udp x`: expected HOST:PORT"),
            "{e}"
        );
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
