//! The fingerprint of a generation's inputs, written into the generated crate's manifest (on a
//! line of its own, not into every file's header), so a committed crate says what it was
//! generated from.
//!
//! It is SHA-256 over a canonical form, the same on every platform: the spec as mcpgen reads it
//! (after bundling relative-file `$ref`s, so external files count) and the `--auth` config file
//! (when given), each parsed (YAML or JSON) and printed as canonical JSON — object keys sorted by
//! their UTF-8 bytes, no whitespace, strings escaped as `serde_json` does, numbers as parsed.
//! Formatting, comments, key order, line endings (a Windows checkout's CRLF) and YAML-vs-JSON do
//! not change it; any change of content does. The digest covers, in order, the bytes
//! `mcpgen-inputs-v1\n`, `spec\n`, the canonical spec, `\n`, and when a config is given,
//! `auth\n`, the canonical config and `\n`. The manifest shows `sha256:` plus the first 16 hex
//! digits.

use crate::spec::json_split::{Canonical, Part};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// `sha256:<16 hex digits>` for a bundled spec and an optional config document.
#[cfg(test)]
pub fn fingerprint(spec: &Value, auth: Option<&Value>) -> String {
    hash_spec(spec).finish(auth)
}

/// The fingerprint with the spec hashed, before the config file is read: the spec is hashed
/// beside the stages that read it, the config file once it is parsed.
pub struct SpecHash(Hashing);

/// Hashes the spec part of the fingerprint.
pub fn hash_spec(spec: &Value) -> SpecHash {
    spec_part(|hasher| write(spec, hasher))
}

/// [`hash_spec`] of a document parsed in pieces, from their canonical JSON: the same digest.
pub fn hash_spec_split(split: &Canonical) -> SpecHash {
    spec_part(|hasher| {
        let mut next = 0;
        let top = number(&split.top, &mut next);
        write_numbered(&top, split, hasher);
    })
}

/// The spec part of the fingerprint, the canonical spec written by `spec`.
fn spec_part(spec: impl FnOnce(&mut Hashing)) -> SpecHash {
    let mut hasher = Hashing {
        hasher: Sha256::new(),
        buffer: Vec::with_capacity(BUFFER),
    };
    hasher.update(b"mcpgen-inputs-v1\n");
    hasher.update(b"spec\n");
    spec(&mut hasher);
    hasher.update(b"\n");
    SpecHash(hasher)
}

/// A split document's members with their pieces numbered (in document order).
enum Numbered<'a> {
    Piece(usize),
    Object(Vec<(&'a str, Numbered<'a>)>),
}

fn number<'a>(part: &'a Part, next: &mut usize) -> Numbered<'a> {
    match part {
        Part::Value => {
            *next += 1;
            Numbered::Piece(*next - 1)
        }
        Part::Object(members) => Numbered::Object(
            members
                .iter()
                .map(|(k, p)| (k.as_str(), number(p, next)))
                .collect(),
        ),
    }
}

/// As [`write`]: members in key order, a repeated key with its last value (as parsing keeps).
fn write_numbered(part: &Numbered, split: &Canonical, out: &mut impl Sink) {
    match part {
        Numbered::Piece(i) => out.update(split.piece(*i)),
        Numbered::Object(members) => {
            let sorted: std::collections::BTreeMap<&str, &Numbered> =
                members.iter().map(|(k, p)| (*k, p)).collect();
            out.update(b"{");
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.update(b",");
                }
                string(k, out);
                out.update(b":");
                write_numbered(v, split, out);
            }
            out.update(b"}");
        }
    }
}

/// Appends the canonical JSON of `v` ([`write`]) to `out`.
pub(crate) fn write_canonical(v: &Value, out: &mut Vec<u8>) {
    write(v, out);
}

impl SpecHash {
    /// Adds the config document (when given) and prints the fingerprint.
    pub fn finish(self, auth: Option<&Value>) -> String {
        let mut hasher = self.0;
        if let Some(auth) = auth {
            hasher.update(b"auth\n");
            write(auth, &mut hasher);
            hasher.update(b"\n");
        }
        hasher.drain();
        let digest = hasher.hasher.finalize();
        let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }
}

/// Bytes gathered before they are hashed: the canonical text streams through, never built whole.
const BUFFER: usize = 64 * 1024;

/// Where canonical JSON goes: a string ([`canonical`]) or, buffered, the hash ([`fingerprint`]).
trait Sink: std::io::Write {
    fn update(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn update(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl std::io::Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Hashing {
    hasher: Sha256,
    buffer: Vec<u8>,
}

impl Hashing {
    fn drain(&mut self) {
        self.hasher.update(&self.buffer);
        self.buffer.clear();
    }
}

impl Sink for Hashing {
    fn update(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= BUFFER {
            self.drain();
        }
    }
}

/// Canonical JSON text: sorted keys, no whitespace (what [`fingerprint`] hashes).
#[cfg(test)]
pub fn canonical(v: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(v, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// A string or number exactly as `serde_json` prints it (writing to memory cannot fail).
fn scalar<T: serde::Serialize + ?Sized>(v: &T, out: &mut impl Sink) {
    let _ = serde_json::to_writer(&mut *out, v);
}

/// A string as `serde_json` prints it: as it is between quotes when nothing in it is escaped
/// (no `"`, `\` or control character: most keys and values), else through `serde_json`.
fn string(s: &str, out: &mut impl Sink) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.update(b"\"");
        out.update(s.as_bytes());
        out.update(b"\"");
    } else {
        scalar(s, out);
    }
}

/// Whether `serde_json`'s maps iterate in key order (a B-tree of `String`s, ordered by their
/// bytes): unless a build enables its `preserve_order` feature. Asked of a map once.
fn maps_are_sorted() -> bool {
    static SORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SORTED.get_or_init(|| {
        let mut map = serde_json::Map::new();
        map.insert("b".into(), Value::Null);
        map.insert("a".into(), Value::Null);
        map.keys().is_sorted()
    })
}

fn write(v: &Value, out: &mut impl Sink) {
    match v {
        Value::Object(map) => {
            out.update(b"{");
            // `serde_json`'s map iterates in key order already; sorted here only if a build's
            // map keeps insertion order.
            if maps_are_sorted() {
                for (i, (k, v)) in map.iter().enumerate() {
                    entry(i, k, v, out);
                }
            } else {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                for (i, (k, v)) in entries.into_iter().enumerate() {
                    entry(i, k, v, out);
                }
            }
            out.update(b"}");
        }
        Value::Array(items) => {
            out.update(b"[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.update(b",");
                }
                write(item, out);
            }
            out.update(b"]");
        }
        Value::Null => out.update(b"null"),
        Value::Bool(true) => out.update(b"true"),
        Value::Bool(false) => out.update(b"false"),
        Value::String(s) => string(s, out),
        Value::Number(n) => scalar(n, out),
    }
}

/// One `"key":value` of an object, after a comma unless it is the first.
fn entry(i: usize, k: &str, v: &Value, out: &mut impl Sink) {
    if i > 0 {
        out.update(b",");
    }
    string(k, out);
    out.update(b":");
    write(v, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_as_serde_json_prints_them() {
        for s in [
            "",
            "plain",
            "quote \" here",
            "back\\slash",
            "line\nbreak\ttab\u{1}\u{1f}",
            "\u{7f} del, é, 💡, </script>",
        ] {
            let v = json!({ s: s });
            assert_eq!(canonical(&v), serde_json::to_string(&v).unwrap(), "{s:?}");
        }
        assert!(maps_are_sorted());
    }

    #[test]
    fn canonical_and_stable() {
        assert_eq!(
            canonical(&json!({"b": [1, {"d": null, "c": "x\n"}], "a": 1.5})),
            r#"{"a":1.5,"b":[1,{"c":"x\n","d":null}]}"#
        );
        let yaml: Value = serde_yaml::from_str("b: 1\r\na: [x]\r\n").unwrap();
        assert_eq!(
            fingerprint(&yaml, None),
            fingerprint(&json!({"a": ["x"], "b": 1}), None)
        );
        // A fixed value, the same on every platform and in every build; computed independently:
        // python3 -c "import hashlib; print(hashlib.sha256(b'mcpgen-inputs-v1\nspec\n{}\n').hexdigest()[:16])"
        assert_eq!(fingerprint(&json!({}), None), "sha256:d4b44f94576a1b70");
        assert_ne!(
            fingerprint(&json!({}), None),
            fingerprint(&json!({}), Some(&json!({})))
        );
    }
}
