//! The spec stage: everything between the user's document and the structure lowering reads.
//! [`load`] reads it (file or URL, YAML or JSON) and bundles relative-file `$ref`s;
//! [`normalise`] decides the dialect and builds the structural view `openapiv3` parses;
//! [`swagger2`] converts a 2.0 document to 3.0 first, keeping a map back to the original
//! pointers so that everything reported later names the document the user wrote. [`inputs`]
//! fingerprints the inputs for the generated crate's manifest.

pub mod inputs;
pub mod json_split;
pub mod load;
pub mod normalise;
pub mod paths;
pub mod prune;
pub mod swagger2;

use crate::error::Result;
use crate::ir::Warning;
use load::{Loaded, Origin};
use normalise::Dialect;
use serde_json::Value;
use swagger2::Converted;

/// A spec ready for lowering.
#[derive(Debug)]
pub struct Spec {
    /// The spec as the user named it (path or URL), for messages.
    pub file: String,
    /// Where it came from: relative `servers` URLs resolve against a URL.
    pub origin: Origin,
    /// The bundled 3.x document, cut down to its schemas ([`prune`]); `null` for Swagger 2.0,
    /// whose converted document is kept instead.
    pub document: Value,
    /// The `schema` values the prune took out of [`Spec::root`], by pointer.
    pub placed: prune::Placed,
    pub dialect: Dialect,
    /// A Swagger 2.0 document converted to 3.0 (cut down to its schemas), with the map back to
    /// the original pointers.
    pub converted: Option<Converted>,
    /// The structural view parsed without its path items: components, security, servers.
    pub structure: openapiv3::OpenAPI,
    /// The path items, parsed one at a time as lowering reaches them.
    pub paths: paths::PathItems,
    /// What building the view dropped (pointers into [`Spec::root`]).
    pub warnings: Vec<Warning>,
}

impl Spec {
    /// The OpenAPI 3.x document every later stage reads: the converted one for Swagger 2.0.
    pub fn root(&self) -> &Value {
        match &self.converted {
            Some(c) => &c.root,
            None => &self.document,
        }
    }

    /// The spec's URL, when it was fetched over HTTP.
    pub fn url(&self) -> Option<&url::Url> {
        match &self.origin {
            Origin::Url(u) => Some(u),
            Origin::File(_) => None,
        }
    }
}

/// Decides the dialect, converts Swagger 2.0, and parses the structure of a loaded document
/// (through its structural view, schemas stubbed and the shapes `openapiv3` rejects repaired);
/// meanwhile `beside` reads the whole document as loaded on a thread of its own (the inputs'
/// fingerprint), given its canonical JSON when that was made while it was parsed (to own: it
/// is dropped as soon as it is hashed), and that thread then finds what the prune keeps
/// outside the schemas. Then the document is cut down to what lowering reads ([`prune`]).
pub fn read<R: Send>(
    loaded: Loaded,
    beside: impl Fn(&Value, Option<json_split::Canonical>) -> R + Sync,
) -> Result<(Spec, R)> {
    let Loaded {
        file,
        origin,
        mut root,
        canonical,
        mut left,
    } = loaded;
    // Handed over once, to be dropped as soon as it is read: its memory goes to what follows.
    let canonical = std::sync::Mutex::new(canonical);
    let dialect = normalise::dialect(&file, &root)?;
    if dialect == Dialect::V20 {
        // The conversion reads the whole document.
        json_split::restore(&mut root, std::mem::take(&mut left));
    }
    let root = root;
    let beside = || beside(&root, canonical.lock().ok().and_then(|mut c| c.take()));
    let left_at = places(&left);
    // Beside the structure, after the fingerprint: what the prune keeps outside the schemas of
    // a 3.x document (a converted 2.0 document is read below).
    let beside = || {
        let made = beside();
        let stage = crate::profile::Stage::start("spec: references elsewhere");
        let elsewhere =
            (dialect != Dialect::V20).then(|| prune::referenced_elsewhere(&root, &left_at));
        stage.end();
        (made, elsewhere)
    };
    let (parts, (beside, elsewhere)) =
        crate::beside("mcpgen-beside", || structure(&file, &root, dialect), beside);
    let (converted, view, paths, warnings) = parts?;
    // `openapiv3` parses the structure from the view on a thread of its own, beside the prune
    // (which cuts the document, not the view).
    let view = std::sync::Mutex::new(Some(view));
    let parse = || {
        let stage = crate::profile::Stage::start("spec: openapiv3");
        let view = view.lock().ok().and_then(|mut v| v.take());
        let parsed = view.map(|v| normalise::parse_structure(&file, v));
        stage.end();
        parsed
    };
    let prune = || {
        let stage = crate::profile::Stage::start("spec: prune");
        let pruned = match converted {
            Some(mut c) => {
                let elsewhere = prune::referenced_elsewhere(&c.root, &[]).elsewhere;
                let (placed, cut) = prune::to_schemas_with(&mut c.root, &elsewhere);
                crate::drop_aside((root, cut));
                (Value::Null, placed, Some(c))
            }
            None => {
                let mut root = root;
                let found = elsewhere.unwrap_or_else(|| prune::referenced_elsewhere(&root, &[]));
                let elsewhere = put_back(&mut root, left, found);
                let (placed, cut) = prune::to_schemas_with(&mut root, &elsewhere);
                crate::drop_aside(cut);
                (root, placed, None)
            }
        };
        stage.end();
        pruned
    };
    let ((document, placed, converted), structure) =
        crate::beside("mcpgen-openapiv3", prune, parse);
    let structure = match structure {
        Some(parsed) => parsed.map_err(|e| match &converted {
            Some(c) => c.map.error(&file, e),
            None => e,
        })?,
        None => {
            return Err(crate::error::Error::invalid(
                &file,
                &crate::pointer::Pointer::root(),
                "internal error: the structure was not parsed",
            ));
        }
    };
    Ok((
        Spec {
            file,
            origin,
            document,
            placed,
            dialect,
            converted,
            structure,
            paths,
            warnings,
        },
        beside,
    ))
}

/// The places of the pieces left out of a document.
fn places(left: &[json_split::Left]) -> Vec<&[String]> {
    left.iter().map(|l| l.path.as_slice()).collect()
}

/// Puts back into `root` what a reference the prune follows leads to (`found` says which of
/// `left`; the rest stays out: the prune would cut it), finding the places again when a
/// reference leads into one; returns what the prune keeps outside the schemas.
fn put_back(
    root: &mut Value,
    mut left: Vec<json_split::Left>,
    mut found: prune::Found,
) -> prune::Elsewhere {
    while !found.restore.is_empty() {
        let (back, rest) = left
            .into_iter()
            .enumerate()
            .partition::<Vec<_>, _>(|(i, _)| found.restore.contains(i));
        json_split::restore(root, back.into_iter().map(|(_, l)| l));
        left = rest.into_iter().map(|(_, l)| l).collect();
        if !found.again {
            break;
        }
        found = prune::referenced_elsewhere(root, &places(&left));
    }
    found.elsewhere
}

/// What [`structure`] makes.
type Parts = (Option<Converted>, Value, paths::PathItems, Vec<Warning>);

/// The converted document (Swagger 2.0), the structural view without its path items (for
/// `openapiv3` to parse), the path items (their views, [`paths`]) and what building the view
/// dropped.
fn structure(file: &str, root: &Value, dialect: Dialect) -> Result<Parts> {
    let converted = (dialect == Dialect::V20).then(|| swagger2::convert(root));
    let current = converted.as_ref().map_or(root, |c| &c.root);
    let map_error = |e| match &converted {
        Some(c) => c.map.error(file, e),
        None => e,
    };
    let stage = crate::profile::Stage::start("spec: view");
    let (mut view, warnings) = normalise::structural_view(current);
    let paths = paths::PathItems::split(file, &mut view).map_err(map_error)?;
    stage.end();
    Ok((converted, view, paths, warnings))
}
