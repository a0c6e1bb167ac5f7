//! nanopod's own words among a component's arguments: `--invoke F`,
//! `-o FILE` / `--output FILE` and `--help`, anywhere before a `--`. Every
//! command that calls a component (`run`, `up`, a pipeline's steps) splits
//! words this one way.

use crate::error::UsageError;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// A component's words, nanopod's own taken out.
#[derive(Default, Debug)]
pub(crate) struct OwnWords {
    /// `--invoke F`.
    pub(crate) invoke: Option<String>,
    /// `-o FILE`.
    pub(crate) output: Option<PathBuf>,
    /// `--help` or `-h`.
    pub(crate) help: bool,
    /// The function's words, a `--` and what follows it included. Words
    /// are the process's own: a host path need not be UTF-8.
    pub(crate) rest: Vec<OsString>,
    /// A command's words: the function's, with `-o FILE` kept in place
    /// (a command writes its own files, and stdout is its own).
    command_words: Vec<OsString>,
    /// `-o` was given more than once.
    pub(crate) repeated_output: bool,
}

impl OwnWords {
    /// Splits `args`; `--invoke` and `-o` need a value, and `--invoke`
    /// may be given once.
    pub(crate) fn split(args: &[OsString]) -> Result<Self, UsageError> {
        let mut own = OwnWords::default();
        let mut iter = args.iter();
        while let Some(a) = iter.next() {
            let mut value_of = |flag: &str| {
                iter.next()
                    .cloned()
                    .ok_or_else(|| UsageError::new(format!("`{flag}` needs a value")))
            };
            let (invoke, output) = match a.to_str().unwrap_or_default() {
                "--" => {
                    own.rest.push(a.clone());
                    own.rest.extend(iter.by_ref().cloned());
                    own.command_words
                        .extend(own.rest.iter().skip_while(|w| *w != "--").cloned());
                    break;
                }
                "--help" | "-h" => {
                    own.help = true;
                    continue;
                }
                "--invoke" => (Some(value_of("--invoke")?), None),
                flag @ ("-o" | "--output") => {
                    let value = value_of(flag)?;
                    own.command_words.extend([a.clone(), value.clone()]);
                    (None, Some(value))
                }
                _ => match (value_after(a, "--invoke="), value_after(a, "--output=")) {
                    (Some(v), _) => (Some(v), None),
                    (None, Some(v)) => {
                        own.command_words.push(a.clone());
                        (None, Some(v))
                    }
                    (None, None) => {
                        own.rest.push(a.clone());
                        own.command_words.push(a.clone());
                        continue;
                    }
                },
            };
            if let Some(invoke) = invoke {
                let invoke = invoke.into_string().map_err(|name| {
                    UsageError::new(format!(
                        "`--invoke {}` is not UTF-8: no function has such a name",
                        name.to_string_lossy()
                    ))
                })?;
                if own.invoke.is_some() {
                    return Err(UsageError::new(
                        "`--invoke` is given twice: name one function",
                    ));
                }
                own.invoke = Some(invoke);
            }
            if let Some(output) = output {
                own.repeated_output |= own.output.is_some();
                own.output = Some(output.into());
            }
        }
        Ok(own)
    }

    /// A command's argv after `argv0`: its words (`-o FILE` among them),
    /// without the `--` that kept nanopod's own words (`--help`) for the
    /// command. WASI passes a command its arguments as strings, so a word
    /// that is not UTF-8 is refused.
    pub(crate) fn argv(&self, argv0: &str) -> Result<Vec<String>, UsageError> {
        let separator = self.command_words.iter().position(|a| a == "--");
        let mut argv = vec![argv0.to_string()];
        for (_, word) in self
            .command_words
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != separator)
        {
            argv.push(utf8_command_word(word)?);
        }
        Ok(argv)
    }
}

/// A word for a WASI command's argv, which holds strings.
pub(crate) fn utf8_command_word(word: &OsStr) -> Result<String, UsageError> {
    word.to_str().map(str::to_string).ok_or_else(|| {
        UsageError::new(format!(
            "argument `{}` is not UTF-8: WASI gives a command its arguments as strings (a typed function's path parameters take any bytes)",
            word.to_string_lossy()
        ))
    })
}

/// The part of `word` after `prefix` (ASCII), if `word` starts with it.
fn value_after(word: &OsStr, prefix: &str) -> Option<OsString> {
    let rest = word.as_bytes().strip_prefix(prefix.as_bytes())?;
    Some(OsStr::from_bytes(rest).to_os_string())
}

/// Words that are UTF-8 already (a manifest's), as words.
pub(crate) fn os_words(words: &[String]) -> Vec<OsString> {
    words.iter().map(OsString::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &[&str]) -> Vec<OsString> {
        s.iter().map(OsString::from).collect()
    }

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn own_words_are_taken_out() {
        let own = OwnWords::split(&words(&[
            "a", "--invoke", "f", "-o", "x", "--w=1", "--help",
        ]))
        .unwrap();
        assert_eq!(own.invoke.as_deref(), Some("f"));
        assert_eq!(own.output, Some(PathBuf::from("x")));
        assert!(own.help);
        assert_eq!(own.rest, words(&["a", "--w=1"]));
    }

    #[test]
    fn words_after_separator_belong_to_the_function() {
        let own = OwnWords::split(&words(&["--", "--help", "-o"])).unwrap();
        assert!(!own.help);
        assert_eq!(own.rest, words(&["--", "--help", "-o"]));
        assert_eq!(own.argv("cmd").unwrap(), strings(&["cmd", "--help", "-o"]));
        assert!(OwnWords::split(&words(&["--invoke"])).is_err());
    }

    #[test]
    fn a_command_keeps_its_output_flag_in_place() {
        let own = OwnWords::split(&words(&["in.c", "-o", "out.txt", "--output=b", "-v"])).unwrap();
        assert_eq!(
            own.argv("cc").unwrap(),
            strings(&["cc", "in.c", "-o", "out.txt", "--output=b", "-v"])
        );
        assert!(own.repeated_output);
        assert_eq!(own.rest, words(&["in.c", "-v"]));
    }

    #[test]
    fn invoke_is_given_once() {
        let error = OwnWords::split(&words(&["--invoke", "f", "--invoke=g"])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`--invoke` is given twice: name one function"
        );
    }

    #[test]
    fn paths_that_are_not_utf8_are_kept_and_a_command_refuses_them() {
        let name = OsStr::from_bytes(b"caf\xe9.out").to_os_string();
        let mut inline = OsString::from("--output=");
        inline.push(&name);
        let own =
            OwnWords::split(&[OsString::from("in"), OsString::from("-o"), name.clone()]).unwrap();
        assert_eq!(own.output, Some(PathBuf::from(&name)));
        let error = own.argv("cmd").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("is not UTF-8: WASI gives a command"),
            "{error}"
        );
        let own = OwnWords::split(&[inline]).unwrap();
        assert_eq!(own.output, Some(PathBuf::from(&name)));
    }
}
