//! `--help` text generated from WIT signatures and doc comments.

use crate::exports::{ExportFn, Exports, ParamKind};
use crate::typed::describe;
use std::fmt::Write;

/// The overview: every exported function with its first doc line.
/// `command` is the subcommand that calls it (`run`, or `up` for a pod).
pub fn overview(command: &str, component: &str, exports: &Exports) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Usage: nanopod {command} [OPTIONS] {component} [--invoke FUNCTION] [ARGS...]\n"
    );
    let _ = writeln!(s, "Exported functions:");
    for f in &exports.functions {
        let _ = writeln!(s, "  {}", f.key());
        let _ = writeln!(s, "      {}", f.signature());
        if let Some(docs) = &f.docs {
            let _ = writeln!(s, "      {}", first_paragraph(docs));
        }
    }
    if !exports.has_docs {
        let _ = writeln!(
            s,
            "\n(no doc comments: the component has no package-docs section; pass --wit PATH to nanopod)"
        );
    }
    let _ = writeln!(
        s,
        "\nRun `nanopod {command} {component} --invoke FUNCTION --help` for its parameters."
    );
    s
}

/// Help for one function: docs, usage line, parameters, named types.
pub fn function(command: &str, component: &str, f: &ExportFn) -> String {
    let mut s = String::new();
    if let Some(docs) = &f.docs {
        let _ = writeln!(s, "{}\n", docs.trim_end());
    }
    let mut usage = format!(
        "Usage: nanopod {command} [OPTIONS] {component} --invoke {}",
        f.key()
    );
    for p in &f.params {
        let part = match (&p.kind, p.optional()) {
            (ParamKind::Value, _) if p.ty == wasmtime::component::Type::Bool => {
                format!(" [--{}]", p.name)
            }
            (_, true) => format!(" [--{} <{}>]", p.name, p.name),
            (_, false) => format!(" <{}>", p.name),
        };
        usage.push_str(&part);
    }
    let _ = writeln!(s, "{usage}\n\n  {}", f.signature());
    if !f.params.is_empty() {
        let _ = writeln!(s, "\nParameters (by position, or as --NAME VALUE):");
        for p in &f.params {
            let _ = writeln!(s, "  --{} <{}>", p.name, p.wit_type);
            let _ = writeln!(s, "      {}", describe(p));
        }
    }
    if let Some(r) = &f.result_wit {
        let _ = writeln!(s, "\nResult: {r}");
        let _ = writeln!(s, "      {}", result_hint(r));
    }
    for t in &f.named_types {
        let _ = writeln!(s, "\n{} {}", t.keyword, t.name);
        if let Some(d) = &t.docs {
            let _ = writeln!(s, "      {}", d.trim_end().replace('\n', "\n      "));
        }
        for (item, docs) in &t.items {
            match docs {
                Some(d) => {
                    let _ = writeln!(s, "  {item:<24} {}", d.lines().next().unwrap_or(""));
                }
                None => {
                    let _ = writeln!(s, "  {item}");
                }
            }
        }
    }
    let _ = writeln!(
        s,
        "\nOptions: -o, --output FILE  write a byte result to FILE (atomically) instead of stdout"
    );
    s
}

fn result_hint(result: &str) -> &'static str {
    if result.contains("stream<u8>") || result.contains("list<u8>") {
        "bytes written to stdout, or to -o FILE; an err is printed to stderr (exit 1)"
    } else if result.starts_with("result") {
        "ok is printed to stdout; err is printed to stderr (exit 1)"
    } else {
        "printed to stdout (strings as is, other values as WAVE)"
    }
}

/// The first paragraph of a doc comment, on one line.
pub fn first_paragraph(docs: &str) -> String {
    docs.trim()
        .split("\n\n")
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
