//! The one naming module. Every identifier that reaches generated code or the tool list is decided
//! here, under this collision policy:
//!
//! - **Case**: tool names and Rust fields are `snake_case`, Rust types `UpperCamelCase` (heck).
//! - **Characters**: tool names keep only `[a-z0-9_]`; argument (property) names keep
//!   `[A-Za-z0-9_.-]` (the set strict model providers accept); anything else becomes `_`.
//! - **Length**: tool names and argument names are at most 64 characters. A longer name keeps its
//!   first 55 characters and gets `_` plus 8 hex digits of a hash of the full name, so shortening
//!   is deterministic and two long names with a common prefix stay distinct.
//! - **Keywords**: Rust keywords become raw identifiers (`r#type`); `self`, `Self`, `super` and
//!   `crate`, which cannot be raw, get a trailing `_`. A leading digit gets a `n_` (fields) or `T`
//!   (types) prefix. Generated code uses fully qualified paths, so API names such as `Result`,
//!   `Option` or `client` never clash with what the generated code itself needs.
//! - **Collisions** after conversion are resolved in a fixed order (tools by path then method;
//!   arguments by location then spec order): the first claimant keeps the name, later ones get
//!   `_2`, `_3`, ... (argument collisions first try a location suffix such as `id_query`).
//!
//! It is a leaf every stage may use (the loader names hoisted schemas, the config checks override
//! names, lowering names tools and arguments, the schema stage names types and `$defs`), and also
//! says which names an HTTP header or cookie can carry ([`is_http_token`]).

use heck::{ToSnakeCase, ToUpperCamelCase};
use std::collections::BTreeSet;

pub const MAX_NAME_LEN: usize = 64;

/// The tools `--tool-mode discover` lists instead of the generated ones (DESIGN §5): no
/// generated tool may take these names (an operation whose name would be one is disambiguated
/// like any other collision; an override giving one is an error).
pub const DISCOVERY_TOOLS: &[&str] = &[
    "search_tools",
    "describe_tools",
    "execute_tool",
    "execute_read_only_tool",
];

/// The toolset of an operation tagged `tag` (its first tag): snake_case, only `[a-z0-9_]`;
/// `default` when untagged or when nothing of the tag is left.
pub fn toolset_name(tag: Option<&str>) -> String {
    let snake = tag
        .map(|t| {
            sanitize(&t.to_snake_case(), |c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
            })
        })
        .unwrap_or_default();
    if snake.is_empty() {
        "default".to_string()
    } else {
        snake
    }
}

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// FNV-1a, 64 bit: a stable hash for deterministic shortening (std's hasher is not stable).
pub fn stable_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Shortens `name` to at most `max` characters, deterministically.
pub fn shorten(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_string();
    }
    let keep = max.saturating_sub(9);
    let prefix: String = name.chars().take(keep).collect();
    let prefix = prefix.trim_end_matches(['_', '-', '.']);
    format!("{prefix}_{:08x}", stable_hash(name) as u32)
}

/// The snake_case tool name for an operation, before disambiguation.
pub fn tool_base_name(operation_id: Option<&str>, method: &str, path: &str) -> String {
    let raw = match operation_id.map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => id.to_string(),
        None => {
            let mut parts = vec![method.to_string()];
            for seg in path.split('/').filter(|s| !s.is_empty()) {
                if let Some(p) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    parts.push(format!("by_{p}"));
                } else {
                    parts.push(seg.to_string());
                }
            }
            parts.join("_")
        }
    };
    let snake = sanitize(&raw.to_snake_case(), |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
    });
    let snake = if snake.is_empty() {
        method.to_string()
    } else {
        snake
    };
    shorten(&snake, MAX_NAME_LEN)
}

/// Argument (JSON property) name: the wire name when it is already safe, else a sanitised form.
pub fn property_name(wire: &str) -> String {
    let s = sanitize(wire, |c| {
        c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'
    });
    let s = if s.is_empty() { "arg".to_string() } else { s };
    shorten(&s, MAX_NAME_LEN)
}

/// A key safe in a JSON pointer fragment and in a `$defs`/`components` name: every character
/// outside `[A-Za-z0-9_.-]` becomes `_` (one for one, so distinct names mostly stay distinct).
pub fn safe_key(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Replaces characters outside `keep` with `_`, collapsing runs and trimming the ends.
fn sanitize(s: &str, keep: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if keep(c) {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

/// The snake_case form of a field name before keyword escaping (what uniqueness is decided on).
fn field_snake(name: &str) -> String {
    let snake = sanitize(&name.to_snake_case(), |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
    });
    let snake = if snake.is_empty() {
        "field".to_string()
    } else {
        snake
    };
    if snake.starts_with(|c: char| c.is_ascii_digit()) {
        format!("n_{snake}")
    } else {
        snake
    }
}

/// A Rust type identifier for `name`: characters outside `[A-Za-z0-9]` separate words, so the
/// result is always UpperCamelCase (`ünï-cödé` → `NCD`); `Self` becomes `SelfType`.
pub fn type_ident(name: &str) -> String {
    let spaced: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect();
    let camel = upper_camel(&spaced);
    let camel = if camel.is_empty() {
        "Type".to_string()
    } else {
        camel
    };
    let camel = if camel.starts_with(|c: char| c.is_ascii_digit()) {
        format!("T{camel}")
    } else {
        camel
    };
    if camel == "Self" {
        "SelfType".to_string()
    } else {
        camel
    }
}

/// `s` in `UpperCamelCase`, as heck's `to_upper_camel_case` makes it. ASCII text (nearly every
/// name) is converted here, byte by byte: heck formats character by character, and naming the
/// tools of GitHub's description spent 7 ms there, on the thread that puts the tools in order.
pub fn upper_camel(s: &str) -> String {
    if !s.is_ascii() {
        return s.to_upper_camel_case();
    }
    /// The case of the last cased byte of the current word, if any.
    #[derive(Clone, Copy, PartialEq)]
    enum Case {
        None,
        Lower,
        Upper,
    }
    let mut out = String::with_capacity(s.len());
    let mut capitalized = |word: &[u8]| {
        for (i, b) in word.iter().enumerate() {
            out.push(char::from(if i == 0 {
                b.to_ascii_uppercase()
            } else {
                b.to_ascii_lowercase()
            }));
        }
    };
    // Words: runs of letters and digits, split where a lower-case letter meets an upper-case
    // one (`listFor` → `list`, `For`) and before the last capital of a run followed by a
    // lower-case letter (`HTTPServer` → `HTTP`, `Server`).
    for word in s.as_bytes().split(|b| !b.is_ascii_alphanumeric()) {
        let mut start = 0;
        let mut case = Case::None;
        for (i, &b) in word.iter().enumerate() {
            let Some(&next) = word.get(i + 1) else {
                capitalized(&word[start..]);
                break;
            };
            let with_b = if b.is_ascii_lowercase() {
                Case::Lower
            } else if b.is_ascii_uppercase() {
                Case::Upper
            } else {
                case
            };
            if with_b == Case::Lower && next.is_ascii_uppercase() {
                capitalized(&word[start..=i]);
                start = i + 1;
                case = Case::None;
            } else if case == Case::Upper && b.is_ascii_uppercase() && next.is_ascii_lowercase() {
                capitalized(&word[start..i]);
                start = i;
                case = Case::None;
            } else {
                case = with_b;
            }
        }
    }
    out
}

pub fn escape_keyword(s: String) -> String {
    if NOT_RAW.contains(&s.as_str()) {
        format!("{s}_")
    } else if KEYWORDS.contains(&s.as_str()) {
        format!("r#{s}")
    } else {
        s
    }
}

/// An HTTP token (RFC 9110 §5.6.2): what a header or cookie name may be.
pub fn is_http_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Hands out unique names: the first claimant of a name keeps it, later ones get `_2`, `_3`, ...
#[derive(Debug, Default, Clone)]
pub struct Unique {
    taken: BTreeSet<String>,
}

impl Unique {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_taken(&self, name: &str) -> bool {
        self.taken.contains(name)
    }

    /// Claims a Rust field identifier for `name`: snake_case, unique within this set (`_2`, ...),
    /// then keyword-escaped (`r#type`, `self_`).
    pub fn claim_field(&mut self, name: &str) -> String {
        escape_keyword(self.claim(&field_snake(name), "_", usize::MAX))
    }

    /// Claims `base` or the first free `base_N`, keeping the result within `max` characters.
    pub fn claim(&mut self, base: &str, sep: &str, max: usize) -> String {
        if !self.taken.contains(base) {
            self.taken.insert(base.to_string());
            return base.to_string();
        }
        for n in 2.. {
            let suffix = format!("{sep}{n}");
            let keep = max.saturating_sub(suffix.len());
            let stem: String = base.chars().take(keep).collect();
            let candidate = format!("{stem}{suffix}");
            if !self.taken.contains(&candidate) {
                self.taken.insert(candidate.clone());
                return candidate;
            }
        }
        unreachable!("an unbounded counter always finds a free name")
    }
}

#[cfg(test)]
mod tests {
    /// [`upper_camel`] is heck's `UpperCamelCase` on every ASCII string of up to four bytes over
    /// an alphabet of each kind of byte, and on random longer strings.
    #[test]
    fn upper_camel_is_hecks() {
        use heck::ToUpperCamelCase;
        let alphabet = b"aZbY09_ -.";
        let mut strings = vec![String::new()];
        for _ in 0..4 {
            let mut longer = Vec::new();
            for s in &strings {
                for &b in alphabet {
                    longer.push(format!("{s}{}", char::from(b)));
                }
            }
            strings.extend(longer);
        }
        // A fixed pseudo-random sequence of longer names over all of printable ASCII.
        let mut rng = crate::test_rng::Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let mut s = String::new();
            for _ in 0..rng.below(24) {
                s.push(char::from(b' ' + rng.below(95) as u8));
            }
            strings.push(s);
        }
        for s in strings.iter().map(String::as_str).chain(["Σ é", "ÀbcDéf"]) {
            assert_eq!(super::upper_camel(s), s.to_upper_camel_case(), "{s:?}");
        }
    }

    use super::*;

    #[test]
    fn tool_names() {
        assert_eq!(
            tool_base_name(Some("listPets"), "get", "/pets"),
            "list_pets"
        );
        assert_eq!(
            tool_base_name(None, "get", "/pets/{petId}/toys"),
            "get_pets_by_pet_id_toys"
        );
        assert_eq!(
            tool_base_name(Some("pets.list v2/all"), "get", "/"),
            "pets_list_v2_all"
        );
        let long = "a".repeat(90);
        let short = tool_base_name(Some(&long), "get", "/");
        assert_eq!(short.len(), 64);
        assert_eq!(short, tool_base_name(Some(&long), "get", "/"));
    }

    #[test]
    fn toolsets() {
        assert_eq!(toolset_name(Some("pets")), "pets");
        assert_eq!(toolset_name(Some("Pet Store")), "pet_store");
        assert_eq!(toolset_name(Some("repos/issues")), "repos_issues");
        assert_eq!(toolset_name(Some("OAuthApps")), "o_auth_apps");
        assert_eq!(toolset_name(Some("v2-beta")), "v2_beta");
        assert_eq!(toolset_name(Some("Émoji ✓")), "moji");
        assert_eq!(toolset_name(Some("✓✓")), "default");
        assert_eq!(toolset_name(Some("")), "default");
        assert_eq!(toolset_name(None), "default");
        for t in ["pets", "Pet Store", "x--y", "ÄÖ ü 1"] {
            let name = toolset_name(Some(t));
            assert!(
                !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{t}"
            );
        }
    }

    #[test]
    fn identifiers() {
        let field = |name: &str| Unique::new().claim_field(name);
        assert_eq!(field("type"), "r#type");
        assert_eq!(field("self"), "self_");
        assert_eq!(field("petId"), "pet_id");
        assert_eq!(field("2fa"), "n_2fa");
        assert_eq!(field("X-Request-ID"), "x_request_id");
        assert_eq!(type_ident("Self"), "SelfType");
        assert_eq!(
            upper_camel("HTTPServer x2Fa__get-v2API"),
            "HttpServerX2FaGetV2Api"
        );
        assert_eq!(type_ident("ünïcödé"), "NCD");
        assert_eq!(type_ident("a\"b"), "AB");
        assert_eq!(type_ident("3d model"), "T3dModel");
        assert_eq!(property_name("filter[status]"), "filter_status");
    }

    #[test]
    fn unique() {
        let mut u = Unique::new();
        assert_eq!(u.claim("a", "_", 64), "a");
        assert_eq!(u.claim("a", "_", 64), "a_2");
        assert_eq!(u.claim("a", "_", 64), "a_3");
        assert_eq!(u.claim_field("pet_id"), "pet_id");
        assert_eq!(u.claim_field("petId"), "pet_id_2");
    }
}
