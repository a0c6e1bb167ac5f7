//! `--help` text generated from WIT signatures and doc comments.

use crate::exports::{ExportFn, Exports, ParamKind, ParamSpec};
use std::fmt::Write;
use wasmtime::component::Type;

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
            (ParamKind::Value, _) if p.ty == Type::Bool => {
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

/// What to give for a parameter, for messages and help.
pub fn describe(p: &ParamSpec) -> String {
    match p.kind {
        ParamKind::ByteStream | ParamKind::InputStream => {
            format!("{}: a file path, or - for stdin", p.wit_type)
        }
        ParamKind::ByteList => format!("{}: a file path, or - for stdin, read whole", p.wit_type),
        ParamKind::OutputStream => format!("{}: a file path; stdout if omitted", p.wit_type),
        ParamKind::Value => match &p.ty {
            Type::Bool => "bool: true or false; a bare flag means true".into(),
            Type::String => "string: the text as is".into(),
            Type::Char => "char: one character".into(),
            Type::Option(_) => format!("{}: may be omitted; a value means some(value)", p.wit_type),
            Type::Own(_) | Type::Borrow(_) => {
                format!(
                    "{}: a resource, which cannot be given on the command line",
                    p.wit_type
                )
            }
            t if is_literal(t) => format!("{}: a number", p.wit_type),
            t => format!("{}: WAVE text, e.g. {}", p.wit_type, wave_example(t, 2)),
        },
    }
}

/// A sample WAVE value of type `ty`, for help text: `{x: 0, y: 0}`,
/// `circle(0.0)`, `{bold}`, `[0]`. Nested values stop at `depth`.
pub fn wave_example(ty: &Type, depth: usize) -> String {
    if depth == 0 {
        return "…".into();
    }
    let inner = |t: &Type| wave_example(t, depth - 1);
    match ty {
        Type::Bool => "true".into(),
        Type::Char => "'a'".into(),
        Type::String => "\"text\"".into(),
        Type::Float32 | Type::Float64 => "1.5".into(),
        t if is_literal(t) => "1".into(),
        Type::List(l) => format!("[{}]", inner(&l.ty())),
        Type::Record(r) => {
            let fields: Vec<String> = r
                .fields()
                .map(|f| format!("{}: {}", f.name, inner(&f.ty)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
        Type::Tuple(t) => format!(
            "({})",
            t.types().map(|t| inner(&t)).collect::<Vec<_>>().join(", ")
        ),
        Type::Variant(v) => match v.cases().next() {
            Some(c) => match &c.ty {
                Some(t) => format!("{}({})", c.name, inner(t)),
                None => c.name.to_string(),
            },
            None => "…".into(),
        },
        Type::Enum(e) => e.names().next().unwrap_or("…").to_string(),
        Type::Flags(f) => format!("{{{}}}", f.names().next().unwrap_or("")),
        Type::Option(o) => format!("some({})", inner(&o.ty())),
        Type::Result(r) => match r.ok() {
            Some(t) => format!("ok({})", inner(&t)),
            None => "ok".into(),
        },
        _ => "…".into(),
    }
}

fn is_literal(ty: &Type) -> bool {
    matches!(
        ty,
        Type::U8
            | Type::U16
            | Type::U32
            | Type::U64
            | Type::S8
            | Type::S16
            | Type::S32
            | Type::S64
            | Type::Float32
            | Type::Float64
    )
}
