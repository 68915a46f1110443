//! Spec and config text made safe for each place it lands in the generated crate: Rust string
//! literals and doc attributes, markdown table cells, shell words, `#` comment lines. Nothing a
//! spec says can end the literal, the cell or the comment it is put in, or inject anything.

/// A Rust string literal for `s` (escaped; safe for any input), as `proc_macro2` writes it.
/// Printable ASCII text, most of what a spec says, is written here directly (only `"` and `\`
/// escaped, as `proc_macro2` does); anything else goes through `proc_macro2`.
pub fn lit(s: &str) -> String {
    if !printable_ascii(s) {
        return proc_macro2::Literal::string(s).to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    push_escaped(&mut out, s);
    out.push('"');
    out
}

/// Whether `s` is printable ASCII only (its literal escapes `"` and `\\` alone).
fn printable_ascii(s: &str) -> bool {
    s.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// Printable ASCII `s` as inside a string literal: `"` and `\\` escaped, the runs between them
/// copied whole (this is on every generated doc line and literal).
fn push_escaped(out: &mut String, s: &str) {
    let mut from = 0;
    for i in memchr::memchr2_iter(b'"', b'\\', s.as_bytes()) {
        out.push_str(&s[from..i]);
        out.push('\\');
        from = i;
    }
    out.push_str(&s[from..]);
}

/// Doc attributes for `text`, one `#[doc = " line"]` per line, so prettyplease prints `/// line`.
/// Every line is a string literal: no spec text can end the comment or inject code.
pub fn doc_attrs(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    for (n, l) in text.trim_end().lines().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let l = l.trim_end();
        out.push_str("#[doc = ");
        if l.is_empty() {
            out.push_str("\"\"");
        } else if printable_ascii(l) {
            out.push_str("\" ");
            push_escaped(&mut out, l);
            out.push('"');
        } else {
            out.push_str(&lit(&format!(" {l}")));
        }
        out.push(']');
    }
    out
}

/// Text for one `#` comment line: no line breaks or control characters, so spec text cannot
/// start a variable line of its own.
pub fn comment_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// Escapes text for one markdown table cell (one line, no pipes, no HTML).
pub fn md_cell(s: &str) -> String {
    let first = s
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut out: String = first
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('`', "'");
    if out.chars().count() > 120 {
        out = out.chars().take(117).collect::<String>() + "...";
    }
    out
}

/// One POSIX shell word for a command line users copy: `s` up to its first control character,
/// single-quoted unless it is made of characters no shell treats specially, so spec text cannot
/// run commands.
pub fn shell_word(s: &str) -> String {
    let first: String = s.trim().chars().take_while(|c| !c.is_control()).collect();
    let plain = !first.is_empty()
        && first
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":/._~%+=@,-".contains(c));
    if plain {
        first
    } else {
        format!("'{}'", first.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct path writes what `proc_macro2` writes: every ASCII character alone, beside a
    /// letter, and pairs of the printable ones (`'`, `"`, `\\` and the rest).
    #[test]
    fn literals_are_proc_macro2_s() {
        let reference = |s: &str| proc_macro2::Literal::string(s).to_string();
        for b in 0u8..0x80 {
            let c = char::from(b);
            for s in [c.to_string(), format!("a{c}b"), format!("{c}\0{c}")] {
                assert_eq!(lit(&s), reference(&s), "{s:?}");
            }
        }
        for x in 0x20u8..0x7f {
            for y in 0x20u8..0x7f {
                let s = format!("{}{}", char::from(x), char::from(y));
                assert_eq!(lit(&s), reference(&s), "{s:?}");
            }
        }
        let text = "The user's \"login\" (a\\b); é \u{202e} end";
        assert_eq!(lit(text), reference(text));
        for s in ["\"\"\\\\", "\\\"\\", "a\"\"b\\", "\"", ""] {
            assert_eq!(lit(s), reference(s), "{s:?}");
        }
    }

    /// Doc attributes as they were made line by line with `lit` (a `format!` per line, joined):
    /// the same text for lines of every kind.
    #[test]
    fn doc_attrs_are_lit_per_line() {
        let reference = |text: &str| {
            text.trim_end()
                .lines()
                .map(|l| {
                    let l = l.trim_end();
                    let l = if l.is_empty() {
                        String::new()
                    } else {
                        format!(" {l}")
                    };
                    format!("#[doc = {}]", lit(&l))
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        let lines = [
            "",
            "  ",
            "plain words",
            "trailing  \t",
            "a \"quoted\" \\ back",
            "é non-ASCII",
            "\u{202e} bidi",
            "tab\tinside",
            "\r",
            "*/ #[doc]",
        ];
        let mut rng = crate::test_rng::Rng(17);
        for _ in 0..2000 {
            let n = rng.below(6);
            let text: Vec<&str> = (0..n).map(|_| lines[rng.below(lines.len())]).collect();
            for sep in ["\n", "\r\n"] {
                let text = text.join(sep);
                assert_eq!(doc_attrs(&text), reference(&text), "{text:?}");
            }
        }
    }

    #[test]
    fn literals_survive_hostile_text() {
        for s in ["plain", "a\"#b", "\"##\"###", "*/ \\ \n \u{202e}"] {
            let parsed: syn::LitStr = syn::parse_str(&lit(s)).expect("valid literal");
            assert_eq!(parsed.value(), s);
        }
    }
}
