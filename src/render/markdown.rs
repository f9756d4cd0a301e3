//! Escaping for GitHub-flavoured markdown: inline text (safe in table cells), code spans, code
//! fences, links and `<details>` blocks.
//!
//! Everything that reaches a comment from a plan goes through one of these, so that no address,
//! reason, check message or plan line can close a fence, open HTML, start a heading or split a
//! table row. This module only escapes: it does not mask secrets (callers mask first, because
//! masking changes lengths) and it does not decide sizes.
//!
//! GitHub turns `@user` and `@org/team` in text (not in code) into mentions that notify people,
//! so text from a plan must not carry a live one: inline and HTML text get a zero-width space
//! after such an `@`, which reads the same and mentions nobody. Code spans and fences need
//! nothing: GitHub does not look for mentions in code.

/// Zero-width space: put after an `@`, it keeps GitHub from reading a mention.
const MENTION_BREAK: char = '\u{200B}';

/// Whether an `@` between `prev` and `next` could start a mention: a user or organisation name
/// starts with a letter or digit, and an `@` right after a letter, digit or `_` (as in an e-mail
/// address) is no mention.
fn starts_mention(prev: Option<char>, next: Option<char>) -> bool {
    next.is_some_and(|c| c.is_ascii_alphanumeric())
        && !prev.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Inline text for a paragraph, a list item, a heading or a table cell: markdown punctuation is
/// backslash-escaped, `<`, `>` and `&` become entities (so no HTML tag, comment or entity
/// survives), line breaks become spaces (a newline would end a table row or a list item), and
/// no `@` can mention anyone.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut chars = text.chars().peekable();
    let mut prev = None;
    while let Some(c) = chars.next() {
        match c {
            '@' => {
                out.push('@');
                if starts_mention(prev, chars.peek().copied()) {
                    out.push(MENTION_BREAK);
                }
            }
            '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '~' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\r' => {
                // `\r\n` is one line break.
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push(' ');
            }
            '\n' => out.push(' '),
            // NUL is replaced by U+FFFD by every CommonMark parser; say so ourselves.
            '\0' => out.push('\u{FFFD}'),
            _ => out.push(c),
        }
        prev = Some(c);
    }
    out
}

/// An inline code span showing `text` literally, outside a table. The delimiter is a backtick
/// run longer than any run inside `text`; the content is padded with one space on each side
/// when it starts or ends with a backtick or a space (CommonMark strips one space from each
/// side of such content). Line breaks become spaces.
pub fn code(text: &str) -> String {
    code_span(text, false)
}

/// Like [`code`], for use inside a table cell: `|` is escaped as `\|`, which GitHub's table
/// parser turns back into `|` before reading the span, so the cell is not split.
pub fn code_in_table(text: &str) -> String {
    code_span(text, true)
}

fn code_span(text: &str, in_table: bool) -> String {
    let mut content = String::with_capacity(text.len() + 2);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                content.push(' ');
            }
            '\n' => content.push(' '),
            '\0' => content.push('\u{FFFD}'),
            '|' if in_table => content.push_str("\\|"),
            _ => content.push(c),
        }
    }
    if content.is_empty() {
        // "``" is not a code span; a span of one space shows (nearly) nothing, as asked.
        return "` `".to_string();
    }
    let ticks = "`".repeat(longest_backtick_run(&content) + 1);
    let pad = content.starts_with('`')
        || content.ends_with('`')
        || (content.starts_with(' ')
            && content.ends_with(' ')
            && !content.bytes().all(|b| b == b' '));
    let space = if pad { " " } else { "" };
    format!("{ticks}{space}{content}{space}{ticks}")
}

/// The longest run of consecutive backticks anywhere in `text`.
pub fn longest_backtick_run(text: &str) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for b in text.bytes() {
        if b == b'`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

/// The backtick run at the start of `line`, after any spaces and tabs: the only kind of run
/// that can close a fenced code block.
pub fn leading_backtick_run(line: &str) -> usize {
    line.trim_start_matches([' ', '\t'])
        .bytes()
        .take_while(|b| *b == b'`')
        .count()
}

/// The lines of `text` as CommonMark sees them: `\n`, `\r\n` and a lone `\r` all end a line
/// (`str::lines` misses the lone `\r`, which would let a `\r```` ` close a fence early). Like
/// `str::lines`, a final line break does not start another, empty, line.
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.find(['\n', '\r']) {
            None => {
                let line = rest;
                rest = "";
                Some(line)
            }
            Some(i) => {
                let line = &rest[..i];
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
                Some(line)
            }
        }
    })
}

/// A backtick fence for a fenced code block holding `text`: longer than any backtick run at the
/// start of a line of `text` (only such a line could close the block early), and at least 3.
pub fn fence_for(text: &str) -> String {
    fence_of_len(lines(text).map(leading_backtick_run).max().unwrap_or(0))
}

/// A fence one longer than `longest_leading_run` (at least 3 backticks).
pub fn fence_of_len(longest_leading_run: usize) -> String {
    "`".repeat((longest_leading_run + 1).max(3))
}

/// A fenced code block holding `text` literally, with the language `info` (`diff`, `text`…).
pub fn fenced(text: &str, info: &str) -> String {
    let fence = fence_for(text);
    let info: String = info
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '_' | '.'))
        .collect();
    let mut out = String::with_capacity(text.len() + 2 * fence.len() + info.len() + 4);
    out.push_str(&fence);
    out.push_str(&info);
    out.push('\n');
    for line in lines(text) {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&fence);
    out.push('\n');
    out
}

/// Text for an HTML context (`<summary>`, attribute-free tags): `<`, `>`, `&` and `"` become
/// entities and line breaks become spaces. Markdown is not interpreted inside an HTML block line,
/// so nothing else needs escaping there, but mentions are (see [`escape`]).
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut prev = None;
    while let Some(c) = chars.next() {
        match c {
            '@' => {
                out.push('@');
                if starts_mention(prev, chars.peek().copied()) {
                    out.push(MENTION_BREAK);
                }
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\r' | '\n' => out.push(' '),
            '\0' => out.push('\u{FFFD}'),
            _ => out.push(c),
        }
        prev = Some(c);
    }
    out
}

/// The opening of a collapsed `<details>` block: the tag and its summary on one line, then the
/// blank line that ends the HTML block so that markdown (a fence, a table) may follow.
pub fn details_open(summary: &str) -> String {
    format!("<details><summary>{}</summary>\n\n", escape_html(summary))
}

/// The end of a `<details>` block, preceded by a blank line so GitHub reads it as HTML rather
/// than as part of the paragraph or fence before it.
pub const DETAILS_CLOSE: &str = "\n</details>\n";

/// A whole `<details>` block around `body` (markdown, which must itself be balanced).
pub fn details(summary: &str, body: &str) -> String {
    let mut out = details_open(summary);
    out.push_str(body);
    if !body.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(DETAILS_CLOSE);
    out
}

/// A link to `url` showing `text`. Only `http(s)` URLs become links; anything else is shown as
/// code next to the text. Characters that could end the destination early (spaces, parentheses,
/// angle brackets, quotes, backslashes, backticks, control characters) are percent-encoded.
pub fn link(text: &str, url: &str) -> String {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return format!("{} {}", escape(text), code(url));
    }
    let mut dest = String::with_capacity(url.len());
    for c in url.chars() {
        if c.is_ascii_alphanumeric()
            || matches!(
                c,
                '-' | '.'
                    | '_'
                    | '~'
                    | ':'
                    | '/'
                    | '?'
                    | '#'
                    | '['
                    | ']'
                    | '@'
                    | '!'
                    | '$'
                    | '&'
                    | '\''
                    | '*'
                    | '+'
                    | ','
                    | ';'
                    | '='
                    | '%'
            )
        {
            dest.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                dest.push_str(&format!("%{b:02X}"));
            }
        }
    }
    format!("[{}]({dest})", escape(text))
}

/// `text` cut to at most `max_chars` characters, with `…` in place of what was cut.
pub fn clip(text: &str, max_chars: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max_chars) {
        None => std::borrow::Cow::Borrowed(text),
        Some(_) => {
            let keep = max_chars.saturating_sub(1);
            let end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
            std::borrow::Cow::Owned(format!("{}…", &text[..end]))
        }
    }
}

/// The longest prefix of `text` of at most `max_bytes` bytes that ends on a character boundary.
pub fn floor_char_boundary(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markdown_and_html() {
        assert_eq!(escape("a|b"), r"a\|b");
        assert_eq!(escape(r"back\slash"), r"back\\slash");
        assert_eq!(escape("`code`"), r"\`code\`");
        assert_eq!(escape("*bold* _it_"), r"\*bold\* \_it\_");
        assert_eq!(escape("[link](x)"), r"\[link\](x)");
        assert_eq!(
            escape("<script>&amp;</script>"),
            "&lt;script&gt;&amp;amp;&lt;/script&gt;"
        );
        assert_eq!(
            escape("<!-- x -->"),
            r"&lt;\!-- x --&gt;".replace(r"\&", "&")
        );
        assert_eq!(escape("# heading"), r"\# heading");
        assert_eq!(
            escape("line1\nline2\r\nline3\rline4"),
            "line1 line2 line3 line4"
        );
        assert_eq!(escape("~~strike~~"), r"\~\~strike\~\~");
        assert_eq!(escape("![img](x)"), r"\!\[img\](x)");
        assert_eq!(escape("plain words, ünïcödé 🚀"), "plain words, ünïcödé 🚀");
    }

    #[test]
    fn mentions_are_broken_outside_code() {
        assert_eq!(escape("ping @org/team"), "ping @\u{200B}org/team");
        assert_eq!(escape("@alice, (@bob)"), "@\u{200B}alice, (@\u{200B}bob)");
        assert_eq!(escape("x\n@carol"), "x @\u{200B}carol");
        // Not mentions: an e-mail address, a lone or trailing `@`.
        assert_eq!(escape("ops@example.com"), "ops@example.com");
        assert_eq!(escape("a_@b @ @"), r"a\_@b @ @");
        assert_eq!(escape_html("<@org/team>"), "&lt;@\u{200B}org/team&gt;");
        // Code shows text as it is: GitHub finds no mentions there.
        assert_eq!(code("@org/team"), "`@org/team`");
    }

    #[test]
    fn code_spans_survive_backticks() {
        assert_eq!(code("aws_instance.web"), "`aws_instance.web`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("a``b`c"), "```a``b`c```");
        assert_eq!(code("`start"), "`` `start ``");
        assert_eq!(code("end`"), "`` end` ``");
        assert_eq!(code(" both "), "`  both  `");
        assert_eq!(code(" left"), "` left`");
        assert_eq!(code("   "), "`   `");
        assert_eq!(code(""), "` `");
        assert_eq!(code("two\nlines"), "`two lines`");
        assert_eq!(code("a|b"), "`a|b`");
        assert_eq!(code("</details>"), "`</details>`");
    }

    #[test]
    fn code_spans_in_tables_escape_pipes() {
        assert_eq!(code_in_table(r#"x["a|b"]"#), r#"`x["a\|b"]`"#);
        assert_eq!(code_in_table("a`|"), r"``a`\|``");
    }

    #[test]
    fn fences_are_longer_than_any_leading_run() {
        assert_eq!(fence_for("plain"), "```");
        assert_eq!(fence_for(""), "```");
        assert_eq!(fence_for("```\ncode\n```"), "````");
        assert_eq!(fence_for("x\n   `````rust\n"), "``````");
        // A run that is not at the start of a line cannot close a fence.
        assert_eq!(fence_for("a ```````` b"), "```");
        assert_eq!(fence_for("\t````"), "`````");
        let text = "before\n````\n</details>\nafter";
        let block = fenced(text, "diff");
        assert!(block.starts_with("`````diff\n"));
        assert!(block.ends_with("\n`````\n"));
    }

    #[test]
    fn lines_end_where_commonmark_ends_them() {
        fn split(t: &str) -> Vec<&str> {
            lines(t).collect()
        }
        assert_eq!(split(""), Vec::<&str>::new());
        assert_eq!(split("a"), vec!["a"]);
        assert_eq!(split("a\n"), vec!["a"]);
        assert_eq!(split("\n"), vec![""]);
        assert_eq!(split("a\r\nb\rc\n\nd"), vec!["a", "b", "c", "", "d"]);
        // A lone carriage return would otherwise hide a closing fence inside a line.
        assert_eq!(fence_for("text\r```"), "````");
    }

    #[test]
    fn fenced_info_string_is_sanitised() {
        assert_eq!(fenced("x", "di`ff <b>"), "```diffb\nx\n```\n");
    }

    #[test]
    fn details_blocks_are_html_blocks_around_markdown() {
        assert_eq!(
            details("Plan: <3> & \"more\"", "body"),
            "<details><summary>Plan: &lt;3&gt; &amp; &quot;more&quot;</summary>\n\nbody\n\n</details>\n"
        );
        assert_eq!(details_open("a\nb"), "<details><summary>a b</summary>\n\n");
    }

    #[test]
    fn links_encode_what_could_end_them() {
        assert_eq!(
            link("run", "https://github.com/o/r/actions/runs/1"),
            "[run](https://github.com/o/r/actions/runs/1)"
        );
        assert_eq!(
            link("run", "https://x.test/a b)(<c>\"`"),
            "[run](https://x.test/a%20b%29%28%3Cc%3E%22%60)"
        );
        assert_eq!(
            link("run", "https://x.test/é"),
            "[run](https://x.test/%C3%A9)"
        );
        assert_eq!(
            link("run", "javascript:alert(1)"),
            "run `javascript:alert(1)`"
        );
        assert_eq!(link("a*b", "HTTPS://X.TEST"), r"[a\*b](HTTPS://X.TEST)");
    }

    #[test]
    fn clip_counts_characters() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("exactly10!", 10), "exactly10!");
        assert_eq!(clip("ünïcödé-and-more", 8), "ünïcödé…");
        assert_eq!(clip("abc", 0), "…");
    }

    #[test]
    fn floor_char_boundary_never_splits() {
        assert_eq!(floor_char_boundary("héllo", 2), "h");
        assert_eq!(floor_char_boundary("héllo", 3), "hé");
        assert_eq!(floor_char_boundary("🚀🚀", 5), "🚀");
        assert_eq!(floor_char_boundary("abc", 10), "abc");
    }
}
