//! The generated Rust is what prettyplease prints: `src/tools.rs` (its per-tool code emitted
//! already formatted by `src/render/rust_emit.rs`, without `syn`) and `src/types.rs`, for every
//! fixture, parsed with `syn` and printed with `prettyplease` again, come out byte for byte the
//! same. So emitting the code directly changes nothing a user sees, and the files keep the
//! layout rustfmt-style formatting gives.

mod common;

#[test]
fn generated_rust_is_a_prettyplease_fixpoint() {
    for (case, spec) in common::fixtures() {
        let auth = std::path::Path::new(&spec).with_file_name("auth.yaml");
        let opts = mcpgen::Options {
            auth: common::repo()
                .join(&auth)
                .exists()
                .then(|| auth.to_string_lossy().into_owned()),
            ..mcpgen::Options::default()
        };
        let (_, files) = mcpgen::generate(&spec, &opts).unwrap_or_else(|e| panic!("{case}: {e}"));
        for file in ["src/tools.rs", "src/types.rs"] {
            let Some(text) = files.get(file) else {
                continue;
            };
            // The `@generated` comment line and the blank line after it: comments are not
            // part of the syntax tree prettyplease prints.
            let (header, body) = text
                .split_once("\n\n")
                .unwrap_or_else(|| panic!("{case}: {file} has no header"));
            assert!(header.contains("@generated"), "{case}: {file}");
            let parsed = syn::parse_file(body).unwrap_or_else(|e| panic!("{case}: {file}: {e}"));
            let printed = prettyplease::unparse(&parsed);
            if printed != body {
                let line = printed
                    .lines()
                    .zip(body.lines())
                    .position(|(a, b)| a != b)
                    .map_or(0, |i| i + 1);
                panic!("{case}: {file} is not what prettyplease prints (from line {line})");
            }
        }
    }
}
