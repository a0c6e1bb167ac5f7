//! `nanopod run`: call a component's typed function, or run a command.

use crate::flags::CapabilityFlags;
use crate::invoke::{Call, call_component, exit_as_code, run_module, with_deadline};
use crate::load::{argv0, load};
use anyhow::Result;
use clap::Args;
use nanopod_host::Engines;
use nanopod_host::cache::Compiled;
use nanopod_typed::raw;
use nanopod_typed::{Exports, UsageError, help, typed};
use nanopod_wit_docs::DocIndex;
use std::path::PathBuf;
use std::process::ExitCode;

/// Call an exported function of COMPONENT with ARGS converted by their WIT
/// types, or run a `wasi:cli/run` component or WASI preview1 module as a
/// command. Flags for nanopod come before COMPONENT; everything after it
/// belongs to the function, except `--invoke`, `-o/--output` and `--help`.
#[derive(Args, Debug)]
pub struct RunCommand {
    /// Capabilities and limits.
    #[command(flatten)]
    pub caps: CapabilityFlags,

    /// Read doc comments from these WIT sources (a .wit file or a directory).
    #[arg(long, value_name = "PATH")]
    pub wit: Option<PathBuf>,

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
        let display = component_path.display().to_string();
        let component = match &loaded.compiled {
            Compiled::Module(module) => {
                let mut argv = vec![argv0(&component_path)];
                argv.extend(args.iter().cloned());
                grants.args(argv).inherit_stdin();
                let run = run_module(&loaded.engine, module, &grants);
                let code = super::block_on(with_deadline(run, grants.limits.timeout))
                    .or_else(exit_as_code)?;
                self.caps.finish(&grants, code)?;
                return Ok(ExitCode::from(code));
            }
            Compiled::Component(c) => c,
        };
        let own = split_own_words(args)?;
        let docs = self
            .wit
            .as_deref()
            .map(DocIndex::from_wit_path)
            .transpose()?;
        let exports = Exports::read(&loaded.engine, component, &loaded.bytes, docs)?;
        let function = match &own.invoke {
            Some(name) => exports.find(name)?,
            None if own.help => {
                print!("{}", help::overview(&display, &exports));
                return Ok(ExitCode::SUCCESS);
            }
            None => exports.default_function()?,
        };
        if own.help {
            print!("{}", help::function(&display, function));
            return Ok(ExitCode::SUCCESS);
        }
        let typed_args = if function.is_cli_run() {
            let mut argv = vec![argv0(&component_path)];
            argv.extend(own.rest.iter().cloned());
            grants.args(argv).inherit_stdin();
            Vec::new()
        } else {
            typed::bind(function, &raw::split(&own.rest))?
        };
        let call = Call {
            engine: &loaded.engine,
            mode: loaded.mode,
            component,
            function,
            args: typed_args,
            output: own.output.as_deref(),
        };
        let run = call_component(call, &grants);
        let code =
            super::block_on(with_deadline(run, grants.limits.timeout)).or_else(exit_as_code)?;
        self.caps.finish(&grants, code)?;
        Ok(ExitCode::from(code))
    }
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
