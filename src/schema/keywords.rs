//! What the JSON Schema keywords are: which carry plain values, which one schema, a list or a map
//! of schemas, which only annotate. The conversion copies keywords by these lists (an allow-list),
//! the type generator and the Swagger 2.0 converter walk schemas by them.

use serde_json::{Map, Value};

/// Keywords copied verbatim (their values are not schemas).
pub const PLAIN_KEYWORDS: &[&str] = &[
    "title",
    "description",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "format",
    "pattern",
    "multipleOf",
    "maximum",
    "minimum",
    "maxLength",
    "minLength",
    "maxItems",
    "minItems",
    "uniqueItems",
    "maxProperties",
    "minProperties",
    "maxContains",
    "minContains",
    "contentEncoding",
    "contentMediaType",
    "const",
    "dependentRequired",
];
/// Keywords whose value is one schema.
pub const SCHEMA_KEYWORDS: &[&str] = &[
    "additionalProperties",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contentSchema",
];
/// Keywords whose value is an array of schemas.
pub const SCHEMA_ARRAY_KEYWORDS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];
/// Keywords whose value is a map of schemas.
pub const SCHEMA_MAP_KEYWORDS: &[&str] = &["properties", "patternProperties", "dependentSchemas"];
/// Annotation keywords that may be laid over a referenced schema.
pub const ANNOTATIONS: &[&str] = &[
    "title",
    "description",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "examples",
];

/// Whether a keyword beside `$ref` constrains the schema (rather than annotating it): then the
/// reference and its siblings are an `allOf`, in the conversion and in the type generator alike.
pub fn constrains(k: &str) -> bool {
    (PLAIN_KEYWORDS.contains(&k) && !ANNOTATIONS.contains(&k))
        || SCHEMA_KEYWORDS.contains(&k)
        || SCHEMA_ARRAY_KEYWORDS.contains(&k)
        || SCHEMA_MAP_KEYWORDS.contains(&k)
        || matches!(
            k,
            "type" | "enum" | "required" | "items" | "exclusiveMinimum" | "exclusiveMaximum"
        )
}

/// Whether a schema object names at least one property.
pub fn has_properties(obj: &Map<String, Value>) -> bool {
    obj.get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty())
}
