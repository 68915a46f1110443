//! JSON pointers (RFC 6901), typed. Every location mcpgen reports — in errors, warnings, the IR —
//! is a [`Pointer`] built by pushing tokens, which escapes them (`~` → `~0`, `/` → `~1`), so a
//! path such as `/pets/{petId}` stays one token (`/paths/~1pets~1{petId}`). It prints in its
//! escaped form without the leading `#`; messages put the `#` in front. A leaf: it knows nothing
//! of OpenAPI.

use serde_json::Value;
use std::fmt;

/// Bytes [`Pointer::join`] makes room for beyond the pointer joined (a key or an index).
const JOIN_ROOM: usize = 24;

/// Appends what is written to it to a pointer's text, escaped as a token (`~` → `~0`,
/// `/` → `~1`).
struct Escaping<'s>(&'s mut String);

impl fmt::Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut from = 0;
        for i in memchr::memchr2_iter(b'~', b'/', s.as_bytes()) {
            self.0.push_str(&s[from..i]);
            self.0
                .push_str(if s.as_bytes()[i] == b'~' { "~0" } else { "~1" });
            from = i + 1;
        }
        self.0.push_str(&s[from..]);
        Ok(())
    }
}

/// A JSON pointer, kept in its escaped text form (`""` for the document root, else `/`-separated
/// escaped tokens), so printing it costs nothing and it orders like its text.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pointer(String);

impl Pointer {
    /// The document root (the empty pointer).
    pub const fn root() -> Self {
        Pointer(String::new())
    }

    /// A pointer from its escaped text: empty, or starting with `/`.
    pub fn parse(text: &str) -> Option<Self> {
        (text.is_empty() || text.starts_with('/')).then(|| Pointer(text.to_string()))
    }

    /// The pointer a local `$ref` names (`#/components/schemas/Pet`, percent-decoded as a URI
    /// fragment); `None` for anything else (other files, anchors, URLs).
    pub fn from_ref(reference: &str) -> Option<Self> {
        let fragment = reference.strip_prefix('#')?;
        let decoded = percent_encoding::percent_decode_str(fragment)
            .decode_utf8()
            .ok()?;
        Self::parse(&decoded)
    }

    /// The pointer of a `serde_path_to_error` path (enum and unknown segments carry no token).
    pub fn from_path(path: &serde_path_to_error::Path) -> Self {
        let mut out = Pointer::root();
        for segment in path.iter() {
            match segment {
                serde_path_to_error::Segment::Seq { index } => out.push(index),
                serde_path_to_error::Segment::Map { key } => out.push(key),
                serde_path_to_error::Segment::Enum { .. }
                | serde_path_to_error::Segment::Unknown => {}
            }
        }
        out
    }

    /// Appends one token (a key or an index), escaping it as it is formatted (no copy of it
    /// is made first: pointers are joined for every schema node converted).
    pub fn push(&mut self, token: impl fmt::Display) {
        use fmt::Write;
        self.0.push('/');
        // Writing into a `String` cannot fail.
        let _ = write!(Escaping(&mut self.0), "{token}");
    }

    /// This pointer with one more token (made with room for it: one allocation, not a copy
    /// grown again).
    pub fn join(&self, token: impl fmt::Display) -> Self {
        let mut out = Pointer(String::with_capacity(self.0.len() + JOIN_ROOM));
        out.0.push_str(&self.0);
        out.push(token);
        out
    }

    /// This pointer followed by every token of `tail`.
    pub fn concat(&self, tail: &Pointer) -> Self {
        Pointer(format!("{}{}", self.0, tail.0))
    }

    /// The escaped text, as `serde_json::Value::pointer` takes it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The tokens, unescaped.
    pub fn tokens(&self) -> impl Iterator<Item = String> + '_ {
        self.0
            .split('/')
            .skip(1)
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
    }

    /// How many tokens the pointer has: the nesting depth of the node it names.
    pub fn depth(&self) -> usize {
        self.0.matches('/').count()
    }

    /// The last token, unescaped; `None` for the root.
    pub fn last(&self) -> Option<String> {
        self.tokens().last()
    }

    /// The pointer without its last token; `None` for the root.
    pub fn parent(&self) -> Option<Pointer> {
        self.0.rfind('/').map(|i| Pointer(self.0[..i].to_string()))
    }

    /// The tokens after `prefix`, as a pointer, when this pointer starts with all of `prefix`'s.
    pub fn strip_prefix(&self, prefix: &Pointer) -> Option<Pointer> {
        let rest = self.0.strip_prefix(&prefix.0)?;
        Self::parse(rest)
    }

    /// The node this pointer names in `doc`.
    pub fn find<'v>(&self, doc: &'v Value) -> Option<&'v Value> {
        lookup(doc, &self.0)
    }
}

/// The node the JSON Pointer text `pointer` names in `doc`: `serde_json`'s
/// [`Value::pointer`], without a copy of each token that has no escape in it (a lookup is
/// made per schema node reached, many times per tool).
pub fn lookup<'v>(doc: &'v Value, pointer: &str) -> Option<&'v Value> {
    if pointer.is_empty() {
        return Some(doc);
    }
    let rest = pointer.strip_prefix('/')?;
    rest.split('/').try_fold(doc, |target, token| {
        let token: std::borrow::Cow<'_, str> = if token.contains('~') {
            token.replace("~1", "/").replace("~0", "~").into()
        } else {
            token.into()
        };
        match target {
            Value::Object(map) => map.get(token.as_ref()),
            Value::Array(list) => {
                // As `serde_json`: no sign, no leading zero.
                if token.starts_with('+') || (token.starts_with('0') && token.len() != 1) {
                    return None;
                }
                token.parse::<usize>().ok().and_then(|i| list.get(i))
            }
            _ => None,
        }
    })
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Serialises a pointer as a URI fragment (`#/paths/~1pets/get`), as the IR shows locations.
pub fn serialize_fragment<S: serde::Serializer>(p: &Pointer, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("#{p}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`lookup`] finds what `serde_json`'s `Value::pointer` finds, for every pointer tried.
    #[test]
    fn lookup_is_serde_json_s_pointer() {
        let doc = serde_json::json!({
            "a/b": {"c~d": [10, {"": 1, "0": 2, "~1": 3}], "": {"x": true}},
            "list": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
            "0": "zero",
            "~": "tilde",
        });
        let tokens = [
            "", "a~1b", "a/b", "c~0d", "c~d", "0", "1", "01", "+1", "10", "11", "12", "-1", "~01",
            "~1", "~", "~2", "list", "x",
        ];
        let mut pointers = vec![String::new(), "/".to_string(), "a".to_string()];
        for a in tokens {
            pointers.push(format!("/{a}"));
            for b in tokens {
                pointers.push(format!("/{a}/{b}"));
                for c in ["0", "1", "~01", "", "x"] {
                    pointers.push(format!("/{a}/{b}/{c}"));
                }
            }
        }
        let mut found = 0;
        for p in &pointers {
            assert_eq!(lookup(&doc, p), doc.pointer(p), "{p:?}");
            found += usize::from(doc.pointer(p).is_some());
        }
        assert!(found > 10, "{found}");
    }

    #[test]
    fn push_escapes_and_tokens_unescape() {
        let p = Pointer::root()
            .join("paths")
            .join("/pets/{id}")
            .join("get")
            .join(0);
        assert_eq!(p.as_str(), "/paths/~1pets~1{id}/get/0");
        assert_eq!(p.to_string(), "/paths/~1pets~1{id}/get/0");
        let odd = Pointer::root().join("a~/b").join("~1");
        assert_eq!(odd.as_str(), "/a~0~1b/~01");
        assert_eq!(odd.tokens().collect::<Vec<_>>(), ["a~/b", "~1"]);
        assert_eq!(odd.last().as_deref(), Some("~1"));
        assert_eq!(p.depth(), 4);
        assert_eq!(
            p.parent().map(|p| p.to_string()).as_deref(),
            Some("/paths/~1pets~1{id}/get")
        );
        assert_eq!(Pointer::root().parent(), None);
        assert_eq!(Pointer::root().join("").as_str(), "/");
    }

    /// Tokens are escaped as they are formatted, as escaping their whole text character by
    /// character does: at their ends, in runs, beside multi-byte characters, past the room a
    /// join makes, and for values formatted in several pieces.
    #[test]
    fn tokens_escape_as_their_text_does() {
        let reference = |base: &str, token: &str| {
            let mut out = format!("{base}/");
            for c in token.chars() {
                match c {
                    '~' => out.push_str("~0"),
                    '/' => out.push_str("~1"),
                    c => out.push(c),
                }
            }
            out
        };
        let parts = [
            "",
            "~",
            "/",
            "a",
            "é",
            "~~",
            "//",
            "{id}",
            "x".repeat(40).leak(),
        ];
        let base = Pointer::root().join("components").join("schemas");
        for a in parts {
            for b in parts {
                for c in parts {
                    let token = format!("{a}{b}{c}");
                    assert_eq!(base.join(&token).as_str(), reference(base.as_str(), &token));
                    // Formatted in three pieces.
                    let mut p = base.clone();
                    p.push(format_args!("{a}{b}{c}"));
                    assert_eq!(p.as_str(), reference(base.as_str(), &token));
                }
            }
        }
        assert_eq!(base.join(12_345).as_str(), "/components/schemas/12345");
    }

    #[test]
    fn parse_and_refs() {
        assert_eq!(Pointer::parse("").map(|p| p.is_root()), Some(true));
        assert!(Pointer::parse("a/b").is_none());
        assert_eq!(
            Pointer::from_ref("#/components/schemas/A%20B").map(|p| p.to_string()),
            Some("/components/schemas/A B".to_string())
        );
        assert!(Pointer::from_ref("other.yaml#/a").is_none());
        assert!(Pointer::from_ref("#anchor").is_none());
        assert_eq!(Pointer::from_ref("#").map(|p| p.is_root()), Some(true));
        let base = Pointer::root().join("components");
        let full = base.join("schemas").join("x");
        assert_eq!(
            full.strip_prefix(&base).map(|p| p.to_string()).as_deref(),
            Some("/schemas/x")
        );
        assert_eq!(
            base.concat(&Pointer::root().join("y")).as_str(),
            "/components/y"
        );
        let doc = serde_json::json!({"a/b": [1, {"c": true}]});
        assert_eq!(
            Pointer::root().join("a/b").join(1).join("c").find(&doc),
            Some(&Value::Bool(true))
        );
    }
}
