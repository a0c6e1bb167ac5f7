//! Phase one: the function's command-line words as flags and positional
//! words. No types are known here; `--x` may be a bare boolean flag or wait
//! for a value, which phase two decides.

/// One command-line word after the component, classified by shape only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawArg {
    /// `--name` or `--name=value`.
    Flag {
        /// The name without dashes.
        name: String,
        /// The part after `=`, if any.
        inline: Option<String>,
    },
    /// Any other word (including everything after `--`).
    Word(String),
}

/// Splits words into [`RawArg`]s. `--` ends flag parsing; a lone `-` is a
/// word (stdin); a negative number such as `-3` is a word.
pub fn split(words: &[String]) -> Vec<RawArg> {
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
        match w.strip_prefix("--") {
            Some(rest) if !rest.is_empty() => {
                let (name, inline) = match rest.split_once('=') {
                    Some((n, v)) => (n.to_string(), Some(v.to_string())),
                    None => (rest.to_string(), None),
                };
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

    fn words(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
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
}
