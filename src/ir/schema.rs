//! A tool schema (`inputSchema`, `outputSchema`) as compact JSON text ([`Schema`]), in pieces
//! shared between the tools that have the same ones ([`SchemaTexts`]).

use serde::Serialize;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// A tool schema as compact JSON text. Text rather than a `serde_json::Value`, whose maps cost
/// a B-tree node each: the IR of a large API holds hundreds of megabytes of schemas as values,
/// a fraction of that as text. The text is held in pieces: what comes before the first
/// `$defs` entry, each entry (`"Name":{...}`), and what comes after the last, each piece shared
/// between the schemas that have it ([`SchemaTexts`]). The create and update tools of one
/// entity carry nearly the same `$defs`, and an entity graph's tools the same definitions
/// again and again: for 10,000 Graph-shaped tools, input schemas of 110 MB of distinct text
/// are 18 MB of distinct pieces.
///
/// It serialises as the compact JSON it is, also inside pretty-printed files (`tools.json`, the
/// tests' expectations): a schema is read by programs, and pretty-printing multiplied the size
/// of these files by about 2.6.
#[derive(Debug, Clone)]
pub struct Schema(Arc<Pieces>);

#[derive(Debug)]
struct Pieces {
    /// The text up to the first `$defs` entry; all of it when there is none.
    head: Arc<str>,
    /// The `$defs` entries, separated by commas in the text.
    defs: Box<[Arc<str>]>,
    /// The text after the last entry.
    tail: Arc<str>,
    /// Bytes of the whole text.
    len: usize,
}

/// The pieces of the schemas made so far, and the schemas, so that equal ones are shared: one
/// per thread that makes schemas (across threads an equal piece may be two strings).
#[derive(Debug, Default)]
pub struct SchemaTexts {
    texts: HashSet<Arc<str>>,
    /// Schemas of several pieces, by the addresses of their pieces.
    schemas: HashMap<Vec<usize>, Schema>,
}

impl SchemaTexts {
    /// `text`, shared with an equal one made before.
    fn text(&mut self, text: &str) -> Arc<str> {
        if let Some(t) = self.texts.get(text) {
            return t.clone();
        }
        let t: Arc<str> = text.into();
        self.texts.insert(t.clone());
        t
    }
}

impl Schema {
    /// The schema of `v`, sharing the text of an equal schema already in `shared`.
    pub fn shared(v: &Value, shared: &mut SchemaTexts) -> Self {
        let text = serde_json::to_string(v).unwrap_or_else(|_| "{}".to_owned());
        Self::shared_text(&text, shared)
    }

    /// The schema of compact JSON `text` (as serde_json writes a value), sharing the text of
    /// an equal schema already in `shared`.
    pub fn shared_text(text: &str, shared: &mut SchemaTexts) -> Self {
        Self::shared_parts(text, Vec::<&str>::new(), "", shared)
    }

    /// The schema whose compact JSON text is `head`, the `defs` entries (`"Name":{...}`)
    /// separated by commas, and `tail`; its pieces shared with the schemas already in `shared`.
    pub fn shared_parts<S: AsRef<str>>(
        head: &str,
        defs: Vec<S>,
        tail: &str,
        shared: &mut SchemaTexts,
    ) -> Self {
        let head = shared.text(head);
        let tail = shared.text(tail);
        let defs: Box<[Arc<str>]> = defs.iter().map(|d| shared.text(d.as_ref())).collect();
        let key: Vec<usize> = std::iter::once(&head)
            .chain(defs.iter())
            .chain(std::iter::once(&tail))
            .map(|t| Arc::as_ptr(t) as *const u8 as usize)
            .collect();
        if let Some(s) = shared.schemas.get(&key) {
            return s.clone();
        }
        let len = head.len()
            + tail.len()
            + defs.iter().map(|d| d.len()).sum::<usize>()
            + defs.len().saturating_sub(1);
        let schema = Schema(Arc::new(Pieces {
            head,
            defs,
            tail,
            len,
        }));
        shared.schemas.insert(key, schema.clone());
        schema
    }

    /// The schema of `v`.
    pub fn new(v: &Value) -> Self {
        Self::shared(v, &mut SchemaTexts::default())
    }

    /// The pieces of the compact JSON text, in order (commas between the entries included).
    pub fn pieces(&self) -> impl Iterator<Item = &str> {
        let p = &*self.0;
        std::iter::once(&*p.head)
            .chain(
                p.defs
                    .iter()
                    .enumerate()
                    .flat_map(|(i, d)| [if i == 0 { "" } else { "," }, &**d]),
            )
            .chain(std::iter::once(&*p.tail))
    }

    /// The compact JSON text (put together when it is in several pieces).
    pub fn text(&self) -> Cow<'_, str> {
        if self.0.defs.is_empty() && self.0.tail.is_empty() {
            return Cow::Borrowed(&self.0.head);
        }
        let mut out = String::with_capacity(self.0.len);
        for piece in self.pieces() {
            out.push_str(piece);
        }
        Cow::Owned(out)
    }

    /// The `$defs` entries (`"Name":{...}`) held as pieces of their own.
    pub fn def_entries(&self) -> &[Arc<str>] {
        &self.0.defs
    }

    /// What tells this schema apart for caches: the address of its pieces (equal schemas made
    /// by one [`SchemaTexts`] have the same) and its length.
    pub fn identity(&self) -> (usize, usize) {
        (Arc::as_ptr(&self.0) as usize, self.0.len)
    }

    /// Bytes of the compact JSON.
    pub fn len(&self) -> usize {
        self.0.len
    }

    /// Whether the text is empty (never, for a schema made by [`Self::new`]).
    pub fn is_empty(&self) -> bool {
        self.0.len == 0
    }

    /// The schema as a value (parsed again: for what walks it, such as the example calls).
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.text()).unwrap_or_default()
    }
}

impl PartialEq for Schema {
    fn eq(&self, other: &Self) -> bool {
        self.0.len == other.0.len && self.text() == other.text()
    }
}

impl Eq for Schema {}

impl Serialize for Schema {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self.text();
        let raw: &serde_json::value::RawValue =
            serde_json::from_str(&text).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pieces_make_the_text_and_are_shared() {
        let mut shared = SchemaTexts::default();
        let a = Schema::shared_parts(
            r#"{"$defs":{"#,
            vec![r#""A":{"type":"string"}"#, r#""B":{}"#],
            r#"},"type":"object"}"#,
            &mut shared,
        );
        let text = r#"{"$defs":{"A":{"type":"string"},"B":{}},"type":"object"}"#;
        assert_eq!(a.text(), text);
        assert_eq!(a.len(), text.len());
        assert_eq!(a.pieces().collect::<String>(), text);
        assert_eq!(a.value()["$defs"]["A"], json!({"type": "string"}));
        assert_eq!(serde_json::to_string(&a).unwrap(), text);
        // The same pieces again: the same schema; one entry shared with another schema.
        let b = Schema::shared_parts(
            r#"{"$defs":{"#,
            vec![r#""A":{"type":"string"}"#, r#""B":{}"#],
            r#"},"type":"object"}"#,
            &mut shared,
        );
        assert_eq!(a.identity(), b.identity());
        let c = Schema::shared_parts(
            r#"{"$defs":{"#,
            vec![r#""A":{"type":"string"}"#],
            r#"},"type":"object"}"#,
            &mut shared,
        );
        assert!(Arc::ptr_eq(&a.def_entries()[0], &c.def_entries()[0]));
        assert_ne!(a, c);
        // Equal texts compare equal whatever their pieces.
        assert_eq!(Schema::shared_text(text, &mut SchemaTexts::default()), a);
    }

    #[test]
    fn a_whole_text_is_borrowed() {
        let s = Schema::new(&json!({"type": "object"}));
        assert!(matches!(s.text(), Cow::Borrowed(_)));
        assert_eq!(s.text(), r#"{"type":"object"}"#);
        assert!(s.def_entries().is_empty());
    }
}
