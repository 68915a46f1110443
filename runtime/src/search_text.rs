//! Tool search: the text analysis (tokens, stems, stop words, synonyms), the index's format and
//! the ranking, in one leaf module with no crate imports. mcpgen compiles this same file (with
//! `#[path]`) to build each API's index at generation time, so documents (generator) and queries
//! (server) are analysed by the same code: a word is indexed exactly as a query spells it.
//!
//! Ranking is BM25F. At generation time mcpgen computes, for every (term, tool), the saturated
//! field-weighted term frequency (its share of the BM25 maximum, `k1 + 1`) and each term's
//! document frequency; a query looks its terms up (binary search in the sorted vocabulary) and
//! sums, per concept of the query, the concept's IDF times its best member's frequency. A concept
//! is a word the user wrote together with its synonyms ([`SYNONYMS`]) at half weight, scored as
//! one term (like Lucene's synonym query): a rare synonym cannot outweigh the user's own word,
//! and a tool that says the same thing twice is not counted twice. Two factors then reorder the
//! candidates: *name coverage*, the share of the distinct terms of a tool's name and title that
//! the query stands for (a tool named for exactly what was asked beats one whose name says more),
//! and *intent*, the verb a query leads with ("show", "remove", "start") against what the
//! operation's method does ([`query_intent`], [`action_letter`]). The data are five `&str`s
//! (nothing is parsed at start-up; a query allocates a few small vectors):
//!
//! - `terms`: the sorted vocabulary, concatenated;
//! - `table`: per term (and one sentinel) three fixed-width numbers, [`WIDTH`] digits each: the
//!   term's start in `terms`, the start of its postings, its document frequency;
//! - `postings`: per term, the tools that contain it in position order, each as the gap from the
//!   previous tool (a variable-length number) and its frequency ([`IMPACT_DIGITS`] digits, a
//!   share of [`MAX_IMPACT`]);
//! - `actions`: per tool, one letter for what its operation does ([`action_letter`]);
//! - `names`: per tool, the number of distinct terms of its name and title, then their rows in
//!   `table` (variable-length numbers).
//!
//! Numbers are written in a base-64 alphabet of ASCII letters, digits, `-` and `_`, so the data
//! are plain string literals in the generated `search_index.rs`.

/// Digits of every number in `table` (base 64: up to 2^30).
pub const WIDTH: usize = 5;
/// Numbers per term in `table`.
pub const TABLE_FIELDS: usize = 3;
/// Digits of a frequency in `postings` (base 64: 0..4096).
pub const IMPACT_DIGITS: usize = 2;
/// A frequency of `MAX_IMPACT` is BM25's maximum, `k1 + 1`.
#[allow(dead_code)] // mcpgen's half: used when the index is built.
pub const MAX_IMPACT: u32 = 64 * 64 - 1;
/// Bytes of a query that are read: the rest is ignored (bounded work on hostile input).
pub const MAX_QUERY_BYTES: usize = 1024;
/// Words of a query that are used, at most.
pub const MAX_QUERY_WORDS: usize = 32;
/// Query weight of a word the user wrote, and of a word a synonym group (or a nearby form of a
/// word the API never uses) added.
pub const EXACT_WEIGHT: u32 = 2;
pub const SYNONYM_WEIGHT: u32 = 1;
/// Nearby forms tried for a query word the API never uses, at most.
const MAX_NEAR_FORMS: usize = 3;

const ALPHABET: &[u8; 64] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";

/// The value of one base-64 digit; `None` for any other byte.
fn digit(b: u8) -> Option<u32> {
    Some(match b {
        b'0'..=b'9' => u32::from(b - b'0'),
        b'A'..=b'Z' => u32::from(b - b'A') + 10,
        b'a'..=b'z' => u32::from(b - b'a') + 36,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    })
}

/// Appends `value` as exactly `width` digits (the caller keeps it below 64^width).
#[allow(dead_code)] // mcpgen's half: used when the index is built.
pub fn push_fixed(out: &mut String, value: u32, width: usize) {
    for i in (0..width).rev() {
        let d = (value >> (6 * i)) & 63;
        out.push(char::from(ALPHABET[d as usize]));
    }
}

/// Appends `value` in the variable-length form: 5 bits a digit, high digits first, every digit
/// but the last marked by its sixth bit.
#[allow(dead_code)] // mcpgen's half: used when the index is built.
pub fn push_var(out: &mut String, value: u32) {
    let mut groups = [0u8; 7];
    let mut n = 0;
    let mut v = value;
    loop {
        groups[n] = (v & 31) as u8;
        n += 1;
        v >>= 5;
        if v == 0 {
            break;
        }
    }
    for i in (0..n).rev() {
        let more = if i > 0 { 32 } else { 0 };
        out.push(char::from(ALPHABET[usize::from(groups[i] | more)]));
    }
}

/// Appends one row of the table: a term's start in `terms`, its postings' start, its document
/// frequency.
#[allow(dead_code)] // mcpgen's half: used when the index is built.
pub fn push_row(table: &mut String, term_start: usize, postings_start: usize, df: usize) {
    for v in [term_start, postings_start, df] {
        push_fixed(table, u32::try_from(v).unwrap_or(u32::MAX), WIDTH);
    }
}

fn read_fixed(bytes: &[u8], at: usize, width: usize) -> Option<u32> {
    let mut v = 0u32;
    for &b in bytes.get(at..at.checked_add(width)?)? {
        v = (v << 6) | digit(b)?;
    }
    Some(v)
}

/// A search index over borrowed data (the generated statics, or a freshly built index).
#[derive(Clone, Copy, Debug)]
pub struct Index<'a> {
    /// Number of tools (documents), in `tools.json` order.
    pub docs: usize,
    pub terms: &'a str,
    pub table: &'a str,
    pub postings: &'a str,
    /// Per tool, one letter: what its operation does ([`action_letter`]).
    pub actions: &'a str,
    /// Per tool, in order: the number of distinct terms of its name and title, then each
    /// term's row in `table` (variable-length numbers).
    pub names: &'a str,
}

/// The factor of a tool's score that matches `matched` of a query's `total` concepts (both at
/// least 1 when it matters): the share matched, softened so that a strong match of most of
/// the query still beats a weak match of all of it.
fn coordination(matched: u32, total: u32) -> f64 {
    (f64::from(matched) / f64::from(total)).powf(COORDINATION)
}

/// Exponent of [`coordination`]: 0 ignores it, 1 is Lucene's classic `coord`.
const COORDINATION: f64 = 0.5;

/// One vocabulary entry: its postings and document frequency.
struct Entry<'a> {
    postings: &'a [u8],
    df: u32,
}

impl<'a> Index<'a> {
    fn term_count(&self) -> usize {
        (self.table.len() / (TABLE_FIELDS * WIDTH)).saturating_sub(1)
    }

    /// Field `f` of row `i` of the table.
    fn field(&self, i: usize, f: usize) -> Option<usize> {
        let at = i
            .checked_mul(TABLE_FIELDS * WIDTH)?
            .checked_add(f * WIDTH)?;
        read_fixed(self.table.as_bytes(), at, WIDTH).map(|v| v as usize)
    }

    fn term(&self, i: usize) -> Option<&'a str> {
        self.terms.get(self.field(i, 0)?..self.field(i + 1, 0)?)
    }

    fn entry(&self, i: usize) -> Option<Entry<'a>> {
        let postings = self
            .postings
            .as_bytes()
            .get(self.field(i, 1)?..self.field(i + 1, 1)?)?;
        Some(Entry {
            postings,
            df: self.field(i, 2)? as u32,
        })
    }

    /// The row of `term`, or where it would be.
    fn find(&self, term: &str) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.term_count());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.term(mid) {
                Some(t) if t < term => lo = mid + 1,
                Some(t) if t > term => hi = mid,
                Some(_) => return Ok(mid),
                None => return Err(lo),
            }
        }
        Err(lo)
    }

    fn lookup(&self, term: &str) -> Option<Entry<'a>> {
        self.entry(self.find(term).ok()?)
    }

    /// Vocabulary terms near a word the API never uses: the longest term that begins the word
    /// (`healthy` → `health`, `scheduler` → `schedul`), and the shortest that the word begins
    /// (`deploy` → `deployment`), never more than a few letters apart.
    fn near_forms(&self, word: &str) -> Vec<&'a str> {
        let mut out = Vec::new();
        if word.chars().count() < 4 {
            return out;
        }
        // Terms that begin the word: its prefixes of 4 letters or more, at most 3 letters shorter.
        let bytes: Vec<usize> = word.char_indices().map(|(i, _)| i).skip(4).collect();
        for &end in bytes.iter().rev().take(3) {
            if let Ok(i) = self.find(&word[..end])
                && let Some(t) = self.term(i)
            {
                out.push(t);
                break;
            }
        }
        // Terms the word begins, at most 4 letters longer.
        {
            let (Err(start) | Ok(start)) = self.find(word);
            let mut longer: Vec<&'a str> = (start..self.term_count())
                .map_while(|i| self.term(i).filter(|t| t.starts_with(word)))
                .filter(|t| *t != word && t.len() <= word.len() + 4)
                .collect();
            longer.sort_by_key(|t| (t.len(), *t));
            out.extend(longer);
        }
        out.truncate(MAX_NEAR_FORMS);
        out
    }

    /// Visits every (tool, frequency) of `postings`. Malformed data end the list early; they
    /// never panic.
    fn each(postings: &[u8], mut f: impl FnMut(usize, u32)) {
        let mut at = 0;
        let mut doc: usize = 0;
        let mut first = true;
        while at < postings.len() {
            let mut gap: usize = 0;
            loop {
                let Some(d) = postings.get(at).and_then(|&b| digit(b)) else {
                    return;
                };
                at += 1;
                gap = gap.saturating_mul(32).saturating_add((d & 31) as usize);
                if d & 32 == 0 {
                    break;
                }
            }
            doc = if first { gap } else { doc.saturating_add(gap) };
            first = false;
            let Some(impact) = read_fixed(postings, at, IMPACT_DIGITS) else {
                return;
            };
            at += IMPACT_DIGITS;
            f(doc, impact);
        }
    }

    /// Visits every tool's name terms: (tool, distinct terms, how many are in `rows`, sorted).
    /// Malformed data end the visit early; they never panic.
    fn each_name(&self, mut f: impl FnMut(usize, u32, u32), rows: &[usize]) {
        let bytes = self.names.as_bytes();
        let mut at = 0;
        let read = |at: &mut usize| -> Option<usize> {
            let mut v: usize = 0;
            loop {
                let d = digit(*bytes.get(*at)?)?;
                *at += 1;
                v = v.saturating_mul(32).saturating_add((d & 31) as usize);
                if d & 32 == 0 {
                    return Some(v);
                }
            }
        };
        for doc in 0..self.docs {
            let Some(total) = read(&mut at) else { return };
            let mut matched = 0;
            for _ in 0..total {
                let Some(row) = read(&mut at) else { return };
                if rows.binary_search(&row).is_ok() {
                    matched += 1;
                }
            }
            f(doc, u32::try_from(total).unwrap_or(u32::MAX), matched);
        }
    }

    /// BM25's inverse document frequency.
    fn idf(&self, df: u32) -> f64 {
        let (n, df) = (self.docs as f64, f64::from(df));
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    /// Every tool's score for `query` (0: no match), by position.
    pub fn scores(&self, query: &str) -> Vec<f64> {
        let mut scores = vec![0f64; self.docs];
        let mut matched = vec![0u32; self.docs];
        let mut best = vec![0u32; self.docs];
        let mut touched: Vec<usize> = Vec::new();
        let mut concepts_used = 0u32;
        // Rows of every term the query stands for: what a tool's name is checked against.
        let mut query_rows: Vec<usize> = Vec::new();
        let intent = query_intent(query);
        if let Some(intent) = intent {
            query_rows.extend(
                intent
                    .words()
                    .iter()
                    .filter_map(|w| self.find(&stem(w)).ok()),
            );
        }
        for concept in query_concepts(query, &|t| self.find(t).is_ok()) {
            let mut members: Vec<(Entry<'a>, u32)> = Vec::new();
            let mut exact_df = None;
            for (term, weight) in &concept.terms {
                if let Ok(row) = self.find(term) {
                    query_rows.push(row);
                }
                if let Some(e) = self.lookup(term) {
                    if *weight == EXACT_WEIGHT {
                        exact_df = exact_df.max(Some(e.df));
                    }
                    members.push((e, *weight));
                }
            }
            if let Some(word) = &concept.word {
                for t in self.near_forms(word) {
                    if let Ok(row) = self.find(t) {
                        query_rows.push(row);
                    }
                    if let Some(e) = self.lookup(t) {
                        members.push((e, SYNONYM_WEIGHT));
                    }
                }
            }
            // The concept's IDF: the user's word's, else its most common member's.
            let Some(df) = exact_df.or_else(|| members.iter().map(|(e, _)| e.df).max()) else {
                continue;
            };
            let idf = self.idf(df);
            concepts_used += 1;
            for (e, weight) in &members {
                Self::each(e.postings, |doc, impact| {
                    if let Some(b) = best.get_mut(doc) {
                        if *b == 0 {
                            touched.push(doc);
                        }
                        *b = (*b).max(weight.saturating_mul(impact));
                    }
                });
            }
            for &doc in &touched {
                scores[doc] += idf * f64::from(best[doc]);
                matched[doc] += 1;
                best[doc] = 0;
            }
            touched.clear();
        }
        // Coordination: a tool that matches more of the query's concepts is more likely the one
        // meant than one that matches a single rare word strongly.
        if concepts_used > 1 {
            for (score, &m) in scores.iter_mut().zip(&matched) {
                *score *= coordination(m, concepts_used);
            }
        }
        // Name coverage: a tool whose name says nothing but what the query asks for is the one
        // meant more often than one whose name says more (`pulls/list` before
        // `repos/list-pull-requests-associated-with-commit` for "show pull requests").
        query_rows.sort_unstable();
        query_rows.dedup();
        self.each_name(
            |doc, total, matched| {
                if let Some(score) = scores.get_mut(doc)
                    && total > 0
                {
                    *score *= name_factor(matched, total);
                }
            },
            &query_rows,
        );
        // Intent: a query that says what to do ("show", "remove") prefers the tools that do it.
        if let Some(intent) = intent {
            let actions = self.actions.as_bytes();
            for (i, score) in scores.iter_mut().enumerate() {
                if !actions.get(i).is_some_and(|&a| intent.fits(a)) {
                    *score *= INTENT_MISMATCH;
                }
            }
        }
        scores
    }

    /// Positions of the best tools for `query`, best first, at most `limit`, only those
    /// `served` accepts; ties go to the earlier position.
    pub fn search(&self, query: &str, limit: usize, served: &dyn Fn(usize) -> bool) -> Vec<usize> {
        if limit == 0 {
            return Vec::new();
        }
        let scores = self.scores(query);
        let mut hits: Vec<(f64, usize)> = scores
            .iter()
            .enumerate()
            .filter(|&(_, &s)| s > 0.0)
            .map(|(i, &s)| (s, i))
            .filter(|&(_, i)| served(i))
            .collect();
        hits.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        hits.truncate(limit);
        hits.into_iter().map(|(_, i)| i).collect()
    }
}

/// The words of `text`, lower-cased: split at every character that is not a letter or digit,
/// and inside a word at case changes (`listForRepo` → `list`, `for`, `repo`; `HTTPServer` →
/// `http`, `server`). Single letters are dropped; digits stay with their word (`oauth2`).
pub fn words(text: &str) -> Vec<String> {
    if text.is_ascii() {
        return ascii_words(text.as_bytes());
    }
    char_words(text)
}

/// [`words`], character by character.
fn char_words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = text.chars().collect();
    let flush = |current: &mut String, out: &mut Vec<String>| {
        if current.chars().count() > 1 || current.chars().any(|c| c.is_numeric()) {
            out.push(std::mem::take(current));
        } else {
            current.clear();
        }
    };
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            flush(&mut current, &mut out);
            continue;
        }
        if c.is_uppercase() && !current.is_empty() {
            let prev = chars.get(i.wrapping_sub(1)).copied();
            let next = chars.get(i + 1).copied();
            let after_lower = prev.is_some_and(|p| p.is_lowercase() || p.is_numeric());
            let acronym_end =
                prev.is_some_and(char::is_uppercase) && next.is_some_and(char::is_lowercase);
            if after_lower || acronym_end {
                flush(&mut current, &mut out);
            }
        }
        current.extend(c.to_lowercase());
    }
    flush(&mut current, &mut out);
    out
}

/// [`words`] of ASCII text, byte by byte: the same split (ASCII's letters, digits and cases are
/// Unicode's), without decoding characters. Most of what is indexed is ASCII.
fn ascii_words(text: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    // The current word: `text[start..end]`, lower-cased when it is taken.
    let mut start = 0;
    let mut end = 0;
    let flush = |start: usize, end: usize, out: &mut Vec<String>| {
        let word = &text[start..end];
        if word.len() > 1 || word.iter().any(u8::is_ascii_digit) {
            let word: String = word
                .iter()
                .map(|b| char::from(b.to_ascii_lowercase()))
                .collect();
            out.push(word);
        }
    };
    for (i, &c) in text.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            flush(start, end, &mut out);
            start = i + 1;
            end = i + 1;
            continue;
        }
        if c.is_ascii_uppercase() && end > start {
            let prev = i.checked_sub(1).map(|p| text[p]);
            let next = text.get(i + 1).copied();
            let after_lower = prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit());
            let acronym_end = prev.is_some_and(|p| p.is_ascii_uppercase())
                && next.is_some_and(|n| n.is_ascii_lowercase());
            if after_lower || acronym_end {
                flush(start, end, &mut out);
                start = i;
            }
        }
        end = i + 1;
    }
    flush(start, end, &mut out);
    out
}

/// Words that say nothing about which operation is meant: English function words and the
/// filler of requests ("please", "i want to", "how do i").
const STOP_WORDS: &[&str] = &[
    "a", "about", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by", "can", "could",
    "do", "does", "doing", "for", "from", "give", "going", "had", "has", "have", "he", "her",
    "here", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "just", "let", "like",
    "need", "of", "off", "on", "onto", "or", "our", "ours", "please", "she", "should", "so",
    "some", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those",
    "to", "try", "us", "using", "via", "want", "was", "we", "were", "what", "which", "while",
    "will", "with", "would", "you", "your", "yours",
];

/// The length of the longest of [`STOP_WORDS`]: a longer word is none of them, without a search
/// (most of what is indexed is longer).
const STOP_WORD_MAX_LEN: usize = 6;

pub fn is_stop_word(word: &str) -> bool {
    word.len() <= STOP_WORD_MAX_LEN && STOP_WORDS.binary_search(&word).is_ok()
}

/// Words ending in `s` that are not plurals (so a word not ending in `s` is none of them).
const NOT_PLURAL: &[&str] = &[
    "alias", "atlas", "bias", "canvas", "gas", "has", "news", "series", "species", "was",
];

fn is_vowel(c: u8) -> bool {
    matches!(c, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
}

/// A light English stemmer for API vocabulary: plural and verb endings only, so that `issues`,
/// `issue`; `created`, `creates`, `creating`, `create`; `repositories`, `repository`;
/// `starred`, `stars`, `star` meet. Derivations (`deployment`, `invitation`) are left alone: the
/// synonym groups relate those that matter. Words that are not plain ASCII letters are kept.
pub fn stem(word: &str) -> String {
    stem_owned(word.to_owned())
}

/// [`stem`] of a word already owned, changed in place.
fn stem_owned(word: String) -> String {
    if word.len() <= 3 || !word.bytes().all(|b| b.is_ascii_lowercase()) {
        return word;
    }
    if word.ends_with('s') && NOT_PLURAL.contains(&word.as_str()) {
        return word;
    }
    let mut w = word;
    // Plurals.
    if w.ends_with("ies") && w.len() > 4 {
        w.truncate(w.len() - 3);
        w.push('y');
    } else if w.ends_with('s')
        && !w.ends_with("ss")
        && !w.ends_with("us")
        && !w.ends_with("is")
        && w.len() > 3
    {
        w.pop();
    }
    // Verb endings: `-ied`, `-ed`, `-ing` when a vowel remains (`string`, `need` stay).
    let has_vowel = |s: &str| s.bytes().any(is_vowel);
    let mut verb = false;
    if w.ends_with("ied") && w.len() > 4 {
        w.truncate(w.len() - 3);
        w.push('y');
    } else if w.ends_with("ed")
        && !w.ends_with("eed")
        && w.len() > 4
        && has_vowel(&w[..w.len() - 2])
    {
        w.truncate(w.len() - 2);
        verb = true;
    } else if w.ends_with("ing") && w.len() > 5 && has_vowel(&w[..w.len() - 3]) {
        w.truncate(w.len() - 3);
        verb = true;
    }
    if verb {
        // `starr` → `star`, `committ` → `commit`; not `install`, `pass`, `buzz`.
        let b = w.as_bytes();
        if b.len() >= 2 {
            let (x, y) = (b[b.len() - 2], b[b.len() - 1]);
            if x == y && !is_vowel(y) && !matches!(y, b'l' | b's' | b'z') {
                w.pop();
            }
        }
    }
    // A final silent `e` goes, so `create` and `creat(ed)` meet.
    if w.len() > 3 && w.ends_with('e') && !w.ends_with("ee") {
        w.pop();
    }
    w
}

/// The analysed terms of a text: words, stop words dropped, stemmed.
#[allow(dead_code)] // mcpgen's half: used when the index is built.
pub fn terms(text: &str) -> Vec<String> {
    words(text)
        .into_iter()
        .filter(|w| !is_stop_word(w))
        .map(stem_owned)
        .collect()
}

/// What a request's HTTP method says the operation does, in the words people use for it. A tool
/// is indexed with the words of its method, so "remove", "erase" or "kill" reach a DELETE whose
/// description never says so. `item`: the path ends in a parameter (one thing, not a collection).
#[allow(dead_code)] // mcpgen's half: used when the index is built.
pub fn method_words(method: &str, item: bool) -> &'static [&'static str] {
    match (method.to_ascii_uppercase().as_str(), item) {
        ("GET", false) => &[
            "list", "show", "get", "find", "fetch", "search", "browse", "all",
        ],
        ("GET", true) => &["get", "show", "read", "view", "fetch", "retrieve", "detail"],
        ("POST", _) => &[
            "create", "add", "new", "make", "open", "submit", "send", "post",
        ],
        ("PUT", _) => &[
            "update", "change", "edit", "modify", "set", "replace", "put",
        ],
        ("PATCH", _) => &["update", "change", "edit", "modify", "set", "rename"],
        ("DELETE", _) => &[
            "delete", "remove", "erase", "destroy", "drop", "cancel", "revoke", "clear", "unset",
        ],
        ("HEAD", _) => &["check", "exist"],
        _ => &[],
    }
}

/// The letter of [`Index::actions`] for an operation: `L` lists (GET of a collection), `G` reads
/// one thing (GET or HEAD of an item), `C` creates or acts (POST), `P` replaces (PUT), `U` updates
/// (PATCH), `D` deletes; `O` anything else.
#[allow(dead_code)] // mcpgen's half: used when the index is built.
pub fn action_letter(method: &str, item: bool) -> char {
    match (method.to_ascii_uppercase().as_str(), item) {
        ("GET", false) => 'L',
        ("GET", true) | ("HEAD", _) => 'G',
        ("POST", _) => 'C',
        ("PUT", _) => 'P',
        ("PATCH", _) => 'U',
        ("DELETE", _) => 'D',
        _ => 'O',
    }
}

/// Score factor of a tool that matches `matched` of the `total` distinct terms of its name and
/// title: from [`NAME_FLOOR`] (none) to 1 (all), linearly.
fn name_factor(matched: u32, total: u32) -> f64 {
    NAME_FLOOR + (1.0 - NAME_FLOOR) * f64::from(matched.min(total)) / f64::from(total)
}

/// [`name_factor`] of a tool whose name and title share no term with the query. On the
/// development set 0.1 to 0.3 rank alike (recall@5 0.80 to 0.83), 0.5 worse (0.78).
const NAME_FLOOR: f64 = 0.1;

/// Score factor of a tool whose operation does not do what the query asks for.
const INTENT_MISMATCH: f64 = 0.5;

/// What a query asks to do, when it says so with a plain verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Read,
    Create,
    Update,
    Delete,
    /// Any change (start, stop, approve, merge, follow...): never a read.
    Act,
}

impl Intent {
    /// The words an operation's name uses for this intent.
    fn words(self) -> &'static [&'static str] {
        match self {
            Intent::Read => &[
                "list", "get", "show", "find", "search", "fetch", "read", "view",
            ],
            Intent::Create => &["create", "add", "new", "make", "post", "set"],
            Intent::Update => &[
                "update", "change", "edit", "modify", "set", "replace", "rename",
            ],
            Intent::Delete => &["delete", "remove", "destroy", "erase"],
            Intent::Act => &[],
        }
    }

    /// Whether an operation of action letter `a` ([`action_letter`]) can do this. Creating is
    /// a POST or a PUT; updating a PATCH, a PUT or a POST (many APIs update with POST).
    fn fits(self, a: u8) -> bool {
        match self {
            Intent::Read => matches!(a, b'L' | b'G'),
            Intent::Create => matches!(a, b'C' | b'P'),
            Intent::Update => matches!(a, b'U' | b'P' | b'C'),
            Intent::Delete => a == b'D',
            Intent::Act => matches!(a, b'C' | b'P' | b'U' | b'D'),
        }
    }
}

/// Verbs (and idioms) that name one intent without doubt, as stems. Verbs whose method
/// varies between APIs (open, close, start, cancel, enable, approve) name none.
const INTENTS: &[(&str, Intent)] = &[
    ("get rid of", Intent::Delete),
    ("set up", Intent::Create),
    ("look up", Intent::Read),
    ("look for", Intent::Read),
    ("how many", Intent::Read),
    ("list", Intent::Read),
    ("show", Intent::Read),
    ("get", Intent::Read),
    ("fetch", Intent::Read),
    ("retrieve", Intent::Read),
    ("read", Intent::Read),
    ("view", Intent::Read),
    ("see", Intent::Read),
    ("find", Intent::Read),
    ("search", Intent::Read),
    ("browse", Intent::Read),
    ("display", Intent::Read),
    ("who", Intent::Read),
    ("which", Intent::Read),
    ("what", Intent::Read),
    ("create", Intent::Create),
    ("add", Intent::Create),
    ("make", Intent::Create),
    ("new", Intent::Create),
    ("register", Intent::Create),
    ("submit", Intent::Create),
    ("upload", Intent::Create),
    ("update", Intent::Update),
    ("change", Intent::Update),
    ("edit", Intent::Update),
    ("modify", Intent::Update),
    ("rename", Intent::Update),
    ("replace", Intent::Update),
    ("delete", Intent::Delete),
    ("remove", Intent::Delete),
    ("erase", Intent::Delete),
    ("destroy", Intent::Delete),
    ("purge", Intent::Delete),
    ("discard", Intent::Delete),
    ("wipe", Intent::Delete),
    ("kick off", Intent::Act),
    ("start", Intent::Act),
    ("run", Intent::Act),
    ("rerun", Intent::Act),
    ("restart", Intent::Act),
    ("retry", Intent::Act),
    ("trigger", Intent::Act),
    ("launch", Intent::Act),
    ("execute", Intent::Act),
    ("stop", Intent::Act),
    ("cancel", Intent::Act),
    ("abort", Intent::Act),
    ("kill", Intent::Act),
    ("terminate", Intent::Act),
    ("pause", Intent::Act),
    ("resume", Intent::Act),
    ("approve", Intent::Act),
    ("reject", Intent::Act),
    ("dismiss", Intent::Act),
    ("accept", Intent::Act),
    ("decline", Intent::Act),
    ("merge", Intent::Act),
    ("close", Intent::Act),
    ("reopen", Intent::Act),
    ("lock", Intent::Act),
    ("unlock", Intent::Act),
    ("archive", Intent::Act),
    ("restore", Intent::Act),
    ("enable", Intent::Act),
    ("disable", Intent::Act),
    ("follow", Intent::Act),
    ("unfollow", Intent::Act),
    ("watch", Intent::Act),
    ("unwatch", Intent::Act),
    ("subscribe", Intent::Act),
    ("unsubscribe", Intent::Act),
    ("star", Intent::Act),
    ("unstar", Intent::Act),
    ("block", Intent::Act),
    ("unblock", Intent::Act),
    ("invite", Intent::Act),
    ("publish", Intent::Act),
    ("mark", Intent::Act),
    ("assign", Intent::Act),
    ("transfer", Intent::Act),
    ("move", Intent::Act),
    ("fork", Intent::Act),
    ("send", Intent::Act),
    ("share", Intent::Act),
    ("store", Intent::Act),
    ("save", Intent::Act),
    ("set", Intent::Act),
    ("put", Intent::Act),
    ("give", Intent::Act),
    ("pin", Intent::Act),
    ("unpin", Intent::Act),
    ("mute", Intent::Act),
    ("install", Intent::Act),
    ("uninstall", Intent::Act),
    ("sync", Intent::Act),
];

/// [`INTENTS`] with each phrase as its words' stems, made once.
fn intent_stems() -> &'static [(Vec<String>, Intent)] {
    static STEMS: std::sync::OnceLock<Vec<(Vec<String>, Intent)>> = std::sync::OnceLock::new();
    STEMS.get_or_init(|| {
        INTENTS
            .iter()
            .map(|(phrase, intent)| (phrase.split(' ').map(stem).collect(), *intent))
            .collect()
    })
}

/// The intent of a query, said by its leading verb: the first word that is not a stop word
/// (or a question word: "who", "which", "what", "how many" ask to read), or an idiom there.
/// A query that does not begin with a verb ("tickets assigned to me") says none.
pub fn query_intent(query: &str) -> Option<Intent> {
    let mut end = query.len().min(MAX_QUERY_BYTES);
    while !query.is_char_boundary(end) {
        end -= 1;
    }
    let mut words = words(&query[..end]);
    words.truncate(MAX_QUERY_WORDS);
    let stems: Vec<String> = words.iter().map(|w| stem(w)).collect();
    for (start, word) in words.iter().enumerate() {
        for (phrase, intent) in intent_stems() {
            if stems.get(start..start + phrase.len()) == Some(phrase.as_slice()) {
                return Some(*intent);
            }
        }
        if !is_stop_word(word) {
            return None;
        }
    }
    None
}

/// Concept groups of common API vocabulary: the words (and phrases) users and API documents use
/// for one thing, so a user who says "ticket" finds an API's issues, "money back" its refunds,
/// "chargeback" its disputes, "kill" a cancel operation.
///
/// Principle: a group is one concept of general API vocabulary (actions on resources, kinds of
/// resources, qualities), drawn from plain English usage and from the vocabulary that recurs
/// across widely used public APIs (issue trackers, source hosting, payments, cloud, messaging,
/// identity). Nothing here names one API's operations or is chosen from an evaluation task: a
/// group belongs here when a person asking for one member would accept the others. It also
/// relates derived forms the light [`stem`] does not (`deploy`/`deployment`,
/// `invite`/`invitation`).
///
/// Use: query-side only. A member found in a query adds the group's other single words at
/// [`SYNONYM_WEIGHT`] (half of a word the user wrote), so an operation that uses the user's own
/// word still ranks first, and the index stays the API's own words. Phrases (`money back`) are
/// matched on consecutive query words and only ever add; they are never added.
pub const SYNONYMS: &[&[&str]] = &[
    // Actions.
    &[
        "delete",
        "remove",
        "erase",
        "destroy",
        "drop",
        "purge",
        "discard",
        "deletion",
        "removal",
        "get rid of",
        "wipe",
    ],
    &[
        "create", "add", "new", "make", "insert", "register", "creation", "set up",
    ],
    &[
        "update", "change", "edit", "modify", "alter", "adjust", "amend", "rename",
    ],
    &[
        "list",
        "show",
        "browse",
        "enumerate",
        "display",
        "view",
        "see",
        "all",
        "overview",
    ],
    &[
        "get",
        "fetch",
        "retrieve",
        "read",
        "look up",
        "lookup",
        "show",
        "view",
        "detail",
        "info",
        "information",
    ],
    &[
        "search", "find", "lookup", "look up", "query", "filter", "look for",
    ],
    &[
        "cancel",
        "stop",
        "abort",
        "kill",
        "terminate",
        "halt",
        "end",
    ],
    &[
        "start", "run", "trigger", "launch", "execute", "begin", "kick off", "dispatch", "invoke",
        "fire",
    ],
    &[
        "restart",
        "rerun",
        "re-run",
        "retry",
        "run again",
        "redo",
        "reboot",
    ],
    &[
        "enable",
        "activate",
        "turn on",
        "switch on",
        "unpause",
        "resume",
    ],
    &[
        "disable",
        "deactivate",
        "turn off",
        "switch off",
        "suspend",
        "pause",
    ],
    &["approve", "accept", "confirm", "allow", "grant", "approval"],
    &[
        "reject",
        "deny",
        "decline",
        "refuse",
        "dismiss",
        "rejection",
    ],
    &["upload", "attach", "import"],
    &["download", "export", "save"],
    &["copy", "duplicate", "clone"],
    &["move", "transfer", "relocate"],
    &[
        "restore",
        "recover",
        "undelete",
        "unarchive",
        "bring back",
        "undo",
    ],
    &["archive", "shelve"],
    &["lock", "freeze"],
    &["unlock", "unfreeze"],
    &["block", "ban", "blacklist"],
    &["unblock", "unban"],
    &[
        "subscribe",
        "follow",
        "watch",
        "subscription",
        "follower",
        "watcher",
    ],
    &["unsubscribe", "unfollow", "unwatch", "mute"],
    &["star", "favorite", "favourite", "bookmark"],
    &["assign", "assignee", "assignment", "allocate"],
    &[
        "verify",
        "validate",
        "check",
        "test",
        "verification",
        "validation",
    ],
    &["send", "deliver", "dispatch", "email", "notify"],
    &["invite", "invitation", "invitee"],
    &["install", "installation", "setup"],
    &["deploy", "deployment", "rollout", "ship"],
    &[
        "configure",
        "configuration",
        "config",
        "setting",
        "preference",
        "option",
        "settings",
    ],
    &[
        "authenticate",
        "authentication",
        "auth",
        "login",
        "log in",
        "sign in",
        "signin",
    ],
    &["logout", "log out", "sign out", "signout"],
    &["authorize", "authorization", "authorise", "consent"],
    &["protect", "protection", "rule", "policy", "ruleset"],
    &["count", "number", "total", "how many", "tally"],
    &["compare", "comparison", "diff", "difference"],
    &["merge", "combine"],
    &["reply", "respond", "answer", "response"],
    &[
        "react",
        "reaction",
        "emoji",
        "like",
        "upvote",
        "thumbs up",
        "thumbs down",
        "downvote",
    ],
    // Resources.
    &["issue", "ticket", "bug", "case", "problem", "defect"],
    &["repository", "repo", "project", "codebase"],
    &[
        "organization",
        "org",
        "organisation",
        "company",
        "enterprise",
    ],
    &[
        "user",
        "member",
        "account",
        "person",
        "people",
        "profile",
        "who",
        "collaborator",
        "login",
        "contributor",
        "teammate",
        "colleague",
        "coworker",
        "friend",
        "employee",
        "staff",
    ],
    &["team", "group", "squad"],
    &["owner", "admin", "administrator", "maintainer"],
    &["permission", "access", "privilege", "right", "role"],
    &[
        "key",
        "token",
        "credential",
        "secret",
        "password",
        "api key",
    ],
    &["log", "audit", "history", "record", "trail"],
    &["event", "activity", "history", "timeline", "feed"],
    &["comment", "note", "remark", "reply"],
    &["message", "chat", "dm"],
    &["label", "tag", "category", "topic"],
    &[
        "file",
        "document",
        "attachment",
        "artifact",
        "asset",
        "blob",
        "content",
    ],
    &["folder", "directory"],
    &[
        "image",
        "picture",
        "photo",
        "avatar",
        "media",
        "thumbnail",
        "icon",
        "logo",
    ],
    &["webhook", "hook", "callback"],
    &["workflow", "pipeline", "ci", "automation", "flow"],
    &["job", "task", "step"],
    &["run", "execution", "build"],
    &["release", "version"],
    &["branch", "ref"],
    &["commit", "revision", "changeset"],
    &["pull request", "pr", "merge request", "mr", "pull"],
    &["vulnerability", "advisory", "cve", "security alert"],
    &["alert", "alarm", "warning", "notification"],
    &["invoice", "bill", "receipt", "billing"],
    &["payment", "charge", "transaction", "pay"],
    &[
        "refund",
        "money back",
        "reimburse",
        "reimbursement",
        "give back",
        "repay",
    ],
    &["dispute", "chargeback", "contest"],
    &["customer", "client", "buyer", "shopper"],
    &["subscription", "plan", "membership"],
    &["price", "cost", "fee", "pricing", "rate"],
    &["discount", "coupon", "promo", "promotion", "voucher"],
    &["product", "item", "sku"],
    &["order", "purchase"],
    &["payout", "withdrawal", "cash out"],
    &["balance", "fund"],
    &["email", "mail", "e-mail"],
    &["phone", "mobile", "telephone", "sms"],
    &["link", "url", "uri", "address"],
    &["schedule", "cron", "timetable", "recurring", "timer"],
    &["status", "state", "health", "condition"],
    &["error", "failure", "fail", "fault", "crash"],
    &["incident", "outage"],
    &[
        "statistic",
        "stats",
        "metric",
        "analytics",
        "insight",
        "traffic",
        "usage",
        "visit",
        "visitor",
        "pageview",
        "view count",
    ],
    &["quota", "limit", "rate limit", "remaining", "allowance"],
    &["environment", "env", "stage"],
    &["variable", "var", "env var"],
    &["database", "db"],
    &[
        "integration",
        "connector",
        "connection",
        "app",
        "application",
        "plugin",
        "extension",
        "add-on",
    ],
    &["package", "library", "module", "dependency"],
    &[
        "machine", "server", "host", "instance", "vm", "runner", "worker", "node",
    ],
    &["workspace", "space"],
    &["discussion", "thread", "conversation", "forum"],
    &["snippet", "gist", "paste"],
    &[
        "me",
        "my",
        "mine",
        "myself",
        "self",
        "own",
        "authenticated",
        "current user",
    ],
    &["date", "time", "timestamp", "when"],
    &["deadline", "due date", "due", "milestone", "target date"],
    &["table", "collection", "dataset"],
    &["row", "record", "item", "entry"],
    &["column", "field", "attribute", "property"],
    &["sign up", "signup", "register", "registration", "enroll"],
    &["backup", "snapshot"],
    &["language", "locale", "translation", "i18n"],
    &["dashboard", "panel", "board"],
    &["trash", "recycle bin", "bin"],
    &["notification", "inbox", "notify"],
    &["ping", "alive", "liveness", "uptime"],
];

/// One concept of a query: the word the user wrote (`None` for a phrase such as "money back"),
/// and the terms that stand for it with their weights: the word itself ([`EXACT_WEIGHT`]) and
/// the single words of its synonym groups ([`SYNONYM_WEIGHT`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Concept {
    pub word: Option<String>,
    pub terms: Vec<(String, u32)>,
}

/// The concepts of a query, in order, each once; `known` says whether the API uses a term.
/// A word of a synonym group another word of the query already brought ("create a new") joins
/// that concept. A phrase of a synonym group ("pull request", "money back", "log in") adds its
/// group as a concept; when the API does not use all of its words it is an idiom ("get rid of",
/// "kick off", "how many"), whose words are then not used alone. At most [`MAX_QUERY_BYTES`] and
/// [`MAX_QUERY_WORDS`] are read.
pub fn query_concepts(query: &str, known: &dyn Fn(&str) -> bool) -> Vec<Concept> {
    let mut end = query.len().min(MAX_QUERY_BYTES);
    while !query.is_char_boundary(end) {
        end -= 1;
    }
    let mut all_words = words(&query[..end]);
    all_words.truncate(MAX_QUERY_WORDS);
    // Stems of every word, stop words included: phrases ("how many", "log in") may need them.
    let stems: Vec<String> = all_words.iter().map(|w| stem(w)).collect();
    let groups: Vec<Vec<Vec<String>>> = SYNONYMS
        .iter()
        .map(|group| {
            group
                .iter()
                .map(|m| words(m).iter().map(|w| stem(w)).collect())
                .collect()
        })
        .collect();
    let singles = |group: &[Vec<String>], not: &str| -> Vec<(String, u32)> {
        group
            .iter()
            .filter_map(|m| match m.as_slice() {
                [single] if single != not => Some((single.clone(), SYNONYM_WEIGHT)),
                _ => None,
            })
            .collect()
    };
    let mut concepts: Vec<Concept> = Vec::new();
    let mut used = vec![false; stems.len()];
    // Phrases first: each match is a concept of its own, its words consumed.
    for group in &groups {
        for phrase in group.iter().filter(|m| m.len() > 1) {
            for start in 0..stems.len().saturating_sub(phrase.len() - 1) {
                let span = start..start + phrase.len();
                if stems[span.clone()] == phrase[..] && !used[span.clone()].iter().any(|u| *u) {
                    let idiom = span
                        .clone()
                        .any(|i| is_stop_word(&all_words[i]) || !known(&stems[i]));
                    if idiom {
                        used[span].iter_mut().for_each(|u| *u = true);
                    }
                    concepts.push(Concept {
                        word: None,
                        terms: singles(group, ""),
                    });
                }
            }
        }
    }
    for (i, (w, s)) in all_words.iter().zip(&stems).enumerate() {
        if used[i] || is_stop_word(w) || concepts.iter().any(|c| c.word.as_ref() == Some(s)) {
            continue;
        }
        // Already a synonym of an earlier word: the same concept, now also the user's word.
        if let Some(c) = concepts
            .iter_mut()
            .find(|c| c.word.is_some() && c.terms.iter().any(|(t, _)| t == s))
        {
            for (t, weight) in c.terms.iter_mut() {
                if t == s {
                    *weight = EXACT_WEIGHT;
                }
            }
            continue;
        }
        let mut terms = vec![(s.clone(), EXACT_WEIGHT)];
        for group in groups
            .iter()
            .filter(|g| g.iter().any(|m| m.len() == 1 && m[0] == *s))
        {
            for t in singles(group, s) {
                if !terms.iter().any(|(have, _)| *have == t.0) {
                    terms.push(t);
                }
            }
        }
        concepts.push(Concept {
            word: Some(s.clone()),
            terms,
        });
    }
    concepts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordination_prefers_tools_that_match_more_of_the_query() {
        assert_eq!(coordination(2, 2), 1.0);
        assert!(coordination(1, 2) < coordination(2, 3));
        assert!(coordination(1, 4) > 0.0);
    }

    #[test]
    fn words_split_case_and_punctuation() {
        assert_eq!(words("listForRepo"), ["list", "for", "repo"]);
        assert_eq!(words("HTTPServer x oauth2"), ["http", "server", "oauth2"]);
        assert_eq!(
            words("repos/{owner}/{repo}/issues"),
            ["repos", "owner", "repo", "issues"]
        );
        assert_eq!(words("get_pet-by_id"), ["get", "pet", "by", "id"]);
        assert_eq!(words("Ünïcode WÖRDS"), ["ünïcode", "wörds"]);
        assert!(words("  ?? !! ").is_empty());
    }

    /// The byte-wise split of ASCII text is the character-wise one: every string of up to five
    /// characters over an alphabet of each class (lower, upper, digit, separator), and longer
    /// strings drawn from a wider one.
    #[test]
    fn ascii_words_are_char_words() {
        let alphabet = b"aZ1 ";
        let mut checked = 0;
        for len in 0..=5u32 {
            for n in 0..alphabet.len().pow(len) {
                let mut n = n;
                let text: String = (0..len)
                    .map(|_| {
                        let c = alphabet[n % alphabet.len()];
                        n /= alphabet.len();
                        char::from(c)
                    })
                    .collect();
                assert_eq!(ascii_words(text.as_bytes()), char_words(&text), "{text:?}");
                checked += 1;
            }
        }
        let wide = b"abXYZ09_-/{}. Ab";
        let mut state: u64 = 17;
        for _ in 0..20_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let len = (state >> 59) as usize + 1;
            let text: String = (0..len)
                .map(|i| char::from(wide[((state >> (i * 4 % 56)) & 15) as usize]))
                .collect();
            assert_eq!(ascii_words(text.as_bytes()), char_words(&text), "{text:?}");
            checked += 1;
        }
        assert!(checked > 21_000);
    }

    #[test]
    fn stems_meet() {
        for group in [
            &["issue", "issues"][..],
            &["create", "created", "creates", "creating"],
            &["repository", "repositories"],
            &["star", "stars", "starred", "starring"],
            &["commit", "commits", "committed"],
            &["branch", "branches"],
            &["status", "statuses"],
            &["delete", "deleted", "deletes", "deleting"],
            &["policy", "policies"],
            &["setting", "settings"],
            &["alias", "aliases"],
            &["update", "updated", "updating"],
            &["copy", "copied"],
        ] {
            let stems: Vec<String> = group.iter().map(|w| stem(w)).collect();
            assert!(
                stems.iter().all(|s| *s == stems[0]),
                "{group:?} → {stems:?}"
            );
        }
        for keep in [
            "string", "need", "access", "class", "analysis", "status", "bus", "news",
        ] {
            assert_eq!(stem(keep), keep);
        }
        assert_eq!(stem("string"), "string");
        assert_eq!(stem("access"), "access");
        assert_eq!(stem("ünïcodes"), "ünïcodes");
    }

    #[test]
    fn stop_words_are_sorted_and_dropped() {
        assert!(
            STOP_WORDS.windows(2).all(|w| w[0] < w[1]),
            "STOP_WORDS must stay sorted"
        );
        assert_eq!(
            STOP_WORDS.iter().map(|w| w.len()).max(),
            Some(STOP_WORD_MAX_LEN),
            "STOP_WORD_MAX_LEN is the longest stop word's length"
        );
        assert!(
            NOT_PLURAL.iter().all(|w| w.ends_with('s')),
            "stem_owned looks for NOT_PLURAL only among words ending in `s`"
        );
        assert_eq!(terms("Please remove the pet"), ["remov", "pet"]);
    }

    /// The terms of the concept of `word` in `query`.
    fn concept(query: &str, word: Option<&str>) -> Vec<(String, u32)> {
        let stemmed = word.map(stem);
        query_concepts(query, &|_| true)
            .into_iter()
            .find(|c| c.word == stemmed)
            .map(|c| c.terms)
            .unwrap_or_default()
    }

    #[test]
    fn synonyms_expand_at_lower_weight() {
        let ticket = concept("open a ticket", Some("ticket"));
        assert_eq!(ticket[0], ("ticket".into(), EXACT_WEIGHT));
        assert!(
            ticket.contains(&(stem("issue"), SYNONYM_WEIGHT)),
            "{ticket:?}"
        );
        assert_eq!(
            query_concepts("open a ticket", &|_| true).len(),
            2,
            "open, ticket: `a` is a stop word"
        );
        // A phrase is one concept, its words not used alone.
        // An idiom (the API does not use all its words): its words are not used alone.
        let q = query_concepts("I want my money back", &|t| t != "money");
        let refund = q
            .iter()
            .find(|c| c.word.is_none())
            .map(|c| c.terms.clone())
            .unwrap_or_default();
        assert!(refund.contains(&(stem("refund"), SYNONYM_WEIGHT)), "{q:?}");
        assert!(
            !q.iter().any(|c| c.word.as_deref() == Some("money")),
            "{q:?}"
        );
        let q = query_concepts("money", &|_| true);
        assert!(
            !q[0].terms.iter().any(|(t, _)| *t == stem("refund")),
            "{q:?}"
        );
        // A word twice is one concept.
        assert_eq!(query_concepts("pets pet PETS", &|_| true).len(), 1);
        // Synonyms in one query are one concept.
        assert_eq!(query_concepts("create a new pet", &|_| true).len(), 2);
        // A compound the API uses keeps its words.
        let q = query_concepts("pull request", &|_| true);
        assert_eq!(q.len(), 3, "{q:?}");
        assert!(query_concepts("the", &|_| true).is_empty());
        assert!(query_concepts("", &|_| true).is_empty());
        assert!(query_concepts("?!", &|_| true).is_empty());
    }

    #[test]
    fn hostile_queries_are_bounded() {
        let long = "delete ".repeat(100_000);
        assert_eq!(query_concepts(&long, &|_| true).len(), 1);
        let many: String = (0..10_000).map(|i| format!("w{i} ")).collect();
        assert_eq!(query_concepts(&many, &|_| true).len(), MAX_QUERY_WORDS);
        let odd = "é".repeat(5000) + "\u{0}\u{feff}𝔘𝔫𝔦";
        let _ = query_concepts(&odd, &|_| true);
    }

    /// Names of the sample's documents: the first named `health pet`, the second `delet pet`
    /// (rows 1 and 2; 0 and 2).
    fn sample_names() -> String {
        let mut names = String::new();
        for doc in [&[1u32, 2][..], &[0, 2]] {
            push_var(&mut names, doc.len() as u32);
            for &row in doc {
                push_var(&mut names, row);
            }
        }
        names
    }

    fn sample() -> (String, String, String) {
        // Two documents: "pet" in both, "delet" in the second only, "health" in the first.
        let mut terms = String::new();
        let mut table = String::new();
        let mut postings = String::new();
        for (term, list) in [
            ("delet", &[(1u32, 900u32)][..]),
            ("health", &[(0, 500)]),
            ("pet", &[(0, 300), (1, 100)]),
        ] {
            push_row(&mut table, terms.len(), postings.len(), list.len());
            terms.push_str(term);
            let mut prev = 0;
            for &(doc, impact) in list {
                push_var(&mut postings, doc - prev);
                prev = doc;
                push_fixed(&mut postings, impact, IMPACT_DIGITS);
            }
        }
        push_row(&mut table, terms.len(), postings.len(), 0);
        (terms, table, postings)
    }

    /// The sample's data, with the names of [`sample_names`].
    struct Sample {
        terms: String,
        table: String,
        postings: String,
        names: String,
    }

    impl Sample {
        fn new() -> Self {
            let (terms, table, postings) = sample();
            Sample {
                terms,
                table,
                postings,
                names: sample_names(),
            }
        }

        fn index(&self, actions: &'static str) -> Index<'_> {
            Index {
                docs: 2,
                terms: &self.terms,
                table: &self.table,
                postings: &self.postings,
                actions,
                names: &self.names,
            }
        }
    }

    #[test]
    fn index_ranks_and_filters() {
        let sample = Sample::new();
        let index = sample.index("GD");
        assert_eq!(index.search("pet", 10, &|_| true), [0, 1]);
        assert_eq!(index.search("remove a pet", 10, &|_| true), [1, 0]);
        assert_eq!(index.search("remove a pet", 1, &|_| true), [1]);
        assert_eq!(index.search("remove a pet", 10, &|i| i == 0), [0]);
        // A word the API never uses finds its nearby form.
        assert_eq!(index.search("healthy", 10, &|_| true), [0]);
        assert!(index.search("", 10, &|_| true).is_empty());
        assert!(index.search("pet", 0, &|_| true).is_empty());
        assert!(index.search("unknown words", 10, &|_| true).is_empty());
        // Intent: a read prefers the GET, a removal the DELETE, whatever the words' weights.
        assert_eq!(index.search("show the pet", 10, &|_| true), [0, 1]);
        let scores = index.scores("show the pet");
        let plain = index.scores("pet");
        assert!(scores[1] < plain[1], "{scores:?} {plain:?}");
    }

    #[test]
    fn name_coverage_counts_the_terms_a_query_stands_for() {
        let sample = Sample::new();
        let index = sample.index("OO");
        let mut seen = Vec::new();
        index.each_name(|doc, total, matched| seen.push((doc, total, matched)), &[2]);
        assert_eq!(seen, [(0, 2, 1), (1, 2, 1)]);
        seen.clear();
        index.each_name(
            |doc, total, matched| seen.push((doc, total, matched)),
            &[0, 2],
        );
        assert_eq!(seen, [(0, 2, 1), (1, 2, 2)]);
        assert!(name_factor(2, 2) > name_factor(1, 2));
        assert!(name_factor(0, 3) > 0.0);
        assert_eq!(name_factor(5, 2), 1.0);
    }

    #[test]
    fn the_leading_verb_says_the_intent() {
        assert_eq!(query_intent("show open pull requests"), Some(Intent::Read));
        assert_eq!(query_intent("please remove the pet"), Some(Intent::Delete));
        assert_eq!(query_intent("get rid of a variable"), Some(Intent::Delete));
        assert_eq!(query_intent("who follows me"), Some(Intent::Read));
        assert_eq!(query_intent("how many stars"), Some(Intent::Read));
        assert_eq!(query_intent("set up a webhook"), Some(Intent::Create));
        assert_eq!(
            query_intent("watch a repository to get notified"),
            Some(Intent::Act)
        );
        // Not led by a verb: no intent, whatever verb comes later.
        assert_eq!(query_intent("tickets I should delete"), None);
        assert_eq!(query_intent(""), None);
        assert!(Intent::Read.fits(b'L') && Intent::Read.fits(b'G') && !Intent::Read.fits(b'C'));
        assert!(Intent::Act.fits(b'D') && !Intent::Act.fits(b'L'));
        assert_eq!(action_letter("get", true), 'G');
        assert_eq!(action_letter("GET", false), 'L');
        assert_eq!(action_letter("TRACE", false), 'O');
    }

    #[test]
    fn numbers_round_trip() {
        for v in [0u32, 1, 31, 32, 1023, 1024, 123_456, (1 << 30) - 1] {
            let mut s = String::new();
            push_var(&mut s, v);
            push_fixed(&mut s, v, WIDTH);
            let b = s.as_bytes();
            let mut at = 0;
            let mut got = 0u32;
            loop {
                let d = digit(b[at]).unwrap();
                at += 1;
                got = got * 32 + (d & 31);
                if d & 32 == 0 {
                    break;
                }
            }
            assert_eq!(got, v);
            assert_eq!(read_fixed(b, at, WIDTH), Some(v));
        }
    }

    #[test]
    fn malformed_index_never_panics() {
        let index = Index {
            docs: 3,
            terms: "abc",
            table: "00000000",
            postings: "~~~",
            actions: "",
            names: "~",
        };
        assert!(index.search("abc", 5, &|_| true).is_empty());
        let (terms, table, _) = sample();
        let index = Index {
            docs: 1,
            terms: &terms,
            table: &table,
            postings: "Z",
            actions: "Q",
            names: "5",
        };
        let _ = index.search("remove pet", 5, &|_| true);
    }
}
