//! `pod.toml`: which components make up a pod, what each is granted, and
//! which component serves which import.
//!
//! The grant table of a component is generic (`C`, a [`crate::GrantSpec`]):
//! the CLI plugs in the same struct that defines `--dir`, `--env`, … so a
//! flag and its manifest key have one definition.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A manifest that cannot be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file cannot be read.
    #[error("cannot read `{}`", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The text is not a valid manifest.
    #[error("`{origin}`{}: {message}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Parse {
        /// The manifest, as named.
        origin: String,
        /// The line of the mistake, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
}

/// A parsed `pod.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Manifest<C> {
    /// The component whose exports `nanopod up` calls. Default: the only
    /// component that serves no link.
    pub entry: Option<String>,
    /// The entry's function that `nanopod up` calls when no `--invoke` is
    /// given. Default: as `nanopod run` picks (`wasi:cli/run`, or the only
    /// exported function).
    pub invoke: Option<String>,
    /// The components, by name.
    #[serde(default)]
    pub components: BTreeMap<String, ComponentSpec<C>>,
    /// Which component serves which import (`[[link]]` tables).
    #[serde(default, rename = "link")]
    pub links: Vec<Link>,
    /// How `nanopod serve` puts the pod behind HTTP.
    pub serve: Option<ServeSpec>,
    /// A pipeline: components run one after another by `nanopod up`
    /// (`[[step]]` tables), sharing an in-memory filesystem.
    #[serde(default, rename = "step")]
    pub steps: Vec<Step>,
    /// Where a pipeline's in-memory filesystem is mounted in every step.
    /// Default: `/out`.
    pub scratch: Option<String>,
    /// The most bytes the pipeline's in-memory filesystem may hold (a
    /// write past it fails as on a full disk). Default: 256 MiB.
    #[serde(default, deserialize_with = "nanopod_host::limits::deserialize_size")]
    pub scratch_max: Option<usize>,
    /// Key-value stores by the name components open them with
    /// (`[keyvalue.NAME]`); a component reaches one only when its grants
    /// name it (`keyvalue = ["NAME"]`). A name granted without a table is
    /// the file `.nanopod/kv/NAME.redb` beside the manifest.
    #[serde(default)]
    pub keyvalue: BTreeMap<String, KeyvalueSpec>,
}

/// Where one key-value store is.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct KeyvalueSpec {
    /// `memory:`, `file://PATH` (relative to the manifest's directory) or
    /// `nats://HOST:PORT/BUCKET`.
    pub url: String,
}

/// One step of a pipeline.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Step {
    /// The component to run (with what its links reach).
    pub component: String,
    /// Its words, as after `nanopod run COMPONENT`: a command's arguments,
    /// or a typed function's arguments and `--invoke F`. Paths given for
    /// stream and byte-list parameters name files of the in-memory
    /// filesystem.
    #[serde(default)]
    pub args: Vec<String>,
}

/// `[serve]`: the handlers a request passes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServeSpec {
    /// Components exporting `wasi:http/incoming-handler`, outermost first;
    /// each one's outbound requests go to the next. Default: the entry
    /// alone.
    #[serde(default)]
    pub chain: Vec<String>,
}

/// One component of the pod.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ComponentSpec<C> {
    /// The component binary, relative to the manifest's directory.
    pub file: PathBuf,
    /// What this component alone may reach. Default: nothing.
    #[serde(default)]
    pub grants: C,
    /// A proxy-wasm filter's plugin configuration (what
    /// `proxy_on_configure` reads). Default: empty.
    pub config: Option<String>,
    /// The same, read from a file relative to the manifest's directory.
    pub config_file: Option<PathBuf>,
    /// A proxy-wasm filter's VM configuration (`proxy_on_vm_start`).
    pub vm_config: Option<String>,
    /// The same, read from a file.
    pub vm_config_file: Option<PathBuf>,
    /// A proxy-wasm filter's root id (the `plugin_root_id` property, which
    /// some SDKs use to pick their root context). Default: empty.
    pub root_id: Option<String>,
    /// A proxy-wasm filter's shared data lives in this key-value store (one
    /// its `keyvalue` grant names): a NATS bucket shares it with the same
    /// filter on other hosts. Default: in the process.
    pub shared_data: Option<String>,
    /// Configuration values (`wasi:config/store`) for this component alone.
    /// Default: none.
    #[serde(default)]
    pub variables: BTreeMap<String, Variable>,
    /// A serve chain member's instances may each take this many requests,
    /// one after another, instead of one (a fresh instance per request).
    /// Default: 1. (Filters keep their instances anyway.)
    pub reuse: Option<u32>,
}

/// One configuration value in `variables`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Variable {
    /// The value itself: `KEY = "VALUE"`.
    Value(String),
    /// A secret read from a file relative to the manifest's directory when
    /// the pod starts (one trailing newline dropped), so it stays out of
    /// the manifest and process listings: `KEY = { file = "secrets/x" }`.
    File {
        /// The file.
        file: PathBuf,
    },
}

/// "Component `from`'s import `import` is served by component `to`'s export
/// of the same interface" — or, with `remote`, by an exporter on another
/// host (`nanopod export`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Link {
    /// The importing component.
    pub from: String,
    /// The interface, `ns:pkg/iface` (a version is optional and matched
    /// semver-compatibly).
    pub import: String,
    /// The component of this pod exporting that interface (empty for a
    /// remote link).
    #[serde(default)]
    pub to: String,
    /// Instead of `to`: where an exporter serves the interface,
    /// `tcp://HOST:PORT`.
    pub remote: Option<String>,
    /// A remote link's longest call, connecting included (`500ms`, `30s`).
    /// Default: [`nanopod_remote::transport::DEFAULT_TIMEOUT`].
    #[serde(
        default,
        deserialize_with = "nanopod_host::limits::deserialize_duration"
    )]
    pub timeout: Option<Duration>,
    /// A remote link's file holding the exporter's token.
    pub token_file: Option<PathBuf>,
}

impl Link {
    /// A link to a component of this pod, not to a remote exporter.
    pub fn is_local(&self) -> bool {
        self.remote.is_none()
    }

    /// A remote link's longest call: its `timeout`, or the default.
    pub fn remote_timeout(&self) -> Duration {
        self.timeout
            .unwrap_or(nanopod_remote::transport::DEFAULT_TIMEOUT)
    }
}

impl std::fmt::Display for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let to = self.remote.as_deref().unwrap_or(&self.to);
        write!(f, "`{}` → `{to}` for `{}`", self.from, self.import)
    }
}

impl<C: for<'de> Deserialize<'de> + Default> Manifest<C> {
    /// Parses manifest text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ManifestError> {
        toml::from_str(text).map_err(|e| ManifestError::Parse {
            origin: origin.to_string(),
            line: e.span().map(|s| line_of(text, s.start)),
            message: e.message().trim_end().to_string(),
        })
    }

    /// Reads and parses a manifest file.
    pub fn read(path: &Path) -> Result<Self, ManifestError> {
        let text = nanopod_host::files::read_regular_text(path, nanopod_host::files::MAX_TEXT)
            .map_err(|source| ManifestError::Unreadable {
                path: path.to_path_buf(),
                source,
            })?;
        Self::parse(&text, &path.display().to_string())
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Caps {
        #[serde(default)]
        env: Vec<String>,
    }

    #[test]
    fn parses_components_grants_and_links() {
        let m: Manifest<Caps> = Manifest::parse(
            r#"
            entry = "app"
            [components.app]
            file = "app.wasm"
            [components.geo]
            file = "geo.wasm"
            grants = { env = ["UNITS=km"] }
            [[link]]
            from = "app"
            import = "example:geo/lookup"
            to = "geo"
            "#,
            "pod.toml",
        )
        .unwrap();
        assert_eq!(m.entry.as_deref(), Some("app"));
        assert_eq!(m.components["geo"].grants.env, ["UNITS=km"]);
        assert_eq!(m.components["app"].grants, Caps::default());
        assert_eq!(
            m.links[0].to_string(),
            "`app` → `geo` for `example:geo/lookup`"
        );
    }

    #[test]
    fn unknown_keys_name_their_line() {
        let err = Manifest::<Caps>::parse(
            "[components.app]\nfile = \"a.wasm\"\nfiel = 1\n",
            "pod.toml",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("`pod.toml` line 3: unknown field `fiel`"),
            "{err}"
        );
    }
}
