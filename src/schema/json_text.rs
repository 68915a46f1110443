//! Compact JSON text as serde_json writes it (no whitespace, object keys in `Map` order), read
//! and edited in place: the bounded conversion ([`super::bound`]) assembles tool schemas as text
//! from converted nodes held as text, instead of cloning `Value` trees and serialising them.

/// How a placeholder ([`crate::schema::node::placeholder`]) begins in compact JSON: serde_json
/// writes its control character as `\u0000` (a test in `node` holds the two together).
pub const SLOT_TEXT: &str = "\"\\u0000mcpgen-slot:";

/// A placeholder's place in a text and its number: (start, end, number), the quotes included.
pub type Slot = (u32, u32, u32);

/// Every placeholder in `text` (compact JSON), in order, wherever it is (a subschema, data or a
/// key: the caller compares the count with the placeholders it put in subschemas).
pub fn slots(text: &str) -> Vec<Slot> {
    // Made once: `str::find` sets up a searcher for the pattern at every call, and this runs
    // for every converted node.
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(SLOT_TEXT));
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = FINDER.find(&text.as_bytes()[from..]) {
        let start = from + i;
        let digits = start + SLOT_TEXT.len();
        let rest = &text.as_bytes()[digits..];
        let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        from = digits + n;
        if rest.get(n) != Some(&b'"') || n == 0 {
            continue;
        }
        let (Ok(id), Ok(s), Ok(e)) = (
            text[digits..digits + n].parse::<u32>(),
            u32::try_from(start),
            u32::try_from(digits + n + 1),
        ) else {
            continue;
        };
        out.push((s, e, id));
        from += 1;
    }
    out
}

/// The end of the JSON value that starts at `i` in compact JSON `b` (`None` if it is not one).
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let n = b[i..]
                .iter()
                .take_while(|c| !matches!(c, b',' | b'}' | b']'))
                .count();
            (n > 0).then_some(i + n)
        }
    }
}

/// The end of the JSON string that starts at `i` (its opening quote).
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

/// Where the JSON string that `text` begins with ends (past its closing quote); `None` when
/// `text` does not begin with a whole string.
pub fn string_end(text: &str) -> Option<usize> {
    (text.as_bytes().first() == Some(&b'"'))
        .then(|| skip_string(text.as_bytes(), 0))
        .flatten()
}

/// The top-level entries of the compact JSON object `text`: (key as written, with its quotes;
/// where the entry's value starts; where it ends). `None` if `text` is not an object.
fn entries(text: &str) -> Option<Vec<(&str, usize, usize)>> {
    let b = text.as_bytes();
    if b.first() != Some(&b'{') || b.last() != Some(&b'}') {
        return None;
    }
    let mut out = Vec::new();
    let mut i = 1;
    if b.get(i) == Some(&b'}') {
        return (i + 1 == b.len()).then_some(out);
    }
    loop {
        let key_end = skip_string(b, i)?;
        if b.get(key_end) != Some(&b':') {
            return None;
        }
        let end = skip_value(b, key_end + 1)?;
        out.push((text.get(i..key_end)?, key_end + 1, end));
        match b.get(end)? {
            b',' => i = end + 1,
            b'}' if end + 1 == b.len() => return Some(out),
            _ => return None,
        }
    }
}

/// The text of a key as written (quotes included), unescaped.
fn key_of(written: &str) -> Option<String> {
    if written.contains('\\') {
        serde_json::from_str(written).ok()
    } else {
        written.get(1..written.len() - 1).map(str::to_owned)
    }
}

/// `text` (a compact JSON object) with `"key":value` (`value` compact JSON) at its place in
/// key order, as a `serde_json::Map` would hold it: replacing the key's value if it is there,
/// unless `keep` (then `text` is returned as it is). `None` if `text` is not an object.
pub fn with_entry(text: &str, key: &str, value: &str, keep: bool) -> Option<String> {
    let found = entries(text)?;
    let mut at = text.len() - 1;
    let mut replace = None;
    for (written, start, end) in &found {
        let k = key_of(written)?;
        match k.as_str().cmp(key) {
            std::cmp::Ordering::Less => continue,
            std::cmp::Ordering::Equal => {
                if keep {
                    return Some(text.to_owned());
                }
                replace = Some((*start, *end));
            }
            std::cmp::Ordering::Greater => {
                // Back to the key's opening quote.
                at = start - written.len() - 1;
            }
        }
        break;
    }
    let mut out = String::with_capacity(text.len() + key.len() + value.len() + 4);
    if let Some((start, end)) = replace {
        out.push_str(&text[..start]);
        out.push_str(value);
        out.push_str(&text[end..]);
        return Some(out);
    }
    out.push_str(&text[..at]);
    if at > 1 && found.iter().any(|(_, _, end)| *end == at) {
        // After the last entry.
        out.push(',');
    }
    push_str_json(&mut out, key);
    out.push(':');
    out.push_str(value);
    if at < text.len() - 1 {
        out.push(',');
    }
    out.push_str(&text[at..]);
    Some(out)
}

/// `s` as a JSON string, as serde_json writes it.
pub fn push_str_json(out: &mut String, s: &str) {
    if s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned()));
    }
}

/// `text` parsed, however deep it nests (the texts parsed here were written from values).
pub fn parse(text: &str) -> Option<serde_json::Value> {
    use serde::Deserialize;
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    let v = serde_json::Value::deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(v)
}

/// `text` (compact JSON) with every non-empty object or array inside `max` others emptied (what
/// [`crate::lower`]'s depth cut cuts); and whether any was.
pub fn cut_deeper_than(text: &str, max: usize) -> (String, bool) {
    let parts = deep_parts(text, max);
    if parts.is_empty() {
        return (text.to_owned(), false);
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end) in parts {
        out.push_str(&text[last..start]);
        out.push_str(if text.as_bytes()[start] == b'{' {
            "{}"
        } else {
            "[]"
        });
        last = end;
    }
    out.push_str(&text[last..]);
    (out, true)
}

/// Whether `text` (compact JSON) has a non-empty object or array inside `max` others (what
/// [`cut_deeper_than`] would cut).
pub fn nests_deeper_than(text: &str, max: usize) -> bool {
    !deep_parts(text, max).is_empty()
}

/// Where the non-empty objects and arrays inside `max` others are in `text`, outermost only.
fn deep_parts(text: &str, max: usize) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i = skip_string(b, i).unwrap_or(b.len());
                continue;
            }
            b'{' | b'[' => {
                if depth >= max && !matches!(b.get(i + 1), Some(b'}' | b']')) {
                    let end = skip_value(b, i).unwrap_or(b.len());
                    parts.push((i, end));
                    i = end;
                    continue;
                }
                depth += 1;
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value, json};

    fn values() -> Vec<Value> {
        vec![
            json!({}),
            json!({"a": 1}),
            json!({"$defs": {"x": {}}, "type": "object"}),
            json!({"#": true, "b\"q": [1, {"c": "}"}], "d\\": "x\\\"", "z": null}),
            json!({"description": "a, b: {c} [d]", "é": "ü", "\u{1}": "\u{7f}"}),
            json!({"n": -1.5e300, "m": [[], {}, [[{}]]], "s": "\\\\"}),
        ]
    }

    /// Inserting or replacing an entry in the text is what inserting it in the map and
    /// serialising gives.
    #[test]
    fn with_entry_is_map_insert() {
        let keys = [
            "",
            "!",
            "#",
            "$defs",
            "a",
            "b\"q",
            "d\\",
            "description",
            "z",
            "é",
            "\u{1}",
        ];
        for v in values() {
            let text = serde_json::to_string(&v).unwrap();
            assert!(entries(&text).is_some(), "{text}");
            for key in keys {
                for keep in [false, true] {
                    let mut m: Map<String, Value> = v.as_object().unwrap().clone();
                    let new = json!({"new": [key]});
                    if !(keep && m.contains_key(key)) {
                        m.insert(key.to_owned(), new.clone());
                    }
                    let want = serde_json::to_string(&m).unwrap();
                    let got = with_entry(&text, key, &serde_json::to_string(&new).unwrap(), keep);
                    assert_eq!(got.as_deref(), Some(want.as_str()), "{text} + {key:?}");
                }
            }
        }
        assert_eq!(with_entry("[]", "a", "1", false), None);
        assert_eq!(with_entry("{\"a\"}", "a", "1", false), None);
    }

    #[test]
    fn push_str_json_is_serde_json_s() {
        for s in [
            "", "abc", "a\"b", "a\\b", "\n", "\u{0}", "é", "\u{7f}", "x y~",
        ] {
            let mut out = String::new();
            push_str_json(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap());
        }
    }

    /// The depth cut on text is the one on values.
    #[test]
    fn cut_deeper_than_is_cut_on_values() {
        fn cut(v: &mut Value, depth: usize, max: usize) -> bool {
            if depth >= max {
                return match v {
                    Value::Object(m) if !m.is_empty() => {
                        m.clear();
                        true
                    }
                    Value::Array(a) if !a.is_empty() => {
                        a.clear();
                        true
                    }
                    _ => false,
                };
            }
            let mut any = false;
            match v {
                Value::Object(m) => m.values_mut().for_each(|c| any |= cut(c, depth + 1, max)),
                Value::Array(a) => a.iter_mut().for_each(|c| any |= cut(c, depth + 1, max)),
                _ => {}
            }
            any
        }
        let v =
            json!({"a": [1, {"b": [[], {}, {"c": "]}{["}], "d": {"e": [[[1]]]}}], "f": {"g": {}}});
        let deep = (0..160).fold(json!({"x": [1]}), |v, _| json!([v, {"y": "}"}]));
        for v in values().into_iter().chain([v, deep]) {
            let text = serde_json::to_string(&v).unwrap();
            assert_eq!(parse(&text), Some(v.clone()));
            for max in 0..170 {
                let mut want = v.clone();
                let any = cut(&mut want, 0, max);
                let got = cut_deeper_than(&text, max);
                assert_eq!(
                    got,
                    (serde_json::to_string(&want).unwrap(), any),
                    "{text} {max}"
                );
            }
        }
    }

    /// The depth check says what cutting containers deeper than `max` would cut.
    #[test]
    fn deeper_than_counts_containers() {
        fn nest(n: usize, leaf: Value) -> Value {
            (0..n).fold(leaf, |v, i| {
                if i % 2 == 0 {
                    json!([v])
                } else {
                    json!({"k": v})
                }
            })
        }
        for n in 0..8 {
            for leaf in [
                json!(1),
                json!({}),
                json!([]),
                json!({"a": "[{"}),
                json!([0]),
            ] {
                let v = nest(n, leaf.clone());
                let text = serde_json::to_string(&v).unwrap();
                for max in 0..10 {
                    let deep = n > max
                        || (n == max && matches!(&leaf, Value::Object(m) if !m.is_empty()))
                        || (n == max && matches!(&leaf, Value::Array(a) if !a.is_empty()));
                    assert_eq!(cut_deeper_than(&text, max).1, deep, "{text} {max}");
                }
            }
        }
    }
}
