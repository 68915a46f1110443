//! Search quality and latency of the generated servers' `search_tools`, on real APIs:
//! `bench/search/run.sh` (which installs the API descriptions first) runs this with the path of
//! the installed packages and writes `bench/search/RESULTS.md`.
//!
//! Two task sets: `bench/search/tasks.json` (development: its misses are listed and may guide
//! ranking changes) and `bench/search/heldout.json` (held out: written before the ranking was
//! tuned against it, reported only as numbers; its misses are deliberately not printed, so that
//! they cannot guide tuning). For each API of each set it builds the index with mcpgen's own code (the one
//! generated into every crate), runs every task through that search and through a plain BM25
//! over name + description + path (one field, lower-cased words, no stemming, stop words or
//! synonyms, k1 = 1.2, b = 0.75), and reports recall@1 and recall@5: the share of tasks with an
//! operation that serves them among the first 1 or 5 results. Latency is per query, over every
//! task of the largest API, repeated.
//!
//!   cargo bench --bench search -- PACKAGES_DIR [RESULTS.md]
//!
//! `EXPLAIN="a query"` (and `WANT=operationId`) prints, per API, the best tools for that query
//! with each word's share of the score: for looking into a miss.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

struct Outcome {
    set: &'static str,
    api: String,
    tools: usize,
    tasks: usize,
    ours: [usize; 2],
    bm25: [usize; 2],
    misses: Vec<String>,
}

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this target without it,
    // and then it checks the task files only (the APIs are not installed there).
    if !std::env::args().any(|a| a == "--bench") {
        check_task_files(root);
        return;
    }
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some(packages) = args.first() else {
        eprintln!("usage: cargo bench --bench search -- PACKAGES_DIR [RESULTS.md]");
        std::process::exit(2);
    };
    let mut outcomes = Vec::new();
    let mut latency: Option<(String, usize, Vec<Duration>, usize, usize)> = None;
    let mut built: BTreeMap<String, Built> = BTreeMap::new();
    for (set, file) in [("dev", "tasks.json"), ("held-out", "heldout.json")] {
        let path = root.join("bench/search").join(file);
        let tasks: Value = serde_json::from_str(
            &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}")),
        )
        .unwrap_or_else(|e| panic!("{file} is not JSON: {e}"));
        for api in tasks["apis"].as_array().expect("apis") {
            let name = api["name"].as_str().expect("name").to_owned();
            let source = api["source"].as_str().expect("source");
            let (kind, spec) = source.split_once(' ').expect("`kind name@version`");
            let package = if kind == "npm" {
                &spec[..spec.rfind('@').expect("npm name@version")]
            } else {
                spec.split("==").next().expect("pypi name==version")
            };
            let doc = std::path::Path::new(packages)
                .join(kind)
                .join(package)
                .join(api["document"].as_str().expect("document"));
            let key = doc.to_string_lossy().into_owned();
            let b = built.entry(key).or_insert_with(|| Built::new(&name, &doc));
            outcomes.push(run_tasks(set, &name, b, api));
        }
    }
    if let Some(b) = built.values().max_by_key(|b| b.ir.tools.len()) {
        latency = Some(b.latency());
    }
    let report = report(&outcomes, latency.as_ref());
    print!("{report}");
    if let Some(out) = args.get(1) {
        std::fs::write(out, &report).unwrap_or_else(|e| panic!("writing {out}: {e}"));
    }
}

/// One API description, built once however many task sets use it.
struct Built {
    name: String,
    ir: mcpgen::ir::Api,
    index: mcpgen::search::SearchIndex,
    file: String,
    bm25: Bm25,
    position: BTreeMap<String, usize>,
    queries: Vec<String>,
}

impl Built {
    fn new(name: &str, doc: &std::path::Path) -> Self {
        let started = Instant::now();
        let ir = mcpgen::build_ir(doc.to_str().expect("UTF-8 path"), &Default::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let index = mcpgen::search::build(&ir);
        let file = mcpgen::search::render(&ir).expect("search_index.rs");
        eprintln!(
            "{name}: {} tools, IR and index in {:.1?}",
            ir.tools.len(),
            started.elapsed()
        );
        let position = ir
            .tools
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.operation_id.clone().map(|id| (id, i)))
            .collect();
        let bm25 = Bm25::new(
            ir.tools
                .iter()
                .map(|t| format!("{} {} {}", t.name, t.description, t.path)),
        );
        Built {
            name: name.to_owned(),
            ir,
            index,
            file,
            bm25,
            position,
            queries: Vec::new(),
        }
    }

    /// Latency of every task query of this API (all sets), repeated.
    fn latency(&self) -> (String, usize, Vec<Duration>, usize, usize) {
        let mut times = Vec::new();
        for _ in 0..200 {
            for q in &self.queries {
                let t = Instant::now();
                std::hint::black_box(self.index.search(std::hint::black_box(q), 10));
                times.push(t.elapsed());
            }
        }
        times.sort_unstable();
        let data = self.index.terms.len() + self.index.table.len() + self.index.postings.len();
        (
            self.name.clone(),
            self.ir.tools.len(),
            times,
            data,
            self.file.len(),
        )
    }
}

fn run_tasks(set: &'static str, name: &str, b: &mut Built, api: &Value) -> Outcome {
    let mut outcome = Outcome {
        set,
        api: name.to_owned(),
        tools: b.ir.tools.len(),
        tasks: 0,
        ours: [0; 2],
        bm25: [0; 2],
        misses: Vec::new(),
    };
    for task in api["tasks"].as_array().expect("tasks") {
        let query = task["query"].as_str().expect("query");
        let expect: Vec<usize> = task["expect"]
            .as_array()
            .expect("expect")
            .iter()
            .map(|id| {
                let id = id.as_str().expect("an operationId");
                *b.position
                    .get(id)
                    .unwrap_or_else(|| panic!("{name}: no tool for operationId {id}"))
            })
            .collect();
        b.queries.push(query.to_owned());
        outcome.tasks += 1;
        let ours = b.index.search(query, 5);
        let theirs = b.bm25.search(query, 5);
        for (k, n) in [1, 5].into_iter().enumerate() {
            let hit = |r: &[usize]| r.iter().take(n).any(|p| expect.contains(p));
            outcome.ours[k] += usize::from(hit(&ours));
            outcome.bm25[k] += usize::from(hit(&theirs));
        }
        if !ours.iter().any(|p| expect.contains(p)) {
            let got: Vec<&str> = ours
                .iter()
                .map(|&p| b.ir.tools[p].operation_id.as_deref().unwrap_or("?"))
                .collect();
            outcome
                .misses
                .push(format!("\"{query}\" → {}", got.join(", ")));
        }
    }
    if set == "dev"
        && let Ok(q) = std::env::var("EXPLAIN")
    {
        let idx = b.index.index();
        let total = idx.scores(&q);
        let mut top: Vec<usize> = (0..total.len()).collect();
        top.sort_by(|x, y| total[*y].total_cmp(&total[*x]));
        let words: Vec<&str> = q.split_whitespace().collect();
        let explain = |d: usize| -> String {
            words
                .iter()
                .map(|w| format!("{w}={:.2}", idx.scores(w)[d]))
                .collect::<Vec<_>>()
                .join(" ")
        };
        for &d in top.iter().take(8) {
            eprintln!("{:.2} {} {}", total[d], b.ir.tools[d].name, explain(d));
        }
        if let Ok(want) = std::env::var("WANT")
            && let Some(&d) = b.position.get(want.as_str())
        {
            eprintln!("WANT {:.2} {} {}", total[d], want, explain(d));
        }
    }
    outcome
}

fn pct(n: usize, of: usize) -> String {
    format!("{:.2}", n as f64 / of.max(1) as f64)
}

fn report(
    outcomes: &[Outcome],
    latency: Option<&(String, usize, Vec<Duration>, usize, usize)>,
) -> String {
    let mut out = String::from(
        "| set | API | tools | tasks | recall@1 ours | recall@5 ours | recall@1 BM25 | recall@5 BM25 |\n\
         |---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    let total = |set: Option<&str>| {
        let (mut tasks, mut ours, mut bm25) = (0, [0; 2], [0; 2]);
        for o in outcomes.iter().filter(|o| set.is_none_or(|s| s == o.set)) {
            tasks += o.tasks;
            for k in 0..2 {
                ours[k] += o.ours[k];
                bm25[k] += o.bm25[k];
            }
        }
        (tasks, ours, bm25)
    };
    for set in ["dev", "held-out"] {
        for o in outcomes.iter().filter(|o| o.set == set) {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                o.set,
                o.api,
                o.tools,
                o.tasks,
                pct(o.ours[0], o.tasks),
                pct(o.ours[1], o.tasks),
                pct(o.bm25[0], o.tasks),
                pct(o.bm25[1], o.tasks)
            ));
        }
        let (tasks, ours, bm25) = total(Some(set));
        out.push_str(&format!(
            "| **{set}** | all | | {tasks} | **{}** | **{}** | {} | {} |\n",
            pct(ours[0], tasks),
            pct(ours[1], tasks),
            pct(bm25[0], tasks),
            pct(bm25[1], tasks)
        ));
    }
    let (tasks, ours, bm25) = total(None);
    out.push_str(&format!(
        "| **both** | all | | {tasks} | **{}** | **{}** | {} | {} |\n",
        pct(ours[0], tasks),
        pct(ours[1], tasks),
        pct(bm25[0], tasks),
        pct(bm25[1], tasks)
    ));
    if let Some((api, tools, times, data, file)) = latency {
        let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
        out.push_str(&format!(
            "\nLatency of one search (limit 10) on {api} ({tools} tools), {} queries: \
             p50 {:.1?}, p95 {:.1?}, max {:.1?}. Index data {:.0} KB; generated \
             `src/search_index.rs` {:.0} KB.\n",
            times.len(),
            at(0.5),
            at(0.95),
            times[times.len() - 1],
            *data as f64 / 1024.0,
            *file as f64 / 1024.0
        ));
    }
    for o in outcomes.iter().filter(|o| o.set == "dev") {
        if !o.misses.is_empty() {
            out.push_str(&format!("\nNot in our first 5 ({}, {}):\n", o.api, o.set));
            for m in &o.misses {
                out.push_str(&format!("- {m}\n"));
            }
        }
    }
    out
}

/// Plain BM25 over one field: lower-cased alphanumeric words, nothing else.
struct Bm25 {
    docs: Vec<BTreeMap<String, usize>>,
    lengths: Vec<usize>,
    avg: f64,
    df: BTreeMap<String, usize>,
}

fn plain_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

impl Bm25 {
    fn new(texts: impl Iterator<Item = String>) -> Self {
        let mut docs = Vec::new();
        let mut lengths = Vec::new();
        let mut df: BTreeMap<String, usize> = BTreeMap::new();
        for text in texts {
            let words = plain_words(&text);
            lengths.push(words.len());
            let mut tf: BTreeMap<String, usize> = BTreeMap::new();
            for w in words {
                *tf.entry(w).or_default() += 1;
            }
            for w in tf.keys() {
                *df.entry(w.clone()).or_default() += 1;
            }
            docs.push(tf);
        }
        let avg = lengths.iter().sum::<usize>() as f64 / lengths.len().max(1) as f64;
        Bm25 {
            docs,
            lengths,
            avg,
            df,
        }
    }

    fn search(&self, query: &str, limit: usize) -> Vec<usize> {
        let (k1, b) = (1.2, 0.75);
        let n = self.docs.len() as f64;
        let mut words = plain_words(query);
        words.sort();
        words.dedup();
        let mut scores: Vec<(f64, usize)> = self
            .docs
            .iter()
            .enumerate()
            .map(|(i, tf)| {
                let norm = 1.0 - b + b * self.lengths[i] as f64 / self.avg;
                let s: f64 = words
                    .iter()
                    .filter_map(|w| {
                        let f = *tf.get(w)? as f64;
                        let df = self.df[w] as f64;
                        let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
                        Some(idf * f * (k1 + 1.0) / (f + k1 * norm))
                    })
                    .sum();
                (s, i)
            })
            .filter(|(s, _)| *s > 0.0)
            .collect();
        scores.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scores.into_iter().take(limit).map(|(_, i)| i).collect()
    }
}

/// The task files' shape, without the APIs: every API names its package and document, every
/// task has a query and at least one operation that serves it, and no query is repeated within
/// a set or across the two (a held-out task must not be a development task).
fn check_task_files(root: &std::path::Path) {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for (set, file) in [("dev", "tasks.json"), ("held-out", "heldout.json")] {
        let path = root.join("bench/search").join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        let tasks: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file} is not JSON: {e}"));
        let apis = tasks["apis"].as_array().expect("apis");
        assert!(!apis.is_empty(), "{file}: no APIs");
        let mut count = 0;
        for api in apis {
            let name = api["name"].as_str().expect("name");
            let source = api["source"].as_str().expect("source");
            assert!(
                source.starts_with("npm ") || source.starts_with("pypi "),
                "{file} {name}: source `{source}`"
            );
            assert!(api["document"].as_str().is_some_and(|d| !d.is_empty()));
            for task in api["tasks"].as_array().expect("tasks") {
                let query = task["query"].as_str().expect("query").trim().to_lowercase();
                assert!(!query.is_empty(), "{file} {name}: an empty query");
                let expect = task["expect"].as_array().expect("expect");
                assert!(
                    !expect.is_empty() && expect.iter().all(|e| e.as_str().is_some()),
                    "{file} {name}: `{query}` names no operation"
                );
                if let Some(other) = seen.insert(format!("{name}: {query}"), set) {
                    panic!("{file} {name}: `{query}` is also a {other} task");
                }
                count += 1;
            }
        }
        println!("{file}: {count} tasks in {} APIs", apis.len());
    }
}
