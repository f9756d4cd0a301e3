//! Keeping plan and terraform text from issuing GitHub Actions workflow commands.
//!
//! The runner reads a step's stdout and stderr line by line (a line ends at `\n`, `\r\n` or a
//! lone `\r`) and acts on two forms of command: a line that starts, after leading whitespace,
//! with `::NAME::data`, and `##[NAME]data` anywhere in a line. After `::stop-commands::TOKEN` it
//! acts on nothing until a command named TOKEN (`::TOKEN::`) resumes it. tfgate defends in two
//! layers, both applied by the `Ui` only under GitHub Actions:
//!
//! * **The bracket.** Before any text that is not one of its own commands, commands are stopped
//!   with a token drawn from the OS random source, fresh for every run; they are resumed just
//!   before tfgate's own `::warning::`/`::error::` lines and at exit. Bracket lines and tfgate's
//!   own commands all go to stderr, so the runner sees them in the order they were written.
//! * **Inert text.** The runner reads the two streams on separate threads and handles each batch
//!   stderr first, so a bracket line on stderr is not reliably seen before or after a line of
//!   stdout. Every line that is not tfgate's own command is therefore also made harmless on its
//!   own ([`inert`]): a lone `\r` shows as `␍`, a `\` goes before a line's leading `::`, and
//!   `##[` becomes `##\[` (`##\u005b` inside JSON, which keeps the JSON's value). The runner
//!   matches `::` and `##[` with culture-sensitive comparisons, which give zero-width and control
//!   characters no weight (`:\u{200B}:` counts as `::`), so the checks skip such characters and
//!   the escapes inserted are visible ones.

use std::borrow::Cow;
use std::cell::Cell;
use std::io::Write;
use std::sync::Mutex;

/// The token of the bracket open right now, for an exit that does not pass through the `Ui`.
static OPEN: Mutex<Option<String>> = Mutex::new(None);

/// Stops and resumes the runner's workflow commands around text tfgate passes through.
#[derive(Debug)]
pub struct Bracket {
    token: String,
    open: Cell<bool>,
}

impl Bracket {
    pub fn new() -> Bracket {
        Bracket {
            token: new_token(),
            open: Cell::new(false),
        }
    }

    /// The line that stops commands, when they are not stopped yet.
    pub fn open(&self) -> Option<String> {
        if self.open.replace(true) {
            return None;
        }
        *OPEN.lock().unwrap_or_else(|e| e.into_inner()) = Some(self.token.clone());
        Some(format!("::stop-commands::{}", self.token))
    }

    /// The line that resumes commands, when they are stopped.
    pub fn close(&self) -> Option<String> {
        if !self.open.replace(false) {
            return None;
        }
        *OPEN.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Some(format!("::{}::", self.token))
    }
}

/// Resumes workflow commands if a bracket is open, for an exit that skips the `Ui`'s drop (a
/// signal ending the process): the stop would otherwise last to the end of the step.
pub fn resume_before_exit() {
    let token = OPEN.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(token) = token {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "::{token}::");
        let _ = err.flush();
    }
}

/// `tfgate-` and 40 hex digits (160 bits) from the OS random source.
fn new_token() -> String {
    let mut bytes = [0u8; 20];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS random source: still nothing a plan written in advance can know.
        use sha2::{Digest, Sha256};
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let mut h = Sha256::new();
        h.update(now.as_nanos().to_le_bytes());
        h.update(std::process::id().to_le_bytes());
        h.update(format!("{:?}", std::thread::current().id()).as_bytes());
        bytes.copy_from_slice(&h.finalize()[..20]);
    }
    format!("tfgate-{}", hex::encode(bytes))
}

/// `text` with every line made unable to issue a workflow command, whatever the runner's state.
/// Unchanged (borrowed) when no line needs it, which is the usual case. Text that is one JSON
/// document is escaped the JSON way, so it still parses to the same value.
pub fn inert(text: &str) -> Cow<'_, str> {
    if !text.split('\n').any(needs_escaping) {
        return Cow::Borrowed(text);
    }
    let json = serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok();
    let mut out = String::with_capacity(text.len() + 16);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        inert_line(line, json, &mut out);
    }
    Cow::Owned(out)
}

fn needs_escaping(line: &str) -> bool {
    line.contains('\r') || leading_colons(line).is_some() || legacy_prefix(line)
}

fn inert_line(line: &str, json: bool, out: &mut String) {
    let lead = leading_colons(line);
    // '#' seen in a row, not counting weightless characters.
    let mut hashes = 0;
    for (i, c) in line.char_indices() {
        if lead == Some(i) {
            out.push('\\');
        }
        match c {
            // Between JSON tokens a carriage return is whitespace; it cannot be inside a string.
            '\r' => out.push(if json { ' ' } else { '␍' }),
            '[' if hashes >= 2 => out.push_str(if json { "\\u005b" } else { "\\[" }),
            _ => out.push(c),
        }
        if c == '#' {
            hashes += 1;
        } else if c == '\r' || !weightless(c) {
            hashes = 0;
        }
    }
}

/// Where a line's leading `::` starts (the runner trims whitespace, and its comparison skips
/// weightless characters).
fn leading_colons(line: &str) -> Option<usize> {
    let mut rest = line
        .char_indices()
        .filter(|&(_, c)| !weightless(c) && c != '\r');
    let (i, first) = rest.find(|&(_, c)| !c.is_whitespace())?;
    match (first, rest.next()) {
        (':', Some((_, ':'))) => Some(i),
        _ => None,
    }
}

/// Whether `##[` occurs, weightless characters aside.
fn legacy_prefix(line: &str) -> bool {
    let mut hashes = 0;
    for c in line.chars() {
        match c {
            '#' => hashes += 1,
            '[' if hashes >= 2 => return true,
            '\r' => hashes = 0,
            c if weightless(c) => {}
            _ => hashes = 0,
        }
    }
    false
}

/// Characters that ICU's collation ignores (controls, format characters, default-ignorable code
/// points), so that the runner's culture-sensitive `StartsWith`/`IndexOf` look through them. A
/// generous set: treating one too many as weightless only escapes a line that was harmless.
fn weightless(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{0600}'..='\u{0605}' | '\u{06DD}'
            | '\u{070F}' | '\u{0890}'..='\u{0891}' | '\u{08E2}' | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}' | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}'
            | '\u{110BD}' | '\u{110CD}' | '\u{13430}'..='\u{1343F}' | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harmless_text_is_untouched() {
        for text in [
            "plain",
            "a :: b",
            "# heading [x]",
            "#[x] # [y]",
            "{\"a\": \"::x\"}",
            "",
        ] {
            assert!(matches!(inert(text), Cow::Borrowed(_)), "{text:?}");
        }
    }

    #[test]
    fn commands_of_both_forms_become_text() {
        assert_eq!(inert("::error::x"), "\\::error::x");
        assert_eq!(inert("   ::add-mask::x"), "   \\::add-mask::x");
        assert_eq!(
            inert("\t::set-output name=a::b"),
            "\t\\::set-output name=a::b"
        );
        assert_eq!(inert("x ##[warning]y"), "x ##\\[warning]y");
        assert_eq!(inert("###[a] ##[b]"), "###\\[a] ##\\[b]");
        assert_eq!(inert("ok\n::error::x\nok"), "ok\n\\::error::x\nok");
    }

    #[test]
    fn carriage_returns_cannot_start_a_line() {
        assert_eq!(inert("a\rb::error::c"), "a␍b::error::c");
        assert_eq!(inert("a\r::error::c"), "a␍::error::c");
        assert_eq!(inert("#\r#[x]"), "#␍#[x]");
    }

    #[test]
    fn weightless_characters_do_not_hide_a_command() {
        assert_eq!(inert("\u{200B}::error::x"), "\u{200B}\\::error::x");
        assert_eq!(inert(" \u{FEFF} ::error::x"), " \u{FEFF} \\::error::x");
        assert_eq!(inert(":\u{200D}:error::x"), "\\:\u{200D}:error::x");
        assert_eq!(
            inert("#\u{0}#\u{200B}[error]x"),
            "#\u{0}#\u{200B}\\[error]x"
        );
    }

    #[test]
    fn json_keeps_its_value() {
        let text = serde_json::to_string_pretty(&serde_json::json!({
            "a": "##[error]x",
            "b": ["x ##[warning]y", "::error::z"],
        }))
        .unwrap();
        let shown = inert(&text);
        assert!(!shown.contains("##["), "{shown}");
        let back: serde_json::Value = serde_json::from_str(&shown).unwrap();
        let orig: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, orig);
    }

    #[test]
    fn tokens_are_fresh_and_long() {
        let a = Bracket::new();
        let b = Bracket::new();
        assert_ne!(a.token, b.token);
        let hex = a.token.strip_prefix("tfgate-").unwrap();
        assert_eq!(hex.len(), 40);
        assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn the_bracket_opens_and_closes_once() {
        let b = Bracket::new();
        assert_eq!(b.close(), None);
        assert_eq!(b.open(), Some(format!("::stop-commands::{}", b.token)));
        assert_eq!(b.open(), None);
        assert_eq!(b.close(), Some(format!("::{}::", b.token)));
        assert_eq!(b.close(), None);
    }
}
