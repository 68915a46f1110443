//! A large API with Stripe's shape (bench/stripe-shape/spec.rs: hundreds of schemas, expandable
//! `anyOf [id, object]` fields, every response reaching most of the graph) generates within the
//! bounds of the output schemas: the whole `tools.json` at most 10 MB, no tool's `outputSchema`
//! over 32 KB as compact JSON. Generation only, in memory. Time and memory are measured by
//! `bench/stripe-shape/run.sh`, which also takes the document from here: with
//! `STRIPE_SHAPE_SPEC=<path>` this test writes it there.

#[path = "../bench/stripe-shape/spec.rs"]
mod stripe_shape;

use mcpgen::Options;
use serde_json::Value;

#[test]
fn stripe_shape_generates_within_bounds() {
    let spec = stripe_shape::spec();
    let text = serde_json::to_string_pretty(&spec).unwrap();
    if let Ok(path) = std::env::var("STRIPE_SHAPE_SPEC") {
        std::fs::write(&path, &text).unwrap();
    }
    let components = spec["components"]["schemas"].as_object().unwrap().len();
    assert!(
        (400..=600).contains(&components),
        "{components} component schemas"
    );
    let (api, files) =
        mcpgen::generate_text("stripe-shape.json", &text, &Options::default()).unwrap();
    assert!(
        (400..=500).contains(&api.tools.len()),
        "{} tools",
        api.tools.len()
    );

    let tools_json = &files["src/tools.json"];
    assert!(
        tools_json.len() <= 10_000_000,
        "tools.json is {} bytes",
        tools_json.len()
    );
    let doc: Value = serde_json::from_str(tools_json).unwrap();
    let mut largest = 0;
    for (tool, t) in doc["tools"].as_array().unwrap().iter().zip(&api.tools) {
        let Some(output) = tool.get("outputSchema") else {
            continue;
        };
        let bytes = serde_json::to_vec(output).unwrap().len();
        if let Some(cut) = &t.output_cut {
            assert_eq!(
                cut.bytes_after, bytes,
                "{}: bytes after as reported",
                t.name
            );
        }
        assert!(
            bytes <= 32_000,
            "{}: outputSchema is {bytes} bytes",
            tool["name"]
        );
        largest = largest.max(bytes);
    }

    // The document does reproduce the problem: unbounded, its responses reach most of the graph.
    let cut: Vec<_> = api
        .tools
        .iter()
        .filter_map(|t| t.output_cut.as_ref())
        .collect();
    assert!(cut.len() > api.tools.len() / 2, "{} tools cut", cut.len());
    let before: usize = cut.iter().map(|c| c.bytes_before).sum();
    assert!(before > 100_000_000, "unbounded: {before} bytes");
    let widest = cut.iter().map(|c| c.bytes_before).max().unwrap_or(0);
    assert!(
        widest > 500_000,
        "largest unbounded output schema: {widest} bytes"
    );
    for c in &cut {
        assert!(c.bytes_after <= 8 * 1024 && c.bytes_after <= c.bytes_before);
        assert!(c.subschemas > 0 || c.annotations_dropped > 0);
    }
    // inspect says what was cut, per tool; generate's one warning says how much in all.
    let text = mcpgen::inspect::text(&api);
    assert_eq!(
        text.matches("  output schema bounded: ").count(),
        cut.len(),
        "one line per cut tool"
    );
    assert!(text.contains("    cut: $defs."));
    let summary: Vec<_> = api
        .warnings
        .iter()
        .filter(|w| w.message.contains("exceed the bound"))
        .collect();
    assert_eq!(summary.len(), 1, "{:?}", api.warnings);
    assert!(
        summary[0]
            .message
            .starts_with(&format!("the output schemas of {} tools", cut.len())),
        "{}",
        summary[0]
    );
    eprintln!(
        "stripe-shape: {} tools, tools.json {} bytes, largest outputSchema {largest} bytes, unbounded {before} bytes",
        api.tools.len(),
        tools_json.len()
    );
}
