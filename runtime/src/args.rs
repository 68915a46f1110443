//! Tool arguments: parsed into the tool's typed struct, unknown names refused with a
//! suggestion, every error naming the argument it concerns.

use rmcp::model::CallToolResult;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::request::Request;
use crate::response::tool_error;

/// `deserialize_with` for optional nullable fields: a present value, `null` included, is `Some`,
/// so an explicit `null` is kept apart from an absent field (serde alone maps both to `None`).
#[allow(
    dead_code,
    reason = "named by the generated tools.rs: an API uses some"
)]
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// What parsing a tool's arguments gives: the value, or the tool error naming the argument.
pub type Parsed<T> = Result<T, CallToolResult>;

/// Parses tool arguments into `T`. Unknown argument names are refused first (with a suggestion
/// from `known`); then every type or presence error names the argument it concerns.
#[allow(
    dead_code,
    reason = "named by the generated tools.rs: an API uses some"
)]
pub fn parse_args<T: DeserializeOwned>(
    args: Option<Map<String, Value>>,
    known: &[&str],
) -> Parsed<T> {
    let args = Args::new(args, known)?;
    serde_path_to_error::deserialize(Value::Object(args.map)).map_err(|e| {
        let path = e.path().to_string();
        invalid(&path, &e.into_inner())
    })
}

/// The arguments of one call of a generated tool, read one by one into the fields of the tool's
/// typed struct (`ToolArgs::parse` in `tools.rs`). Each read is generic only in the field's type,
/// so a crate of a thousand tools instantiates the deserialisation of each Rust type once, not a
/// derived `Deserialize` per tool.
#[allow(
    dead_code,
    reason = "named by the generated tools.rs: an API uses some"
)]
pub struct Args {
    map: Map<String, Value>,
}

#[allow(
    dead_code,
    reason = "named by the generated tools.rs: an API uses some"
)]
impl Args {
    /// The arguments of a call, unknown names refused first (with a suggestion from `known`).
    pub fn new(args: Option<Map<String, Value>>, known: &[&str]) -> Parsed<Self> {
        let map = args.unwrap_or_default();
        let unknown: Vec<String> = map
            .keys()
            .filter(|key| !known.contains(&key.as_str()))
            .map(|key| {
                let shown = shown_name(key);
                match suggest(key, known) {
                    Some(near) => format!("`{shown}` (did you mean `{near}`?)"),
                    None => format!("`{shown}`"),
                }
            })
            .collect();
        if unknown.is_empty() {
            return Ok(Self { map });
        }
        let expected = if known.is_empty() {
            "this tool takes no arguments".to_owned()
        } else {
            format!("expected: {}", known.join(", "))
        };
        let noun = if unknown.len() == 1 {
            "Unknown argument"
        } else {
            "Unknown arguments"
        };
        Err(tool_error(format!(
            "{noun} {}; {expected}.",
            unknown.join(", ")
        )))
    }

    /// A required argument. When it is absent, an `Option` type is `None` (as a derived
    /// `Deserialize` has it) and any other type an error naming it.
    pub fn required<T: DeserializeOwned>(&mut self, name: &'static str) -> Parsed<T> {
        match self.map.remove(name) {
            Some(value) => read(name, value),
            None => T::deserialize(Missing(name)).map_err(|e| invalid(".", &e)),
        }
    }

    /// An optional argument: absent is `T::default()` (`None`), `null` as `T` reads it.
    pub fn optional<T: DeserializeOwned + Default>(&mut self, name: &str) -> Parsed<T> {
        match self.map.remove(name) {
            Some(value) => read(name, value),
            None => Ok(T::default()),
        }
    }

    /// An optional argument that keeps an explicit `null` apart from an absent one: absent is
    /// `None`, any present value (`null` included) is `Some`, as [`present`] reads it.
    pub fn present<T: DeserializeOwned>(&mut self, name: &str) -> Parsed<Option<T>> {
        match self.map.remove(name) {
            Some(value) => read(name, value).map(Some),
            None => Ok(None),
        }
    }
}

/// Argument `name`'s value read as `T`; an error names the argument and the place in it.
fn read<T: DeserializeOwned>(name: &str, value: Value) -> Parsed<T> {
    match serde_path_to_error::deserialize(value) {
        Ok(value) => Ok(value),
        Err(e) => Err(read_error(name, e)),
    }
}

/// The tool error of [`read`] (not generic: one copy for every argument type).
fn read_error(name: &str, e: serde_path_to_error::Error<serde_json::Error>) -> CallToolResult {
    let inner = e.path().to_string();
    // The path as a derived `Deserialize` of the whole arguments object reports it.
    let path = match inner.as_str() {
        "." => name.to_owned(),
        rest if rest.starts_with('[') => format!("{name}{rest}"),
        rest => format!("{name}.{rest}"),
    };
    invalid(&path, &e.into_inner())
}

/// The tool error for a value that does not deserialise, at `path` (`.`: the whole arguments).
fn invalid(path: &str, error: &serde_json::Error) -> CallToolResult {
    if path == "." {
        tool_error(format!("Invalid arguments: {error}."))
    } else {
        tool_error(format!("Invalid argument `{path}`: {error}."))
    }
}

/// The deserializer of an absent field: an `Option` reads it as `None`, every other type fails
/// with serde's "missing field" error.
struct Missing(&'static str);

impl<'de> serde::Deserializer<'de> for Missing {
    type Error = serde_json::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(serde::de::Error::missing_field(self.0))
    }

    fn deserialize_option<V: serde::de::Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_none()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

/// The typed arguments struct of a generated tool: its argument names, how it is read from a
/// call's arguments, and the upstream request it describes.
#[allow(
    dead_code,
    reason = "implemented by the generated tools.rs: an API may have no tools"
)]
pub trait ToolArgs: Sized {
    /// Argument names, for rejecting unknown ones.
    const KNOWN: &'static [&'static str];
    /// Reads the arguments (unknown names already refused); an error names the argument.
    fn parse(args: &mut Args) -> Parsed<Self>;
    /// The upstream request these arguments describe.
    fn request(&self) -> Request;
}

/// How the dispatch table of `tools.rs` calls a tool: its arguments parsed into its struct and
/// turned into the upstream request. One small function per tool, all else shared.
#[allow(
    dead_code,
    reason = "named by the generated tools.rs: an API uses some"
)]
pub type Build = fn(Option<Map<String, Value>>) -> Parsed<Request>;

/// The [`Build`] of tool arguments `T`.
#[allow(
    dead_code,
    reason = "named by the generated tools.rs: an API uses some"
)]
pub fn build<T: ToolArgs>(args: Option<Map<String, Value>>) -> Parsed<Request> {
    with_args(args, T::KNOWN, &|args| match T::parse(args) {
        Ok(parsed) => Ok(parsed.request()),
        Err(e) => Err(e),
    })
}

/// [`build`]'s part that is the same for every tool (not generic).
fn with_args(
    args: Option<Map<String, Value>>,
    known: &[&str],
    build: &dyn Fn(&mut Args) -> Parsed<Request>,
) -> Parsed<Request> {
    let mut args = Args::new(args, known)?;
    build(&mut args)
}

/// Names longer than this (in characters) get no suggestion: no argument or tool name is that
/// long, and comparing costs the product of the lengths. Also the length of a name quoted in
/// an error message.
pub(crate) const MAX_SUGGESTED_NAME_CHARS: usize = 128;

/// `name` as an error message quotes it: at most [`MAX_SUGGESTED_NAME_CHARS`] characters, the
/// rest replaced by `…`.
pub(crate) fn shown_name(name: &str) -> std::borrow::Cow<'_, str> {
    match name.char_indices().nth(MAX_SUGGESTED_NAME_CHARS) {
        Some((end, _)) => format!("{}…", &name[..end]).into(),
        None => name.into(),
    }
}

/// The distance of folded names `a` and `b` when it is at most `bound`; `None` when it is
/// larger, or when `a` is longer than [`MAX_SUGGESTED_NAME_CHARS`] (the cost of every
/// suggestion is bounded, whatever a client sends).
pub(crate) fn near(a: &str, b: &str, bound: usize) -> Option<usize> {
    let (la, lb) = (a.chars().count(), b.chars().count());
    if la > MAX_SUGGESTED_NAME_CHARS || la.abs_diff(lb) > bound {
        return None;
    }
    let distance = edit_distance(a, b);
    (distance <= bound).then_some(distance)
}

/// The known name closest to `name`, when it is close enough to be a plausible typo.
fn suggest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    if name.len() > 4 * MAX_SUGGESTED_NAME_CHARS {
        return None;
    }
    let folded = fold(name);
    if let Some(exact) = known.iter().find(|k| fold(k) == folded) {
        return Some(exact);
    }
    let bound = (name.chars().count() / 3).max(1);
    known
        .iter()
        .filter_map(|k| near(&folded, &fold(k), bound).map(|d| (*k, d)))
        .min_by_key(|(_, d)| *d)
        .map(|(k, _)| k)
}

/// Lower case without `_` and `-`, so `pet_id`, `petId` and `PET-ID` compare equal.
pub(crate) fn fold(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The Levenshtein distance of `a` and `b`, in characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(result: &CallToolResult) -> String {
        result
            .content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.clone()))
            .collect()
    }

    #[derive(serde::Deserialize, Debug)]
    struct Args {
        #[serde(rename = "petId")]
        pet_id: String,
        #[serde(default)]
        limit: Option<i64>,
    }

    #[test]
    fn argument_errors_name_the_argument() {
        let known = &["petId", "limit"];
        let args = |v: Value| v.as_object().cloned();

        let ok: Args = parse_args(args(serde_json::json!({"petId": "7"})), known).unwrap();
        assert_eq!((ok.pet_id.as_str(), ok.limit), ("7", None));

        let err = parse_args::<Args>(args(serde_json::json!({"pet_id": "7"})), known).unwrap_err();
        assert!(text_of(&err).contains("`pet_id` (did you mean `petId`?)"));
        assert_eq!(err.is_error, Some(true));

        let err = parse_args::<Args>(None, known).unwrap_err();
        assert!(text_of(&err).contains("missing field `petId`"));

        let err = parse_args::<Args>(args(serde_json::json!({"petId": "7", "limit": "x"})), known)
            .unwrap_err();
        assert!(text_of(&err).starts_with("Invalid argument `limit`: invalid type"));
    }

    /// The arguments of a tool as `tools.rs` reads them: field by field, the errors those of a
    /// derived `Deserialize` of the whole object (the `Args` struct above).
    struct Tool {
        id: i64,
        nullable: Option<String>,
        tags: Option<Vec<String>>,
        note: Option<Option<String>>,
        body: Option<Value>,
    }

    impl ToolArgs for Tool {
        const KNOWN: &'static [&'static str] = &["id", "nullable", "tags", "note", "body"];
        fn parse(a: &mut super::Args) -> Parsed<Self> {
            Ok(Self {
                id: a.required("id")?,
                nullable: a.required("nullable")?,
                tags: a.optional("tags")?,
                note: a.present("note")?,
                body: a.present("body")?,
            })
        }
        fn request(&self) -> Request {
            Request::new(reqwest::Method::GET, "/t")
        }
    }

    fn tool(v: Value) -> Parsed<Tool> {
        let mut a = super::Args::new(v.as_object().cloned(), Tool::KNOWN)?;
        Tool::parse(&mut a)
    }

    #[test]
    fn fields_read_one_by_one_name_the_argument_and_the_place_in_it() {
        let ok = tool(serde_json::json!({"id": 7, "note": null, "tags": null})).unwrap();
        assert_eq!(ok.id, 7);
        // A required `Option` may be absent (as serde's derive has it); `null` stays apart from
        // absent only where the field keeps it.
        assert_eq!(ok.nullable, None);
        assert_eq!(ok.tags, None);
        assert_eq!(ok.note, Some(None));
        assert_eq!(ok.body, None);
        let ok = tool(serde_json::json!({"id": 1, "body": null})).unwrap();
        assert_eq!(ok.body, Some(Value::Null));

        let message = |v: Value| text_of(&tool(v).err().expect("an error"));
        assert_eq!(
            message(serde_json::json!({})),
            "Invalid arguments: missing field `id`."
        );
        assert_eq!(
            message(serde_json::json!({"id": "x"})),
            "Invalid argument `id`: invalid type: string \"x\", expected i64."
        );
        assert_eq!(
            message(serde_json::json!({"id": 1, "tags": ["a", 2]})),
            "Invalid argument `tags[1]`: invalid type: integer `2`, expected a string."
        );
        assert!(message(serde_json::json!({"id": 1, "idd": 2})).contains("did you mean `id`?"));
        // The same words as the derived `Deserialize` of the whole object gives.
        let derived = parse_args::<Args>(args(serde_json::json!({"petId": 1})), &["petId"]);
        assert_eq!(
            text_of(&derived.unwrap_err()),
            "Invalid argument `petId`: invalid type: integer `1`, expected a string."
        );
        let built = build::<Tool>(args(serde_json::json!({"id": 3}))).unwrap();
        assert_eq!(built.path, "/t");
    }

    fn args(v: Value) -> Option<Map<String, Value>> {
        v.as_object().cloned()
    }

    #[test]
    fn a_huge_unknown_name_costs_no_comparison_and_is_quoted_short() {
        let known: Vec<String> = (0..200).map(|i| format!("argument_{i}")).collect();
        let known: Vec<&str> = known.iter().map(String::as_str).collect();
        let huge = "a".repeat(4 * 1024 * 1024);
        assert_eq!(suggest(&huge, &known), None);
        let mut map = Map::new();
        map.insert(huge.clone(), Value::Null);
        let err = parse_args::<Args>(Some(map), &known).unwrap_err();
        let text = text_of(&err);
        assert!(text.len() < 8 * 1024, "{} bytes", text.len());
        assert!(text.contains(&format!("`{}…`", "a".repeat(MAX_SUGGESTED_NAME_CHARS))));
        // Names of ordinary length still get suggestions; the bound is the length difference.
        assert_eq!(near("petid", "petids", 1), Some(1));
        assert_eq!(near("petid", "petidentifier", 3), None);
        assert_eq!(
            near(&"x".repeat(MAX_SUGGESTED_NAME_CHARS + 1), "x", 1000),
            None
        );
        assert_eq!(shown_name("short"), "short");
    }
}
