//! Loading, the first step: reads the spec from a path or an `http(s)://` URL, parses YAML or JSON
//! (decided by the content, not the extension) into a `serde_json::Value`, and bundles
//! relative-file `$ref`s into that one document so every later stage sees a self-contained spec.
//!
//! Bundling policy: an external target is inlined where it is referenced; a target that refers back
//! to itself (directly or through other external targets) is hoisted into `components/schemas`
//! under a deterministic name instead, so recursion survives as a local `$ref`. Local refs inside
//! an external file are relative to that file and are followed the same way.

use crate::error::{Error, Result};
use crate::pointer::Pointer;
use crate::spec::json_split;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Upper bound on a fetched or read document, so a hostile URL cannot exhaust memory. Real
/// descriptions reach 80 MB (GitHub's fully dereferenced one).
const MAX_DOCUMENT_BYTES: u64 = 256 * 1024 * 1024;
/// Bound on nested external inlining (a chain of files referencing files).
const MAX_EXTERNAL_DEPTH: usize = 64;
/// Nesting level beyond which an external target is not inlined: each file is at most 128 levels
/// deep (the parsers' limit), but a chain of them inlined one inside another is not, and later
/// stages recurse over the bundled document.
const MAX_INLINE_NESTING: usize = 384;
/// JSON nodes all inlined external targets may add together. Each use of a target is a copy, so
/// files that refer to each other twice over grow exponentially (2^30 copies from 30 small
/// files): this stops that, with an error at the reference that crosses it.
const MAX_INLINED_NODES: usize = 2_000_000;

/// Where a document came from; used to resolve relative references.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    File(PathBuf),
    Url(url::Url),
}

impl Origin {
    pub fn parse(spec: &str) -> Result<Self> {
        if spec.starts_with("http://") || spec.starts_with("https://") {
            url::Url::parse(spec)
                .map(Origin::Url)
                .map_err(|e| Error::Read {
                    file: spec.to_string(),
                    message: format!("invalid URL: {e}"),
                })
        } else {
            Ok(Origin::File(PathBuf::from(spec)))
        }
    }

    fn join(&self, reference: &str) -> Result<Origin> {
        match self {
            Origin::File(p) => {
                if reference.starts_with("http://") || reference.starts_with("https://") {
                    return Origin::parse(reference);
                }
                let dir = p.parent().unwrap_or_else(|| Path::new(""));
                Ok(Origin::File(normalize_path(&dir.join(reference))))
            }
            Origin::Url(u) => u.join(reference).map(Origin::Url).map_err(|e| Error::Read {
                file: reference.to_string(),
                message: format!("cannot resolve against {u}: {e}"),
            }),
        }
    }

    pub fn display(&self) -> String {
        match self {
            Origin::File(p) => p.display().to_string(),
            Origin::Url(u) => u.to_string(),
        }
    }
}

/// Removes `.` and `..` components lexically, so the same file reached by two paths is one key.
fn normalize_path(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// A loaded, bundled document.
#[derive(Debug)]
pub struct Loaded {
    /// The name used in error messages (the path or URL as given).
    pub file: String,
    /// Where the spec came from (relative `servers` URLs resolve against a URL origin).
    pub origin: Origin,
    pub root: Value,
    /// The canonical JSON of `root`'s pieces, when it was parsed in pieces and nothing was
    /// bundled into it (the fingerprint's input, made on the way: [`json_split::Canonical`]).
    pub canonical: Option<json_split::Canonical>,
    /// Example payloads left out of `root` (`null` there) as it was parsed: entries of
    /// `components.examples` ([`may_leave`]). [`crate::spec::read`] puts them back where
    /// anything could read them.
    pub left: Vec<json_split::Left>,
}

/// Reads and parses one document.
pub fn read_document(origin: &Origin) -> Result<Value> {
    let file = origin.display();
    parse_text(&file, &read_text(origin)?)
}

/// Reads the spec and parses it, with whether it has a reference outside itself when that was
/// found out on the way ([`json_split`](crate::spec::json_split)).
fn read_spec(origin: &Origin) -> Result<Parsed> {
    let file = origin.display();
    let text = read_text(origin)?;
    let stage = crate::profile::Stage::start("load: parse");
    let parsed = parse_spec_text(&file, &text);
    stage.end();
    parsed
}

/// The text of a document.
fn read_text(origin: &Origin) -> Result<String> {
    let file = origin.display();
    let stage = crate::profile::Stage::start("load: read");
    let text = match origin {
        Origin::File(p) => read_file(p).map_err(|message| Error::Read {
            file: file.clone(),
            message,
        })?,
        Origin::Url(u) => fetch_url(u).map_err(|message| Error::Read {
            file: file.clone(),
            message,
        })?,
    };
    stage.end();
    Ok(text)
}

/// As [`parse_text`], for the spec itself: a large JSON document is parsed on two threads, which
/// also find out whether it refers outside itself (`Some`).
fn parse_spec_text(file: &str, text: &str) -> Result<Parsed> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    // Whether a `$ref` leads into an extension member of the top level: those are left out
    // as they are parsed ([`may_leave`]), and put back here if so (the structure, which is
    // viewed before anything is put back, may refer there).
    let into_extension = std::sync::atomic::AtomicBool::new(false);
    let external = |key: &str, value: &Value, depth: usize| match value {
        Value::String(r) => key == "$ref" && leaves_noting(r, &into_extension),
        _ => has_external_ref_noting(value, depth, &into_extension),
    };
    if trimmed.starts_with('{')
        && let Some(mut split) = json_split::parse(
            trimmed,
            external,
            Some(&crate::spec::inputs::write_canonical),
            Some(&may_leave),
        )
    {
        if into_extension.into_inner() {
            let (back, left): (Vec<_>, Vec<_>) = std::mem::take(&mut split.left)
                .into_iter()
                .partition(|l| l.path.first().is_some_and(|k| is_extension(k)));
            json_split::restore(&mut split.value, back);
            split.left = left;
        }
        return Ok((
            split.value,
            Some(split.checked),
            split.canonical,
            split.left,
        ));
    }
    Ok((parse_text(file, text)?, None, None, Vec::new()))
}

/// Whether a piece of a document parsed in pieces may be left out of it ([`Loaded::left`]):
/// what lowering never reads unless a reference it follows leads there (then it is put back).
/// - An entry of `components.examples` (an Example Object; such payloads are 1.4 of GitHub's
///   6.9 MB of JSON): the view empties `examples` maps and the prune cuts them. Only an entry
///   in which no `schema` or `$ref` key occurs, and not one called either: the prune takes a
///   `schema` value from anywhere, and follows the references in it.
/// - A member of the top level that is an extension (`x-webhooks`: 0.6 of GitHub's 6.9 MB),
///   or a piece of one: it is neither an operation nor a component, and nothing of it is
///   generated; viewing it, `openapiv3`'s copy of it and pruning it were 5% of the CPU time
///   on GitHub's description. Lowering reads it only through a `$ref` into it: when any
///   `$ref` of the document leads into an extension member, they are all put back as soon as
///   the document is parsed ([`parse_spec_text`]), and a document with an external
///   reference anywhere has every piece put back before it is bundled.
fn may_leave(path: &[String], value: &Value) -> bool {
    if path.first().is_some_and(|k| is_extension(k)) {
        return value.is_object() || value.is_array();
    }
    let [components, examples, name] = path else {
        return false;
    };
    components == "components"
        && examples == "examples"
        && !matches!(name.as_str(), "schema" | "$ref")
        && value.is_object()
        && !has_key(value, &["schema", "$ref"], 0)
}

/// Whether any object in `v` has a member called one of `keys` (or nests too deep to tell).
fn has_key(v: &Value, keys: &[&str], depth: usize) -> bool {
    if depth > 512 {
        return true;
    }
    match v {
        Value::Object(m) => m
            .iter()
            .any(|(k, c)| keys.contains(&k.as_str()) || has_key(c, keys, depth + 1)),
        Value::Array(a) => a.iter().any(|c| has_key(c, keys, depth + 1)),
        _ => false,
    }
}

/// A parsed spec, whether it refers outside itself when that was found out on the way, its
/// canonical JSON when it was parsed in pieces, and the pieces left out of it.
type Parsed = (
    Value,
    Option<bool>,
    Option<json_split::Canonical>,
    Vec<json_split::Left>,
);

fn read_file(p: &Path) -> std::result::Result<String, String> {
    let meta = std::fs::metadata(p).map_err(|e| e.to_string())?;
    if meta.is_dir() {
        return Err("is a directory, expected an OpenAPI document".into());
    }
    if meta.len() > MAX_DOCUMENT_BYTES {
        return Err(format!("larger than {MAX_DOCUMENT_BYTES} bytes"));
    }
    let bytes = match read_halves(p, meta.len()) {
        Some(bytes) => bytes,
        None => std::fs::read(p).map_err(|e| e.to_string())?,
    };
    String::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))
}

/// Files from this size on are read by two threads ([`read_halves`]).
const READ_HALVES_FROM: u64 = 1 << 20;

/// A large file read by two threads at once, each one half: most of reading is faulting in and
/// filling the pages of the new buffer (GitHub's 12 MB description: 8 ms on one thread), which
/// each thread has mapped in for its half first ([`populate`]). `None`
/// when the file is small, is no longer `len` bytes long, or a read fails: the caller then reads
/// it whole, as always, and reports what goes wrong.
#[cfg(unix)]
fn read_halves(p: &Path, len: u64) -> Option<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    if len < READ_HALVES_FROM {
        return None;
    }
    let file = std::fs::File::open(p).ok()?;
    let mut bytes = vec![0u8; usize::try_from(len).ok()?];
    let mid = bytes.len() / 2;
    let (first, second) = bytes.split_at_mut(mid);
    let read = std::thread::scope(|scope| {
        let other = std::thread::Builder::new()
            .name("mcpgen-read".into())
            .spawn_scoped(scope, || {
                populate(second);
                file.read_exact_at(second, mid as u64)
            })
            .ok()?;
        populate(first);
        let mine = file.read_exact_at(first, 0);
        let theirs = other.join().ok()?;
        Some(mine.is_ok() && theirs.is_ok())
    });
    // Read in full, and nothing after: the file has not grown since it was measured.
    let at_end = file.read_at(&mut [0u8; 1], len).ok()? == 0;
    (read? && at_end).then_some(bytes)
}

#[cfg(not(unix))]
fn read_halves(_: &Path, _: u64) -> Option<Vec<u8>> {
    None
}

/// Has the kernel back the whole pages of `buf` with memory in one call (Linux 5.14 and later),
/// ahead of the read that fills them: it costs about half of what the read's page faults, one
/// page at a time, do (1.3 against 2.9 µs a page on the benchmark machine). Where the call is
/// not known or refused, the pages are faulted in by the read as before.
#[cfg(target_os = "linux")]
fn populate(buf: &mut [u8]) {
    // SAFETY: `sysconf` only reads a system constant.
    let Ok(page) = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }) else {
        return;
    };
    if !page.is_power_of_two() {
        return;
    }
    let at = buf.as_mut_ptr() as usize;
    let start = at.next_multiple_of(page);
    let end = (at + buf.len()) & !(page - 1);
    if end > start {
        // SAFETY: the range lies inside `buf`, which this thread holds mutably;
        // `MADV_POPULATE_WRITE` maps its pages in without changing what they hold.
        unsafe {
            libc::madvise(
                start as *mut libc::c_void,
                end - start,
                libc::MADV_POPULATE_WRITE,
            )
        };
    }
}

#[cfg(all(unix, not(target_os = "linux")))]
fn populate(_: &mut [u8]) {}

fn fetch_url(u: &url::Url) -> std::result::Result<String, String> {
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .new_agent();
    let mut resp = agent.get(u.as_str()).call().map_err(|e| e.to_string())?;
    resp.body_mut()
        .with_config()
        .limit(MAX_DOCUMENT_BYTES)
        .read_to_string()
        .map_err(|e| e.to_string())
}

/// Parses YAML or JSON, decided by the first non-blank character: JSON documents start with `{`.
/// YAML is converted by hand so that non-string keys (`200:` response codes) become strings.
pub fn parse_text(file: &str, text: &str) -> Result<Value> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return serde_json::from_str(trimmed).map_err(|e| Error::Syntax {
            file: file.to_string(),
            format: "JSON",
            message: e.to_string(),
        });
    }
    let yaml: serde_yaml::Value = serde_yaml::from_str(trimmed).map_err(|e| Error::Syntax {
        file: file.to_string(),
        format: "YAML or JSON",
        message: e.to_string(),
    })?;
    yaml_to_json(file, yaml, &Pointer::root(), 0)
}

fn yaml_to_json(file: &str, v: serde_yaml::Value, at: &Pointer, depth: usize) -> Result<Value> {
    if depth > 512 {
        return Err(Error::invalid(file, at, "nesting deeper than 512 levels"));
    }
    Ok(match v {
        serde_yaml::Value::Null => Value::Null,
        serde_yaml::Value::Bool(b) => Value::Bool(b),
        serde_yaml::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                // NaN and infinities have no JSON form; keep their YAML spelling as a string.
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .unwrap_or_else(|| Value::String(n.to_string()))
            }
        }
        serde_yaml::Value::String(s) => Value::String(s),
        serde_yaml::Value::Sequence(seq) => {
            let mut out = Vec::with_capacity(seq.len());
            for (i, item) in seq.into_iter().enumerate() {
                out.push(yaml_to_json(file, item, &at.join(i), depth + 1)?);
            }
            Value::Array(out)
        }
        serde_yaml::Value::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    serde_yaml::Value::String(s) => s,
                    serde_yaml::Value::Number(n) => n.to_string(),
                    serde_yaml::Value::Bool(b) => b.to_string(),
                    serde_yaml::Value::Null => "null".to_string(),
                    _ => {
                        return Err(Error::invalid(
                            file,
                            at,
                            "a mapping key is not a scalar (complex YAML keys are not valid in OpenAPI)",
                        ));
                    }
                };
                let child = at.join(&key);
                out.insert(key, yaml_to_json(file, v, &child, depth + 1)?);
            }
            Value::Object(out)
        }
        serde_yaml::Value::Tagged(t) => yaml_to_json(file, t.value, at, depth + 1)?,
    })
}

/// Loads the spec and bundles external references.
pub fn load(spec: &str) -> Result<Loaded> {
    let origin = Origin::parse(spec)?;
    let (root, external, canonical, left) = read_spec(&origin)?;
    bundle(spec, origin, root, external, canonical, left)
}

/// As [`load`], for a document already in memory (`spec` names it and anchors relative
/// references): what the fuzz target drives.
pub fn load_text(spec: &str, text: &str) -> Result<Loaded> {
    let origin = Origin::parse(spec)?;
    let (root, external, canonical, left) = parse_spec_text(spec, text)?;
    bundle(spec, origin, root, external, canonical, left)
}

/// Bundles the external references of `root`, if it has any (`external`, when known already).
fn bundle(
    spec: &str,
    origin: Origin,
    mut root: Value,
    external: Option<bool>,
    canonical: Option<json_split::Canonical>,
    left: Vec<json_split::Left>,
) -> Result<Loaded> {
    let file = spec.to_string();
    if !external.unwrap_or_else(|| has_external_ref(&root, 0)) {
        return Ok(Loaded {
            file,
            origin,
            root,
            canonical,
            left,
        });
    }
    // What is bundled changes the document: the pieces no longer make it, and the bundler
    // walks the whole of it.
    let canonical = None;
    json_split::restore(&mut root, left);
    let left = Vec::new();
    let mut bundler = Bundler {
        root_origin: origin.clone(),
        docs: BTreeMap::new(),
        stack: Vec::new(),
        recursive: Vec::new(),
        inlined: 0,
        hoisted: BTreeMap::new(),
        hoisted_defs: Vec::new(),
    };
    bundler.docs.insert(origin.clone(), root.clone());
    bundler.walk(&mut root, &origin, &Pointer::root(), &file, 0, ("", ""))?;
    if !bundler.hoisted_defs.is_empty() {
        let Some(obj) = root.as_object_mut() else {
            return Ok(Loaded {
                file,
                origin,
                root,
                canonical,
                left,
            });
        };
        let components = obj
            .entry("components")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(c) = components.as_object_mut() {
            let schemas = c
                .entry("schemas")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(s) = schemas.as_object_mut() {
                for (name, def) in std::mem::take(&mut bundler.hoisted_defs) {
                    s.insert(name, def);
                }
            }
        }
    }
    Ok(Loaded {
        file,
        origin,
        root,
        canonical,
        left,
    })
}

/// Whether any `$ref` leaves the document (most specs have none: bundling is then skipped).
fn has_external_ref(v: &Value, depth: usize) -> bool {
    has_external_ref_noting(v, depth, &std::sync::atomic::AtomicBool::new(false))
}

/// [`has_external_ref`], setting `into_extension` when a `$ref` met before the first
/// external one leads into an extension member of the top level ([`refers_into_extension`]).
fn has_external_ref_noting(
    v: &Value,
    depth: usize,
    into_extension: &std::sync::atomic::AtomicBool,
) -> bool {
    if depth > 512 {
        return false;
    }
    match v {
        // One pass over the entries: the `$ref` among them is met on the way, no search.
        Value::Object(m) => m.iter().any(|(k, c)| match c {
            Value::String(r) => k == "$ref" && leaves_noting(r, into_extension),
            _ => has_external_ref_noting(c, depth + 1, into_extension),
        }),
        Value::Array(a) => a
            .iter()
            .any(|c| has_external_ref_noting(c, depth + 1, into_extension)),
        _ => false,
    }
}

/// Whether the `$ref` `r` leaves the document, setting `into_extension` when it leads into an
/// extension member of the top level ([`refers_into_extension`]).
fn leaves_noting(r: &str, into_extension: &std::sync::atomic::AtomicBool) -> bool {
    if refers_into_extension(r) {
        into_extension.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    !r.starts_with('#')
}

/// Whether a member of the top level is an extension (`x-...`).
fn is_extension(key: &str) -> bool {
    key.starts_with("x-")
}

/// Whether the local reference `r` leads into an extension member of the top level
/// (`#/x-shared/parameters/id`), its first token read as [`Pointer::from_ref`] reads it.
fn refers_into_extension(r: &str) -> bool {
    let Some(rest) = r.strip_prefix("#/") else {
        return false;
    };
    let first = rest.split('/').next().unwrap_or_default();
    is_extension(first)
        || (first.contains('%')
            && Pointer::from_ref(r)
                .and_then(|p| p.tokens().next())
                .is_some_and(|t| is_extension(&t)))
}

/// Objects whose keys are names (of properties, schemas, responses, examples ...), not keywords:
/// a property called `default` or `example` is structure there.
const NAME_MAPS: &[&str] = &[
    "properties",
    "patternProperties",
    "definitions",
    "schemas",
    "$defs",
    "dependentSchemas",
    "responses",
    "parameters",
    "examples",
    "headers",
    "content",
    "requestBodies",
    "securitySchemes",
    "links",
    "callbacks",
    "paths",
    "encoding",
];

/// Whether `key` of an object holds example or default *data*, where a `$ref` is just a value
/// (GitHub's description has `$ref`s to files it does not ship inside example values).
/// `parent` is the key of the object's parent: an Example Object sits in an `examples` map.
fn is_data(key: &str, value: &Value, parent: &str) -> bool {
    match key {
        "example" | "default" | "enum" | "const" => true,
        "examples" => value.is_array(),
        "value" => parent == "examples",
        _ => false,
    }
}

type Target = (Origin, String);

struct Bundler {
    root_origin: Origin,
    docs: BTreeMap<Origin, Value>,
    /// External targets currently being inlined (cycle detection).
    stack: Vec<Target>,
    /// Targets found to be recursive while being inlined.
    recursive: Vec<Target>,
    /// JSON nodes inlined so far (bounded by [`MAX_INLINED_NODES`]).
    inlined: usize,
    /// Hoisted targets and their component names.
    hoisted: BTreeMap<Target, String>,
    hoisted_defs: Vec<(String, Value)>,
}

impl Bundler {
    fn doc(&mut self, origin: &Origin) -> Result<&Value> {
        if !self.docs.contains_key(origin) {
            let v = read_document(origin)?;
            self.docs.insert(origin.clone(), v);
        }
        self.docs.get(origin).ok_or_else(|| Error::Read {
            file: origin.display(),
            message: "document vanished from cache".into(),
        })
    }

    /// Walks `v` (which lives in document `origin`); rewrites every `$ref` that leaves the root
    /// document. `at` is the pointer in the root document, used for errors; `ctx` holds the keys
    /// of `v` and of its parent (empty for array items), to tell data from structure.
    fn walk(
        &mut self,
        v: &mut Value,
        origin: &Origin,
        at: &Pointer,
        file: &str,
        depth: usize,
        ctx: (&str, &str),
    ) -> Result<()> {
        match v {
            Value::Object(obj) => {
                if let Some(Value::String(r)) = obj.get("$ref") {
                    let r = r.clone();
                    let (file_part, frag) = match r.split_once('#') {
                        Some((f, p)) => (f.to_string(), p.to_string()),
                        None => (r.clone(), String::new()),
                    };
                    let target_origin = if file_part.is_empty() {
                        origin.clone()
                    } else {
                        origin.join(&file_part)?
                    };
                    if target_origin != self.root_origin {
                        let replacement =
                            self.resolve_external(target_origin, frag, at, file, depth)?;
                        obj.remove("$ref");
                        match replacement {
                            Value::Object(m) => {
                                // Sibling keywords next to the `$ref` win, as in OpenAPI 3.1.
                                let siblings = std::mem::take(obj);
                                *obj = m;
                                if !siblings.is_empty() {
                                    for (k, v) in siblings {
                                        obj.insert(k, v);
                                    }
                                }
                            }
                            other => *v = other,
                        }
                        return Ok(());
                    } else if !file_part.is_empty() {
                        obj.insert("$ref".into(), Value::String(format!("#{frag}")));
                    }
                }
                let names = NAME_MAPS.contains(&ctx.0);
                for (k, child) in obj.iter_mut() {
                    if !names && is_data(k, child, ctx.1) {
                        continue;
                    }
                    let child_at = at.join(k);
                    self.walk(child, origin, &child_at, file, depth, (k, ctx.0))?;
                }
                Ok(())
            }
            Value::Array(items) => {
                for (i, child) in items.iter_mut().enumerate() {
                    self.walk(child, origin, &at.join(i), file, depth, ("", ctx.0))?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn resolve_external(
        &mut self,
        origin: Origin,
        frag: String,
        at: &Pointer,
        file: &str,
        depth: usize,
    ) -> Result<Value> {
        let target: Target = (origin.clone(), frag.clone());
        if let Some(name) = self.hoisted.get(&target) {
            return Ok(local_schema_ref(name));
        }
        if self.stack.contains(&target) {
            if !self.recursive.contains(&target) {
                self.recursive.push(target.clone());
            }
            let name = self.hoisted_name(&target);
            return Ok(local_schema_ref(&name));
        }
        let nesting = at.depth();
        if nesting > MAX_INLINE_NESTING {
            return Err(Error::invalid(
                file,
                &at.join("$ref"),
                format!(
                    "external $ref {nesting} levels deep: inlining it would nest the document deeper than {MAX_INLINE_NESTING} levels"
                ),
            ));
        }
        if depth >= MAX_EXTERNAL_DEPTH {
            return Err(Error::invalid(
                file,
                at,
                format!("external $ref chain deeper than {MAX_EXTERNAL_DEPTH} documents"),
            ));
        }
        // An unreadable target file is reported where the reference to it is.
        let doc = match self.doc(&origin) {
            Ok(doc) => doc,
            Err(e @ (Error::Read { .. } | Error::Syntax { .. })) => {
                return Err(Error::invalid(
                    file,
                    &at.join("$ref"),
                    format!("$ref target file: {e}"),
                ));
            }
            Err(e) => return Err(e),
        };
        let mut value = doc.pointer(&frag).cloned().ok_or_else(|| {
            Error::invalid(
                file,
                at,
                format!(
                    "$ref target `{}#{frag}` not found",
                    origin.display().replace('\\', "/")
                ),
            )
        })?;
        self.inlined += count_nodes(&value, 0);
        if self.inlined > MAX_INLINED_NODES {
            return Err(Error::invalid(
                file,
                &at.join("$ref"),
                format!(
                    "inlining external references would add more than {MAX_INLINED_NODES} JSON nodes (targets referred to over and over, nested?)"
                ),
            ));
        }
        self.stack.push(target.clone());
        let walked = self.walk(&mut value, &origin, at, file, depth + 1, ("", ""));
        self.stack.pop();
        walked?;
        if self.recursive.contains(&target) {
            let name = self.hoisted_name(&target);
            self.hoisted_defs.push((name.clone(), value));
            return Ok(local_schema_ref(&name));
        }
        Ok(value)
    }

    fn hoisted_name(&mut self, target: &Target) -> String {
        if let Some(n) = self.hoisted.get(target) {
            return n.clone();
        }
        let base = target
            .1
            .rsplit('/')
            .find(|s| !s.is_empty())
            .map(|s| s.to_string())
            .unwrap_or_else(|| match &target.0 {
                Origin::File(p) => p
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "External".into()),
                Origin::Url(u) => u
                    .path_segments()
                    .and_then(|mut s| s.next_back().map(|x| x.to_string()))
                    .unwrap_or_else(|| "External".into()),
            });
        let base = crate::naming::safe_key(&base);
        let existing = self
            .docs
            .get(&self.root_origin)
            .and_then(|d| d.pointer("/components/schemas"))
            .and_then(|s| s.as_object())
            .map(|m| m.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        let mut name = base.clone();
        let mut n = 2;
        while existing.contains(&name) || self.hoisted.values().any(|v| v == &name) {
            name = format!("{base}{n}");
            n += 1;
        }
        self.hoisted.insert(target.clone(), name.clone());
        name
    }
}

/// JSON nodes in `v` (a parsed document is at most 128 levels deep).
fn count_nodes(v: &Value, depth: usize) -> usize {
    if depth > 512 {
        return 1;
    }
    1 + match v {
        Value::Object(m) => m.values().map(|c| count_nodes(c, depth + 1)).sum(),
        Value::Array(a) => a.iter().map(|c| count_nodes(c, depth + 1)).sum(),
        _ => 0,
    }
}

fn local_schema_ref(name: &str) -> Value {
    let mut m = Map::new();
    m.insert(
        "$ref".into(),
        Value::String(format!(
            "#{}",
            Pointer::root()
                .join("components")
                .join("schemas")
                .join(name)
        )),
    );
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A large JSON spec is parsed in pieces, which say whether it refers outside itself.
    #[test]
    fn a_large_document_knows_its_external_references() {
        let (value, external, _, _) =
            parse_spec_text("t.json", &large_doc("other.yaml#/A")).unwrap();
        assert_eq!(external, Some(true));
        assert!(has_external_ref(&value, 0));
        let (value, external, _, _) =
            parse_spec_text("t.json", &large_doc("#/components/schemas/A")).unwrap();
        assert_eq!(external, Some(false));
        assert!(!has_external_ref(&value, 0));
        // Small, or YAML: found out later.
        let (_, external, _, _) = parse_spec_text("t.json", "{\"openapi\": \"3.1.0\"}").unwrap();
        assert_eq!(external, None);
    }

    #[test]
    fn yaml_keys_become_strings_and_json_is_detected() {
        let v = parse_text(
            "t.yaml",
            "responses:\n  200: {description: ok}\n  true: x\n",
        )
        .unwrap();
        assert_eq!(v["responses"]["200"]["description"], "ok");
        assert_eq!(v["responses"]["true"], "x");
        // JSON is detected from the content, whatever the file is called.
        let v = parse_text("t.yaml", "  {\"openapi\": \"3.1.0\"}").unwrap();
        assert_eq!(v["openapi"], "3.1.0");
        let e = parse_text("t.json", "{\"a\": ").unwrap_err();
        assert!(e.to_string().starts_with("t.json: not valid JSON"), "{e}");
    }

    /// A document large enough to be parsed in pieces, with a `components.examples` large
    /// enough to be split into its entries, and operations whose responses reference both
    /// schemas and examples (as GitHub's description does); `change` adds to it.
    fn examples_document(change: impl FnOnce(&mut Value)) -> Value {
        let mut examples = Map::new();
        for i in 0..700 {
            examples.insert(
                format!("e{i}"),
                serde_json::json!({
                    "summary": format!("example {i}"),
                    "value": {"id": i, "name": "n".repeat(300), "tags": ["a", "b"], "nested": {"ok": true}}
                }),
            );
        }
        let mut schemas = Map::new();
        for i in 0..1500 {
            schemas.insert(
                format!("S{i}"),
                serde_json::json!({
                    "type": "object",
                    "description": "d".repeat(400),
                    "properties": {"id": {"type": "integer"}, "next": {"$ref": format!("#/components/schemas/S{}", (i + 1) % 1500)}}
                }),
            );
        }
        let ok = |schema: &str, example: &str| {
            serde_json::json!({
                "description": "ok",
                "content": {"application/json": {
                    "schema": {"$ref": format!("#/components/schemas/{schema}")},
                    "examples": {"default": {"$ref": format!("#/components/examples/{example}")}}
                }}
            })
        };
        let mut doc = serde_json::json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {
                "/a": {"get": {"operationId": "getA", "responses": {"200": ok("S1", "e1")}}},
                "/b": {"get": {"operationId": "getB", "responses": {"200": {"$ref": "#/components/responses/Ok"}}}},
                "/c": {"get": {"operationId": "getC", "responses": {"200": ok("S0", "e4")}}}
            },
            "components": {"schemas": schemas, "examples": examples, "responses": {"Ok": ok("S2", "e2")}}
        });
        change(&mut doc);
        doc
    }

    /// What generation makes of `doc` given as JSON (large: parsed in pieces, example payloads
    /// left out) is what it makes of the same document given as YAML (parsed whole).
    fn as_one_parse_makes(doc: &Value, text: &str) {
        let yaml = serde_yaml::to_string(doc).expect("serialises");
        let opts = crate::Options::default();
        let (api, files) = crate::generate_text("spec", text, &opts).expect("generates");
        let (whole_api, whole_files) =
            crate::generate_text("spec", &yaml, &opts).expect("generates");
        assert_eq!(format!("{api:?}"), format!("{whole_api:?}"));
        assert_eq!(files, whole_files);
    }

    /// Example payloads are left out of a large document, and put back where something the
    /// prune follows refers to them: generation is the same as from the whole document.
    #[test]
    fn example_payloads_left_out_change_nothing() {
        let plain = examples_document(|_| {});
        let text = serde_json::to_string_pretty(&plain).expect("serialises");
        assert!(text.len() > 1 << 20);
        let loaded = load_text("spec", &text).expect("loads");
        assert_eq!(loaded.left.len(), 700, "every example payload is left out");
        assert!(loaded.root["components"]["examples"]["e5"].is_null());
        as_one_parse_makes(&plain, &text);
        type Change = (&'static str, fn(&mut Value));
        let changes: [Change; 6] = [
            // A schema refers into an example's payload (lowering converts it).
            ("into a payload", |d| {
                d["components"]["schemas"]["S0"] =
                    serde_json::json!({"$ref": "#/components/examples/e3/value"});
            }),
            // A schema refers to an example, and to a response that refers to another.
            ("to an example, and through a response", |d| {
                d["components"]["schemas"]["S0"] = serde_json::json!({"anyOf": [
                    {"$ref": "#/components/examples/e3"},
                    {"$ref": "#/components/responses/Ok"}
                ]});
            }),
            // A schema refers to what holds the examples.
            ("to components", |d| {
                d["components"]["schemas"]["S0"] =
                    serde_json::json!({"items": {"$ref": "#/components"}});
            }),
            // An example called `schema`, one with a `schema` inside, one with a `$ref`. The
            // prune takes the `schema` as a schema, so its reference is a target, named before
            // the component schema whose name it would take (a `$defs` entry of `getC`).
            ("schema and $ref inside", |d| {
                let e = &mut d["components"]["examples"];
                e["schema"] = serde_json::json!({"type": "object"});
                e["e6"]["value"]["schema"] =
                    serde_json::json!({"$ref": "#/components/examples/e6/value/x"});
                e["e6"]["value"]["x"] = serde_json::json!({"type": "string"});
                e["e7"]["value"]["link"] = serde_json::json!({"$ref": "#/components/schemas/S8"});
                d["components"]["schemas"]["components_examples_e6_value_x"] = serde_json::json!({
                    "type": "object",
                    "properties": {"self": {"$ref": "#/components/schemas/components_examples_e6_value_x"}}
                });
                d["components"]["schemas"]["S0"] = serde_json::json!({
                    "type": "object",
                    "properties": {"x": {"$ref": "#/components/schemas/components_examples_e6_value_x"}}
                });
            }),
            // Nothing refers to them but the operations' own `examples`.
            ("unreferenced", |d| {
                d["paths"]["/a"]["get"]["responses"]["200"]["content"]["application/json"]["examples"] =
                    serde_json::json!({});
            }),
            // Swagger 2.0: what converts it is given the whole document (its `components` are
            // not Swagger's, and it reads only their `schemas`, which the loader may hoist).
            ("swagger", |d| {
                let mut definitions = Map::new();
                for i in 0..1500 {
                    definitions.insert(
                        format!("D{i}"),
                        serde_json::json!({"type": "object", "description": "d".repeat(400)}),
                    );
                }
                *d = serde_json::json!({
                    "swagger": "2.0",
                    "info": {"title": "t", "version": "1"},
                    "paths": {"/a": {"get": {"operationId": "getA", "responses": {"200": {
                        "description": "ok", "schema": {"$ref": "#/definitions/D1"}
                    }}}}},
                    "definitions": definitions,
                    "components": {"examples": d["components"]["examples"].take()}
                });
            }),
        ];
        for (what, change) in changes {
            let doc = examples_document(change);
            let text = serde_json::to_string_pretty(&doc).expect("serialises");
            let loaded = load_text("spec", &text).expect("loads");
            assert!(!loaded.left.is_empty(), "{what}: some are left out");
            as_one_parse_makes(&doc, &text);
        }
    }

    /// Extension members of the top level are left out of a large document (GitHub's
    /// `x-webhooks`: schemas, `$ref`s and all), and all put back as soon as it is parsed when a
    /// `$ref` anywhere leads into one: generation is the same as from the whole document.
    #[test]
    fn extension_members_left_out_change_nothing() {
        let with_extensions = |d: &mut Value| {
            let mut hooks = Map::new();
            for i in 0..40 {
                hooks.insert(
                    format!("hook{i}"),
                    serde_json::json!({"post": {
                        "requestBody": {"content": {"application/json": {
                            "schema": {"$ref": format!("#/components/schemas/S{i}")}
                        }}},
                        "responses": {"200": {"description": "ok"}}
                    }}),
                );
            }
            d["x-webhooks"] = Value::Object(hooks);
            d["x-shared"] = serde_json::json!({
                "parameters": {"id": {"name": "id", "in": "query", "schema": {"type": "integer"}}},
                "schemas": {"Thing": {"type": "object", "properties": {"s": {"$ref": "#/components/schemas/S3"}}}}
            });
            d["x-scalar"] = serde_json::json!("kept");
        };
        let plain = examples_document(with_extensions);
        let text = serde_json::to_string_pretty(&plain).expect("serialises");
        let loaded = load_text("spec", &text).expect("loads");
        let left: Vec<&str> = loaded.left.iter().map(|l| l.path[0].as_str()).collect();
        assert!(
            left.contains(&"x-webhooks") && left.contains(&"x-shared"),
            "{left:?}"
        );
        assert!(loaded.root["x-webhooks"].is_null());
        assert_eq!(loaded.root["x-scalar"], "kept");
        as_one_parse_makes(&plain, &text);
        type Change = (&'static str, fn(&mut Value));
        let changes: [Change; 4] = [
            // The structure refers into one (read through `openapiv3`'s copy of it).
            ("a parameter", |d| {
                d["paths"]["/a"]["get"]["parameters"] =
                    serde_json::json!([{"$ref": "#/x-shared/parameters/id"}]);
            }),
            // A schema does (read through the pruned document).
            ("a schema", |d| {
                d["components"]["schemas"]["S0"] =
                    serde_json::json!({"$ref": "#/x-shared/schemas/Thing"});
            }),
            // Percent-encoded, as `Pointer::from_ref` reads it.
            ("percent-encoded", |d| {
                d["paths"]["/a"]["get"]["parameters"] =
                    serde_json::json!([{"$ref": "#/%78-shared/parameters/id"}]);
            }),
            // One extension refers into another: put back too (nothing is lost).
            ("from an extension", |d| {
                d["x-webhooks"]["hook0"]["post"]["parameters"] =
                    serde_json::json!([{"$ref": "#/x-shared/parameters/id"}]);
            }),
        ];
        for (what, change) in changes {
            let doc = examples_document(|d| {
                with_extensions(d);
                change(d);
            });
            let text = serde_json::to_string_pretty(&doc).expect("serialises");
            let loaded = load_text("spec", &text).expect("loads");
            assert!(
                loaded.left.iter().all(|l| !l.path[0].starts_with("x-")),
                "{what}: every extension is back"
            );
            assert!(loaded.root["x-shared"].is_object(), "{what}");
            assert!(!loaded.left.is_empty(), "{what}: the examples stay out");
            as_one_parse_makes(&doc, &text);
        }
        // What leads into an extension, and what does not.
        for (r, into) in [
            ("#/x-shared/parameters/id", true),
            ("#/%78-shared", true),
            ("#/x-", true),
            ("#/components/schemas/x-thing", false),
            ("#/paths/~1x-", false),
            ("#x-shared", false),
            ("other.yaml#/x-shared", false),
        ] {
            assert_eq!(refers_into_extension(r), into, "{r}");
        }
    }

    /// An example payload left out and then replaced by a repeated key is not put back over
    /// the value that replaced it.
    #[test]
    fn a_repeated_key_keeps_its_last_value() {
        let doc = examples_document(|d| {
            d["components"]["schemas"]["S0"] =
                serde_json::json!({"$ref": "#/components/examples/e1/value"});
        });
        let text = serde_json::to_string_pretty(&doc).expect("serialises");
        // `examples` again in `components`, after the first: one parse keeps the second.
        let responses = "\n    \"responses\": {";
        assert!(text.contains(responses));
        let text = text.replacen(
            responses,
            &format!("\n    \"examples\": {{\"e1\": {{\"value\": {{\"type\": \"integer\"}}}}}},{responses}"),
            1,
        );
        let one: Value = serde_json::from_str(&text).expect("valid");
        assert_eq!(
            one["components"]["examples"]["e1"]["value"]["type"],
            "integer"
        );
        let loaded = load_text("spec", &text).expect("loads");
        assert!(
            loaded.left.is_empty(),
            "what the second `examples` replaced is not left"
        );
        as_one_parse_makes(&one, &text);
    }

    /// A document large enough to be parsed in pieces, whose schema `A`'s items are `reference`.
    fn large_doc(reference: &str) -> String {
        format!(
            "{{\"openapi\": \"3.1.0\", \"info\": {{\"title\": \"t\", \"version\": \"1\", \
             \"description\": \"{}\"}}, \"paths\": {{}}, \"components\": {{\"schemas\": \
             {{\"A\": {{\"items\": {{\"$ref\": \"{reference}\"}}}}}}}}}}",
            "x".repeat(2 << 20)
        )
    }

    /// A scratch directory for this process (`mcpgen-<tag>-<pid>`) holding one file (name,
    /// contents) that a spec can reference, and the path of a spec called `spec` in it.
    fn scratch_with(tag: &str, (name, contents): (&str, &str), spec: &str) -> (PathBuf, String) {
        let dir = std::env::temp_dir().join(format!("mcpgen-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), contents).unwrap();
        let spec = dir.join(spec).display().to_string();
        (dir, spec)
    }

    /// A large document's fingerprint is made from its parsed pieces unless something was
    /// bundled into it; either way it is the fingerprint of the document loaded.
    /// A large file is read by two threads, each into its half of a buffer mapped in ahead of
    /// the read: the text is the file's, byte for byte (odd length, a character across the
    /// middle, pages neither half starts on).
    #[test]
    fn a_large_file_reads_whole() {
        let dir = std::env::temp_dir().join(format!("mcpgen-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.json");
        let mut text = String::new();
        let mut i = 0u32;
        while text.len() < 3 << 20 {
            text.push_str(&format!("{i:x}é,"));
            i = i.wrapping_mul(2_654_435_761).wrapping_add(1);
        }
        while text.len().is_multiple_of(2) || text.is_char_boundary(text.len() / 2) {
            text.insert(0, 'x');
        }
        std::fs::write(&path, &text).unwrap();
        assert!(text.len() as u64 >= READ_HALVES_FROM);
        assert_eq!(read_file(&path).unwrap(), text);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn pieces_fingerprint_what_is_loaded() {
        use crate::spec::inputs::{hash_spec, hash_spec_split};
        let (dir, spec) = scratch_with(
            "pieces",
            ("s.json", "{\"S\": {\"type\": \"string\"}}"),
            "spec.json",
        );
        let local = load_text(&spec, &large_doc("#/components/schemas/A")).unwrap();
        let pieces = local.canonical.as_ref().expect("made in pieces");
        assert_eq!(
            hash_spec_split(pieces).finish(None),
            hash_spec(&local.root).finish(None)
        );
        let bundled = load_text(&spec, &large_doc("s.json#/S")).unwrap();
        assert!(bundled.canonical.is_none(), "bundled: the pieces are stale");
        assert_eq!(
            bundled.root["components"]["schemas"]["A"]["items"]["type"],
            "string"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refs_in_example_data_are_not_followed() {
        let (dir, spec) = scratch_with("load", ("s.yaml", "S: {type: string}\n"), "spec.yaml");
        // `example`/`default` values and Example Objects' `value` are data (a `$ref` there names
        // a file nobody ships); a property called `example` is structure and is followed.
        let text = "openapi: 3.0.3\ncomponents:\n  examples:\n    e: {value: {$ref: 'gone.yaml'}}\n  schemas:\n    A:\n      type: object\n      default: {$ref: 'gone.yaml'}\n      properties:\n        example: {$ref: 's.yaml#/S'}\n";
        let loaded = load_text(&spec, text).unwrap();
        let root = &loaded.root;
        assert_eq!(
            root.pointer("/components/examples/e/value/$ref").unwrap(),
            "gone.yaml"
        );
        assert_eq!(
            root.pointer("/components/schemas/A/default/$ref").unwrap(),
            "gone.yaml"
        );
        assert_eq!(
            root.pointer("/components/schemas/A/properties/example/type")
                .unwrap(),
            "string"
        );
        // A missing file where a reference is structure: located at that `$ref`.
        let e = load_text(&spec, "openapi: 3.0.3\nx: {$ref: 'gone.yaml'}\n").unwrap_err();
        assert!(
            e.to_string()
                .contains("spec.yaml#/x/$ref: $ref target file:"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn relative_paths_normalise() {
        let o = Origin::File(PathBuf::from("specs/api/openapi.yaml"));
        assert_eq!(
            o.join("../common/pet.yaml").unwrap(),
            Origin::File(PathBuf::from("specs/common/pet.yaml"))
        );
        let u = Origin::parse("https://example.com/api/openapi.json").unwrap();
        assert_eq!(
            u.join("schemas/pet.yaml").unwrap().display(),
            "https://example.com/api/schemas/pet.yaml"
        );
    }
}
