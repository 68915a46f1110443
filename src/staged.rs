//! A generated file streamed to disk while the crate renders instead of held in memory:
//! `src/tools.json` is as large as all the tools' schemas together (403 MB for 25,000
//! Graph-shaped operations), and as one buffer it was the render stage's peak and then a copy
//! into the kernel at the write stage. Staged, it is written into a temporary file beside its
//! destination in the output directory; the write stage ([`crate::write`]) renames it over the
//! destination when the contents differ and deletes it when they are the same (the existing
//! file and its mtime stay). Until then the destination is untouched. A staged file dropped
//! before that (a render error, another file that could not be written, a panic) removes its
//! temporary file, and the directories its creation made if they are left empty.
//!
//! Both rendering (which creates it) and writing (which commits it) read this module, which
//! imports neither.

use crate::error::{Error, Result};
use crate::ownership::FileMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The crate rendered for writing into one directory: the files held in memory, and those
/// already streamed to temporary files there. [`crate::write::write_rendered`] puts both in
/// place; dropped before that, the temporary files go.
#[derive(Debug, Default)]
pub struct Rendered {
    /// Relative path → contents, as [`crate::generate`] gives them, but for the staged files.
    pub files: FileMap,
    pub(crate) staged: Vec<Staged>,
}

impl Rendered {
    /// How many files the crate has, in memory and staged.
    pub fn len(&self) -> usize {
        self.files.len() + self.staged.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One file streamed to a temporary file beside its destination, not yet in place.
#[derive(Debug)]
pub struct Staged {
    /// The path in the crate, with `/`.
    rel: String,
    /// Where it goes.
    path: PathBuf,
    /// The temporary file beside `path`, until it is renamed or deleted.
    tmp: Option<PathBuf>,
    /// The directories made for it that did not exist before, deepest first.
    made: Vec<PathBuf>,
    /// Known to differ from the destination ([`Staged::differing`]): put in place without
    /// comparing.
    differs: bool,
}

impl Staged {
    /// Creates the temporary file for `rel` under `out` (and the directories on the way, as
    /// the write stage would), for the caller to write the contents into.
    pub(crate) fn create(out: &Path, rel: &str) -> Result<(Staged, std::fs::File)> {
        if out.exists() && !out.is_dir() {
            return Err(Error::Write {
                path: out.display().to_string(),
                message: "exists and is not a directory".into(),
            });
        }
        let path = out.join(rel);
        let io = |e: std::io::Error| Error::Write {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let dir = path.parent().unwrap_or(out).to_path_buf();
        let made: Vec<PathBuf> = dir
            .ancestors()
            .take_while(|d| !d.as_os_str().is_empty() && std::fs::symlink_metadata(d).is_err())
            .map(Path::to_path_buf)
            .collect();
        let mut staged = Staged {
            rel: rel.to_string(),
            path: path.clone(),
            tmp: None,
            made,
            differs: false,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let tmp = dir.join(temporary_name(&path));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(io)?;
        staged.tmp = Some(tmp);
        Ok((staged, file))
    }

    /// `contents`, which differ from what the destination holds (or there is none), written
    /// into the temporary file for `rel` under `out`.
    pub(crate) fn differing(out: &Path, rel: &str, contents: &[u8]) -> Result<Staged> {
        use std::io::Write;
        let (mut staged, mut file) = Staged::create(out, rel)?;
        file.write_all(contents).map_err(|e| Error::Write {
            path: staged.path.display().to_string(),
            message: e.to_string(),
        })?;
        staged.differs = true;
        Ok(staged)
    }

    /// The path in the crate.
    pub(crate) fn rel(&self) -> &str {
        &self.rel
    }

    /// The destination.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Puts the file in place: renamed over the destination when the contents differ (or there
    /// is none), deleted when the destination already holds them. Whether it was written.
    pub(crate) fn commit(&mut self) -> Result<bool> {
        let io = |e: std::io::Error| Error::Write {
            path: self.path.display().to_string(),
            message: e.to_string(),
        };
        let Some(tmp) = self.tmp.as_deref() else {
            return Ok(false);
        };
        let same = !self.differs
            && std::fs::File::open(tmp)
                .and_then(|f| Ok((f.metadata()?.len(), f)))
                .map(|(len, f)| same_contents(&self.path, len, std::io::BufReader::new(f)))
                .map_err(io)?;
        if same {
            std::fs::remove_file(tmp).map_err(io)?;
        } else {
            std::fs::rename(tmp, &self.path).map_err(io)?;
        }
        self.tmp = None;
        self.made.clear();
        Ok(!same)
    }
}

/// Drops staged files made together (by several threads, in any order): their temporary files
/// go, then every directory made for them that is left empty, deepest first. Dropped one by one,
/// a file that made a directory could go while another's temporary file was still in it.
pub(crate) fn discard(files: impl IntoIterator<Item = Staged>) {
    let mut made = Vec::new();
    for mut file in files {
        made.append(&mut file.made);
    }
    made.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for dir in made {
        let _ = std::fs::remove_dir(dir);
    }
}

impl Drop for Staged {
    /// Not committed: the temporary file goes, and the directories made for it if empty.
    fn drop(&mut self) {
        if let Some(tmp) = self.tmp.take() {
            let _ = std::fs::remove_file(tmp);
        }
        for dir in &self.made {
            if std::fs::remove_dir(dir).is_err() {
                break;
            }
        }
    }
}

/// The files every crate has written into their temporary files under an output directory
/// before the crate is rendered (`render::prestage`), by a thread of its own while
/// the spec is read and lowered: creating files is the write stage's cost (after an `rm -rf` of
/// the crate, ext4 searched past the inodes just freed for each new one, 7-30 ms for the 53
/// files of GitHub's crate, the last thing a run did), and two thirds of the files are these.
/// [`Rendered::adopt`] takes those the render made the same; dropped, the temporary files go,
/// and the directories made for them ([`discard`]).
#[derive(Debug, Default)]
pub struct Prestaged {
    files: Vec<(Staged, String)>,
}

impl Drop for Prestaged {
    fn drop(&mut self) {
        discard(
            std::mem::take(&mut self.files)
                .into_iter()
                .map(|(file, _)| file),
        );
    }
}

impl Prestaged {
    /// A file staged ahead, with what it holds.
    pub(crate) fn push(&mut self, staged: Staged, contents: String) {
        self.files.push((staged, contents));
    }

    /// How many files are staged.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

impl Rendered {
    /// Takes the files staged ahead that the render made the same (all of them: the contents
    /// do not depend on the API), in place of its own copies; any other goes.
    pub fn adopt(&mut self, mut pre: Prestaged) {
        for (staged, contents) in std::mem::take(&mut pre.files) {
            if self.files.get(staged.rel()) == Some(&contents)
                && !self.staged.iter().any(|s| s.rel() == staged.rel())
            {
                self.files.remove(staged.rel());
                self.staged.push(staged);
            }
        }
    }
}

/// The name of the temporary file `path` is written into, beside it: hidden, and unique in
/// this process (two crates may render at once in one process, as tests do).
fn temporary_name(path: &Path) -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(".{file_name}.mcpgen-{}-{n}.tmp", std::process::id())
}

/// Whether the file at `path` holds exactly the `len` bytes `other` reads: its length first,
/// then its bytes block by block, so that a large file is never held whole (a regenerated
/// `tools.json` is 161 MB for 10,000 Graph-shaped operations). Unreadable counts as different.
pub(crate) fn same_contents(path: &Path, len: u64, mut other: impl Read) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if !meta.is_file() || meta.len() != len {
        return false;
    }
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let mut block = vec![0u8; 1 << 16];
    let mut other_block = vec![0u8; 1 << 16];
    let mut at = 0u64;
    loop {
        match file.read(&mut block) {
            Ok(0) => return at == len && matches!(other.read(&mut other_block), Ok(0)),
            Ok(n) => {
                let (Some(mine), Some(theirs)) = (block.get(..n), other_block.get_mut(..n)) else {
                    return false;
                };
                if other.read_exact(theirs).is_err() || mine != theirs {
                    return false;
                }
                at += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}
