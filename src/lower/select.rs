//! Applies the `tools:` selection and overrides of the config file ([`crate::config::tools`],
//! where the semantics are described) to the spec's operations: which are excluded and why, and
//! which override each selected one gets. Every entry of every list, and every override, must
//! match an operation of the spec, and an override a selected one: anything else is an error
//! naming it, so an operation renamed in the spec is noticed when CI regenerates.

use crate::config::tools::{Override, ToolsConfig};
use crate::error::Result;
use crate::ir::Warning;
use crate::pointer::Pointer;

/// One operation of the spec, as selection sees it.
#[derive(Debug, Clone)]
pub struct OpRef<'a> {
    /// Lower-case method.
    pub method: &'a str,
    pub path: &'a str,
    pub operation_id: Option<&'a str>,
    pub tags: &'a [String],
}

/// The outcome for every operation, in the order given.
#[derive(Debug, Default)]
pub struct Selection {
    /// `None`: selected; `Some(reason)`: excluded, and why.
    pub excluded: Vec<Option<String>>,
    /// The override of each operation, if any.
    pub overrides: Vec<Option<(String, Override)>>,
    /// Warnings about the config file's `tools:` section.
    pub warnings: Vec<Warning>,
}

/// `METHOD /path` of an operation, as selectors and overrides may name it.
pub fn method_path(method: &str, path: &str) -> String {
    format!("{} {path}", method.to_ascii_uppercase())
}

/// Applies the selection and the overrides of `config` to the spec's operations.
pub fn select(config: &ToolsConfig, ops: &[OpRef<'_>]) -> Result<Selection> {
    check_entries(config, ops)?;
    let excluded: Vec<Option<String>> = ops.iter().map(|op| exclusion(config, op)).collect();
    let mut warnings = union_warnings(config, ops, &excluded);
    if !ops.is_empty() && excluded.iter().all(Option::is_some) {
        warnings.push(Warning::file(
            &config.file,
            Pointer::root().join("tools"),
            "the selection excludes every operation; the server has no generated tools",
        ));
    }
    let overrides = overrides(config, ops, &excluded)?;
    Ok(Selection {
        excluded,
        overrides,
        warnings,
    })
}

/// Every entry of every list must match some operation of the spec: else an error naming it,
/// with the closest candidate when there is one.
fn check_entries(config: &ToolsConfig, ops: &[OpRef<'_>]) -> Result<()> {
    for (key, list) in config.lists() {
        let Some(list) = list else { continue };
        for (i, entry) in list.iter().enumerate() {
            let hit = |op: &OpRef<'_>| match key {
                "include_operations" | "exclude_operations" => op_named(entry, op),
                "include_tags" | "exclude_tags" => op.tags.iter().any(|t| t == entry),
                "include_methods" | "exclude_methods" => op.method.eq_ignore_ascii_case(entry),
                _ => glob_match(entry, op.path),
            };
            if ops.iter().any(hit) {
                continue;
            }
            let (what, candidates): (&str, Vec<String>) = match key {
                "include_operations" | "exclude_operations" => (
                    "operation (by operationId or `METHOD /path`)",
                    operation_names(ops),
                ),
                "include_tags" | "exclude_tags" => (
                    "operation's tags",
                    ops.iter().flat_map(|o| o.tags.iter().cloned()).collect(),
                ),
                "include_methods" | "exclude_methods" => ("operation's method", vec![]),
                _ => ("path", ops.iter().map(|o| o.path.to_string()).collect()),
            };
            let hint = suggest(entry, &candidates)
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(config.err(
                &Pointer::root().join("tools").join(key).join(i),
                format!("`{entry}` matches no {what} in the spec{hint}"),
            ));
        }
    }
    Ok(())
}

/// Why the selection leaves `op` out, if it does: FastAPI-MCP's filters first, then mcpgen's
/// narrowing ones.
fn exclusion(config: &ToolsConfig, op: &OpRef<'_>) -> Option<String> {
    fastapi_filters(config, op).or_else(|| narrowing_filters(config, op))
}

/// Stage 1: the union of what each given FastAPI-MCP filter selects; why `op` is not in it.
fn fastapi_filters(r: &ToolsConfig, op: &OpRef<'_>) -> Option<String> {
    let given = r.include_operations.is_some()
        || r.exclude_operations.is_some()
        || r.include_tags.is_some()
        || r.exclude_tags.is_some();
    let named = |list: &Option<Vec<String>>| {
        list.as_ref()
            .and_then(|l| l.iter().find(|e| op_named(e, op)).cloned())
    };
    let tagged = |list: &Option<Vec<String>>| {
        list.as_ref()
            .and_then(|l| l.iter().find(|t| op.tags.contains(t)).cloned())
    };
    let mut rejected_by = Vec::new();
    let mut selected = !given;
    if r.include_operations.is_some() {
        match named(&r.include_operations) {
            Some(_) => selected = true,
            None => rejected_by.push("not in include_operations".to_string()),
        }
    }
    if r.exclude_operations.is_some() {
        match named(&r.exclude_operations) {
            Some(e) => rejected_by.push(format!("named in exclude_operations (`{e}`)")),
            None => selected = true,
        }
    }
    if r.include_tags.is_some() {
        match tagged(&r.include_tags) {
            Some(_) => selected = true,
            None => rejected_by.push("has none of include_tags".to_string()),
        }
    }
    if r.exclude_tags.is_some() {
        match tagged(&r.exclude_tags) {
            Some(t) => rejected_by.push(format!("tagged `{t}`, in exclude_tags")),
            None => selected = true,
        }
    }
    (!selected).then(|| rejected_by.join(" and "))
}

/// Stage 2: every given narrowing filter must hold; the first that does not, in words.
fn narrowing_filters(r: &ToolsConfig, op: &OpRef<'_>) -> Option<String> {
    let upper = op.method.to_ascii_uppercase();
    if let Some(list) = &r.include_methods
        && !list.iter().any(|m| m.eq_ignore_ascii_case(op.method))
    {
        return Some(format!("method {upper} is not in include_methods"));
    }
    if let Some(list) = &r.exclude_methods
        && list.iter().any(|m| m.eq_ignore_ascii_case(op.method))
    {
        return Some(format!("method {upper} is in exclude_methods"));
    }
    if let Some(list) = &r.include_paths
        && !list.iter().any(|g| glob_match(g, op.path))
    {
        return Some("path matches none of include_paths".to_string());
    }
    if let Some(list) = &r.exclude_paths
        && let Some(g) = list.iter().find(|g| glob_match(g, op.path))
    {
        return Some(format!("path matches exclude_paths `{g}`"));
    }
    None
}

/// An exclude_operations entry that union semantics keep selected is almost certainly not what
/// was meant: say so.
fn union_warnings(
    config: &ToolsConfig,
    ops: &[OpRef<'_>],
    excluded: &[Option<String>],
) -> Vec<Warning> {
    let mut warnings = Vec::new();
    let Some(list) = &config.exclude_operations else {
        return warnings;
    };
    for (i, entry) in list.iter().enumerate() {
        for (op, reason) in ops.iter().zip(excluded) {
            if reason.is_none() && op_named(entry, op) {
                warnings.push(Warning::file(
                    &config.file,
                    Pointer::root()
                        .join("tools")
                        .join("exclude_operations")
                        .join(i),
                    format!(
                        "`{entry}` stays selected: FastAPI-MCP's filters combine as a union, and {} selects it; use exclude_paths or exclude_methods to remove it whatever else matches",
                        if config.include_tags.is_some() {
                            "include_tags"
                        } else {
                            "exclude_tags"
                        }
                    ),
                ));
            }
        }
    }
    warnings
}

/// The override of each operation: every override must name exactly one operation, and a
/// selected one.
fn overrides(
    config: &ToolsConfig,
    ops: &[OpRef<'_>],
    excluded: &[Option<String>],
) -> Result<Vec<Option<(String, Override)>>> {
    let mut out = vec![None; ops.len()];
    for (key, o) in &config.overrides {
        let at = Pointer::root().join("tools").join("overrides").join(key);
        let hits: Vec<usize> = (0..ops.len()).filter(|&i| op_named(key, &ops[i])).collect();
        match hits.as_slice() {
            [] => {
                let hint = suggest(key, &operation_names(ops))
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                return Err(config.err(
                    &at,
                    format!(
                        "`{key}` matches no operation (by operationId or `METHOD /path`) in the spec{hint}"
                    ),
                ));
            }
            [i] => {
                if let Some(reason) = &excluded[*i] {
                    return Err(config.err(
                        &at,
                        format!(
                            "`{key}` is not selected ({reason}): the override would have no effect; remove it or select the operation"
                        ),
                    ));
                }
                out[*i] = Some((key.clone(), o.clone()));
            }
            many => {
                let which: Vec<String> = many
                    .iter()
                    .map(|&i| method_path(ops[i].method, ops[i].path))
                    .collect();
                return Err(config.err(
                    &at,
                    format!(
                        "`{key}` matches {} operations ({}): name one as `METHOD /path`",
                        many.len(),
                        which.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// How selectors name each operation: its operationId, else `METHOD /path`.
fn operation_names(ops: &[OpRef<'_>]) -> Vec<String> {
    ops.iter()
        .map(|o| match o.operation_id {
            Some(id) => id.to_string(),
            None => method_path(o.method, o.path),
        })
        .collect()
}

/// Whether selector `entry` names `op`: its operationId, or `METHOD /path` (method in any case).
fn op_named(entry: &str, op: &OpRef<'_>) -> bool {
    if op.operation_id == Some(entry) {
        return true;
    }
    match entry.split_once(' ') {
        Some((m, p)) => m.eq_ignore_ascii_case(op.method) && p.trim() == op.path,
        None => false,
    }
}

/// Glob match of a spec path: `**` matches any characters (`/` included), `*` any characters but
/// `/`, `?` one character but `/`; everything else (braces of path templates too) literally.
pub fn glob_match(glob: &str, path: &str) -> bool {
    fn go(g: &[char], p: &[char]) -> bool {
        match g.split_first() {
            None => p.is_empty(),
            Some(('*', rest)) if rest.first() == Some(&'*') => {
                let rest = &rest[1..];
                (0..=p.len()).any(|i| go(rest, &p[i..]))
            }
            Some(('*', rest)) => {
                let seg = p.iter().position(|&c| c == '/').unwrap_or(p.len());
                (0..=seg).any(|i| go(rest, &p[i..]))
            }
            Some(('?', rest)) => p.first().is_some_and(|&c| c != '/') && go(rest, &p[1..]),
            Some((c, rest)) => p.first() == Some(c) && go(rest, &p[1..]),
        }
    }
    let g: Vec<char> = glob.chars().collect();
    let p: Vec<char> = path.chars().collect();
    go(&g, &p)
}

/// The candidate closest to `s` (case-insensitive edit distance), when close enough to be a
/// plausible typo.
fn suggest(s: &str, candidates: &[String]) -> Option<String> {
    let fold = |x: &str| x.to_ascii_lowercase();
    let s = fold(s);
    let mut best: Option<(usize, &String)> = None;
    for c in candidates {
        let d = distance(&s, &fold(c));
        if best.is_none_or(|(bd, bc)| d < bd || (d == bd && c < bc)) {
            best = Some((d, c));
        }
    }
    best.filter(|(d, _)| *d > 0 && *d <= (s.chars().count() / 3).max(1))
        .map(|(_, c)| c.clone())
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn config(yaml: &str) -> Result<ToolsConfig> {
        let v: Value = serde_yaml::from_str(yaml).unwrap();
        crate::config::tools::parse("auth.yaml", Some(&v)).map(Option::unwrap)
    }

    fn tags(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    /// listPets (pets), createPet (pets), deletePet (pets, admin), ping (no tags, no id),
    /// adminStats (admin).
    fn with_ops<T>(f: impl FnOnce(&[OpRef<'_>]) -> T) -> T {
        let pets = tags(&["pets"]);
        let pets_admin = tags(&["pets", "admin"]);
        let admin = tags(&["admin"]);
        let none = tags(&[]);
        let ops = [
            OpRef {
                method: "get",
                path: "/pets",
                operation_id: Some("listPets"),
                tags: &pets,
            },
            OpRef {
                method: "post",
                path: "/pets",
                operation_id: Some("createPet"),
                tags: &pets,
            },
            OpRef {
                method: "delete",
                path: "/pets/{petId}",
                operation_id: Some("deletePet"),
                tags: &pets_admin,
            },
            OpRef {
                method: "get",
                path: "/ping",
                operation_id: None,
                tags: &none,
            },
            OpRef {
                method: "get",
                path: "/admin/stats",
                operation_id: Some("adminStats"),
                tags: &admin,
            },
        ];
        f(&ops)
    }

    /// The selected operations' positions.
    fn selected(yaml: &str) -> Vec<usize> {
        let c = config(yaml).unwrap();
        with_ops(|ops| {
            let s = select(&c, ops).unwrap();
            (0..ops.len())
                .filter(|&i| s.excluded[i].is_none())
                .collect()
        })
    }

    fn select_err(yaml: &str) -> String {
        match config(yaml) {
            Err(e) => e.to_string(),
            Ok(c) => with_ops(|ops| select(&c, ops).unwrap_err().to_string()),
        }
    }

    #[test]
    fn fastapi_mcp_filters_combine_as_a_union() {
        assert_eq!(selected("{}"), [0, 1, 2, 3, 4]);
        assert_eq!(
            selected("include_operations: [listPets, GET /ping]"),
            [0, 3]
        );
        assert_eq!(selected("exclude_operations: [deletePet]"), [0, 1, 3, 4]);
        assert_eq!(selected("include_tags: [admin]"), [2, 4]);
        assert_eq!(selected("exclude_tags: [admin]"), [0, 1, 3]);
        // Union: the operation or the tag selects.
        assert_eq!(
            selected("include_operations: [listPets]\ninclude_tags: [admin]"),
            [0, 2, 4]
        );
        // "Everything but admin, and deletePet anyway".
        assert_eq!(
            selected("include_operations: [deletePet]\nexclude_tags: [admin]"),
            [0, 1, 2, 3]
        );
        // Union of two exclusions: only what both exclude is gone (FastAPI-MCP's semantics).
        assert_eq!(
            selected("exclude_operations: [deletePet]\nexclude_tags: [pets]"),
            [0, 1, 3, 4]
        );
    }

    #[test]
    fn methods_and_paths_narrow() {
        assert_eq!(selected("include_methods: [get]"), [0, 3, 4]);
        assert_eq!(selected("exclude_methods: [DELETE, post]"), [0, 3, 4]);
        assert_eq!(selected("include_paths: [/pets, /pets/*]"), [0, 1, 2]);
        assert_eq!(selected("exclude_paths: ['/admin/**']"), [0, 1, 2, 3]);
        assert_eq!(
            selected("include_tags: [pets]\ninclude_methods: [GET]"),
            [0],
            "stage 2 narrows stage 1, it does not add to it"
        );
        assert_eq!(
            selected("include_paths: ['/**']\nexclude_paths: ['/pets/{petId}']"),
            [0, 1, 3, 4]
        );
    }

    #[test]
    fn globs() {
        assert!(glob_match("/pets/*", "/pets/{petId}"));
        assert!(!glob_match("/pets/*", "/pets/{petId}/toys"));
        assert!(glob_match("/pets/**", "/pets/{petId}/toys"));
        assert!(!glob_match("/pets/**", "/pets"));
        assert!(glob_match("/**", "/"));
        assert!(glob_match("/p?ts", "/pets"));
        assert!(!glob_match("/p?ts", "/p/ts"));
        assert!(glob_match("/v*/items", "/v2/items"));
    }

    #[test]
    fn located_errors() {
        let e = select_err("include_operations: [listPets]\nexclude_operations: [createPet]");
        assert_eq!(
            e,
            "auth.yaml#/tools/exclude_operations: `include_operations` and `exclude_operations` cannot be used together (as in FastAPI-MCP): keep one of them"
        );
        assert!(
            select_err("include_tags: [a]\nexclude_tags: [b]").contains("#/tools/exclude_tags")
        );
        assert_eq!(
            select_err("include_operations: [listPets, listPet]"),
            "auth.yaml#/tools/include_operations/1: `listPet` matches no operation (by operationId or `METHOD /path`) in the spec; did you mean `listPets`?"
        );
        assert!(
            select_err("exclude_tags: [nope]")
                .starts_with("auth.yaml#/tools/exclude_tags/0: `nope` matches no operation's tags")
        );
        assert!(select_err("include_methods: [PUT]").starts_with(
            "auth.yaml#/tools/include_methods/0: `PUT` matches no operation's method"
        ));
        assert!(select_err("include_methods: [FETCH]").contains("not an HTTP method"));
        assert!(
            select_err("exclude_paths: ['/nothing/**']")
                .starts_with("auth.yaml#/tools/exclude_paths/0:")
        );
        assert!(select_err("exclude_paths: ['pets']").contains("starts with `/`"));
        assert!(
            select_err("include_tags: []")
                .contains("#/tools/include_tags: `include_tags` is empty")
        );
        assert!(
            select_err("include_tag: [x]")
                .starts_with("auth.yaml#/tools/include_tag: unknown field")
        );
        assert!(
            select_err("overrides:\n  listPetz: {title: x}").starts_with(
                "auth.yaml#/tools/overrides/listPetz: `listPetz` matches no operation"
            )
        );
        assert!(
            select_err("overrides:\n  listPets: {titel: x}")
                .starts_with("auth.yaml#/tools/overrides/listPets/titel: unknown field")
        );
        assert!(
            select_err("exclude_tags: [admin]\noverrides:\n  adminStats: {title: x}")
                .contains("is not selected (tagged `admin`, in exclude_tags)")
        );
        assert!(
            select_err("overrides:\n  listPets: {name: 'a b'}")
                .contains("#/tools/overrides/listPets/name")
        );
        assert!(
            select_err("overrides:\n  listPets: {name: x}\n  createPet: {name: x}")
                .contains("#/tools/overrides/listPets/name: `x` is already the name the override of `createPet` gives")
        );
        assert!(
            select_err("overrides:\n  GET /pets/{petId}: {name: x}")
                .contains("#/tools/overrides/GET ~1pets~1{petId}:")
        );
    }

    #[test]
    fn modes_toolsets_and_reserved_names() {
        use crate::config::tools::ModeSetting;
        assert_eq!(config("{}").unwrap().mode, ModeSetting::Auto);
        assert_eq!(
            config("mode: discover").unwrap().mode,
            ModeSetting::Discover
        );
        assert_eq!(config("mode: all").unwrap().mode, ModeSetting::All);
        assert!(
            select_err("mode: some")
                .starts_with("auth.yaml#/tools/mode: unknown variant `some`, expected one of `auto`, `all`, `discover`")
        );
        let c = config("overrides:\n  listPets: {toolset: pet_admin2}\n").unwrap();
        with_ops(|ops| {
            let s = select(&c, ops).unwrap();
            assert_eq!(
                s.overrides[0].as_ref().unwrap().1.toolset.as_deref(),
                Some("pet_admin2")
            );
        });
        for bad in ["Pets", "pet-admin", "''", "a b", "é"] {
            assert_eq!(
                select_err(&format!("overrides:\n  listPets: {{toolset: {bad}}}\n")),
                format!(
                    "auth.yaml#/tools/overrides/listPets/toolset: `{}` is not a usable toolset name: 1 or more characters of `a-z 0-9 _` (as `--toolsets` names them)",
                    bad.trim_matches('\'')
                )
            );
        }
        assert!(
            select_err("overrides:\n  listPets: {toolset: 3}\n")
                .starts_with("auth.yaml#/tools/overrides/listPets/toolset: invalid type")
        );
        for reserved in crate::naming::DISCOVERY_TOOLS {
            assert!(
                select_err(&format!("overrides:\n  listPets: {{name: {reserved}}}\n"))
                    .starts_with(&format!(
                        "auth.yaml#/tools/overrides/listPets/name: `{reserved}` is the name of one of the discovery tools"
                    ))
            );
        }
    }

    #[test]
    fn overrides_and_warnings() {
        let c = config(
            "exclude_operations: [deletePet]\nexclude_tags: [admin]\noverrides:\n  GET /ping: {name: health}\n",
        )
        .unwrap();
        with_ops(|ops| {
            let s = select(&c, ops).unwrap();
            assert_eq!(
                s.overrides[3].as_ref().unwrap().1.name.as_deref(),
                Some("health")
            );
            assert!(s.excluded[2].is_some(), "tagged admin and excluded by name");
            assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        });
        let c = config("exclude_operations: [deletePet]\nexclude_tags: [pets]\n").unwrap();
        with_ops(|ops| assert!(select(&c, ops).unwrap().warnings.is_empty()));
        let c = config("exclude_operations: [listPets]\nexclude_tags: [admin]\n").unwrap();
        with_ops(|ops| {
            let s = select(&c, ops).unwrap();
            assert!(s.excluded[0].is_none());
            assert_eq!(s.warnings.len(), 1);
            assert!(
                s.warnings[0].to_string().starts_with(
                    "auth.yaml#/tools/exclude_operations/0: `listPets` stays selected"
                )
            );
        });
    }
}
