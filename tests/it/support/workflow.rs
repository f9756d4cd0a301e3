//! A model of how the GitHub Actions runner turns a step's output into workflow commands
//! (`ActionCommandManager.TryProcessCommand` with `ActionCommand.TryParseV2` and `TryParse`), to
//! tell which lines of tfgate's output the runner would act on.
//!
//! The rules modelled:
//! * a line ends at `\n`, `\r\n` or a lone `\r` (`StreamReader.ReadLine`);
//! * a line is a command if, after leading whitespace, it starts with `::NAME[ PROPS]::DATA`
//!   (v2), or else if it holds `##[NAME[ PROPS]]DATA` (v1) anywhere; NAME must be registered,
//!   compared without regard to case;
//! * `::stop-commands::TOKEN` stops processing; until a command named TOKEN resumes it, every
//!   other command is ignored (shown as text);
//! * `::group::TITLE` folds the lines after it, up to `::endgroup::`, under TITLE; groups do not
//!   nest.
//!
//! The runner matches `::` and `##[` with culture-sensitive comparisons, for which ICU gives
//! zero-width and control characters no weight. The model drops such characters before matching,
//! trims after dropping, and tries every `##[` of a line rather than the first only: it can find
//! more commands than the runner does, never fewer.

/// The commands a runner knows (its command extensions, plus `stop-commands`).
pub const REGISTERED: &[&str] = &[
    "add-mask",
    "add-matcher",
    "add-path",
    "debug",
    "echo",
    "endgroup",
    "error",
    "group",
    "notice",
    "remove-matcher",
    "save-state",
    "set-env",
    "set-output",
    "stop-commands",
    "warning",
];

/// What the runner did with one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// `stop-commands` with this token.
    Stop(String),
    /// Processing resumed by the stop token.
    Resume(String),
    /// A command carried out: its name (lower case) and its unescaped data.
    Command { name: String, data: String },
}

/// The runner's command state over a step's output.
#[derive(Debug, Default)]
pub struct Runner {
    stopped: Option<String>,
    pub events: Vec<Event>,
    /// Lines shown as text while commands were not stopped.
    pub unbracketed: Vec<String>,
    /// Every line shown as text, with the title of the group it is folded into.
    pub shown: Vec<(Option<String>, String)>,
    /// Group commands the runner cannot honour: a group opened inside another, an end outside
    /// any group.
    pub misgrouped: Vec<String>,
    group: Option<String>,
}

impl Runner {
    pub fn new() -> Runner {
        Runner::default()
    }

    /// The stop token in force, if commands are stopped.
    pub fn stopped(&self) -> Option<&str> {
        self.stopped.as_deref()
    }

    /// Processes `output` line by line.
    pub fn feed(&mut self, output: &str) {
        for line in lines(output) {
            self.line(line);
        }
    }

    fn line(&mut self, line: &str) {
        let Some((name, data)) = parse(line, self.stopped.as_deref()) else {
            if self.stopped.is_none() {
                self.unbracketed.push(line.to_string());
            }
            self.shown.push((self.group.clone(), line.to_string()));
            return;
        };
        match &self.stopped {
            Some(token) => {
                if name.eq_ignore_ascii_case(token) {
                    self.events.push(Event::Resume(token.clone()));
                    self.stopped = None;
                } else {
                    self.shown.push((self.group.clone(), line.to_string()));
                }
            }
            None if name == "stop-commands" => {
                self.events.push(Event::Stop(data.clone()));
                self.stopped = Some(data);
            }
            None => {
                match name.as_str() {
                    "group" => {
                        if let Some(open) = &self.group {
                            self.misgrouped
                                .push(format!("group {data:?} opened inside {open:?}"));
                        }
                        self.group = Some(data.clone());
                    }
                    "endgroup" => {
                        let closed = self.group.take();
                        if closed.is_none() {
                            self.misgrouped.push("endgroup outside a group".to_string());
                        }
                    }
                    _ => {}
                }
                self.events.push(Event::Command { name, data });
            }
        }
    }

    /// The group open now, if any.
    pub fn open_group(&self) -> Option<&str> {
        self.group.as_deref()
    }

    /// The titles of the groups opened, in order.
    pub fn groups(&self) -> Vec<String> {
        self.commands()
            .into_iter()
            .filter(|(name, _)| name == "group")
            .map(|(_, title)| title)
            .collect()
    }

    /// The commands carried out, groups and stops aside.
    pub fn annotations(&self) -> Vec<(String, String)> {
        self.commands()
            .into_iter()
            .filter(|(name, _)| name != "group" && name != "endgroup")
            .collect()
    }

    /// The group the first line shown that contains `text` is folded into (`Some(None)`: it is
    /// shown outside any group; `None`: no such line).
    pub fn group_of(&self, text: &str) -> Option<Option<&str>> {
        self.shown
            .iter()
            .find(|(_, line)| line.contains(text))
            .map(|(group, _)| group.as_deref())
    }

    /// Checks that groups open and close in pairs, one at a time, and none is left open.
    #[track_caller]
    pub fn assert_groups_balanced(&self, transcript: &str) {
        assert_eq!(self.misgrouped, Vec::<String>::new(), "{transcript}");
        assert_eq!(
            self.open_group(),
            None,
            "a group is left open\n{transcript}"
        );
    }

    /// The commands carried out, stops and resumes aside.
    pub fn commands(&self) -> Vec<(String, String)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Command { name, data } => Some((name.clone(), data.clone())),
                _ => None,
            })
            .collect()
    }
}

/// The lines of `output` as the runner reads them.
pub fn lines(output: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = output;
    while !rest.is_empty() {
        match rest.find(['\n', '\r']) {
            None => {
                out.push(rest);
                break;
            }
            Some(i) => {
                out.push(&rest[..i]);
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
            }
        }
    }
    out
}

/// The command a line holds, given the stop token in force (also a registered name then):
/// its name in lower case and its data.
pub fn parse(line: &str, token: Option<&str>) -> Option<(String, String)> {
    let line: String = line.chars().filter(|c| !weightless(*c)).collect();
    let registered = |name: &str| {
        REGISTERED.iter().any(|r| r.eq_ignore_ascii_case(name))
            || token.is_some_and(|t| t.eq_ignore_ascii_case(name))
    };
    // v2: `::NAME PROPS::DATA` at the start.
    let trimmed = line.trim_start();
    if let Some(after) = trimmed.strip_prefix("::")
        && let Some(end) = after.find("::")
    {
        let info = &after[..end];
        let name = info.split(' ').next().unwrap_or("");
        if registered(name) {
            return Some((name.to_ascii_lowercase(), unescape(&after[end + 2..])));
        }
    }
    // v1: `##[NAME PROPS]DATA` anywhere.
    let mut from = 0;
    while let Some(i) = line[from..].find("##[") {
        let start = from + i + 3;
        if let Some(close) = line[start..].find(']') {
            let info = &line[start..start + close];
            let name = info.split(' ').next().unwrap_or("");
            if registered(name) {
                return Some((
                    name.to_ascii_lowercase(),
                    unescape(&line[start + close + 1..]),
                ));
            }
        }
        from = from + i + 1;
    }
    None
}

fn unescape(data: &str) -> String {
    data.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%25", "%")
}

/// Characters ICU's collation gives no weight (controls, zero-width and other format
/// characters).
fn weightless(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}')
}

/// Markdown with code spans and fenced code blocks left out, for looking at the text GitHub
/// would search for mentions. Approximate in the safe direction: anything it does not recognise
/// as code stays in.
pub fn without_code(markdown: &str) -> String {
    let mut out = String::new();
    let mut fence: Option<usize> = None;
    for line in lines(markdown) {
        let t = line.trim_start_matches(' ');
        let run = t.bytes().take_while(|b| *b == b'`').count();
        match fence {
            Some(open) => {
                if run >= open && t[run..].trim().is_empty() {
                    fence = None;
                }
                continue;
            }
            None if run >= 3 && line.len() - t.len() <= 3 => {
                fence = Some(run);
                continue;
            }
            None => {}
        }
        out.push_str(&without_code_spans(line));
        out.push('\n');
    }
    out
}

/// A line with its code spans left out: a backtick run opens a span closed by the next run of
/// the same length; a run never closed is text.
fn without_code_spans(line: &str) -> String {
    let bytes = line.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    let mut text_from = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i] != b'`' {
            i += 1;
            continue;
        }
        let run = bytes[i..].iter().take_while(|b| **b == b'`').count();
        let mut j = i + run;
        let mut closed = None;
        while j < bytes.len() {
            if bytes[j] == b'`' {
                let r = bytes[j..].iter().take_while(|b| **b == b'`').count();
                if r == run {
                    closed = Some(j + r);
                    break;
                }
                j += r;
            } else {
                j += 1;
            }
        }
        match closed {
            Some(end) => {
                out.push_str(&line[text_from..i]);
                i = end;
                text_from = end;
            }
            None => i += run,
        }
    }
    out.push_str(&line[text_from.min(line.len())..]);
    out
}

/// Mentions GitHub would make of `markdown`: `@name` or `@org/team` outside code, after the
/// start of a line or a character that is not a letter, digit or `_`.
pub fn live_mentions(markdown: &str) -> Vec<String> {
    let text = without_code(markdown);
    let chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    for (i, c) in chars.iter().enumerate() {
        if *c != '@' {
            continue;
        }
        let prev_ok = i == 0 || !(chars[i - 1].is_ascii_alphanumeric() || chars[i - 1] == '_');
        let name: String = chars[i + 1..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | '_'))
            .collect();
        if prev_ok && name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            found.push(format!("@{name}"));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_reads_commands_as_the_runner_does() {
        assert_eq!(
            parse("  ::add-mask::x", None),
            Some(("add-mask".into(), "x".into()))
        );
        assert_eq!(
            parse("::set-output name=a::b%0Ac", None),
            Some(("set-output".into(), "b\nc".into()))
        );
        assert_eq!(
            parse("x ##[warning]y", None),
            Some(("warning".into(), "y".into()))
        );
        assert_eq!(
            parse("\u{200B}::Error::x", None),
            Some(("error".into(), "x".into()))
        );
        assert_eq!(parse("::nope::x", None), None);
        assert_eq!(parse("\\::error::x", None), None);
        assert_eq!(parse("##\\[error]x", None), None);
        assert_eq!(
            parse("::tok::", Some("TOK")),
            Some(("tok".into(), "".into()))
        );
        assert_eq!(
            lines("a\rb::error::c\r\nd\n"),
            vec!["a", "b::error::c", "d"]
        );

        let mut r = Runner::new();
        r.feed("::group::g\n::stop-commands::t\n::endgroup::\nx\n::t::\n::endgroup::\ny\n");
        assert_eq!(r.groups(), vec!["g"]);
        assert_eq!(
            r.shown,
            vec![
                (Some("g".to_string()), "::endgroup::".to_string()),
                (Some("g".to_string()), "x".to_string()),
                (None, "y".to_string()),
            ]
        );
        r.assert_groups_balanced("");
        let mut r = Runner::new();
        r.feed("::group::a\n::group::b\n::endgroup::\n::endgroup::\n");
        assert_eq!(r.misgrouped.len(), 2, "{:?}", r.misgrouped);

        let mut r = Runner::new();
        r.feed("::error::one\n::stop-commands::t\n::error::two\n::t::\n##[warning]three\n");
        assert_eq!(
            r.events,
            vec![
                Event::Command {
                    name: "error".into(),
                    data: "one".into()
                },
                Event::Stop("t".into()),
                Event::Resume("t".into()),
                Event::Command {
                    name: "warning".into(),
                    data: "three".into()
                },
            ]
        );
    }

    #[test]
    fn mentions_outside_code_are_found() {
        assert_eq!(live_mentions("hi @org/team!"), vec!["@org/team"]);
        assert!(live_mentions("hi @\u{200B}org/team").is_empty());
        assert!(live_mentions("`@org/team` and ``a ` @b``").is_empty());
        assert!(live_mentions("```\n@org/team\n```\n").is_empty());
        assert!(live_mentions("ops@example.com").is_empty());
        assert_eq!(live_mentions("`open @x"), vec!["@x"]);
    }
}
