//! TEMPORARY placeholder for helper S's search index (branch `search`), replaced at merge: a
//! plain case-insensitive substring match of the query's words over name, title, summary and
//! path, best first by the number of words matched.

use crate::tools::TOOL_INFO;

/// Positions of generated tools (`TOOL_INFO` order) that match `query`, best first, at most
/// `limit`, only those `served` accepts.
pub fn search(query: &str, limit: usize, served: &dyn Fn(usize) -> bool) -> Vec<usize> {
    let words: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let mut hits: Vec<(usize, usize)> = TOOL_INFO
        .iter()
        .enumerate()
        .filter(|(i, _)| served(*i))
        .filter_map(|(i, tool)| {
            let text = format!(
                "{} {} {} {}",
                tool.name, tool.title, tool.summary, tool.path
            )
            .to_lowercase();
            let score = words.iter().filter(|w| text.contains(w.as_str())).count();
            (score > 0).then_some((score, i))
        })
        .collect();
    hits.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    hits.into_iter().take(limit).map(|(_, i)| i).collect()
}
