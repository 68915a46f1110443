//! Parameters, the first phase of a tool's input: the path item's parameters unless the
//! operation redefines them (same name and `in`), then the operation's own, in spec order. The
//! headers OpenAPI reserves (`Accept`, `Content-Type`, `Authorization`) and the API keys the
//! server sends from its own credentials are left out, with a warning; path template variables
//! nobody declared are added as required strings. The result, sorted by location (path, query,
//! header, cookie; spec order within each), is a list of [`Candidate`] arguments.

use crate::error::Result;
use crate::ir::{ArgLocation, Warning};
use crate::lower::arguments::{Candidate, location_label};
use crate::lower::{Lowerer, OperationRef, Security};
use crate::pointer::Pointer;
use openapiv3::{Parameter, ParameterSchemaOrContent};
use serde_json::json;
use std::borrow::Cow;

impl<'a> Lowerer<'a> {
    /// The operation's parameters as argument candidates, sorted by location.
    pub(super) fn parameters(
        &self,
        op: &OperationRef,
        security: &Security,
        warnings: &mut Vec<Warning>,
    ) -> Result<Vec<Candidate>> {
        let mut candidates = Vec::new();
        for (ptr, p) in &self.effective_parameters(op)? {
            if let Some(c) = self.parameter(ptr, p, security, warnings) {
                candidates.push(c);
            }
        }
        undeclared_path_variables(op, &mut candidates, warnings);
        candidates.sort_by_key(|c| match c.location {
            ArgLocation::Path => 0,
            ArgLocation::Query => 1,
            ArgLocation::Header => 2,
            ArgLocation::Cookie => 3,
            _ => 4,
        });
        Ok(candidates)
    }

    /// Path-level parameters unless the operation overrides them (same name and `in`), then the
    /// operation's own; each with the pointer of its definition.
    fn effective_parameters<'o>(
        &self,
        op: &OperationRef<'o>,
    ) -> Result<Vec<(Pointer, Cow<'o, Parameter>)>>
    where
        'a: 'o,
    {
        let op_ptr = op.pointer();
        let mut op_params: Vec<(Pointer, Cow<Parameter>)> = Vec::new();
        for (i, p) in op.operation.parameters.iter().enumerate() {
            op_params.push(self.deref(p, &op_ptr.join("parameters").join(i))?);
        }
        let mut params: Vec<(Pointer, Cow<Parameter>)> = Vec::new();
        for (i, p) in op.item.parameters.iter().enumerate() {
            let (ptr, p) = self.deref(p, &op.item_ptr.join("parameters").join(i))?;
            let overridden = op_params.iter().any(|(_, q)| {
                q.parameter_data_ref().name == p.parameter_data_ref().name
                    && location_of(q) == location_of(&p)
            });
            if !overridden {
                params.push((ptr, p));
            }
        }
        params.extend(op_params);
        Ok(params)
    }

    /// One parameter (defined at `ptr`) as an argument candidate; `None`, with a warning, for a
    /// header OpenAPI reserves or an API key the server sends itself.
    fn parameter(
        &self,
        ptr: &Pointer,
        p: &Parameter,
        security: &Security,
        warnings: &mut Vec<Warning>,
    ) -> Option<Candidate> {
        let data = p.parameter_data_ref();
        let location = location_of(p);
        if location == ArgLocation::Header
            && ["accept", "content-type", "authorization"]
                .contains(&data.name.to_ascii_lowercase().as_str())
        {
            warnings.push(Warning::spec(
                ptr.clone(),
                format!(
                    "header parameter `{}` is ignored, as the OpenAPI specification requires",
                    data.name
                ),
            ));
            return None;
        }
        if let Some(scheme) = self.api_key_scheme(security, location, &data.name) {
            warnings.push(Warning::spec(
                ptr.clone(),
                format!(
                    "{} `{}` is the API key of securityScheme `{scheme}`: the server sends it from its upstream credentials, so it is not an argument",
                    location_label(location),
                    data.name
                ),
            ));
            return None;
        }
        let (style, default_explode) = style_of(p);
        let (schema_at, schema) = match &data.format {
            ParameterSchemaOrContent::Schema(_) => {
                let at = ptr.join("schema");
                let s = self.schemas.find(&at).cloned().unwrap_or(json!({}));
                (at, s)
            }
            ParameterSchemaOrContent::Content(content) => {
                let mut keys: Vec<&String> = content.keys().collect();
                keys.sort();
                match keys.first() {
                    Some(k) => {
                        let at = ptr.join("content").join(k).join("schema");
                        let s = self.schemas.find(&at).cloned().unwrap_or(json!({}));
                        (at, s)
                    }
                    None => (ptr.join("content"), json!({})),
                }
            }
        };
        Some(Candidate {
            wire: data.name.clone(),
            location,
            required: data.required || location == ArgLocation::Path,
            description: data.description.clone().filter(|d| !d.trim().is_empty()),
            deprecated: data.deprecated == Some(true),
            style: style.to_string(),
            explode: data.explode.unwrap_or(default_explode),
            schema,
            schema_at,
        })
    }
}

/// Path template variables nobody declared still need a value: each becomes a required string.
fn undeclared_path_variables(
    op: &OperationRef,
    candidates: &mut Vec<Candidate>,
    warnings: &mut Vec<Warning>,
) {
    let op_ptr = op.pointer();
    for var in template_vars(op.path) {
        if !candidates
            .iter()
            .any(|c| c.location == ArgLocation::Path && c.wire == var)
        {
            warnings.push(Warning::spec(
                op_ptr.clone(),
                format!(
                    "path variable `{{{var}}}` has no parameter definition; added as a required string"
                ),
            ));
            candidates.push(Candidate {
                wire: var.clone(),
                location: ArgLocation::Path,
                required: true,
                description: None,
                deprecated: false,
                style: "simple".into(),
                explode: false,
                schema: json!({"type": "string"}),
                schema_at: op_ptr.clone(),
            });
        }
    }
}

/// The OpenAPI serialisation style of a parameter and whether it explodes by default.
fn style_of(p: &Parameter) -> (&'static str, bool) {
    match p {
        Parameter::Query { style, .. } => match style {
            openapiv3::QueryStyle::Form => ("form", true),
            openapiv3::QueryStyle::SpaceDelimited => ("spaceDelimited", false),
            openapiv3::QueryStyle::PipeDelimited => ("pipeDelimited", false),
            openapiv3::QueryStyle::DeepObject => ("deepObject", true),
        },
        Parameter::Path { style, .. } => match style {
            openapiv3::PathStyle::Simple => ("simple", false),
            openapiv3::PathStyle::Label => ("label", false),
            openapiv3::PathStyle::Matrix => ("matrix", false),
        },
        Parameter::Header { .. } => ("simple", false),
        Parameter::Cookie { .. } => ("form", true),
    }
}

fn location_of(p: &Parameter) -> ArgLocation {
    match p {
        Parameter::Query { .. } => ArgLocation::Query,
        Parameter::Header { .. } => ArgLocation::Header,
        Parameter::Path { .. } => ArgLocation::Path,
        Parameter::Cookie { .. } => ArgLocation::Cookie,
    }
}

fn template_vars(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                let v = &after[..end];
                if !v.is_empty() && !out.iter().any(|o: &String| o == v) {
                    out.push(v.to_string());
                }
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}
