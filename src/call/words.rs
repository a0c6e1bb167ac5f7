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
    /// A command's words: the function's, with `-o FILE` kept in place
    /// (a command writes its own files, and stdout is its own).
    command_words: Vec<String>,
    /// `-o` was given more than once.
    pub(crate) repeated_output: bool,
}

impl OwnWords {
    /// Splits `args`; `--invoke` and `-o` need a value, and `--invoke`
    /// may be given once.
    pub(crate) fn split(args: &[String]) -> Result<Self, UsageError> {
        let mut own = OwnWords::default();
        let mut iter = args.iter();
        while let Some(a) = iter.next() {
            let mut value_of = |flag: &str| {
                iter.next()
                    .cloned()
                    .ok_or_else(|| UsageError::new(format!("`{flag}` needs a value")))
            };
            let (invoke, output) = match a.as_str() {
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
                "-o" | "--output" => {
                    let value = value_of(a)?;
                    own.command_words.extend([a.clone(), value.clone()]);
                    (None, Some(value))
                }
                _ => match (a.strip_prefix("--invoke="), a.strip_prefix("--output=")) {
                    (Some(v), _) => (Some(v.to_string()), None),
                    (None, Some(v)) => {
                        own.command_words.push(a.clone());
                        (None, Some(v.to_string()))
                    }
                    (None, None) => {
                        own.rest.push(a.clone());
                        own.command_words.push(a.clone());
                        continue;
                    }
                },
            };
            if let Some(invoke) = invoke {
                if own.invoke.is_some() {
                    return Err(UsageError::new(
                        "`--invoke` is given twice: name one function",
                    ));
                }
                own.invoke = Some(invoke);
            }
            if let Some(output) = output {
                own.repeated_output |= own.output.is_some();
                own.output = Some(output);
            }
        }
        Ok(own)
    }

    /// A command's argv after `argv0`: its words (`-o FILE` among them),
    /// without the `--` that kept nanopod's own words (`--help`) for the
    /// command.
    pub(crate) fn argv(&self, argv0: &str) -> Vec<String> {
        let separator = self.command_words.iter().position(|a| a == "--");
        let mut argv = vec![argv0.to_string()];
        argv.extend(
            self.command_words
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

    #[test]
    fn a_command_keeps_its_output_flag_in_place() {
        let own = OwnWords::split(&words(&["in.c", "-o", "out.txt", "--output=b", "-v"])).unwrap();
        assert_eq!(
            own.argv("cc"),
            words(&["cc", "in.c", "-o", "out.txt", "--output=b", "-v"])
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
}
