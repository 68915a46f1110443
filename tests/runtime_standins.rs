//! The runtime crate (`runtime/`) builds and runs its tests with stand-ins for the spec-dependent
//! modules of a generated crate. They are mcpgen's own output for `runtime/standin/openapi.yaml`
//! (with `auth.yaml`, mode `oauth`; `auth_config_bearer.rs` with `auth-bearer.yaml`), so they
//! cannot drift from what the generator produces: this test fails when they do.
//!
//! The `.rs` stand-ins carry one line more than the generated files, first, which tells rustfmt to
//! leave them as mcpgen formatted them. To rewrite the stand-ins after a deliberate change of the
//! generator: `MCPGEN_UPDATE_STANDINS=1 cargo test --test runtime_standins`.

mod common;

/// The line that heads every `.rs` stand-in.
const RUSTFMT_SKIP: &str = "#![cfg_attr(rustfmt, rustfmt::skip)]\n";

fn generate(auth: &str) -> mcpgen::FileMap {
    let spec = common::repo().join("runtime/standin/openapi.yaml");
    let opts = mcpgen::Options {
        auth: Some(
            common::repo()
                .join("runtime/standin")
                .join(auth)
                .to_string_lossy()
                .into_owned(),
        ),
        ..Default::default()
    };
    let (_, files) = mcpgen::generate(spec.to_str().expect("UTF-8 path"), &opts)
        .unwrap_or_else(|e| panic!("the stand-in API with {auth}: {e}"));
    files
}

#[test]
fn runtime_standins_are_generated() {
    let oauth = generate("auth.yaml");
    let bearer = generate("auth-bearer.yaml");
    let rust = |text: &String| format!("{RUSTFMT_SKIP}{text}");
    let expected = [
        ("runtime/src/tools.rs", rust(&oauth["src/tools.rs"])),
        ("runtime/src/types.rs", rust(&oauth["src/types.rs"])),
        (
            "runtime/src/auth_config.rs",
            rust(&oauth["src/auth_config.rs"]),
        ),
        (
            "runtime/src/auth_config_bearer.rs",
            rust(&bearer["src/auth_config.rs"]),
        ),
        (
            "runtime/src/search_index.rs",
            rust(&oauth["src/search_index.rs"]),
        ),
        ("runtime/src/tools.json", oauth["src/tools.json"].clone()),
        (
            "runtime/tests/tools_expected.json",
            oauth["tests/tools_expected.json"].clone(),
        ),
    ];
    let update = std::env::var_os("MCPGEN_UPDATE_STANDINS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for (path, text) in expected {
        let file = common::repo().join(path);
        if std::fs::read_to_string(&file).ok().as_deref() == Some(text.as_str()) {
            continue;
        }
        if update {
            std::fs::write(&file, text).unwrap_or_else(|e| panic!("writing {path}: {e}"));
        } else {
            stale.push(path);
        }
    }
    assert!(
        stale.is_empty(),
        "stand-ins differ from what mcpgen generates: {stale:?}; if the generator changed on \
         purpose, rewrite them: MCPGEN_UPDATE_STANDINS=1 cargo test --test runtime_standins"
    );
}
