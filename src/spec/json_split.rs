//! A large JSON document parsed on two threads. Parsing is the first stage and nothing runs
//! beside it, so on one thread it leaves the second core idle (GitHub's 12 MB description: 80 ms).
//! Here the objects at the top of the document are scanned for where their members start and
//! end, without building anything; the big ones are split into their own members, and the values
//! found are parsed by `serde_json` on two threads (the second from the moment the scan finds
//! the first value, this one once the scan is over), then put back together in document order.
//!
//! The result is the value one `serde_json::from_str` makes, or nothing: every byte outside the
//! values is checked here (whitespace, keys, `:` and `,`, the braces) and every value is checked
//! by `serde_json`; anything unexpected — a syntax error, nesting near `serde_json`'s depth limit,
//! a document too small to be worth it — returns `None`, and the caller parses the whole text on
//! one thread, which reports errors exactly as it always did.

use serde_json::{Map, Value};

/// Below this size one thread parses the whole document.
const SPLIT_FROM: usize = 1 << 20;

/// How deep objects are split into their members: the top level, `components`, and
/// `components.schemas` (or `paths` and its path items).
const MAX_SPLIT_DEPTH: usize = 3;

/// Nesting the scanner accepts inside a value; past it the whole text is parsed on one thread,
/// so that `serde_json`'s limit (128 levels, counted from the top of the document) is applied
/// as it always was.
const MAX_NESTING: usize = 100;

/// An object's members: each value either parsed on its own ([`Part::Value`], the next of the
/// pieces in document order) or split further.
#[derive(Clone, Debug)]
pub(crate) enum Part {
    Value,
    Object(Vec<(String, Part)>),
}

/// The document's canonical JSON (the fingerprint's form, `spec/inputs.rs`) in pieces, made by
/// the thread that parsed each piece while its value was still in its cache: walking the whole
/// document again later, for the fingerprint, mostly waited for memory (GitHub's description:
/// 35 ms; hashing the pieces takes 4–6). `hash_spec_split` in `spec/inputs.rs` puts them
/// together in key order.
#[derive(Debug)]
pub struct Canonical {
    /// The members of the document as split, pieces numbered in document order.
    pub(crate) top: Part,
    /// Where each piece's value is, as canonical JSON, in document order: which of `buffers`,
    /// and where in it.
    pub(crate) pieces: Vec<(usize, std::ops::Range<usize>)>,
    /// The canonical JSON of the pieces, one buffer per parsing thread: two large allocations
    /// rather than one per piece, so that their memory is reused once they are dropped (a
    /// thousand small ones, made on a thread that has ended, were not, and raised the peak by
    /// 15 MiB).
    pub(crate) buffers: Vec<Vec<u8>>,
}

impl Canonical {
    /// The canonical JSON of piece `i`.
    pub(crate) fn piece(&self, i: usize) -> &[u8] {
        self.pieces
            .get(i)
            .and_then(|(b, range)| self.buffers.get(*b)?.get(range.clone()))
            .unwrap_or_default()
    }
}

/// Writes a value's canonical JSON at the end of a buffer.
pub type WriteCanonical = dyn Fn(&Value, &mut Vec<u8>) + Sync;

/// What [`parse`] makes: the document, whether `check` held for any part, and with
/// `canonical`, the canonical JSON of its pieces.
pub struct Split {
    pub value: Value,
    pub checked: bool,
    pub canonical: Option<Canonical>,
}

/// A value to parse on its own: its text, its key in the object that holds it, and how many
/// objects hold it (1 for a member of the top level).
struct Piece<'t> {
    text: &'t str,
    key: String,
    depth: usize,
}

/// The document `text` (trimmed, starting with `{`), parsed on two threads, and whether `check`
/// held for any of its parts: it is called on the thread that parsed each with the member's
/// key, value and nesting (1 for a member of the top level), and must answer for the whole of
/// that value. With `canonical`, each part's canonical JSON is written by it as well
/// ([`Canonical`]; the fingerprint's `write_canonical`). `None` when the text is small, not
/// an object, deeply nested or not valid JSON (the caller then parses it whole).
pub fn parse(
    text: &str,
    check: impl Fn(&str, &Value, usize) -> bool + Sync,
    canonical: Option<&WriteCanonical>,
) -> Option<Split> {
    if text.len() < SPLIT_FROM {
        return None;
    }
    let bytes = text.as_bytes();
    // The scan hands each piece over as it finds it: the other thread parses while this one
    // scans, then both parse what is left.
    let (send, pieces) = std::sync::mpsc::channel::<(usize, Piece)>();
    let pieces = std::sync::Mutex::new(pieces);
    let failed = std::sync::atomic::AtomicBool::new(false);
    let work = || {
        let mut done: Vec<(usize, Value, std::ops::Range<usize>)> = Vec::new();
        let mut checked = false;
        // Reserved for the whole text, touched only as far as it is written.
        let mut buffer = Vec::with_capacity(if canonical.is_some() { text.len() } else { 0 });
        while !failed.load(std::sync::atomic::Ordering::Relaxed) {
            // Waits while the scan goes on; once it is over, takes what is left.
            let Ok(next) = pieces.lock().map(|p| p.recv()) else {
                break;
            };
            let Ok((i, piece)) = next else {
                return Some((done, checked, buffer));
            };
            let Ok(value) = serde_json::from_str::<Value>(piece.text) else {
                break;
            };
            checked = checked || check(&piece.key, &value, piece.depth);
            let start = buffer.len();
            if let Some(write) = canonical {
                write(&value, &mut buffer);
            }
            done.push((i, value, start..buffer.len()));
        }
        failed.store(true, std::sync::atomic::Ordering::Relaxed);
        None
    };
    let handed = crate::Handed::new();
    let (top, count, mine, theirs) = std::thread::scope(|scope| {
        let other = crate::spawn_handing(scope, "mcpgen-parse", &handed, work);
        let stage = crate::profile::Stage::start("load: split");
        let mut count = 0;
        let mut hand_over = |piece| {
            // The receiver lives until both threads are done: sending cannot fail.
            let _ = send.send((count, piece));
            count += 1;
        };
        let top = split_object(text, 0, 0, &mut hand_over)
            .filter(|(_, end)| skip_ws(bytes, *end) == bytes.len())
            .map(|(top, _)| top);
        drop(send);
        stage.end();
        let stage = crate::profile::Stage::start("load: parse pieces");
        let mine = if top.is_some() {
            work()
        } else {
            failed.store(true, std::sync::atomic::Ordering::Relaxed);
            None
        };
        let theirs = if other {
            handed.take_result().ok().flatten()
        } else {
            // No second thread: this one parsed everything.
            Some((Vec::new(), false, Vec::new()))
        };
        stage.end();
        (top, count, mine, theirs)
    });
    let (top, (mine, mine_checked, my_buffer), (theirs, theirs_checked, their_buffer)) =
        (top?, mine?, theirs?);
    let mut slots: Vec<Option<Value>> = Vec::new();
    slots.resize_with(count, || None);
    let mut pieces = vec![(0, 0..0); if canonical.is_some() { count } else { 0 }];
    let mine = mine.into_iter().map(|(i, v, range)| (i, v, (0, range)));
    let theirs = theirs.into_iter().map(|(i, v, range)| (i, v, (1, range)));
    for (i, v, at) in mine.chain(theirs) {
        *slots.get_mut(i)? = Some(v);
        if canonical.is_some() {
            *pieces.get_mut(i)? = at;
        }
    }
    let mut parsed = slots
        .into_iter()
        .collect::<Option<Vec<Value>>>()?
        .into_iter();
    let canonical = canonical.map(|_| Canonical {
        top: top.clone(),
        pieces,
        buffers: vec![my_buffer, their_buffer],
    });
    let value = assemble(top, &mut parsed)?;
    Some(Split {
        value,
        checked: mine_checked || theirs_checked,
        canonical,
    })
}

/// Splits the object starting at `start` (its `{`) at nesting `depth`: its members, those big
/// enough split further, the values to parse handed to `hand_over` in document order. Returns
/// the members and the index after the closing `}`.
fn split_object<'t>(
    text: &'t str,
    start: usize,
    depth: usize,
    hand_over: &mut impl FnMut(Piece<'t>),
) -> Option<(Part, usize)> {
    let bytes = text.as_bytes();
    if bytes.get(start) != Some(&b'{') {
        return None;
    }
    let mut members = Vec::new();
    let mut i = skip_ws(bytes, start + 1);
    if bytes.get(i) == Some(&b'}') {
        return Some((Part::Object(members), i + 1));
    }
    loop {
        let key_end = skip_string(bytes, i)?;
        let key: String = serde_json::from_str(text.get(i..key_end)?).ok()?;
        i = skip_ws(bytes, key_end);
        if bytes.get(i) != Some(&b':') {
            return None;
        }
        let value_start = skip_ws(bytes, i + 1);
        let value_end = skip_value(bytes, value_start, depth + 1)?;
        let big = value_end - value_start >= SPLIT_FROM / 4;
        let part = if big && depth + 1 < MAX_SPLIT_DEPTH && bytes[value_start] == b'{' {
            let (part, end) = split_object(text, value_start, depth + 1, hand_over)?;
            if end != value_end {
                return None;
            }
            part
        } else {
            hand_over(Piece {
                text: text.get(value_start..value_end)?,
                key: key.clone(),
                depth: depth + 1,
            });
            Part::Value
        };
        members.push((key, part));
        i = skip_ws(bytes, value_end);
        match bytes.get(i) {
            Some(b',') => i = skip_ws(bytes, i + 1),
            Some(b'}') => return Some((Part::Object(members), i + 1)),
            _ => return None,
        }
    }
}

/// The document from its split parts and the parsed values, in order.
fn assemble(part: Part, parsed: &mut impl Iterator<Item = Value>) -> Option<Value> {
    match part {
        Part::Value => parsed.next(),
        Part::Object(members) => {
            let mut map = Map::new();
            for (key, part) in members {
                // As `serde_json` does: a repeated key keeps its first place and its last value.
                map.insert(key, assemble(part, parsed)?);
            }
            Some(Value::Object(map))
        }
    }
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\r' | b'\t') = bytes.get(i) {
        i += 1;
    }
    i
}

/// The index after the string starting at `i` (its `"`).
fn skip_string(bytes: &[u8], i: usize) -> Option<usize> {
    if bytes.get(i) != Some(&b'"') {
        return None;
    }
    let mut j = i + 1;
    loop {
        j = next_special(bytes, j)?;
        match bytes[j] {
            b'"' => return Some(j + 1),
            b'\\' => j += 2,
            _ => j += 1,
        }
    }
}

/// The index after the value starting at `i`, nested `depth` deep, without checking its
/// insides (`serde_json` does, when it parses it); `None` past [`MAX_NESTING`].
fn skip_value(bytes: &[u8], i: usize, depth: usize) -> Option<usize> {
    match bytes.get(i)? {
        b'"' => skip_string(bytes, i),
        b'{' | b'[' => {
            let mut nesting = 0usize;
            let mut in_string = false;
            let mut j = i;
            loop {
                j = next_special(bytes, j)?;
                match (in_string, bytes[j]) {
                    (true, b'"') => in_string = false,
                    (true, b'\\') => j += 1,
                    (true, _) => {}
                    (false, b'"') => in_string = true,
                    (false, b'{' | b'[') => {
                        nesting += 1;
                        if depth + nesting > MAX_NESTING {
                            return None;
                        }
                    }
                    (false, b'}' | b']') => {
                        nesting = nesting.checked_sub(1)?;
                        if nesting == 0 {
                            return Some(j + 1);
                        }
                    }
                    // A `\` outside a string: `serde_json` rejects it.
                    (false, _) => {}
                }
                j += 1;
            }
        }
        // A number, `true`, `false` or `null`: up to the next separator.
        _ => {
            let mut j = i;
            while let Some(&b) = bytes.get(j) {
                if matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                    break;
                }
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

/// The first of `"`, `\`, `{`, `}`, `[`, `]` at or after `j`: eight bytes at a time (the scan
/// is on the path of every large document, a byte at a time it took half as long as parsing).
fn next_special(bytes: &[u8], mut j: usize) -> Option<usize> {
    while let Some(chunk) = bytes.get(j..j + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let found = specials(u64::from_le_bytes(word));
        if found != 0 {
            // The lowest flag is exact (a false one can only follow a true one).
            return Some(j + (found.trailing_zeros() / 8) as usize);
        }
        j += 8;
    }
    while let Some(&b) = bytes.get(j) {
        if matches!(b, b'"' | b'\\' | b'{' | b'}' | b'[' | b']') {
            return Some(j);
        }
        j += 1;
    }
    None
}

/// The high bit of each byte of `x` that is one of the special bytes (see [`next_special`]),
/// and possibly of bytes after the first such. `[` and `]` differ from `{` and `}` by one bit
/// that no other byte can add, so `x | 0x20..` finds both brackets of each kind at once.
fn specials(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |y: u64| y.wrapping_sub(ONES) & !y & HIGH;
    let folded = x | (ONES * 0x20);
    zero(x ^ (ONES * u64::from(b'"')))
        | zero(x ^ (ONES * u64::from(b'\\')))
        | zero(folded ^ (ONES * u64::from(b'{')))
        | zero(folded ^ (ONES * u64::from(b'}')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::inputs::write_canonical;

    /// A document big enough to be split, members of every kind, keys with escapes.
    fn big_document() -> String {
        let mut schemas = Map::new();
        for i in 0..4000 {
            schemas.insert(
                format!("S{i}"),
                serde_json::json!({
                    "type": "object",
                    "description": format!("a \"quoted\" \\ {{brace}} [bracket] text {i}"),
                    "properties": {"n": {"type": "integer", "minimum": -1.5e3}, "b": [true, false, null]}
                }),
            );
        }
        let doc = serde_json::json!({
            "openapi": "3.1.0",
            "info": {"title": "t\u{e9}", "version": "1"},
            "paths": {"/a": {"get": {"responses": {}}}},
            "components": {"schemas": schemas, "empty": {}, "list": []},
            "x-n": 12,
            "k\"ey\\": "v"
        });
        serde_json::to_string_pretty(&doc).expect("serialises")
    }

    /// `text` split makes the value one parse makes, to the order of its members.
    fn same_as_one_parse(text: &str) {
        let one: Value = serde_json::from_str(text).expect("valid");
        let split = parse(text, |_, _, _| false, Some(&write_canonical)).expect("split");
        let canonical = split.canonical.as_ref().expect("canonical");
        assert_eq!(
            crate::spec::inputs::hash_spec_split(canonical).finish(None),
            crate::spec::inputs::hash_spec(&one).finish(None),
            "the fingerprint of the pieces is the whole document's"
        );
        let split = split.value;
        assert_eq!(split, one);
        assert_eq!(
            serde_json::to_string(&split).expect("serialises"),
            serde_json::to_string(&one).expect("serialises")
        );
    }

    #[test]
    fn makes_what_one_parse_makes() {
        let text = big_document();
        assert!(text.len() >= SPLIT_FROM);
        same_as_one_parse(&text);
    }

    #[test]
    fn checks_every_piece_with_its_key_and_depth() {
        let text = big_document();
        let found = |want: &'static str, depth: usize| {
            parse(&text, move |k, _, d| k == want && d == depth, None)
                .expect("split")
                .checked
        };
        assert!(found("x-n", 1));
        assert!(found("S3999", 3));
        assert!(!found("S3999", 2));
        assert!(!found("nowhere", 1));
    }

    #[test]
    fn repeated_keys_as_serde_json() {
        let text = big_document();
        let text = format!("{{\"a\": 1, \"b\": 2, \"a\": 3, \"rest\": {}}}", text);
        same_as_one_parse(&text);
    }

    #[test]
    fn canonical_pieces_in_key_order() {
        let text = big_document();
        // Members out of key order, a split member repeated (its last value stays), a key that
        // is escaped, a small value that is not split.
        let text = format!(
            "{{\"z\": {text}, \"k\\\"\\\\\": [1, {{\"b\": 1, \"a\": \"\\u0001\"}}], \"a\": {text}, \"z\": {{\"y\": 1}}}}"
        );
        same_as_one_parse(&text);
    }

    #[test]
    fn anything_wrong_is_left_to_one_parse() {
        let text = big_document();
        let broken = [
            // A trailing comma at the top level.
            text.replacen("\"openapi\": \"3.1.0\",", "\"openapi\": \"3.1.0\",,", 1),
            // Inside a value.
            text.replacen("-1500.0", "-1500.", 1),
            // Mismatched brackets the scanner counts alike.
            text.replacen("\"empty\": {}", "\"empty\": {]", 1),
            text.replacen("\"list\": []", "\"list\": [}", 1),
            // Something after the document.
            format!("{text} x"),
            // A key that is not a string.
            text.replacen("\"x-n\"", "x-n", 1),
        ];
        for b in &broken {
            assert_ne!(b, &text);
            assert!(serde_json::from_str::<Value>(b).is_err());
            assert!(parse(b, |_, _, _| false, Some(&write_canonical)).is_none());
        }
        // Deep nesting: left to serde_json's limit.
        let deep = format!(
            "{{\"pad\": \"{}\", \"d\": {}1{}}}",
            "x".repeat(SPLIT_FROM),
            "[".repeat(127),
            "]".repeat(127)
        );
        assert!(parse(&deep, |_, _, _| false, Some(&write_canonical)).is_none());
        // Small documents are not split.
        assert!(parse("{\"a\": 1}", |_, _, _| false, Some(&write_canonical)).is_none());
    }
}
