//! Schemas, from the spec's OpenAPI dialect to what the generated server shows and parses.
//! [`refs`] knows the document's references (cycles, sizes, `$defs` names); [`shape`] makes each
//! schema node client-safe (`allOf` merged, discriminators as `const` branches, `readOnly` /
//! `writeOnly` left out per side); [`convert`] turns shaped schemas into the JSON Schema 2020-12
//! of tool `inputSchema`/`outputSchema`; [`typegen`] turns the same shaped schemas into the Rust
//! types arguments are parsed into, so what a client is shown and what the server accepts agree.
//! [`bound`] converts tool schemas (outputs, and inputs below every argument) breadth-first
//! within a size and depth bound, cutting what does not fit to permissive subschemas. [`keywords`] says which keyword is what.

pub mod bound;
pub mod convert;
pub mod json_text;
pub mod keywords;
pub mod node;
pub mod refs;
pub mod shape;
pub mod typegen;
