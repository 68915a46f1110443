//! Tool search over this API's index, built by mcpgen at generation time
//! (`search_index.rs`): no start-up cost, no network, no model. The analysis and the ranking
//! are [`crate::search_text`]'s, the same code mcpgen built the index with.

use crate::search_text::Index;

/// The generated index of this crate's tools.
pub const INDEX: Index<'static> = Index {
    docs: crate::search_index::DOCS,
    terms: crate::search_index::TERMS,
    table: crate::search_index::TABLE,
    postings: crate::search_index::POSTINGS,
    actions: crate::search_index::ACTIONS,
    names: crate::search_index::NAMES,
};

/// Positions of the generated tools (the order of `tools.json`) that best match `query`, best
/// first, at most `limit`, only those `served` accepts; ties go to the earlier position. A query
/// without a meaningful word returns nothing.
pub fn search(query: &str, limit: usize, served: &dyn Fn(usize) -> bool) -> Vec<usize> {
    INDEX.search(query, limit, served)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The position of the stand-in tool `name` (tools.json order).
    fn position(name: &str) -> usize {
        let tools: serde_json::Value =
            serde_json::from_str(include_str!("tools.json")).expect("tools.json");
        tools["tools"]
            .as_array()
            .expect("tools")
            .iter()
            .position(|t| t["name"] == name)
            .expect(name)
    }

    #[test]
    fn the_generated_index_finds_what_a_person_means() {
        let tools: serde_json::Value =
            serde_json::from_str(include_str!("tools.json")).expect("tools.json");
        assert_eq!(
            crate::search_index::DOCS,
            tools["tools"].as_array().expect("tools").len()
        );
        let first = |q: &str| search(q, 10, &|_| true).first().copied();
        assert_eq!(first("remove a note"), Some(position("delete_note")));
        assert_eq!(first("erase the note"), Some(position("delete_note")));
        assert_eq!(first("write a new note"), Some(position("create_note")));
        assert_eq!(first("show me all notes"), Some(position("list_notes")));
        assert_eq!(first("upload a file"), Some(position("attach")));
    }

    #[test]
    fn served_limits_and_meaningless_queries() {
        let all = search("note", 50, &|_| true);
        assert!(all.len() >= 3, "{all:?}");
        let mut sorted = all.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), all.len(), "no position twice");
        assert_eq!(search("note", 2, &|_| true), all[..2]);
        let odd = search("note", 50, &|i| i % 2 == 1);
        assert!(odd.iter().all(|i| i % 2 == 1));
        assert_eq!(
            odd,
            all.iter()
                .copied()
                .filter(|i| i % 2 == 1)
                .collect::<Vec<_>>()
        );
        for q in ["", "   ", "the a of", "???", "\u{0}"] {
            assert!(search(q, 10, &|_| true).is_empty(), "{q:?}");
        }
        let huge = "note ".repeat(1_000_000);
        assert!(!search(&huge, 10, &|_| true).is_empty());
    }
}
