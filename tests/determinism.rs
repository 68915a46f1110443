//! Same input, same bytes: generating twice, and from a copy of the spec with every mapping's
//! keys in reverse order, must give identical files.

mod common;

fn reverse_keys(v: serde_yaml::Value) -> serde_yaml::Value {
    match v {
        serde_yaml::Value::Mapping(m) => {
            let mut entries: Vec<_> = m.into_iter().collect();
            entries.reverse();
            let mut out = serde_yaml::Mapping::new();
            for (k, v) in entries {
                out.insert(k, reverse_keys(v));
            }
            serde_yaml::Value::Mapping(out)
        }
        serde_yaml::Value::Sequence(s) => {
            serde_yaml::Value::Sequence(s.into_iter().map(reverse_keys).collect())
        }
        other => other,
    }
}

#[test]
fn generation_is_deterministic() {
    for (case, spec) in common::fixtures() {
        let path = common::repo().join(&spec);
        let gen_from = |p: &std::path::Path| {
            mcpgen::generate(p.to_str().unwrap(), &mcpgen::Options::default())
                .unwrap_or_else(|e| panic!("{case}: {e}"))
                .1
        };
        let first = gen_from(&path);
        let second = gen_from(&path);
        assert_eq!(first, second, "{case}: two runs differ");

        // The reordered copy sits beside the original so relative `$ref`s still resolve.
        let text = std::fs::read_to_string(&path).unwrap();
        let value: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let reordered = serde_yaml::to_string(&reverse_keys(value)).unwrap();
        assert_ne!(reordered, text);
        let copy = path.with_file_name(format!(".reordered-{}.yaml", std::process::id()));
        std::fs::write(&copy, reordered).unwrap();
        let third = gen_from(&copy);
        let _ = std::fs::remove_file(&copy);
        for (file, contents) in &first {
            assert_eq!(
                Some(contents),
                third.get(file),
                "{case}: {file} differs after key reordering"
            );
        }
        assert_eq!(first.len(), third.len());
    }
}
