//! `nanopod inspect`: what a component asks for, and what it offers.

use crate::call::is_pod;
use crate::flags::{CapabilityFlags, WitFlag};
use anyhow::Result;
use clap::Args;
use nanopod_host::binary::{compile, load};
use nanopod_host::cache::Compiled;
use nanopod_host::{Capability, Engines, InterfaceName, Views};
use nanopod_pod::Pod;
use nanopod_pod::describe::PodReport;
use nanopod_typed::Exports;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

/// List a component's imports grouped as capabilities (with the flag that
/// grants each) and its exports with signatures and docs.
#[derive(Args, Debug)]
pub(crate) struct InspectCommand {
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
    capabilities: BTreeMap<&'static str, CapabilityUse>,
    exports: Vec<ExportReport>,
    /// For a `pod.toml`: its components, links and deny adapters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pod: Option<PodReport>,
}

/// The imports of one capability, and how it is granted.
#[derive(Serialize, Debug)]
struct CapabilityUse {
    grant: &'static str,
    imports: Vec<String>,
}

#[derive(Serialize, Debug)]
struct ExportReport {
    name: String,
    signature: String,
    docs: Option<String>,
}

impl InspectCommand {
    /// Runs the command.
    pub(crate) fn execute(self) -> Result<ExitCode> {
        let engines = Engines::default();
        let mut remote = Vec::new();
        let mut views = Views::default();
        let (loaded, wit_bytes, pod) = if is_pod(&self.component) {
            let pod = Pod::<CapabilityFlags>::open(&self.component)?;
            let composed = pod.compose(&pod.plan.entry)?;
            remote = composed.remote.iter().map(|r| r.import.clone()).collect();
            views = composed.info.views.clone();
            let report = pod.describe(&composed.info);
            let loaded = compile(&engines, composed.bytes, composed.mode, &pod.display())?;
            (loaded, composed.info.root_bytes, Some(report))
        } else {
            let loaded = load(&engines, &super::local_file(&self.component)?)?;
            let bytes = loaded.bytes.clone();
            (loaded, bytes, None)
        };
        let mut capabilities: BTreeMap<&'static str, CapabilityUse> = BTreeMap::new();
        let mut wasi = std::collections::BTreeSet::new();
        let mut add = |(name, grant): (&'static str, &'static str), import: String| {
            capabilities
                .entry(name)
                .or_insert_with(|| CapabilityUse {
                    grant,
                    imports: Vec::new(),
                })
                .imports
                .push(import);
        };
        let described = |c: Capability| (c.spec().name, c.spec().grant);
        let (kind, exports) = match &loaded.compiled {
            Compiled::Module(m) => {
                for import in m.imports() {
                    let name = format!("{}::{}", import.module(), import.name());
                    if import.module().starts_with("wasi_snapshot_preview1") {
                        wasi.insert("preview1".to_string());
                        add(described(Capability::of_preview1(import.name())), name);
                    } else {
                        add(described(Capability::Unprovided), name);
                    }
                }
                ("core module", Vec::new())
            }
            Compiled::Component(c) => {
                for (name, _) in c.component_type().imports(&loaded.engine) {
                    let interface = InterfaceName::parse(name);
                    if interface.package().is_some_and(|p| p.starts_with("wasi:"))
                        && let Some(version) = interface.version()
                    {
                        wasi.insert(version.to_string());
                    }
                    let capability = if remote.iter().any(|r| r == name) {
                        ("remote", "served over the network by a remote link")
                    } else if let Some(viewed) = views.capability(name) {
                        described(viewed)
                    } else {
                        described(Capability::of_import(name))
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
            engine: loaded.engine.mode().name(),
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
    let sections = [
        (
            "Denied (wired to a deny adapter, not the host)",
            &pod.denied,
        ),
        (
            "Own grants only (served by the host from the component's own grants)",
            &pod.views,
        ),
    ];
    for (title, pairs) in sections {
        if !pairs.is_empty() {
            let _ = writeln!(s, "\n{title}:");
            for p in pairs {
                let _ = writeln!(s, "  {p}");
            }
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
