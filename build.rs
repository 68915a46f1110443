//! Strips the runtime crate's sources once, when mcpgen is built: every generated crate carries
//! them without their `#[cfg(test)]` items, pretty-printed (src/runtime_strip.rs), and parsing
//! and printing them on every run was 8% of the work of generating GitHub's crate. Writes
//! `$OUT_DIR/stripped.rs`, the table `src/runtime_source.rs` includes: (path in the runtime crate,
//! `include_str!` of the source, `include_str!` of the stripped source). A file that does not
//! parse is left out: generating reports it as before.

#[path = "src/runtime_strip.rs"]
mod runtime_strip;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    let runtime = manifest.join("runtime");
    println!("cargo:rerun-if-changed=src/runtime_strip.rs");
    let mut table = String::from("&[\n");
    for dir in ["src", "tests"] {
        println!("cargo:rerun-if-changed=runtime/{dir}");
        let mut files: Vec<PathBuf> = std::fs::read_dir(runtime.join(dir))
            .expect("the runtime crate's sources")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "rs"))
            .collect();
        files.sort();
        for file in files {
            let source = std::fs::read_to_string(&file).expect("a runtime source");
            let Ok(stripped) = runtime_strip::strip(&source) else {
                continue;
            };
            let name = file.file_name().expect("a file").to_string_lossy();
            let rel = format!("{dir}/{name}");
            let target = out.join("stripped").join(&rel);
            std::fs::create_dir_all(target.parent().expect("a directory")).expect("OUT_DIR");
            std::fs::write(&target, stripped).expect("OUT_DIR");
            let _ = writeln!(
                table,
                "    ({rel:?}, include_str!({:?}), include_str!({:?})),",
                path(&file),
                path(&target)
            );
        }
    }
    table.push(']');
    std::fs::write(out.join("stripped.rs"), table).expect("OUT_DIR");
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}
