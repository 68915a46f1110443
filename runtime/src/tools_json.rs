//! Finds each tool's text in the embedded `tools.json` without parsing the tools: the server
//! starts without building every tool of a huge API (GitHub's has over a thousand, megabytes of
//! schemas), and parses a tool only when a `tools/list` page, `describe_tools` or rmcp asks for
//! it. A leaf module.

use std::ops::Range;

/// The byte ranges, in `json`, of the elements of the top-level object's `tools` array, in
/// order. The scan checks the structure (strings, nesting, separators), not the values: each
/// range is parsed when it is used, and a malformed one fails there.
pub fn tool_ranges(json: &str) -> Result<Vec<Range<usize>>, String> {
    let mut scan = Scanner {
        bytes: json.as_bytes(),
        at: 0,
    };
    scan.skip_space();
    scan.expect(b'{')?;
    loop {
        scan.skip_space();
        if scan.peek() == Some(b'}') {
            return Err("tools.json has no `tools` array".to_owned());
        }
        let key = scan.string()?;
        scan.skip_space();
        scan.expect(b':')?;
        scan.skip_space();
        if &json.as_bytes()[key] == b"\"tools\"" {
            return scan.array_elements();
        }
        scan.value()?;
        scan.skip_space();
        match scan.next() {
            Some(b',') => {}
            Some(b'}') => return Err("tools.json has no `tools` array".to_owned()),
            _ => return Err(scan.error("`,` or `}`")),
        }
    }
}

struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    fn error(&self, expected: &str) -> String {
        format!("tools.json: expected {expected} at byte {}", self.at)
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        if self.next() == Some(byte) {
            Ok(())
        } else {
            self.at = self.at.saturating_sub(1);
            Err(self.error(&format!("`{}`", char::from(byte))))
        }
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// A string, quotes included; returns its range.
    fn string(&mut self) -> Result<Range<usize>, String> {
        let start = self.at;
        self.expect(b'"')?;
        loop {
            match self.next() {
                Some(b'"') => return Ok(start..self.at),
                Some(b'\\') => {
                    if self.next().is_none() {
                        break;
                    }
                }
                Some(_) => {}
                None => break,
            }
        }
        self.at = start;
        Err(self.error("a terminated string"))
    }

    /// Any value: a string, an object or array (nesting followed through strings), or a
    /// literal or number (up to the next separator).
    fn value(&mut self) -> Result<(), String> {
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'{' | b'[') => {
                let start = self.at;
                let mut depth = 0usize;
                while let Some(byte) = self.peek() {
                    match byte {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.at += 1;
                                return Ok(());
                            }
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
                self.at = start;
                Err(self.error("a closed object or array"))
            }
            _ => {
                let start = self.at;
                while self.peek().is_some_and(|b| {
                    !matches!(b, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r')
                }) {
                    self.at += 1;
                }
                if self.at == start {
                    Err(self.error("a value"))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// The ranges of an array's elements; the scanner is at its `[`.
    fn array_elements(&mut self) -> Result<Vec<Range<usize>>, String> {
        self.expect(b'[')?;
        let mut ranges = Vec::new();
        self.skip_space();
        if self.peek() == Some(b']') {
            return Ok(ranges);
        }
        loop {
            self.skip_space();
            let start = self.at;
            self.value()?;
            ranges.push(start..self.at);
            self.skip_space();
            match self.next() {
                Some(b',') => {}
                Some(b']') => return Ok(ranges),
                _ => {
                    self.at = self.at.saturating_sub(1);
                    return Err(self.error("`,` or `]`"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elements(json: &str) -> Result<Vec<&str>, String> {
        Ok(tool_ranges(json)?
            .into_iter()
            .map(|range| &json[range])
            .collect())
    }

    #[test]
    fn finds_each_tool_of_the_array() {
        let json = r#" {"@generated": "x \" {[", "n": [1, {"a": "]"}], "tools" : [
            {"name": "a", "s": {"x": [1, 2, "}\\"]}},
            {"name": "b"} ,{}
        ], "after": 1}"#;
        assert_eq!(
            elements(json).expect("valid"),
            [
                r#"{"name": "a", "s": {"x": [1, 2, "}\\"]}}"#,
                r#"{"name": "b"}"#,
                "{}"
            ]
        );
        assert_eq!(
            elements(r#"{"tools":[]}"#).expect("valid"),
            Vec::<&str>::new()
        );
        assert_eq!(
            elements(r#"{"tools":[1,true,"x"]}"#).expect("valid"),
            ["1", "true", "\"x\""]
        );
    }

    #[test]
    fn the_embedded_file_splits_into_its_tools() {
        let json = include_str!("tools.json");
        let ranges = tool_ranges(json).expect("the stand-in tools.json scans");
        let parsed: serde_json::Value = serde_json::from_str(json).expect("valid JSON");
        let tools = parsed["tools"].as_array().expect("a tools array");
        assert_eq!(ranges.len(), tools.len());
        for (range, tool) in ranges.into_iter().zip(tools) {
            let slice: serde_json::Value =
                serde_json::from_str(&json[range]).expect("a slice is one value");
            assert_eq!(&slice, tool);
        }
    }

    #[test]
    fn malformed_files_are_errors_not_panics() {
        for bad in [
            "",
            "[]",
            "{",
            r#"{"a": 1}"#,
            r#"{"a" 1, "tools": []}"#,
            r#"{"tools": [{"a": 1}"#,
            r#"{"tools": [{"a": "1}]}"#,
            r#"{"tools": [1 2]}"#,
            r#"{"tools": [,]}"#,
            r#"{"tools": ["\"#,
            r#"{"x": "#,
        ] {
            assert!(tool_ranges(bad).is_err(), "{bad}");
        }
    }
}
