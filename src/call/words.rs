//! nanopod's own words among a component's arguments: `--invoke F`,
//! `-o FILE` / `--output FILE` and `--help`, anywhere before a `--`. Every
//! command that calls a component (`run`, `up`, a pipeline's steps) splits
//! words this one way.

use crate::error::UsageError;

/// A component's words, nanopod's own taken out.
#[derive(Default, Debug)]
pub(crate) struct OwnWords {
    /// `--invoke F`.
    pub(crate) invoke: Option<String>,
    /// `-o FILE`.
    pub(crate) output: Option<String>,
    /// `--help` or `-h`.
    pub(crate) help: bool,
    /// The function's words, a `--` and what follows it included.
    pub(crate) rest: Vec<String>,
}

impl OwnWords {
    /// Splits `args`; `--invoke` and `-o` need a value.
    pub(crate) fn split(args: &[String]) -> Result<Self, UsageError> {
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

    /// A command's argv after `argv0`: the rest of the words, without the
    /// `--` that kept nanopod's own words (`--help`) for the command.
    pub(crate) fn argv(&self, argv0: &str) -> Vec<String> {
        let separator = self.rest.iter().position(|a| a == "--");
        let mut argv = vec![argv0.to_string()];
        argv.extend(
            self.rest
                .iter()
                .enumerate()
                .filter(|(i, _)| Some(*i) != separator)
                .map(|(_, a)| a.clone()),
        );
        argv
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
        let own = OwnWords::split(&words(&[
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
        let own = OwnWords::split(&words(&["--", "--help", "-o"])).unwrap();
        assert!(!own.help);
        assert_eq!(own.rest, words(&["--", "--help", "-o"]));
        assert_eq!(own.argv("cmd"), words(&["cmd", "--help", "-o"]));
        assert!(OwnWords::split(&words(&["--invoke"])).is_err());
    }
}
