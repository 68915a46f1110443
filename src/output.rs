//! Stage 7, persist: the rendered crate is an in-memory map (relative path → contents) that is
//! either written to disk — only after everything rendered, each file replaced atomically by a
//! rename from a temporary file beside it, unchanged files left untouched so their mtimes (and
//! cargo's incremental state) survive — or compared with the disk for `--check`.
//!
//! User-owned files ([`crate::render::is_user_owned`], such as `src/hooks.rs`) are written only
//! when missing: once there, they belong to the user, are never overwritten, and `--check`
//! ignores them.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// Relative path (with `/`) → file contents. Ordered, so every listing is deterministic.
pub type FileMap = BTreeMap<String, String>;

/// Writes `files` under `out`. Files in `out` that are not in the map are never touched, and
/// existing user-owned files neither.
pub fn write(out: &Path, files: &FileMap) -> Result<usize> {
    if out.exists() && !out.is_dir() {
        return Err(Error::Write {
            path: out.display().to_string(),
            message: "exists and is not a directory".into(),
        });
    }
    let mut written = 0;
    for (rel, contents) in files {
        let path = out.join(rel);
        if crate::render::is_user_owned(rel) && std::fs::symlink_metadata(&path).is_ok() {
            continue;
        }
        if std::fs::read(&path).is_ok_and(|old| old == contents.as_bytes()) {
            continue;
        }
        let io = |e: std::io::Error| Error::Write {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let dir = path.parent().unwrap_or(out);
        std::fs::create_dir_all(dir).map_err(io)?;
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{file_name}.mcpgen-{}.tmp", std::process::id()));
        std::fs::write(&tmp, contents).map_err(io)?;
        if let Err(e) = std::fs::rename(&tmp, &path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(e));
        }
        written += 1;
    }
    Ok(written)
}

/// One difference between the map and the disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    Changed { path: String, diff: String },
    Added { path: String },
}

/// Compares `files` with what is under `out`; user-owned files are not compared.
pub fn check(out: &Path, files: &FileMap) -> Vec<Drift> {
    let mut drift = Vec::new();
    for (rel, contents) in files {
        if crate::render::is_user_owned(rel) {
            continue;
        }
        match std::fs::read_to_string(out.join(rel)) {
            Ok(old) if old == *contents => {}
            Ok(old) => drift.push(Drift::Changed {
                path: rel.clone(),
                diff: short_diff(rel, &old, contents),
            }),
            Err(_) => drift.push(Drift::Added { path: rel.clone() }),
        }
    }
    drift
}

/// A unified diff limited to 40 lines.
fn short_diff(rel: &str, old: &str, new: &str) -> String {
    let diff = similar::TextDiff::from_lines(old, new);
    let text = diff
        .unified_diff()
        .context_radius(2)
        .header(&format!("a/{rel}"), &format!("b/{rel}"))
        .to_string();
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() > 40 {
        format!(
            "{}\n... ({} more lines)\n",
            lines[..40].join("\n"),
            lines.len() - 40
        )
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("mcpgen-output-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn user_owned_files_are_written_once_and_never_checked() {
        let dir = scratch("owned");
        let mut files = FileMap::new();
        files.insert("src/hooks.rs".into(), "default\n".into());
        files.insert("src/main.rs".into(), "fn main() {}\n".into());
        assert_eq!(write(&dir, &files).unwrap(), 2);
        assert_eq!(
            std::fs::read_to_string(dir.join("src/hooks.rs")).unwrap(),
            "default\n"
        );
        std::fs::write(dir.join("src/hooks.rs"), "mine\n").unwrap();
        assert!(check(&dir, &files).is_empty(), "--check ignores hooks.rs");
        assert_eq!(write(&dir, &files).unwrap(), 0);
        assert_eq!(
            std::fs::read_to_string(dir.join("src/hooks.rs")).unwrap(),
            "mine\n"
        );
        std::fs::remove_file(dir.join("src/hooks.rs")).unwrap();
        assert!(check(&dir, &files).is_empty());
        assert_eq!(
            write(&dir, &files).unwrap(),
            1,
            "a missing one is written again"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
