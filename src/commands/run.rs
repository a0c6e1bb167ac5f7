//! `nanopod run`: call a component's typed function, or run a command.

use crate::call::{OwnWords, Target, block_on, call_target, run_module, utf8_command_word};
use crate::error::exit_as_code;
use crate::flags::{CapabilityFlags, WitFlag};
use anyhow::Result;
use clap::Args;
use nanopod_host::binary::{argv0, load};
use nanopod_host::cache::Compiled;
use nanopod_host::{Engines, Grants, Loaded};
use nanopod_wit_docs::DocIndex;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Call an exported function of COMPONENT with ARGS converted by their WIT
/// types, or run a `wasi:cli/run` component or WASI preview1 module as a
/// command. Flags for nanopod come before COMPONENT; everything after it
/// belongs to the function, except `--invoke`, `-o/--output` and `--help`.
#[derive(Args, Debug)]
pub(crate) struct RunCommand {
    /// Capabilities and limits.
    #[command(flatten)]
    pub caps: CapabilityFlags,

    /// Doc comments from WIT sources.
    #[command(flatten)]
    pub wit: WitFlag,

    /// The component (.wasm) or WASI preview1 module, then the function's
    /// arguments (and `--invoke F`, `-o FILE`, `--help`). Everything from
    /// COMPONENT on belongs to the component, so `--help` after it shows
    /// the component's help. Host paths need not be UTF-8.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required = true,
        value_name = "COMPONENT [ARGS]",
        value_parser = clap::value_parser!(OsString)
    )]
    pub words: Vec<OsString>,
}

impl RunCommand {
    /// Runs the command.
    pub(crate) fn execute(self) -> Result<ExitCode> {
        let (component_path, args) = self.words.split_first().expect("clap requires COMPONENT");
        let component_path = PathBuf::from(component_path);
        let loaded = load(&Engines::default(), &super::local_file(&component_path)?)?;
        let mut grants = self.caps.grants()?;
        let code = run_loaded(
            &loaded,
            &component_path,
            args,
            &mut grants,
            self.wit.docs()?,
        )?;
        self.caps.finish(&grants, code)?;
        Ok(ExitCode::from(code))
    }
}

/// Runs `loaded`, named `path` on the command line, as `nanopod run PATH
/// ARGS…` does under `grants`: a preview1 module or `wasi:cli/run`
/// component as a command, another component's typed function with `args`
/// converted by their WIT types (`docs` from `--wit`). Returns the exit
/// code.
pub(crate) fn run_loaded(
    loaded: &Loaded,
    path: &Path,
    args: &[OsString],
    grants: &mut Grants,
    docs: Option<DocIndex>,
) -> Result<u8> {
    match &loaded.compiled {
        Compiled::Module(module) => {
            let mut argv = vec![argv0(path)];
            for word in args {
                argv.push(utf8_command_word(word)?);
            }
            grants.args(argv).inherit_stdin();
            block_on(run_module(&loaded.engine, module, grants)).or_else(exit_as_code)
        }
        Compiled::Component(component) => {
            let words = OwnWords::split(args)?;
            let target = Target {
                loaded,
                component,
                wit_bytes: &loaded.bytes,
                docs,
                command: "run",
                display: path.display().to_string(),
                argv0: argv0(path),
                default_invoke: None,
                remote: None,
                views: None,
                inputs: None,
            };
            call_target(target, words, grants)
        }
    }
}
