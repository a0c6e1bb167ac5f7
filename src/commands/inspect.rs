//! `nanopod inspect`: what a component asks for, and what it offers.

use crate::flags::WitFlag;
use crate::load::{engine_mode, load, load_bytes};
use crate::pod::{PodFile, byte_list_hint};
use anyhow::Result;
use clap::Args;
use nanopod_host::Engines;
use nanopod_host::cache::Compiled;
use nanopod_pod::manifest::Link;
use nanopod_typed::Exports;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

/// List a component's imports grouped as capabilities (with the flag that
/// grants each) and its exports with signatures and docs.
#[derive(Args, Debug)]
pub struct InspectCommand {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,

    /// Doc comments from WIT sources.
    #[command(flatten)]
    pub wit: WitFlag,

    /// The component or module, or a pod manifest (`pod.toml`: its entry
    /// component composed with what its links reach).
    pub component: PathBuf,
}

/// The report `inspect` prints.
#[derive(Serialize, Debug)]
struct Report {
    kind: &'static str,
    engine: &'static str,
    wasi: Vec<String>,
    /// The init function, when the component is a `nanopod snapshot`.
    snapshot: Option<String>,
    /// What a `nanopod virtualize` output carries inside itself.
    virtualized: Option<String>,
    capabilities: BTreeMap<&'static str, Capability>,
    exports: Vec<ExportReport>,
    /// For a `pod.toml`: its components, links and deny adapters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pod: Option<PodReport>,
}

/// What `inspect POD.toml` adds: the pod's shape. The rest of the report
/// describes the composed entry component.
#[derive(Serialize, Debug)]
struct PodReport {
    entry: String,
    invoke: Option<String>,
    components: Vec<MemberReport>,
    links: Vec<String>,
    /// `component: import` pairs wired to a deny adapter.
    denied: Vec<String>,
    serve_chain: Vec<String>,
    /// A pipeline's steps: the component and its words.
    steps: Vec<String>,
}

#[derive(Serialize, Debug)]
struct MemberReport {
    name: String,
    file: PathBuf,
    grants: Vec<String>,
}

#[derive(Serialize, Debug)]
struct Capability {
    grant: &'static str,
    imports: Vec<String>,
}

#[derive(Serialize, Debug)]
struct ExportReport {
    name: String,
    signature: String,
    docs: Option<String>,
}

/// The capability an import belongs to, and how it is granted.
fn capability_of(import: &str) -> (&'static str, &'static str) {
    let base = import.split('@').next().unwrap_or(import);
    let (pkg, iface) = base.split_once('/').unwrap_or((base, ""));
    match (pkg, iface) {
        ("wasi:filesystem", _) => (
            "filesystem",
            "--dir HOST[::GUEST] or --ro-dir HOST[::GUEST]",
        ),
        ("wasi:cli", "environment") => (
            "environment",
            "--env NAME[=VALUE] (arguments come from the command line)",
        ),
        ("wasi:cli", "stdin") => (
            "stdio",
            "stdout/stderr granted; stdin only for commands, or `-` for a typed input",
        ),
        ("wasi:cli", i) if i.starts_with("std") || i.starts_with("terminal") => (
            "stdio",
            "stdout/stderr granted; stdin only for commands, or `-` for a typed input",
        ),
        ("wasi:sockets", _) => (
            "network",
            "denied: nanopod grants no sockets in this version",
        ),
        ("wasi:http", _) => ("http", "--allow-http HOST[:PORT]"),
        ("wasi:clocks", _) => ("clocks", "granted"),
        ("wasi:random", _) => ("random", "granted"),
        (p, _) if p.starts_with("wasi:") => ("other", "granted (WASI plumbing)"),
        _ => (
            "other",
            "not provided by nanopod: the component fails to load",
        ),
    }
}

/// The same for a preview1 import (`wasi_snapshot_preview1::fd_read`).
fn p1_capability(name: &str) -> (&'static str, &'static str) {
    let wasi_name = if name.starts_with("path_") || name.starts_with("fd_prestat") {
        "wasi:filesystem"
    } else if name.starts_with("environ_") {
        "wasi:cli/environment"
    } else if name.starts_with("sock_") {
        "wasi:sockets"
    } else if name.starts_with("clock_") {
        "wasi:clocks"
    } else if name.starts_with("random_") {
        "wasi:random"
    } else if name.starts_with("fd_") {
        "wasi:cli/stdout"
    } else {
        "wasi:cli/exit"
    };
    capability_of(wasi_name)
}

impl InspectCommand {
    /// Runs the command.
    pub fn execute(self) -> Result<ExitCode> {
        let engines = Engines::default();
        let is_pod = self.component.extension().is_some_and(|e| e == "toml");
        let mut remote = Vec::new();
        let (loaded, wit_bytes, pod, mode) = if is_pod {
            let pod = PodFile::read(&self.component)?;
            let composed = pod.compose(&pod.plan.entry)?;
            remote = composed.remote.iter().map(|r| r.import.clone()).collect();
            let loaded = load_bytes(&engines, composed.bytes, composed.mode, &pod.display())?;
            let report = pod_report(&pod, &composed.denied, &composed.byte_lists);
            (loaded, composed.root_bytes, Some(report), composed.mode)
        } else {
            let loaded = load(&engines, &self.component)?;
            let bytes = loaded.bytes.clone();
            let mode = engine_mode(&bytes);
            (loaded, bytes, None, mode)
        };
        let mut capabilities: BTreeMap<&'static str, Capability> = BTreeMap::new();
        let mut wasi = std::collections::BTreeSet::new();
        let mut add = |(cap, grant): (&'static str, &'static str), name: String| {
            capabilities
                .entry(cap)
                .or_insert_with(|| Capability {
                    grant,
                    imports: Vec::new(),
                })
                .imports
                .push(name);
        };
        let (kind, exports) = match &loaded.compiled {
            Compiled::Module(m) => {
                for import in m.imports() {
                    let name = format!("{}::{}", import.module(), import.name());
                    if import.module().starts_with("wasi_snapshot_preview1") {
                        wasi.insert("preview1".to_string());
                        add(p1_capability(import.name()), name);
                    } else {
                        add(capability_of(""), name);
                    }
                }
                ("core module", Vec::new())
            }
            Compiled::Component(c) => {
                for (name, _) in c.component_type().imports(&loaded.engine) {
                    if let Some((_, version)) =
                        name.strip_prefix("wasi:").and_then(|n| n.split_once('@'))
                    {
                        wasi.insert(version.to_string());
                    }
                    let capability = if remote.iter().any(|r| r == name) {
                        ("remote", "served over the network by a remote link")
                    } else {
                        capability_of(name)
                    };
                    add(capability, name.to_string());
                }
                let docs = self.wit.docs()?;
                let exports = Exports::read(&loaded.engine, c, &wit_bytes, docs)?
                    .functions
                    .into_iter()
                    .map(|f| ExportReport {
                        name: f.key(),
                        signature: f.signature(),
                        docs: f.docs,
                    })
                    .collect();
                ("component", exports)
            }
        };
        let report = Report {
            kind,
            engine: mode.name(),
            wasi: wasi.into_iter().collect(),
            snapshot: nanopod_host::snapshot::snapshot_of(&loaded.bytes),
            virtualized: nanopod_virt::virtualized_of(&loaded.bytes),
            capabilities,
            exports,
            pod,
        };
        if self.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!(
                "{}",
                render_text(&self.component.display().to_string(), &report)
            );
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// The pod's shape, from its manifest and composition.
fn pod_report(
    pod: &PodFile,
    denied: &[(String, String)],
    byte_lists: &[(Link, Vec<String>)],
) -> PodReport {
    let m = &pod.manifest;
    PodReport {
        entry: pod.plan.entry.clone(),
        invoke: m.invoke.clone(),
        components: m
            .components
            .iter()
            .map(|(name, spec)| MemberReport {
                name: name.clone(),
                file: spec.file.clone(),
                grants: spec.grants.describe(),
            })
            .collect(),
        links: m
            .links
            .iter()
            .map(|l| match &l.remote {
                None => {
                    let bytes = byte_lists
                        .iter()
                        .find(|(b, _)| b == l)
                        .map(|(_, functions)| format!("; {}", byte_list_hint(functions)))
                        .unwrap_or_default();
                    format!("{} → {}: {} (in-process{bytes})", l.from, l.to, l.import)
                }
                Some(url) => format!(
                    "{} → {url}: {} (remote, timeout {})",
                    l.from,
                    l.import,
                    l.timeout.as_deref().unwrap_or("30s")
                ),
            })
            .collect(),
        denied: denied.iter().map(|(c, i)| format!("{c}: {i}")).collect(),
        serve_chain: m
            .serve
            .as_ref()
            .map(|s| s.chain.clone())
            .unwrap_or_default(),
        steps: m
            .steps
            .iter()
            .map(|s| {
                format!("{} {}", s.component, s.args.join(" "))
                    .trim_end()
                    .to_string()
            })
            .collect(),
    }
}

fn render_pod(s: &mut String, pod: &PodReport, engine: &str) {
    use std::fmt::Write;
    let invoke = pod
        .invoke
        .as_ref()
        .map(|f| format!(", calls `{f}` by default"))
        .unwrap_or_default();
    let _ = writeln!(s, "a pod: entry `{}`{invoke}", pod.entry);
    if engine == "sync" {
        let _ = writeln!(
            s,
            "no component uses async functions, streams or WASI 0.3: concurrency support is off"
        );
    }
    let _ = writeln!(s, "\nComponents:");
    for c in &pod.components {
        let grants = if c.grants.is_empty() {
            "no grants".to_string()
        } else {
            c.grants.join(", ")
        };
        let _ = writeln!(s, "  {:<12} {}  ({grants})", c.name, c.file.display());
    }
    if !pod.links.is_empty() {
        let _ = writeln!(s, "\nLinks:");
        for l in &pod.links {
            let _ = writeln!(s, "  {l}");
        }
    }
    if !pod.denied.is_empty() {
        let _ = writeln!(s, "\nDenied (wired to a deny adapter, not the host):");
        for d in &pod.denied {
            let _ = writeln!(s, "  {d}");
        }
    }
    if !pod.steps.is_empty() {
        let _ = writeln!(s, "\nPipeline steps (sharing an in-memory filesystem):");
        for (i, step) in pod.steps.iter().enumerate() {
            let _ = writeln!(s, "  {}. {step}", i + 1);
        }
    }
    if !pod.serve_chain.is_empty() {
        let _ = writeln!(s, "\nServe chain: {}", pod.serve_chain.join(" → "));
    }
}

fn render_text(path: &str, r: &Report) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let wasi = if r.wasi.is_empty() {
        "none".to_string()
    } else {
        r.wasi.join(", ")
    };
    let _ = writeln!(s, "{path}: {} (WASI {wasi}; {} engine)", r.kind, r.engine);
    if let Some(init) = &r.snapshot {
        let _ = writeln!(s, "pre-initialized by `nanopod snapshot` (init: `{init}`)");
    }
    if let Some(what) = &r.virtualized {
        let _ = writeln!(s, "virtualized by `nanopod virtualize`: {what}");
    }
    if let Some(pod) = &r.pod {
        render_pod(&mut s, pod, r.engine);
    }
    let _ = writeln!(s, "\nCapabilities it imports:");
    if r.capabilities.is_empty() {
        let _ = writeln!(s, "  none");
    }
    for (cap, c) in &r.capabilities {
        let _ = writeln!(s, "  {cap:<12} {}", c.grant);
        for i in &c.imports {
            let _ = writeln!(s, "      {i}");
        }
    }
    let _ = writeln!(s, "\nExports:");
    if r.exports.is_empty() {
        let _ = writeln!(s, "  none (a core module runs as a command)");
    }
    for e in &r.exports {
        let _ = writeln!(s, "  {}", e.name);
        let _ = writeln!(s, "      {}", e.signature);
        if let Some(d) = &e.docs {
            let _ = writeln!(s, "      {}", nanopod_typed::help::first_paragraph(d));
        }
    }
    s
}
