//! Spec text as clients read it: operation descriptions written in HTML (common in specs made
//! from Java or .NET sources, and in GitHub's and Stripe's) reduced to text, Markdown kept as it
//! is; and the one-line summary of a tool that `search_tools` results and the README show.
//!
//! [`to_text`] is not an HTML parser: it removes the markup that costs a model tokens and says
//! nothing (tags, attributes, entities), keeping the structure a reader needs (paragraphs, line
//! breaks, list items, code, link targets that add information). Markdown code (backtick spans
//! and fenced blocks) is left untouched, so `<T>` in code stays. Anything that is not a
//! well-formed tag (`a < b`, `<https://…>` autolinks, an unclosed `<div`) is text. It runs in
//! time linear in the input (a tag is looked for within [`MAX_TAG_LEN`] bytes).

use crate::ir::SUMMARY_MAX_CHARS;
use std::borrow::Cow;
use std::fmt::Write as _;

/// A tag longer than this is not one (bounds the work per `<`).
const MAX_TAG_LEN: usize = 2048;

/// Elements whose content is not text at all.
const DROPPED_WITH_CONTENT: &[&str] = &["script", "style", "head", "template", "noscript"];

/// Block elements: a paragraph break before and after.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "header",
    "footer",
    "aside",
    "nav",
    "main",
    "blockquote",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "dl",
    "figure",
    "figcaption",
    "details",
    "summary",
    "hr",
    "caption",
    "address",
];

/// The elements recognised as HTML: other `<words>` (`/pets/<id>`, `<owner>`) are text.
const KNOWN: &[&str] = &[
    "a",
    "abbr",
    "acronym",
    "address",
    "article",
    "aside",
    "b",
    "bdi",
    "bdo",
    "big",
    "blockquote",
    "body",
    "br",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "details",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "font",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hr",
    "html",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "main",
    "mark",
    "nav",
    "noscript",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "samp",
    "script",
    "section",
    "small",
    "span",
    "strike",
    "strong",
    "style",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "template",
    "tfoot",
    "th",
    "thead",
    "tr",
    "tt",
    "u",
    "ul",
    "var",
    "wbr",
];

/// Inline code elements: become backticks.
const CODE: &[&str] = &["code", "tt", "kbd", "samp", "var"];

/// Whether `s` contains anything [`to_text`] would change.
fn has_markup(s: &str) -> bool {
    s.contains('<') || s.contains('&')
}

/// An open `<a href>`: where its text starts in the output, and the target.
struct Link {
    start: usize,
    href: String,
}

/// One open list: ordered lists count their items.
struct List {
    ordered: bool,
    next: u64,
}

/// HTML in `s` reduced to text (see the module docs); text without markup is returned as it is.
pub fn to_text(s: &str) -> String {
    if !has_markup(s) {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut links: Vec<Link> = Vec::new();
    let mut lists: Vec<List> = Vec::new();
    let mut pre = 0usize;
    let mut row_cells = 0usize;
    let mut at_line_start = true;
    let mut i = 0;
    while i < s.len() {
        let b = bytes[i];
        // Markdown code, verbatim: a fence at the start of a line, or a backtick span.
        if b == b'`' {
            let run = bytes[i..].iter().take_while(|&&c| c == b'`').count();
            let fence = at_line_start && run >= 3;
            let end = if fence {
                s[i + run..]
                    .find(&"`".repeat(run))
                    .map(|e| i + run + e + run)
                    .unwrap_or(s.len())
            } else {
                find_closing_run(s, i + run, run).unwrap_or(i + run)
            };
            out.push_str(&s[i..end]);
            at_line_start = false;
            i = end;
            continue;
        }
        if b == b'<'
            && let Some((tag, len)) = parse_tag(&s[i..])
        {
            i += len;
            if tag.comment {
                continue;
            }
            let name = tag.name.as_str();
            if DROPPED_WITH_CONTENT.contains(&name) && !tag.closing && !tag.self_closing {
                // Skip to the matching closing tag (or the end).
                let close = format!("</{name}");
                i = match find_ignoring_case(&s[i..], &close) {
                    Some(at) => {
                        let after = i + at;
                        after + s[after..].find('>').map_or(s.len() - after, |g| g + 1)
                    }
                    None => s.len(),
                };
                continue;
            }
            match (name, tag.closing) {
                ("br", _) => newline(&mut out),
                ("pre", false) => {
                    paragraph(&mut out);
                    out.push_str("```\n");
                    pre += 1;
                }
                ("pre", true) if pre > 0 => {
                    pre -= 1;
                    newline(&mut out);
                    out.push_str("```");
                    paragraph(&mut out);
                }
                (c, _) if CODE.contains(&c) && pre == 0 => out.push('`'),
                ("a", false) => links.push(Link {
                    start: out.len(),
                    href: tag.href.unwrap_or_default(),
                }),
                ("a", true) => {
                    if let Some(link) = links.pop() {
                        let text = out.get(link.start..).unwrap_or("").trim().to_string();
                        if adds_information(&link.href, &text) {
                            let _ = write!(out, " ({})", link.href);
                        }
                    }
                }
                ("img", _) => {
                    if let Some(alt) = tag.alt.filter(|a| !a.trim().is_empty()) {
                        out.push_str(alt.trim());
                    }
                }
                ("ul" | "ol", false) => {
                    lists.push(List {
                        ordered: name == "ol",
                        next: tag.start.unwrap_or(1),
                    });
                    newline(&mut out);
                }
                ("ul" | "ol", true) => {
                    lists.pop();
                    if lists.is_empty() {
                        paragraph(&mut out);
                    } else {
                        newline(&mut out);
                    }
                }
                ("li", false) => {
                    newline(&mut out);
                    let depth = lists.len().saturating_sub(1).min(8);
                    out.push_str(&"  ".repeat(depth));
                    match lists.last_mut() {
                        Some(l) if l.ordered => {
                            let _ = write!(out, "{}. ", l.next);
                            l.next = l.next.saturating_add(1);
                        }
                        _ => out.push_str("- "),
                    }
                }
                ("li", true) => newline(&mut out),
                ("dt", false) => newline(&mut out),
                ("dd", false) => {
                    newline(&mut out);
                    out.push_str("  ");
                }
                ("tr", false) => {
                    newline(&mut out);
                    row_cells = 0;
                }
                ("tr", true) => newline(&mut out),
                ("td" | "th", false) => {
                    if row_cells > 0 {
                        out.push_str(" | ");
                    }
                    row_cells += 1;
                }
                (b, _) if BLOCKS.contains(&b) => paragraph(&mut out),
                _ => {}
            }
            at_line_start = out.is_empty() || out.ends_with('\n');
            continue;
        }
        if b == b'&'
            && let Some((c, len)) = entity(&s[i..])
        {
            out.push_str(&c);
            at_line_start = false;
            i += len;
            continue;
        }
        // Copy one character.
        let ch_len = s[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&s[i..i + ch_len]);
        at_line_start = b == b'\n' || (at_line_start && (b == b' ' || b == b'\t'));
        i += ch_len;
    }
    tidy(&out)
}

/// Where ASCII `needle` first occurs in `hay`, ignoring ASCII case (no copy of `hay`: the work
/// ends at the match).
fn find_ignoring_case(hay: &str, needle: &str) -> Option<usize> {
    let (hay, needle) = (hay.as_bytes(), needle.as_bytes());
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// Where the backtick run of length `run` that closes a code span starting at `from` ends.
fn find_closing_run(s: &str, from: usize, run: usize) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut j = from;
    while j < bytes.len() {
        if bytes[j] == b'`' {
            let n = bytes[j..].iter().take_while(|&&c| c == b'`').count();
            if n == run {
                return Some(j + n);
            }
            j += n;
        } else {
            j += 1;
        }
    }
    None
}

/// Whether a link's target tells a reader more than its text: an absolute URL that the text
/// does not already show.
fn adds_information(href: &str, text: &str) -> bool {
    let href = href.trim();
    let absolute =
        href.starts_with("https://") || href.starts_with("http://") || href.starts_with("mailto:");
    let bare = |u: &str| {
        u.trim_start_matches("mailto:")
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string()
    };
    absolute && !href.chars().any(char::is_whitespace) && bare(href) != bare(text)
}

/// Ends the current line (once).
fn newline(out: &mut String) {
    trim_trailing_spaces(out);
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

/// Ends the current paragraph: a blank line (once).
fn paragraph(out: &mut String) {
    trim_trailing_spaces(out);
    if out.is_empty() {
        return;
    }
    while !out.ends_with("\n\n") {
        out.push('\n');
    }
}

fn trim_trailing_spaces(out: &mut String) {
    let kept = out.trim_end_matches([' ', '\t']).len();
    out.truncate(kept);
}

/// The final shape: no trailing spaces on lines, at most one blank line in a row (outside
/// fenced code), no blank lines at either end.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    let mut fenced = false;
    for line in s.lines() {
        let line = if fenced { line } else { line.trim_end() };
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if line.trim().is_empty() && !fenced {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out
}

/// A tag at the start of `s` (which starts with `<`): what [`to_text`] needs of it, and its
/// length; `None` when `s` does not start with a well-formed tag.
struct Tag {
    name: String,
    closing: bool,
    self_closing: bool,
    comment: bool,
    href: Option<String>,
    alt: Option<String>,
    start: Option<u64>,
}

fn parse_tag(s: &str) -> Option<(Tag, usize)> {
    let bytes = s.as_bytes();
    if let Some(rest) = s.strip_prefix("<!--") {
        let end = rest.find("-->").map_or(s.len(), |e| 4 + e + 3);
        return Some((
            Tag {
                name: String::new(),
                closing: false,
                self_closing: false,
                comment: true,
                href: None,
                alt: None,
                start: None,
            },
            end,
        ));
    }
    let mut j = 1;
    let closing = bytes.get(j) == Some(&b'/');
    if closing {
        j += 1;
    }
    let name_start = j;
    if !bytes.get(j).is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    while bytes.get(j).is_some_and(|c| c.is_ascii_alphanumeric()) {
        j += 1;
    }
    let name = s[name_start..j].to_ascii_lowercase();
    if !KNOWN.contains(&name.as_str()) {
        return None;
    }
    // After the name: the end of the tag, `/`, or white space before attributes.
    match bytes.get(j) {
        Some(b'>') | Some(b'/') | Some(b' ') | Some(b'\t') | Some(b'\n') | Some(b'\r') => {}
        _ => return None,
    }
    let mut attrs: Vec<(String, String)> = Vec::new();
    let limit = s.len().min(MAX_TAG_LEN);
    loop {
        while j < limit && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        if j >= limit {
            return None;
        }
        match bytes[j] {
            b'>' => {
                j += 1;
                break;
            }
            b'/' if bytes.get(j + 1) == Some(&b'>') => {
                j += 2;
                let mut tag = tag_of(name, closing, &attrs);
                tag.self_closing = true;
                return Some((tag, j));
            }
            b'<' => return None,
            _ => {}
        }
        let key_start = j;
        while j < limit && !bytes[j].is_ascii_whitespace() && !b"=>/<\"'".contains(&bytes[j]) {
            j += 1;
        }
        if j == key_start {
            // A stray `/`, quote or `=`: not a tag we understand.
            return None;
        }
        let key = s[key_start..j].to_ascii_lowercase();
        while j < limit && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        let mut value = String::new();
        if j < limit && bytes[j] == b'=' {
            j += 1;
            while j < limit && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            if j >= limit {
                return None;
            }
            let q = bytes[j];
            if q == b'"' || q == b'\'' {
                let end = s[j + 1..limit].find(char::from(q))? + j + 1;
                value = s[j + 1..end].to_string();
                j = end + 1;
            } else {
                let v_start = j;
                while j < limit && !bytes[j].is_ascii_whitespace() && bytes[j] != b'>' {
                    j += 1;
                }
                value = s[v_start..j].to_string();
            }
        }
        attrs.push((key, value));
    }
    Some((tag_of(name, closing, &attrs), j))
}

fn tag_of(name: String, closing: bool, attrs: &[(String, String)]) -> Tag {
    let attr = |k: &str| {
        attrs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| decode_entities(v))
    };
    Tag {
        closing,
        self_closing: false,
        comment: false,
        href: attr("href"),
        alt: attr("alt"),
        start: attr("start").and_then(|v| v.trim().parse().ok()),
        name,
    }
}

fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s.as_bytes()[i] == b'&'
            && let Some((c, len)) = entity(&s[i..])
        {
            out.push_str(&c);
            i += len;
            continue;
        }
        let ch_len = s[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&s[i..i + ch_len]);
        i += ch_len;
    }
    out
}

/// A character reference at the start of `s` (which starts with `&`): its text and length.
fn entity(s: &str) -> Option<(Cow<'static, str>, usize)> {
    let end = s[1..].find(';').filter(|&e| e <= 10)? + 1;
    let body = &s[1..end];
    let named = match body {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        "nbsp" => " ",
        "ndash" => "–",
        "mdash" => "—",
        "hellip" => "…",
        "lsquo" => "‘",
        "rsquo" => "’",
        "ldquo" => "“",
        "rdquo" => "”",
        "laquo" => "«",
        "raquo" => "»",
        "bull" => "•",
        "middot" => "·",
        "times" => "×",
        "deg" => "°",
        "copy" => "©",
        "reg" => "®",
        "trade" => "™",
        "larr" => "←",
        "rarr" => "→",
        _ => "",
    };
    if !named.is_empty() {
        return Some((Cow::Borrowed(named), end + 1));
    }
    let code = if let Some(hex) = body.strip_prefix("#x").or_else(|| body.strip_prefix("#X")) {
        u32::from_str_radix(hex, 16).ok()?
    } else {
        body.strip_prefix('#')?.parse::<u32>().ok()?
    };
    let c = char::from_u32(code).filter(|c| !c.is_control() || *c == '\n' || *c == '\t')?;
    Some((Cow::Owned(c.to_string()), end + 1))
}

/// A tool's one-line summary: its title (the operation's summary), else the first sentence of
/// its description; as text on one line (HTML reduced, Markdown links and emphasis reduced to
/// their text), at most [`SUMMARY_MAX_CHARS`] characters, cut at a word boundary with `…`.
/// `deprecated` puts `Deprecated.` in front (the description already says so).
pub fn summary(title: Option<&str>, description: &str, deprecated: bool) -> String {
    let from_title = title.map(one_line).filter(|t| !t.is_empty());
    let text = match from_title {
        Some(t) => t,
        None => {
            let text = to_text(description);
            let body = if deprecated {
                text.strip_prefix("Deprecated.")
                    .unwrap_or(&text)
                    .trim_start()
            } else {
                &text
            };
            one_line(&first_sentence(body))
        }
    };
    let text = if deprecated && !text.to_ascii_lowercase().starts_with("deprecated") {
        format!("Deprecated. {text}")
    } else {
        text
    };
    bound(&text, SUMMARY_MAX_CHARS)
}

/// The first sentence of the first paragraph of `text`: up to a `.`, `!` or `?` followed by white
/// space and a capital letter, a digit or the end (`e.g. this` does not end one).
fn first_sentence(text: &str) -> String {
    let para = text
        .split("\n\n")
        .map(str::trim)
        .find(|p| !p.is_empty() && !p.starts_with("```"))
        .unwrap_or("");
    let chars: Vec<(usize, char)> = para.char_indices().collect();
    for (k, &(at, c)) in chars.iter().enumerate() {
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        let next = chars.get(k + 1).map(|&(_, c)| c);
        let after = chars.get(k + 2).map(|&(_, c)| c);
        let ends = match (next, after) {
            (None, _) => true,
            (Some(n), Some(a)) if n.is_whitespace() => {
                a.is_uppercase() || a.is_ascii_digit() || a == '`' || a == '\n'
            }
            _ => false,
        };
        let word_before: String = para[..at]
            .rsplit(|c: char| c.is_whitespace())
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let abbreviation = matches!(
            word_before.as_str(),
            "e.g" | "i.e" | "etc" | "vs" | "approx" | "incl"
        );
        if ends && !abbreviation {
            return para[..at + c.len_utf8()].to_string();
        }
    }
    para.to_string()
}

/// Text on one line: Markdown headings, list markers, emphasis and links reduced to their text,
/// every run of white space one space.
fn one_line(text: &str) -> String {
    let text = to_text(text);
    let mut words = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        let line = line.trim_start_matches('#').trim_start();
        let line = line
            .strip_prefix("- ")
            .or_else(|| line.strip_prefix("* "))
            .unwrap_or(line);
        words.extend(line.split_whitespace().map(str::to_string));
    }
    let joined = words.join(" ");
    markdown_links(&joined).replace("**", "").replace("__", "")
}

/// `[text](url)` → `text`.
fn markdown_links(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let Some(close) = after.find("](") else { break };
        let Some(end) = after[close + 2..].find(')') else {
            break;
        };
        let text = &after[..close];
        if text.contains('[') {
            out.push_str(&rest[..=open]);
            rest = after;
            continue;
        }
        out.push_str(&rest[..open]);
        out.push_str(text);
        rest = &after[close + 2 + end + 1..];
    }
    out.push_str(rest);
    out
}

/// `text` cut to at most `max` characters at a word boundary, `…` marking the cut.
fn bound(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let head: String = text.chars().take(max.saturating_sub(1)).collect();
    let cut = match head.rfind(' ') {
        Some(at) if at >= head.len() / 2 => &head[..at],
        _ => &head,
    };
    format!("{}…", cut.trim_end_matches([' ', ',', ';', ':', '.', '-']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_and_plain_text_stay_as_they_are() {
        for s in [
            "Plain text.",
            "# Title\n\n- one\n- two\n\n`code` and **bold** [link](https://x.example)",
            "a < b and c > d, x<y",
            "See <https://example.com/docs> (an autolink)",
            "```\n<div>code</div>\n```",
            "Use `Vec<T>` or `&amp;`",
            "GET /repos/<owner>/<repo>: replace <owner> and <repo>.",
            "Returns a List<Pet> </Pet>",
        ] {
            assert_eq!(to_text(s), s, "{s}");
        }
    }

    #[test]
    fn html_becomes_text() {
        assert_eq!(
            to_text("<p>Lists the <b>pets</b>.</p><p>Second&nbsp;paragraph &amp; more.</p>"),
            "Lists the pets.\n\nSecond paragraph & more."
        );
        assert_eq!(to_text("one<br>two<br/>three"), "one\ntwo\nthree");
        assert_eq!(
            to_text(
                "<ul><li>first</li><li>second</li></ul><ol start=\"3\"><li>c</li><li>d</li></ol>"
            ),
            "- first\n- second\n\n3. c\n4. d"
        );
        assert_eq!(
            to_text("Call <code>GET /pets</code> first."),
            "Call `GET /pets` first."
        );
        assert_eq!(
            to_text("<pre><code>{\"a\": 1}</code></pre>after"),
            "```\n{\"a\": 1}\n```\n\nafter"
        );
        assert_eq!(
            to_text("<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table>"),
            "a | b\n1 | 2"
        );
        assert_eq!(
            to_text("&#65;&#x42;&lt;&gt;&quot;&unknown;"),
            "AB<>\"&unknown;"
        );
        assert_eq!(to_text("<h2>Title</h2>text"), "Title\n\ntext");
    }

    #[test]
    fn links_keep_their_target_when_it_adds_information() {
        assert_eq!(
            to_text("See <a href=\"https://docs.example.com/x\">the docs</a>."),
            "See the docs (https://docs.example.com/x)."
        );
        assert_eq!(
            to_text("<a href='https://example.com/'>https://example.com</a>"),
            "https://example.com"
        );
        assert_eq!(
            to_text("<a href=\"/relative\">here</a> and <a href=\"#anchor\">there</a>"),
            "here and there"
        );
        assert_eq!(
            to_text("<a href=\"javascript:alert(1)\">x</a>"),
            "x",
            "only web and mail targets are kept"
        );
    }

    #[test]
    fn hostile_input_never_panics_and_drops_no_text() {
        for s in [
            "<",
            "<a",
            "<a href=\"",
            "<a href=\"x>y",
            "<<<<>>>>",
            "</",
            "</>",
            "<!--",
            "<!-- open comment <b>x</b>",
            "&",
            "&#;",
            "&#x110000;",
            "&#0;",
            "&#99999999999999999999;",
            "<ol start=\"-5\"><li>x",
            "<li>orphan item</li>",
            "</ul></ol></a></pre>",
            "<script>alert(1)</script>after",
            "<style>p{}</style",
            "é<b>ü</b>€",
            "`unclosed code <b>",
            "``` unclosed fence <b>",
        ] {
            let _ = to_text(s);
        }
        assert_eq!(to_text("<script>alert('<b>')</script>after"), "after");
        assert_eq!(to_text("<STYLE>p {}</Style>text"), "text");
        assert_eq!(to_text("<!-- hidden -->shown"), "shown");
        assert_eq!(to_text("a <b"), "a <b", "an unclosed tag is text");
        assert_eq!(to_text("<a href=\"x>y"), "<a href=\"x>y");
        assert_eq!(to_text("é<b>ü</b>€"), "éü€");
        // Deep nesting and many unclosed tags stay linear and keep the text.
        let deep = "<div>".repeat(5_000) + "core" + &"</div>".repeat(5_000);
        assert_eq!(to_text(&deep), "core");
        let scripts = "<script>x</script>y".repeat(20_000);
        assert_eq!(to_text(&scripts), "y".repeat(20_000));
        let many = "<a ".repeat(20_000);
        assert_eq!(to_text(&many), many.trim_end());
        let nested_lists = "<ul><li>".repeat(50) + "x";
        assert!(to_text(&nested_lists).ends_with("- x"));
    }

    #[test]
    fn summaries_are_one_bounded_line() {
        assert_eq!(summary(Some("List pets"), "Long text.", false), "List pets");
        assert_eq!(
            summary(None, "Lists the pets, e.g. cats. Then more.", false),
            "Lists the pets, e.g. cats."
        );
        assert_eq!(
            summary(
                None,
                "<p>Returns <b>one</b>\npet.</p><p>Details.</p>",
                false
            ),
            "Returns one pet."
        );
        assert_eq!(
            summary(Some("## The [pets](https://x.example) list"), "", false),
            "The pets list"
        );
        assert_eq!(
            summary(None, "Deprecated. Use v2. Lists pets.", true),
            "Deprecated. Use v2."
        );
        assert_eq!(summary(Some("Old"), "", true), "Deprecated. Old");
        assert_eq!(
            summary(Some("  "), "Version 2.5 is here.", false),
            "Version 2.5 is here."
        );
        let long = "word ".repeat(100);
        let s = summary(Some(&long), "", false);
        assert!(s.chars().count() <= SUMMARY_MAX_CHARS, "{s}");
        assert!(s.ends_with("word…"), "{s}");
        let unbroken = "x".repeat(500);
        let s = summary(Some(&unbroken), "", false);
        assert_eq!(s.chars().count(), SUMMARY_MAX_CHARS);
        assert!(!summary(None, "", false).contains('\n'));
    }
}
