//! The spec stage: everything between the user's document and the structure lowering reads.
//! [`load`] reads it (file or URL, YAML or JSON) and bundles relative-file `$ref`s;
//! [`normalise`] decides the dialect and builds the structural view `openapiv3` parses;
//! [`swagger2`] converts a 2.0 document to 3.0 first, keeping a map back to the original
//! pointers so that everything reported later names the document the user wrote. [`inputs`]
//! fingerprints the inputs for the generated crate's manifest.

pub mod inputs;
pub mod load;
pub mod normalise;
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
    /// The bundled document as written (2.0 or 3.x): what the inputs fingerprint covers.
    pub document: Value,
    pub dialect: Dialect,
    /// A Swagger 2.0 document converted to 3.0, with the map back to the original pointers.
    pub converted: Option<Converted>,
    /// The structural view of [`Spec::root`]: schemas stubbed, shapes `openapiv3` rejects repaired.
    pub view: Value,
    /// The view parsed: paths, operations, parameters, bodies, responses, security.
    pub structure: openapiv3::OpenAPI,
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

/// Decides the dialect, converts Swagger 2.0, and parses the structure of a loaded document.
pub fn read(loaded: Loaded) -> Result<Spec> {
    let Loaded { file, origin, root } = loaded;
    let dialect = normalise::dialect(&file, &root)?;
    let converted = (dialect == Dialect::V20).then(|| swagger2::convert(&root));
    let current = converted.as_ref().map_or(&root, |c| &c.root);
    let (view, warnings) = normalise::structural_view(current);
    let structure = normalise::parse_structure(&file, &view).map_err(|e| match &converted {
        Some(c) => c.map.error(&file, e),
        None => e,
    })?;
    Ok(Spec {
        file,
        origin,
        document: root,
        dialect,
        converted,
        view,
        structure,
        warnings,
    })
}
