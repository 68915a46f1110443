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

/// What [`parse`] makes: the document, whether `check` held for any part, with
/// `canonical`, the canonical JSON of its pieces, and the members left out of it.
pub struct Split {
    pub value: Value,
    pub checked: bool,
    pub canonical: Option<Canonical>,
    /// The pieces `leave` let go, `null` in `value`, in document order (those a repeated key
    /// replaced are not among them).
    pub left: Vec<Left>,
}

/// Whether the piece at `path` (its keys from the top of the document), parsed as `value`, may
/// be left out of the document ([`parse`]).
pub type MayLeave<'a> = dyn Fn(&[String], &Value) -> bool + Sync + 'a;

/// A piece left out of the document: parsed, checked and written canonically like every other,
/// then dropped, `null` in its place. Its text is kept, so that [`restore`] can put it back.
#[derive(Debug)]
pub struct Left {
    /// Its keys from the top of the document.
    pub path: Vec<String>,
    text: Box<str>,
}

/// Puts the values of `left` back into `root`, at their paths (all of them: the document one
/// parse makes).
pub fn restore(root: &mut Value, left: impl IntoIterator<Item = Left>) {
    for piece in left {
        let mut at = Some(&mut *root);
        for key in &piece.path {
            at = at.and_then(|v| v.get_mut(key.as_str()));
        }
        // Parsed once already, so it parses again.
        if let (Some(slot), Ok(value)) = (at, serde_json::from_str::<Value>(&piece.text)) {
            *slot = value;
        }
    }
}

/// A value to parse on its own: its text and its keys from the top of the document (one for a
/// member of the top level).
struct Piece<'t> {
    text: &'t str,
    path: Vec<String>,
}

/// The document `text` (trimmed, starting with `{`), parsed on two threads, and whether `check`
/// held for any of its parts: it is called on the thread that parsed each with the member's
/// key, value and nesting (1 for a member of the top level), and must answer for the whole of
/// that value. With `canonical`, each part's canonical JSON is written by it as well
/// ([`Canonical`]; the fingerprint's `write_canonical`). A piece for which `leave` holds, once
/// checked and written, is dropped and `null` in the document ([`Split::left`]): what the caller
/// reads only if something refers to it is then neither held nor walked. `None` when the text
/// is small, not an object, deeply nested or not valid JSON (the caller then parses it whole).
pub fn parse(
    text: &str,
    check: impl Fn(&str, &Value, usize) -> bool + Sync,
    canonical: Option<&WriteCanonical>,
    leave: Option<&MayLeave<'_>>,
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
        let mut left: Vec<(usize, Left)> = Vec::new();
        let mut checked = false;
        // Reserved for the whole text, touched only as far as it is written.
        let mut buffer = Vec::with_capacity(if canonical.is_some() { text.len() } else { 0 });
        while !failed.load(std::sync::atomic::Ordering::Relaxed) {
            // Waits while the scan goes on; once it is over, takes what is left.
            let Ok(next) = pieces.lock().map(|p| p.recv()) else {
                break;
            };
            let Ok((i, piece)) = next else {
                return Some((done, checked, buffer, left));
            };
            let Ok(value) = serde_json::from_str::<Value>(piece.text) else {
                break;
            };
            let key = piece.path.last().map_or("", String::as_str);
            checked = checked || check(key, &value, piece.path.len());
            let start = buffer.len();
            if let Some(write) = canonical {
                write(&value, &mut buffer);
            }
            let value = if leave.is_some_and(|may| may(&piece.path, &value)) {
                left.push((
                    i,
                    Left {
                        path: piece.path,
                        text: piece.text.into(),
                    },
                ));
                Value::Null
            } else {
                value
            };
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
        let top = split_object(text, 0, &mut Vec::new(), &mut hand_over)
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
            Some((Vec::new(), false, Vec::new(), Vec::new()))
        };
        stage.end();
        (top, count, mine, theirs)
    });
    let (top, mine, theirs) = (top?, mine?, theirs?);
    let (mine, mine_checked, my_buffer, mut left) = mine;
    let (theirs, theirs_checked, their_buffer, their_left) = theirs;
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
    left.extend(their_left);
    let left = if left.is_empty() {
        Vec::new()
    } else {
        // In document order, without those a repeated key replaced.
        let mut kept = vec![false; count];
        last_members(&top, true, &mut 0, &mut kept);
        left.sort_unstable_by_key(|(i, _)| *i);
        left.into_iter()
            .filter(|(i, _)| kept.get(*i) == Some(&true))
            .map(|(_, piece)| piece)
            .collect()
    };
    let value = assemble(top, &mut parsed)?;
    Some(Split {
        value,
        checked: mine_checked || theirs_checked,
        canonical,
        left,
    })
}

/// Marks in `kept` the pieces of `part` (numbered from `next` in document order) that stay in
/// the document: none when `kept_here` does not hold, and of an object's members with the same
/// key only the last, as `serde_json` keeps it.
fn last_members(part: &Part, kept_here: bool, next: &mut usize, kept: &mut [bool]) {
    match part {
        Part::Value => {
            if let Some(k) = kept.get_mut(*next) {
                *k = kept_here;
            }
            *next += 1;
        }
        Part::Object(members) => {
            let mut last = std::collections::HashMap::new();
            for (i, (key, _)) in members.iter().enumerate() {
                last.insert(key.as_str(), i);
            }
            for (i, (key, member)) in members.iter().enumerate() {
                let here = kept_here && last.get(key.as_str()) == Some(&i);
                last_members(member, here, next, kept);
            }
        }
    }
}

/// Splits the object starting at `start` (its `{`) at `path` (the keys of the objects that hold
/// it): its members, those big enough split further, the values to parse handed to `hand_over`
/// in document order. Returns the members and the index after the closing `}`.
fn split_object<'t>(
    text: &'t str,
    start: usize,
    path: &mut Vec<String>,
    hand_over: &mut impl FnMut(Piece<'t>),
) -> Option<(Part, usize)> {
    let depth = path.len();
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
        path.push(key);
        let part = if big && depth + 1 < MAX_SPLIT_DEPTH && bytes[value_start] == b'{' {
            let (part, end) = split_object(text, value_start, path, hand_over)?;
            if end != value_end {
                return None;
            }
            part
        } else {
            hand_over(Piece {
                text: text.get(value_start..value_end)?,
                path: path.clone(),
            });
            Part::Value
        };
        let key = path.pop()?;
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
        b'{' | b'[' => skip_container(bytes, i, depth),
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

/// The index after the object or array starting at `i` (its `{` or `[`), nested `depth` deep;
/// `None` past [`MAX_NESTING`] or at the end of the text. The text is taken 64 bytes at a time:
/// a bit per byte for each of `"`, `\`, an opening and a closing bracket ([`Block`]); the
/// escaped bytes and the insides of strings are worked out on the bits, and only the brackets
/// outside strings are visited one by one. A byte at a time, finding where each string ends,
/// this scan took as long as one thread's share of parsing GitHub's description (25 ms), with
/// the second core idle for most of it. As the bytes outside the values are checked by
/// [`split_object`] and every value by `serde_json`, a wrong end found here for a text that is
/// not JSON can only fail the split: the caller then parses the whole text on one thread.
fn skip_container(bytes: &[u8], i: usize, depth: usize) -> Option<usize> {
    let mut nesting = 0usize;
    // Whether the block starts inside a string, and whether its first byte is escaped.
    let mut in_string = false;
    let mut escaped_first = false;
    let mut at = i;
    while at < bytes.len() {
        let block = Block::at(bytes, at);
        let escaped = escaped_bytes(block.backslash, &mut escaped_first);
        let quotes = block.quote & !escaped;
        // From each opening quote up to (not including) its closing one.
        let inside = prefix_xor(quotes) ^ if in_string { u64::MAX } else { 0 };
        in_string = inside >> 63 == 1;
        let mut brackets = (block.open | block.close) & !inside;
        while brackets != 0 {
            let bit = brackets.trailing_zeros();
            if block.open >> bit & 1 == 1 {
                nesting += 1;
                if depth + nesting > MAX_NESTING {
                    return None;
                }
            } else {
                nesting = nesting.checked_sub(1)?;
                if nesting == 0 {
                    return Some(at + bit as usize + 1);
                }
            }
            brackets &= brackets - 1;
        }
        at += 64;
    }
    None
}

/// The 64 bytes of a text from some index, as one bit per byte (bit `k` for byte `k`) for
/// each kind of byte [`skip_container`] looks at. Bytes past the end of the text are none of
/// them.
struct Block {
    quote: u64,
    backslash: u64,
    /// `{` or `[`.
    open: u64,
    /// `}` or `]`.
    close: u64,
}

impl Block {
    fn at(bytes: &[u8], at: usize) -> Block {
        let mut padded = [b' '; 64];
        let chunk: &[u8; 64] = match bytes.get(at..at + 64) {
            Some(full) => full.try_into().unwrap_or(&padded),
            None => {
                let rest = bytes.get(at..).unwrap_or_default();
                padded[..rest.len()].copy_from_slice(rest);
                &padded
            }
        };
        Block::of(chunk)
    }

    #[cfg(target_arch = "x86_64")]
    fn of(chunk: &[u8; 64]) -> Block {
        // SAFETY: every x86-64 processor has SSE2.
        unsafe { Block::sse2(chunk) }
    }

    /// 16 bytes at a time with SSE2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "sse2")]
    fn sse2(chunk: &[u8; 64]) -> Block {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
            _mm_set1_epi8,
        };
        #[target_feature(enable = "sse2")]
        fn mask(v: __m128i, byte: u8) -> u64 {
            // `as i8`: the intrinsic takes the byte's bits as a signed number.
            let eq = _mm_cmpeq_epi8(v, _mm_set1_epi8(byte as i8));
            u64::from(_mm_movemask_epi8(eq) as u16)
        }
        let mut block = Block {
            quote: 0,
            backslash: 0,
            open: 0,
            close: 0,
        };
        for (k, sixteen) in chunk.chunks_exact(16).enumerate() {
            // SAFETY: `sixteen` is 16 bytes long, and the load takes no alignment.
            let v = unsafe { _mm_loadu_si128(sixteen.as_ptr().cast::<__m128i>()) };
            // `[` and `]` are `{` and `}` less 0x20, and no other byte is either with 0x20 set.
            let folded = _mm_or_si128(v, _mm_set1_epi8(0x20));
            let shift = 16 * k;
            block.quote |= mask(v, b'"') << shift;
            block.backslash |= mask(v, b'\\') << shift;
            block.open |= mask(folded, b'{') << shift;
            block.close |= mask(folded, b'}') << shift;
        }
        block
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn of(chunk: &[u8; 64]) -> Block {
        Block::bytewise(chunk)
    }

    /// Byte by byte: the other processors', and the tests' reference.
    #[cfg_attr(target_arch = "x86_64", allow(dead_code))]
    fn bytewise(chunk: &[u8; 64]) -> Block {
        let bits = |f: &dyn Fn(u8) -> bool| {
            chunk
                .iter()
                .enumerate()
                .fold(0u64, |acc, (k, &b)| acc | u64::from(f(b)) << k)
        };
        Block {
            quote: bits(&|b| b == b'"'),
            backslash: bits(&|b| b == b'\\'),
            open: bits(&|b| matches!(b, b'{' | b'[')),
            close: bits(&|b| matches!(b, b'}' | b']')),
        }
    }
}

/// The bytes of a block escaped by a backslash, from its backslashes and whether its first byte
/// is escaped (by the last byte of the block before); `escaped_first` becomes whether the next
/// block's first byte is. An escaped backslash escapes nothing. (Outside strings, where JSON has
/// no backslash, this escapes the next byte all the same: such a text fails to parse anyway.)
fn escaped_bytes(backslash: u64, escaped_first: &mut bool) -> u64 {
    let mut escaped = u64::from(*escaped_first);
    *escaped_first = false;
    let mut escaping = backslash & !escaped;
    while escaping != 0 {
        let bit = escaping.trailing_zeros();
        if bit == 63 {
            *escaped_first = true;
            break;
        }
        escaped |= 1 << (bit + 1);
        // This backslash, and the byte it escapes (a backslash too, perhaps), are done with.
        escaping &= u64::MAX.checked_shl(bit + 2).unwrap_or(0);
    }
    escaped
}

/// Bit `k` of the result is the XOR of bits `0..=k` of `x`: set from each set bit of `x` up to
/// the next one (not included), and so on.
fn prefix_xor(mut x: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        x ^= x << shift;
    }
    x
}

/// The index after the object or array starting at `i`, as [`skip_container`] finds it, a byte
/// at a time: the tests' reference.
#[cfg(test)]
fn skip_container_bytewise(bytes: &[u8], i: usize, depth: usize) -> Option<usize> {
    match bytes.get(i)? {
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
        _ => None,
    }
}

/// The first of `"`, `\`, `{`, `}`, `[`, `]` at or after `j`, eight bytes at a time: for the
/// keys and strings of the split objects ([`skip_string`]); the containers within them are
/// skipped 64 bytes at a time ([`skip_container`]).
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
        let split = parse(text, |_, _, _| false, Some(&write_canonical), None).expect("split");
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

    /// Pieces left out are `null` in the document, hashed all the same, and put back as one
    /// parse makes them; of a repeated key, only the last value's are left.
    #[test]
    fn left_pieces_are_put_back() {
        let text = big_document();
        let odd = |path: &[String], v: &Value| {
            path.len() == 3
                && path[1] == "schemas"
                && path[2]
                    .trim_start_matches('S')
                    .parse::<usize>()
                    .is_ok_and(|i| i % 2 == 1)
                && v.is_object()
        };
        let one: Value = serde_json::from_str(&text).expect("valid");
        let split =
            parse(&text, |_, _, _| false, Some(&write_canonical), Some(&odd)).expect("split");
        assert_eq!(split.left.len(), 2000);
        assert!(split.value["components"]["schemas"]["S1"].is_null());
        assert_eq!(
            split.value["components"]["schemas"]["S2"],
            one["components"]["schemas"]["S2"]
        );
        let canonical = split.canonical.as_ref().expect("canonical");
        assert_eq!(
            crate::spec::inputs::hash_spec_split(canonical).finish(None),
            crate::spec::inputs::hash_spec(&one).finish(None)
        );
        let mut value = split.value;
        restore(&mut value, split.left);
        assert_eq!(value, one);
        // The whole document again under a repeated key, then a small value: nothing of the
        // first is left out, and the small value stays.
        let text = format!(
            "{{\"a\": {text}, \"a\": {{\"components\": {{\"schemas\": {{\"S1\": 1}}}}}}, \"b\": {text}}}"
        );
        let one: Value = serde_json::from_str(&text).expect("valid");
        let members =
            |p: &[String], v: &Value| p.len() == 3 && p[1] == "components" && v.is_object();
        let split = parse(&text, |_, _, _| false, None, Some(&members)).expect("split");
        let left: Vec<&[String]> = split.left.iter().map(|l| l.path.as_slice()).collect();
        assert_eq!(
            left,
            [["b", "components", "empty"], ["b", "components", "schemas"]]
        );
        let mut value = split.value;
        restore(&mut value, split.left);
        assert_eq!(value, one);
    }

    #[test]
    fn checks_every_piece_with_its_key_and_depth() {
        let text = big_document();
        let found = |want: &'static str, depth: usize| {
            parse(&text, move |k, _, d| k == want && d == depth, None, None)
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
    fn block_bits_are_the_bytes() {
        let alphabet = b"\"\\{}[]a \x7b\x5b\xdb\xfb\x02\x22";
        let mut rng = crate::test_rng::Rng(0x2545_f491_4f6c_dd1d);
        let mut chunks: Vec<[u8; 64]> = (0..=255u8).map(|b| [b; 64]).collect();
        for _ in 0..20_000 {
            let mut chunk = [0u8; 64];
            for b in &mut chunk {
                *b = if rng.chance(25) {
                    rng.below(256) as u8
                } else {
                    alphabet[rng.below(alphabet.len())]
                };
            }
            chunks.push(chunk);
        }
        for chunk in &chunks {
            let (fast, slow) = (Block::of(chunk), Block::bytewise(chunk));
            assert_eq!(
                (fast.quote, fast.backslash, fast.open, fast.close),
                (slow.quote, slow.backslash, slow.open, slow.close),
                "{chunk:?}"
            );
        }
    }

    #[test]
    fn escapes_and_strings_on_the_bits() {
        assert_eq!(prefix_xor(0), 0);
        // Bits 1-3 (from bit 1 to bit 4), then from bit 7 on.
        assert_eq!(prefix_xor(0b1001_0010), u64::MAX << 7 | 0b1110);
        assert_eq!(prefix_xor(1 << 63), 1 << 63);
        // `\\`, then `\"`: bits 0-1 a pair, bit 3 escapes bit 4.
        let mut carry = false;
        assert_eq!(escaped_bytes(0b0_1011, &mut carry), 0b1_0010);
        assert!(!carry);
        // A run of three ending the block escapes the next block's first byte.
        let run = 0b111 << 61;
        assert_eq!(escaped_bytes(run, &mut carry), 1 << 62);
        assert!(carry);
        // ... which, a backslash, escapes nothing.
        assert_eq!(escaped_bytes(0b1, &mut carry), 0b1);
        assert!(!carry);
    }

    /// Texts whose containers a block at a time and a byte at a time must end alike: values
    /// serde_json writes (strings of quotes, backslash runs, brackets and multi-byte characters,
    /// long enough to cross blocks), at every offset in a block, cut short or with a bracket
    /// turned the other way.
    #[test]
    fn containers_end_where_a_byte_at_a_time_ends_them() {
        let pieces = [
            "\\", "\"", "{", "}", "[", "]", "a", "é", "\\\\\"", " ", "\n",
        ];
        let mut rng = crate::test_rng::Rng(0x9e37_79b9_7f4a_7c15);
        let string = |rng: &mut crate::test_rng::Rng| {
            let mut s = String::new();
            for _ in 0..rng.below(90) {
                s.push_str(pieces[rng.below(pieces.len())]);
            }
            Value::String(s)
        };
        let mut texts = Vec::new();
        for _ in 0..3_000 {
            let mut v = string(&mut rng);
            for _ in 0..rng.below(12) {
                v = match rng.below(3) {
                    0 => Value::Array(vec![v, string(&mut rng), Value::from(1.5)]),
                    1 => {
                        let mut m = Map::new();
                        if let Value::String(k) = string(&mut rng) {
                            m.insert(k, v);
                        }
                        Value::Object(m)
                    }
                    _ => serde_json::json!({"a": [v], "b": {}}),
                };
            }
            if !v.is_array() && !v.is_object() {
                v = Value::Array(vec![v]);
            }
            let text = serde_json::to_string(&v).expect("serialises");
            let pad = " ".repeat(rng.below(64));
            texts.push(format!("{pad}{text} ,"));
            texts.push(format!("{pad}{}", &text[..text.len() - 1]));
            let turned = text.replacen('}', "]", 1).replacen('[', "{", 1);
            texts.push(format!("{pad}{turned}"));
        }
        // Nesting about the limit, from several depths.
        for n in [1, 50, 98, 99, 100, 101, 130] {
            texts.push(format!("{}{}", "[".repeat(n), "]".repeat(n)));
        }
        let mut ended = 0;
        for text in &texts {
            let bytes = text.as_bytes();
            let start = bytes.iter().position(|&b| b != b' ').expect("a value");
            for depth in [0, 1, 3] {
                let fast = skip_container(bytes, start, depth);
                assert_eq!(
                    fast,
                    skip_container_bytewise(bytes, start, depth),
                    "{text:?}"
                );
                ended += usize::from(fast.is_some());
            }
        }
        assert!(ended > texts.len(), "most containers end: {ended}");
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
            assert!(parse(b, |_, _, _| false, Some(&write_canonical), None).is_none());
        }
        // Deep nesting: left to serde_json's limit.
        let deep = format!(
            "{{\"pad\": \"{}\", \"d\": {}1{}}}",
            "x".repeat(SPLIT_FROM),
            "[".repeat(127),
            "]".repeat(127)
        );
        assert!(parse(&deep, |_, _, _| false, Some(&write_canonical), None).is_none());
        // Small documents are not split.
        assert!(parse("{\"a\": 1}", |_, _, _| false, Some(&write_canonical), None).is_none());
    }
}
