//! Tool arguments: parsed into the tool's typed struct, unknown names refused with a
//! suggestion, every error naming the argument it concerns.

use rmcp::model::CallToolResult;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

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

/// Parses tool arguments into `T`. Unknown argument names are refused first (with a suggestion
/// from `known`); then every type or presence error names the argument it concerns.
#[allow(
    dead_code,
    reason = "named by the generated tools.rs: an API uses some"
)]
pub fn parse_args<T: DeserializeOwned>(
    args: Option<Map<String, Value>>,
    known: &[&str],
) -> Result<T, CallToolResult> {
    let args = args.unwrap_or_default();
    let unknown: Vec<String> = args
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
    if !unknown.is_empty() {
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
        return Err(tool_error(format!(
            "{noun} {}; {expected}.",
            unknown.join(", ")
        )));
    }
    serde_path_to_error::deserialize(Value::Object(args)).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            tool_error(format!("Invalid arguments: {inner}."))
        } else {
            tool_error(format!("Invalid argument `{path}`: {inner}."))
        }
    })
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
