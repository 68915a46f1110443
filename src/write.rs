//! Writing, the last stage: the rendered crate is an in-memory map (relative path → contents) that
//! is either written to disk — only after everything rendered, each file replaced atomically by a
//! rename from a temporary file beside it once every temporary file is written, unchanged files
//! left untouched so their mtimes (and cargo's incremental state) survive — or compared with the
//! disk for `--check`.
//!
//! Ownership ([`crate::ownership`]). Generator-owned files are listed in the crate's manifest
//! ([`crate::ownership::MANIFEST`]) and rewritten wholesale. A file the previous run listed there
//! that this run no longer generates (the OAuth module after a switch to bearer auth, say) is
//! deleted — and nothing else ever is: files mcpgen never wrote are not in any manifest. Deletion
//! is refused for anything but a regular file strictly inside the output directory, reached without
//! `..`, absolute paths or symbolic links, so an edited manifest cannot make it delete elsewhere.
//! User-owned files ([`crate::ownership::USER_OWNED`], such as `src/hooks.rs`) are written only
//! when missing: once there, they belong to the user, are never overwritten or deleted, and
//! `--check` ignores them.

use crate::error::{Error, Result};
use crate::ownership::{FileMap, MANIFEST, is_user_owned, missing_items, without_header};
use crate::staged::{Rendered, Staged};
use std::path::{Component, Path, PathBuf};

/// What [`write()`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Files written (new or changed).
    pub written: usize,
    /// Files of the previous run's manifest that this run no longer generates, deleted.
    pub removed: Vec<String>,
    /// Things the user should know: stale files not deleted and why, user-owned files that
    /// lack what the generated code calls in them.
    pub warnings: Vec<String>,
}

/// Writes `files` under `out`, then deletes the stale files of the previous manifest. Files in
/// `out` that no manifest lists are never touched, and existing user-owned files neither.
pub fn write(out: &Path, files: &FileMap) -> Result<Report> {
    write_parts(out, files, &mut [])
}

/// As [`write()`], for a crate rendered with some files already streamed into `out`
/// ([`crate::render_into`]): each of those is renamed into place at its turn in the order of
/// the paths when it differs from the file there, and deleted when it does not.
pub fn write_rendered(out: &Path, rendered: &mut Rendered) -> Result<Report> {
    write_parts(out, &rendered.files, &mut rendered.staged)
}

/// Writes the files in memory and puts the staged ones in place, in the order of their paths.
fn write_parts(out: &Path, files: &FileMap, staged: &mut [Staged]) -> Result<Report> {
    if out.exists() && !out.is_dir() {
        return Err(Error::Write {
            path: out.display().to_string(),
            message: "exists and is not a directory".into(),
        });
    }
    let mut report = Report::default();
    let (stale, refused) = stale_files(out, &|rel| {
        files.contains_key(rel) || staged.iter().any(|s| s.rel() == rel)
    });
    report.warnings.extend(refused);
    report.warnings.extend(user_file_warnings(out, files));
    // The files that change, each written into a temporary file beside its destination by
    // two threads (creating files is most of this stage's time; two threads took a sixth less
    // than one on GitHub's crate, though they share each directory's lock), then put in place
    // one by one in the order of their paths. Nothing is put in place before every temporary
    // file is written: a file that cannot be written leaves the directory as it was.
    let entries: Vec<(&String, &String)> = files.iter().collect();
    let (_, written) = crate::in_blocks(
        "mcpgen-write",
        &entries,
        1,
        || (),
        |(rel, contents)| write_aside(out, rel, contents.as_bytes()),
    );
    if written.iter().any(Result::is_err) {
        // Made by either thread, in any order: dropped together ([`crate::staged::discard`]);
        // the first error in the order of the paths is reported.
        let (made, failed): (Vec<_>, Vec<_>) = written.into_iter().partition(Result::is_ok);
        crate::staged::discard(made.into_iter().flatten().flatten());
        return Err(failed
            .into_iter()
            .find_map(Result::err)
            .unwrap_or_else(|| Error::Write {
                path: out.display().to_string(),
                message: "internal error: a file failed without an error".into(),
            }));
    }
    let mut written: Vec<Option<Staged>> = written.into_iter().flatten().collect();
    staged.sort_by(|a, b| a.rel().cmp(b.rel()));
    let mut staged = staged.iter_mut().peekable();
    for ((rel, _), file) in entries.iter().zip(&mut written) {
        while let Some(earlier) = staged.next_if(|s| s.rel() < rel.as_str()) {
            report.written += usize::from(earlier.commit()?);
        }
        if let Some(file) = file {
            report.written += usize::from(file.commit()?);
        }
    }
    for file in staged {
        report.written += usize::from(file.commit()?);
    }
    for rel in stale {
        let path = out.join(&rel);
        std::fs::remove_file(&path).map_err(|e| Error::Write {
            path: path.display().to_string(),
            message: format!("cannot delete this file the previous run generated: {e}"),
        })?;
        // Directories the deletion emptied go too (never `out` itself).
        let mut dir = path.parent();
        while let Some(d) = dir {
            if d == out || !d.starts_with(out) || std::fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
        report.removed.push(rel);
    }
    Ok(report)
}

/// `contents` written into a temporary file beside `rel`'s destination under `out`, unless
/// the destination holds them already or is a user-owned file that exists (`None`).
fn write_aside(out: &Path, rel: &str, contents: &[u8]) -> Result<Option<Staged>> {
    let path = out.join(rel);
    if is_user_owned(rel) && std::fs::symlink_metadata(&path).is_ok() {
        return Ok(None);
    }
    if same_contents(&path, contents) {
        return Ok(None);
    }
    Staged::differing(out, rel, contents).map(Some)
}

/// Whether the file at `path` holds exactly `contents` ([`crate::staged::same_contents`]).
fn same_contents(path: &Path, contents: &[u8]) -> bool {
    crate::staged::same_contents(path, contents.len() as u64, contents)
}

/// Warnings for existing user-owned files that lack an item the generated code calls in them.
fn user_file_warnings(out: &Path, files: &FileMap) -> Vec<String> {
    let mut warnings = Vec::new();
    for rel in files.keys().filter(|r| is_user_owned(r)) {
        let Ok(text) = std::fs::read_to_string(out.join(rel)) else {
            continue;
        };
        let missing = missing_items(rel, &text);
        if !missing.is_empty() {
            warnings.push(format!(
                "{}: your file has no `{}`, which this version of the generated code calls: add it (the default is in the mcpgen README), or delete the file to get the default back",
                out.join(rel).display(),
                missing.join("`, `")
            ));
        }
    }
    warnings
}

/// A manifest entry that may name a file to delete: relative, `/`-separated, only normal
/// components (no `..`, `.`, empty, absolute or drive-prefixed parts).
fn safe_relative(rel: &str) -> Option<PathBuf> {
    if rel.is_empty() || rel.contains('\\') || rel.contains(':') || rel.starts_with('/') {
        return None;
    }
    let path = PathBuf::from(rel);
    let normal = path.components().all(|c| matches!(c, Component::Normal(_)))
        && rel
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..");
    normal.then_some(path)
}

/// The files of the manifest in `out` that are no longer `generated` and that may be deleted,
/// and warnings for those that may not.
fn stale_files(out: &Path, generated: &dyn Fn(&str) -> bool) -> (Vec<String>, Vec<String>) {
    let mut stale = Vec::new();
    let mut refused = Vec::new();
    let manifest = out.join(MANIFEST);
    let is_file = std::fs::symlink_metadata(&manifest).is_ok_and(|m| m.file_type().is_file());
    let Some(text) = is_file
        .then(|| std::fs::read_to_string(&manifest).ok())
        .flatten()
    else {
        return (stale, refused);
    };
    for line in text.lines() {
        let rel = line.trim_end_matches('\r');
        if rel.trim().is_empty() || rel.starts_with('#') {
            continue;
        }
        if generated(rel) || is_user_owned(rel) || rel == MANIFEST {
            continue;
        }
        let Some(relative) = safe_relative(rel) else {
            refused.push(format!(
                "{}: `{rel}` is not a plain relative path inside the crate; not deleted",
                manifest.display()
            ));
            continue;
        };
        let path = out.join(&relative);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue; // already gone
        };
        // Every directory on the way must be a real directory, not a link leading elsewhere.
        let mut through_link = false;
        let mut dir = out.to_path_buf();
        let parts: Vec<Component> = relative.components().collect();
        for part in &parts[..parts.len().saturating_sub(1)] {
            dir.push(part);
            if !std::fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_dir()) {
                through_link = true;
                break;
            }
        }
        if through_link {
            refused.push(format!(
                "{}: `{rel}` lies behind a symbolic link; not deleted",
                out.display()
            ));
        } else if !meta.file_type().is_file() {
            refused.push(format!(
                "{}: `{rel}` is no longer generated but is not a regular file; not deleted",
                out.display()
            ));
        } else {
            stale.push(rel.to_string());
        }
    }
    stale.sort();
    stale.dedup();
    (stale, refused)
}

/// One difference between the map and the disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// Differs; `header_only` when only the `@generated` line does (another mcpgen version wrote
    /// it; the inputs' fingerprint is not in any header but the manifest's, on a line of its own).
    Changed {
        path: String,
        diff: String,
        header_only: bool,
    },
    Added {
        path: String,
    },
    /// Generated by the previous run (in its manifest), no longer generated: would be deleted.
    Removed {
        path: String,
    },
}

impl Drift {
    pub fn path(&self) -> &str {
        match self {
            Drift::Changed { path, .. } | Drift::Added { path } | Drift::Removed { path } => path,
        }
    }
}

/// What `--check` found.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Sorted by path.
    pub drift: Vec<Drift>,
    pub warnings: Vec<String>,
}

/// Compares `files` with what is under `out`; user-owned files are not compared. Reads only.
pub fn check(out: &Path, files: &FileMap) -> CheckReport {
    let mut drift = Vec::new();
    for (rel, contents) in files {
        if is_user_owned(rel) {
            continue;
        }
        let path = out.join(rel);
        if same_contents(&path, contents.as_bytes()) {
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(old) if old == *contents => {}
            Ok(old) => drift.push(Drift::Changed {
                path: rel.clone(),
                header_only: without_header(&old) == without_header(contents),
                diff: short_diff(rel, &old, contents),
            }),
            Err(_) => drift.push(Drift::Added { path: rel.clone() }),
        }
    }
    let (stale, mut warnings) = stale_files(out, &|rel| files.contains_key(rel));
    drift.extend(stale.into_iter().map(|path| Drift::Removed { path }));
    drift.sort_by(|a, b| a.path().cmp(b.path()));
    warnings.extend(user_file_warnings(out, files));
    CheckReport { drift, warnings }
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
    fn contents_are_compared_block_by_block() {
        let dir = scratch("same");
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let path = dir.join("big.json");
        // Longer than a block, so the comparison goes on past the first one.
        let text: Vec<u8> = (0..200_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        std::fs::write(&path, &text).expect("written");
        assert!(same_contents(&path, &text));
        let mut other = text.clone();
        if let Some(b) = other.last_mut() {
            *b = b'!';
        }
        assert!(!same_contents(&path, &other), "the last byte differs");
        assert!(!same_contents(&path, &text[..text.len() - 1]), "shorter");
        assert!(!same_contents(&dir.join("missing"), b""), "no file");
        assert!(!same_contents(&dir, b""), "a directory");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn user_owned_files_are_written_once_and_never_checked() {
        let dir = scratch("owned");
        let mut files = FileMap::new();
        files.insert("src/hooks.rs".into(), "default\n".into());
        files.insert("src/main.rs".into(), "fn main() {}\n".into());
        assert_eq!(write(&dir, &files).unwrap().written, 2);
        assert_eq!(
            std::fs::read_to_string(dir.join("src/hooks.rs")).unwrap(),
            "default\n"
        );
        std::fs::write(dir.join("src/hooks.rs"), "mine\n").unwrap();
        assert!(
            check(&dir, &files).drift.is_empty(),
            "--check ignores hooks.rs"
        );
        assert_eq!(write(&dir, &files).unwrap().written, 0);
        assert_eq!(
            std::fs::read_to_string(dir.join("src/hooks.rs")).unwrap(),
            "mine\n"
        );
        std::fs::remove_file(dir.join("src/hooks.rs")).unwrap();
        assert!(check(&dir, &files).drift.is_empty());
        assert_eq!(
            write(&dir, &files).unwrap().written,
            1,
            "a missing one is written again"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn manifest_of(files: &FileMap) -> String {
        files.keys().map(|k| format!("{k}\n")).collect()
    }

    #[test]
    fn stale_files_are_removed_and_nothing_else() {
        let dir = scratch("stale");
        let outside = scratch("stale-outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("victim.txt"), "not yours").unwrap();
        let mut v1 = FileMap::new();
        v1.insert("src/main.rs".into(), "fn main() {}\n".into());
        v1.insert("src/gone.rs".into(), "// old\n".into());
        v1.insert("extra/deep/gone.json".into(), "{}\n".into());
        let m = manifest_of(&v1);
        v1.insert(MANIFEST.into(), m);
        v1.insert("src/hooks.rs".into(), "default\n".into());
        write(&dir, &v1).unwrap();
        std::fs::write(dir.join("mine.txt"), "user file").unwrap();
        std::fs::write(dir.join("src/mine.rs"), "user module").unwrap();

        // An edited manifest: escapes, absolute paths, a link, a user-owned file, a directory.
        #[cfg(unix)]
        std::os::unix::fs::symlink(&outside, dir.join("link")).unwrap();
        std::fs::create_dir_all(dir.join("adir")).unwrap();
        let mut tampered = std::fs::read_to_string(dir.join(MANIFEST)).unwrap();
        for line in [
            "../stale-outside/victim.txt",
            "src/../../stale-outside/victim.txt",
            "/etc/hostname",
            "link/victim.txt",
            "src/hooks.rs",
            "adir",
            "./mine.txt",
            "src\\mine.rs",
        ] {
            tampered.push_str(line);
            tampered.push('\n');
        }
        std::fs::write(dir.join(MANIFEST), tampered).unwrap();

        let mut v2 = FileMap::new();
        v2.insert("src/main.rs".into(), "fn main() {}\n".into());
        let m = manifest_of(&v2);
        v2.insert(MANIFEST.into(), m);
        v2.insert("src/hooks.rs".into(), "default\n".into());

        let report = check(&dir, &v2);
        let removed: Vec<&str> = report
            .drift
            .iter()
            .filter(|d| matches!(d, Drift::Removed { .. }))
            .map(Drift::path)
            .collect();
        assert_eq!(removed, ["extra/deep/gone.json", "src/gone.rs"]);
        assert!(dir.join("src/gone.rs").exists(), "--check deletes nothing");

        let report = write(&dir, &v2).unwrap();
        assert_eq!(report.removed, ["extra/deep/gone.json", "src/gone.rs"]);
        assert!(!dir.join("src/gone.rs").exists());
        assert!(!dir.join("extra").exists(), "emptied directories go too");
        assert!(dir.join("src").is_dir());
        assert!(outside.join("victim.txt").exists());
        assert!(dir.join("mine.txt").exists());
        assert!(dir.join("src/mine.rs").exists());
        assert!(dir.join("src/hooks.rs").exists());
        assert!(dir.join("adir").is_dir());
        let warnings = report.warnings.join("\n");
        assert!(
            warnings.contains("`../stale-outside/victim.txt` is not a plain relative path"),
            "{warnings}"
        );
        assert!(
            warnings.contains("`/etc/hostname` is not a plain relative path"),
            "{warnings}"
        );
        #[cfg(unix)]
        assert!(
            warnings.contains("`link/victim.txt` lies behind a symbolic link"),
            "{warnings}"
        );
        assert!(
            warnings.contains("`adir` is no longer generated but is not a regular file"),
            "{warnings}"
        );
        assert!(check(&dir, &v2).drift.is_empty());
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&outside);
    }

    /// Every file under `dir`, relative, sorted (temporary ones included).
    fn listing(dir: &Path) -> Vec<String> {
        fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(base, &path, out);
                } else if let Ok(rel) = path.strip_prefix(base) {
                    out.push(rel.display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        walk(dir, dir, &mut out);
        out.sort();
        out
    }

    /// A crate whose `src/tools.json` is staged in `dir` with `tools`, beside two files in
    /// memory (one before it in path order, one after) and a manifest listing all.
    fn staged_crate(dir: &Path, tools: &str) -> Rendered {
        use std::io::Write;
        let (staged, mut file) = Staged::create(dir, "src/tools.json").expect("staged");
        file.write_all(tools.as_bytes()).expect("written");
        let mut files = FileMap::new();
        files.insert("Cargo.toml".into(), "[package]\n".into());
        files.insert("src/types.rs".into(), "// types\n".into());
        let manifest = format!("{}src/tools.json\n", manifest_of(&files));
        files.insert(MANIFEST.into(), manifest);
        Rendered {
            files,
            staged: vec![staged],
        }
    }

    /// A staged file is renamed into place when it differs, deleted when it does not (the file
    /// there keeps its mtime), and never taken for a stale file of the manifest.
    #[test]
    fn staged_files_are_put_in_place_only_when_changed() {
        let dir = scratch("staged");
        let mut rendered = staged_crate(&dir, "{\"tools\": []}\n");
        let report = write_rendered(&dir, &mut rendered).expect("written");
        assert_eq!(report.written, 4);
        assert!(report.removed.is_empty());
        let tools = dir.join("src/tools.json");
        assert_eq!(
            std::fs::read_to_string(&tools).expect("tools.json"),
            "{\"tools\": []}\n"
        );
        let mtime = || {
            std::fs::metadata(&tools)
                .and_then(|m| m.modified())
                .expect("mtime")
        };
        let before = mtime();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut rendered = staged_crate(&dir, "{\"tools\": []}\n");
        let report = write_rendered(&dir, &mut rendered).expect("written");
        assert_eq!(report.written, 0, "nothing changed");
        assert!(report.removed.is_empty(), "{:?}", report.removed);
        assert_eq!(mtime(), before, "an unchanged tools.json is left alone");
        // The same length, another byte: compared, not only measured.
        let mut rendered = staged_crate(&dir, "{\"tools\": [1]}\n");
        assert_eq!(
            write_rendered(&dir, &mut rendered)
                .expect("written")
                .written,
            1
        );
        let mut rendered = staged_crate(&dir, "{\"tools\": [2]}\n");
        assert_eq!(
            write_rendered(&dir, &mut rendered)
                .expect("written")
                .written,
            1
        );
        assert_eq!(
            std::fs::read_to_string(&tools).expect("tools.json"),
            "{\"tools\": [2]}\n"
        );
        assert_eq!(
            listing(&dir),
            [
                ".mcpgen-manifest",
                "Cargo.toml",
                "src/tools.json",
                "src/types.rs"
            ],
            "no temporary file is left"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A file that cannot be written (before the staged one in path order, or after it) fails
    /// the write naming it, and the staged file's temporary file goes with the crate.
    #[test]
    fn a_write_error_leaves_no_temporary_file() {
        let dir = scratch("staged-error");
        let mut rendered = staged_crate(&dir, "old\n");
        write_rendered(&dir, &mut rendered).expect("written");
        let before = listing(&dir);
        for blocked in ["Cargo.toml", "src/types.rs"] {
            // A directory with something in it cannot be renamed over.
            let path = dir.join(blocked);
            std::fs::remove_file(&path).expect("removed");
            std::fs::create_dir_all(path.join("inside")).expect("a directory");
            let mut rendered = staged_crate(&dir, "new\n");
            let error = write_rendered(&dir, &mut rendered).expect_err("cannot write");
            drop(rendered);
            assert!(
                error.to_string().contains(&path.display().to_string()),
                "{error}"
            );
            let tools = std::fs::read_to_string(dir.join("src/tools.json")).expect("tools.json");
            // Before the block, tools.json is not reached yet; after it, it is in place.
            let expected = if blocked == "Cargo.toml" {
                "old\n"
            } else {
                "new\n"
            };
            assert_eq!(tools, expected, "{blocked}");
            let left: Vec<String> = listing(&dir)
                .into_iter()
                .filter(|f| f.contains(".tmp"))
                .collect();
            assert!(left.is_empty(), "{blocked}: {left:?}");
            std::fs::remove_dir_all(&path).expect("removed");
            std::fs::write(&path, "").expect("written");
        }
        assert_eq!(listing(&dir), before);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A file whose temporary file cannot be made (its directory is a file) fails the write
    /// before anything is put in place: every file keeps its old contents, the staged one
    /// included, and no temporary file is left.
    #[test]
    fn a_file_that_cannot_be_written_changes_nothing() {
        let dir = scratch("write-nothing");
        let mut files = FileMap::new();
        for i in 0..6 {
            files.insert(format!("a{i}.txt"), "old\n".into());
        }
        files.insert("z/inner.txt".into(), "old\n".into());
        write(&dir, &files).expect("written");
        // `z` becomes a file: nothing can be made inside it.
        std::fs::remove_dir_all(dir.join("z")).expect("removed");
        std::fs::write(dir.join("z"), "a file").expect("written");
        let before = listing(&dir);
        let new: FileMap = files
            .keys()
            .map(|rel| (rel.clone(), "new\n".to_string()))
            .collect();
        let error = write(&dir, &new).expect_err("cannot write");
        assert!(error.to_string().contains("inner.txt"), "{error}");
        assert_eq!(listing(&dir), before, "no temporary file is left");
        for i in 0..6 {
            let text = std::fs::read_to_string(dir.join(format!("a{i}.txt"))).expect("read");
            assert_eq!(text, "old\n", "a{i}.txt is not replaced");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Into a directory that does not exist yet, a file that cannot be written (its name is
    /// too long) leaves nothing behind: no temporary file, no directory made for the others.
    #[test]
    fn a_failed_first_write_leaves_no_directory() {
        let dir = scratch("write-fresh");
        let _ = std::fs::remove_dir_all(&dir);
        let mut files = FileMap::new();
        for i in 0..8 {
            files.insert(format!("deep/er/f{i}.txt"), "x\n".into());
            files.insert(format!("other/g{i}.txt"), "x\n".into());
        }
        files.insert(format!("deep/{}", "n".repeat(300)), "x\n".into());
        write(&dir, &files).expect_err("a name too long");
        assert!(!dir.exists(), "{:?}", listing(&dir));
    }

    /// A staged file dropped uncommitted takes its temporary file and the directories made
    /// for it with it, and nothing else.
    #[test]
    fn an_uncommitted_staged_file_leaves_nothing() {
        let dir = scratch("staged-dropped");
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let (staged, file) = Staged::create(&dir.join("crate"), "src/tools.json").expect("staged");
        drop(file);
        assert_eq!(listing(&dir).len(), 1, "the temporary file");
        drop(staged);
        assert!(dir.is_dir() && listing(&dir).is_empty());
        assert!(!dir.join("crate").exists(), "the directories made go too");
        std::fs::create_dir_all(dir.join("crate/src")).expect("a directory");
        std::fs::write(dir.join("crate/src/tools.json"), "mine").expect("written");
        let (staged, file) = Staged::create(&dir.join("crate"), "src/tools.json").expect("staged");
        drop((file, staged));
        assert_eq!(listing(&dir), ["crate/src/tools.json"]);
        // An output path that is a file is refused, naming it.
        let error = Staged::create(&dir.join("crate/src/tools.json"), "src/tools.json")
            .expect_err("not a directory");
        assert!(
            error.to_string().contains("crate/src/tools.json"),
            "{error}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
