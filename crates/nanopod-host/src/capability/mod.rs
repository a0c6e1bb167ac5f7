//! The capability table: one module per capability, each owning its WASI
//! interfaces, its command-line flags and `pod.toml` keys, how it is
//! granted to a WASI context, how a composition denies it, and how
//! `inspect` describes it.
//!
//! Every component gets stdio, clocks, random numbers and WASI's plumbing
//! ([`ambient`]). The rest is granted by name and denied by default:
//! [`filesystem`], [`environment`], [`http`], [`sockets`], [`config`]
//! and [`keyvalue`].
//!
//! Two components of one pod granted a capability in different measure
//! each reach it through a [`view`] of the pod's one WASI context.
//!
//! Adding a capability is a module here with its [`CapabilitySpec`] and
//! grant type, a case in [`Capability`], and a field in
//! [`crate::Grants`].

pub mod ambient;
pub mod config;
pub mod environment;
pub mod filesystem;
pub mod http;
pub mod keyvalue;
pub mod sockets;
pub mod view;

use crate::interface::InterfaceName;
use serde::Serialize;

/// A kind of access to the host, as users grant it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// Preopened directories.
    Filesystem,
    /// Environment variables.
    Environment,
    /// Outbound HTTP.
    Http,
    /// Sockets and name lookup.
    Network,
    /// Configuration values (`wasi:config`).
    Config,
    /// Key-value stores (`wasi:keyvalue`).
    Keyvalue,
    /// stdin, stdout, stderr and terminals.
    Stdio,
    /// Wall and monotonic clocks.
    Clocks,
    /// Random numbers.
    Random,
    /// The rest of WASI (`wasi:io`, `wasi:cli/exit`, …).
    Plumbing,
    /// nanopod's own filter interface (`nanopod:http/types`).
    FilterHeads,
    /// Interfaces nanopod does not provide.
    Unprovided,
}

/// How a composition keeps a component from a capability the pod's shared
/// WASI context holds for another component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denial {
    /// Every component has it: never denied.
    Never,
    /// Its entry points answer "nothing" (no preopened directories, an
    /// empty environment), as an ungranted `nanopod run` would.
    EmptyAnswers,
    /// Its entry points trap.
    Trap,
}

/// What the table knows of one capability.
#[derive(Debug)]
pub struct CapabilitySpec {
    /// The name `inspect` groups imports under.
    pub name: &'static str,
    /// How it is granted, in `inspect`'s words.
    pub grant: &'static str,
    /// The (unversioned) interfaces that belong to it: `ns:pkg/*`,
    /// `ns:pkg/iface`, or `ns:pkg/prefix*`.
    pub interfaces: &'static [&'static str],
    /// Among them, the interfaces through which it is reached: a component
    /// not granted it has these wired to a deny adapter in a pod.
    pub entry_points: &'static [&'static str],
    /// The command-line flags that grant it.
    pub flags: &'static [&'static str],
    /// The `pod.toml` grant keys that grant it.
    pub manifest_keys: &'static [&'static str],
    /// How a composition denies it.
    pub denial: Denial,
}

impl Capability {
    /// Every capability, in the order imports are matched (specific
    /// interfaces before whole packages).
    pub const ALL: [Capability; 12] = [
        Capability::Filesystem,
        Capability::Environment,
        Capability::Http,
        Capability::Network,
        Capability::Config,
        Capability::Keyvalue,
        Capability::Stdio,
        Capability::Clocks,
        Capability::Random,
        Capability::Plumbing,
        Capability::FilterHeads,
        Capability::Unprovided,
    ];

    /// The capabilities granted by name (and denied by default).
    pub const GRANTED: [Capability; 6] = [
        Capability::Filesystem,
        Capability::Environment,
        Capability::Http,
        Capability::Network,
        Capability::Config,
        Capability::Keyvalue,
    ];

    /// Its entry in the table.
    pub fn spec(self) -> &'static CapabilitySpec {
        match self {
            Capability::Filesystem => &filesystem::SPEC,
            Capability::Environment => &environment::SPEC,
            Capability::Http => &http::SPEC,
            Capability::Network => &sockets::SPEC,
            Capability::Config => &config::SPEC,
            Capability::Keyvalue => &keyvalue::SPEC,
            Capability::Stdio => &ambient::STDIO,
            Capability::Clocks => &ambient::CLOCKS,
            Capability::Random => &ambient::RANDOM,
            Capability::Plumbing => &ambient::PLUMBING,
            Capability::FilterHeads => &ambient::FILTER_HEADS,
            Capability::Unprovided => &ambient::UNPROVIDED,
        }
    }

    /// Whether nanopod provides imports of this capability (to a pod,
    /// every import but those a `[[link]]` must serve).
    pub fn is_provided(self) -> bool {
        self != Capability::Unprovided
    }

    /// The capability an import (`ns:pkg/iface@version`) belongs to.
    pub fn of_import(import: &str) -> Capability {
        let name = InterfaceName::parse(import);
        Self::ALL
            .into_iter()
            .find(|c| c.spec().interfaces.iter().any(|p| matches(p, &name)))
            .unwrap_or(Capability::Unprovided)
    }

    /// The capability granted by name whose entry point `import` is, if
    /// any: what a composition must deny to a component not granted it.
    pub fn entered_by(import: &str) -> Option<Capability> {
        let name = InterfaceName::parse(import);
        Self::GRANTED
            .into_iter()
            .find(|c| c.spec().entry_points.contains(&name.unversioned()))
    }

    /// The capability a WASI preview1 function (`fd_read`, `path_open`, …)
    /// belongs to.
    pub fn of_preview1(function: &str) -> Capability {
        let prefixed = |prefixes: &[&str]| prefixes.iter().any(|p| function.starts_with(p));
        if prefixed(&["path_", "fd_prestat"]) {
            Capability::Filesystem
        } else if prefixed(&["environ_"]) {
            Capability::Environment
        } else if prefixed(&["sock_"]) {
            Capability::Network
        } else if prefixed(&["clock_"]) {
            Capability::Clocks
        } else if prefixed(&["random_"]) {
            Capability::Random
        } else if prefixed(&["fd_"]) {
            Capability::Stdio
        } else {
            Capability::Plumbing
        }
    }

    /// The `pod.toml` keys that grant it, quoted for messages:
    /// "`dirs`/`ro-dirs`".
    pub fn quoted_keys(self) -> String {
        let keys: Vec<String> = self
            .spec()
            .manifest_keys
            .iter()
            .map(|k| format!("`{k}`"))
            .collect();
        keys.join("/")
    }
}

/// Whether the interface pattern `pattern` covers `name`.
fn matches(pattern: &str, name: &InterfaceName) -> bool {
    let name = name.unversioned();
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == pattern,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_are_grouped_by_capability() {
        let of = Capability::of_import;
        assert_eq!(of("wasi:filesystem/types@0.2.6"), Capability::Filesystem);
        assert_eq!(of("wasi:cli/environment@0.3.0"), Capability::Environment);
        assert_eq!(of("wasi:cli/stdin@0.2.0"), Capability::Stdio);
        assert_eq!(of("wasi:cli/terminal-output@0.2.0"), Capability::Stdio);
        assert_eq!(of("wasi:cli/exit@0.2.0"), Capability::Plumbing);
        assert_eq!(of("wasi:sockets/tcp@0.2.0"), Capability::Network);
        assert_eq!(of("wasi:http/types@0.2.0"), Capability::Http);
        assert_eq!(of("wasi:config/store@0.2.0-draft"), Capability::Config);
        assert_eq!(
            of("wasi:keyvalue/atomics@0.2.0-draft2"),
            Capability::Keyvalue
        );
        assert_eq!(of("wasi:io/streams@0.2.0"), Capability::Plumbing);
        assert_eq!(of("example:geo/lookup"), Capability::Unprovided);
    }

    #[test]
    fn entry_points_are_found_by_unversioned_interface() {
        let entered = Capability::entered_by;
        assert_eq!(
            entered("wasi:filesystem/preopens@0.2.6"),
            Some(Capability::Filesystem)
        );
        assert_eq!(
            entered("wasi:cli/environment@0.3.0"),
            Some(Capability::Environment)
        );
        assert_eq!(
            entered("wasi:http/outgoing-handler@0.2.0"),
            Some(Capability::Http)
        );
        assert_eq!(
            entered("wasi:sockets/instance-network@0.2.0"),
            Some(Capability::Network)
        );
        assert_eq!(entered("wasi:sockets/tcp@0.2.0"), None);
        assert_eq!(entered("wasi:filesystem/types@0.2.6"), None);
        assert_eq!(entered("example:geo/lookup"), None);
    }

    #[test]
    fn preview1_functions_and_keys() {
        assert_eq!(Capability::of_preview1("path_open"), Capability::Filesystem);
        assert_eq!(Capability::of_preview1("fd_write"), Capability::Stdio);
        assert_eq!(Capability::of_preview1("proc_exit"), Capability::Plumbing);
        assert_eq!(Capability::Filesystem.quoted_keys(), "`dirs`/`ro-dirs`");
        assert_eq!(Capability::Http.quoted_keys(), "`allow-http`");
    }
}
