//! Phase one: the function's command-line words as flags and positional
//! words. No types are known here; `--x` may be a bare boolean flag or wait
//! for a value, which phase two decides. Words are the process's own
//! (`OsString`): a host path need not be UTF-8, and only phase two, which
//! knows whether a word is a path or a value, may refuse one that is not.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

/// One command-line word after the component, classified by shape only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawArg {
    /// `--name` or `--name=value`.
    Flag {
        /// The name without dashes (shown lossily if it is not UTF-8: no
        /// parameter has such a name).
        name: String,
        /// The part after `=`, if any.
        inline: Option<OsString>,
    },
    /// Any other word (including everything after `--`).
    Word(OsString),
}

/// Splits words into [`RawArg`]s. `--` ends flag parsing; a lone `-` is a
/// word (stdin); a negative number such as `-3` is a word.
pub fn split(words: &[OsString]) -> Vec<RawArg> {
    let mut out = Vec::with_capacity(words.len());
    let mut only_words = false;
    for w in words {
        if only_words {
            out.push(RawArg::Word(w.clone()));
            continue;
        }
        if w == "--" {
            only_words = true;
            continue;
        }
        match w.as_bytes().strip_prefix(b"--") {
            Some(rest) if !rest.is_empty() => {
                let (name, inline) = match rest.iter().position(|&b| b == b'=') {
                    Some(at) => (&rest[..at], Some(OsStr::from_bytes(&rest[at + 1..]).into())),
                    None => (rest, None),
                };
                let name = String::from_utf8_lossy(name).into_owned();
                out.push(RawArg::Flag { name, inline });
            }
            _ => out.push(RawArg::Word(w.clone())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &[&str]) -> Vec<OsString> {
        s.iter().map(OsString::from).collect()
    }

    #[test]
    fn flags_words_and_separator() {
        let got = split(&words(&[
            "a.png", "--width", "10", "--x=1", "-", "-3", "--", "--y",
        ]));
        assert_eq!(
            got,
            vec![
                RawArg::Word("a.png".into()),
                RawArg::Flag {
                    name: "width".into(),
                    inline: None
                },
                RawArg::Word("10".into()),
                RawArg::Flag {
                    name: "x".into(),
                    inline: Some("1".into())
                },
                RawArg::Word("-".into()),
                RawArg::Word("-3".into()),
                RawArg::Word("--y".into()),
            ]
        );
    }

    #[test]
    fn words_that_are_not_utf8_are_kept_byte_for_byte() {
        let path = OsStr::from_bytes(b"caf\xe9.png").to_os_string();
        let mut flag = OsString::from("--image=");
        flag.push(&path);
        assert_eq!(
            split(&[path.clone(), flag]),
            vec![
                RawArg::Word(path.clone()),
                RawArg::Flag {
                    name: "image".into(),
                    inline: Some(path)
                },
            ]
        );
    }
}
