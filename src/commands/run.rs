//! `nanopod run`: call a component's typed function, or run a command.

use crate::flags::{CapabilityFlags, WitFlag};
use crate::invoke::{Call, call_component, exit_as_code, run_module, with_deadline};
use crate::load::{Loaded, argv0, load};
use anyhow::Result;
use clap::Args;
use nanopod_host::cache::Compiled;
use nanopod_host::vfs::VirtualDir;
use nanopod_host::{Engines, Grants};
use nanopod_remote::RemoteImports;
use nanopod_typed::raw;
use nanopod_typed::{Exports, UsageError, help, typed};
use nanopod_wit_docs::DocIndex;
use std::path::PathBuf;
use std::process::ExitCode;
use wasmtime::component::Component;

/// Call an exported function of COMPONENT with ARGS converted by their WIT
/// types, or run a `wasi:cli/run` component or WASI preview1 module as a
/// command. Flags for nanopod come before COMPONENT; everything after it
/// belongs to the function, except `--invoke`, `-o/--output` and `--help`.
#[derive(Args, Debug)]
pub struct RunCommand {
    /// Capabilities and limits.
    #[command(flatten)]
    pub caps: CapabilityFlags,

    /// Doc comments from WIT sources.
    #[command(flatten)]
    pub wit: WitFlag,

    /// The component (.wasm) or WASI preview1 module, then the function's
    /// arguments (and `--invoke F`, `-o FILE`, `--help`). Everything from
    /// COMPONENT on belongs to the component, so `--help` after it shows
    /// the component's help.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required = true,
        value_name = "COMPONENT [ARGS]"
    )]
    pub words: Vec<String>,
}

/// nanopod's own words among the function's arguments.
#[derive(Default)]
struct OwnWords {
    invoke: Option<String>,
    output: Option<String>,
    help: bool,
    rest: Vec<String>,
}

fn split_own_words(args: &[String]) -> Result<OwnWords, UsageError> {
    let mut own = OwnWords::default();
    let mut iter = args.iter();
    while let Some(a) = iter.next() {
        let mut value_of = |flag: &str| {
            iter.next()
                .cloned()
                .ok_or_else(|| UsageError::new(format!("`{flag}` needs a value")))
        };
        match a.as_str() {
            "--" => {
                own.rest.push(a.clone());
                own.rest.extend(iter.by_ref().cloned());
            }
            "--help" | "-h" => own.help = true,
            "--invoke" => own.invoke = Some(value_of("--invoke")?),
            "-o" | "--output" => own.output = Some(value_of("--output")?),
            _ => {
                if let Some(v) = a.strip_prefix("--invoke=") {
                    own.invoke = Some(v.to_string());
                } else if let Some(v) = a.strip_prefix("--output=") {
                    own.output = Some(v.to_string());
                } else {
                    own.rest.push(a.clone());
                }
            }
        }
    }
    Ok(own)
}

impl RunCommand {
    /// Runs the command.
    pub fn execute(self) -> Result<ExitCode> {
        let (component_path, args) = self.words.split_first().expect("clap requires COMPONENT");
        let component_path = PathBuf::from(component_path);
        let engines = Engines::default();
        let loaded = load(&engines, &component_path)?;
        let mut grants = self.caps.grants()?;
        let code = match &loaded.compiled {
            Compiled::Module(module) => {
                let mut argv = vec![argv0(&component_path)];
                argv.extend(args.iter().cloned());
                grants.args(argv).inherit_stdin();
                let run = run_module(&loaded.engine, module, &grants);
                super::block_on(with_deadline(run, grants.limits.timeout)).or_else(exit_as_code)?
            }
            Compiled::Component(component) => {
                let docs = self.wit.docs()?;
                let target = Target {
                    loaded: &loaded,
                    component,
                    wit_bytes: &loaded.bytes,
                    docs,
                    command: "run",
                    display: component_path.display().to_string(),
                    argv0: argv0(&component_path),
                    default_invoke: None,
                    remote: None,
                    inputs: None,
                };
                call_target(target, args, &mut grants)?
            }
        };
        self.caps.finish(&grants, code)?;
        Ok(ExitCode::from(code))
    }
}

/// A component ready to be called: read from a file by `run`, or composed
/// from a pod by `up`.
pub struct Target<'a> {
    /// The engine and compiled code.
    pub loaded: &'a Loaded,
    /// The compiled component.
    pub component: &'a Component,
    /// The binary whose WIT and docs describe the exports (for a pod, the
    /// entry component's own binary).
    pub wit_bytes: &'a [u8],
    /// Docs given with `--wit`, which win over embedded ones.
    pub docs: Option<DocIndex>,
    /// The subcommand that calls it, for help texts: `run` or `up`.
    pub command: &'static str,
    /// How help texts name it.
    pub display: String,
    /// `argv[0]` for a command.
    pub argv0: String,
    /// The function to call when `--invoke` is not given.
    pub default_invoke: Option<String>,
    /// Imports served by exporters on other hosts.
    pub remote: Option<&'a RemoteImports>,
    /// Where input paths are opened (a pipeline's in-memory filesystem);
    /// the host's filesystem when `None`.
    pub inputs: Option<&'a VirtualDir>,
}

/// Calls the function that `args` (the words after COMPONENT) pick, with
/// those arguments, or prints help; returns the exit code.
pub fn call_target(target: Target<'_>, args: &[String], grants: &mut Grants) -> Result<u8> {
    let mut own = split_own_words(args)?;
    if own.invoke.is_none() && !own.help {
        own.invoke = target.default_invoke;
    }
    let engine = &target.loaded.engine;
    let exports = Exports::read(engine, target.component, target.wit_bytes, target.docs)?;
    let function = match &own.invoke {
        Some(name) => exports.find(name)?,
        None if own.help => {
            print!(
                "{}",
                help::overview(target.command, &target.display, &exports)
            );
            return Ok(0);
        }
        None => exports.default_function()?,
    };
    if own.help {
        print!(
            "{}",
            help::function(target.command, &target.display, function)
        );
        return Ok(0);
    }
    let typed_args = if function.is_cli_run() {
        // `--` kept nanopod's own words (`--help`) for the command; it is
        // not itself an argument.
        let separator = own.rest.iter().position(|a| a == "--");
        let mut argv = vec![target.argv0.clone()];
        argv.extend(
            own.rest
                .iter()
                .enumerate()
                .filter(|(i, _)| Some(*i) != separator)
                .map(|(_, a)| a.clone()),
        );
        grants.args(argv).inherit_stdin();
        Vec::new()
    } else {
        typed::bind(function, &raw::split(&own.rest))?
    };
    let call = Call {
        engine,
        mode: target.loaded.mode,
        component: target.component,
        function,
        args: typed_args,
        output: own.output.as_deref(),
        remote: target.remote,
        inputs: target.inputs,
    };
    let run = call_component(call, grants);
    super::block_on(with_deadline(run, grants.limits.timeout)).or_else(exit_as_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn own_words_are_taken_out() {
        let own = split_own_words(&words(&[
            "a", "--invoke", "f", "-o", "x", "--w=1", "--help",
        ]))
        .unwrap();
        assert_eq!(own.invoke.as_deref(), Some("f"));
        assert_eq!(own.output.as_deref(), Some("x"));
        assert!(own.help);
        assert_eq!(own.rest, words(&["a", "--w=1"]));
    }

    #[test]
    fn words_after_separator_belong_to_the_function() {
        let own = split_own_words(&words(&["--", "--help", "-o"])).unwrap();
        assert!(!own.help);
        assert_eq!(own.rest, words(&["--", "--help", "-o"]));
        assert!(split_own_words(&words(&["--invoke"])).is_err());
    }
}
