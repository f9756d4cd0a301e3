//! The only writer to stdout and stderr.
//!
//! stdout carries the command's result (a table, markdown or one JSON object); stderr carries
//! progress, terraform's live output, warnings and errors. Every line passes through the
//! `Masker`, so a secret known to tfgate cannot reach the terminal or the CI log. Under GitHub
//! Actions, warnings and errors also become `::warning::`/`::error::` annotations, terraform's
//! output is folded into `::group::` blocks (`group`), and no other text can issue a workflow
//! command (see `workflow`): it is written inert, with the runner's commands stopped, and
//! commands are resumed only for tfgate's own annotations and group lines, and at exit.

mod workflow;

pub use workflow::resume_before_exit;

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::io::{IsTerminal, Write};
use std::sync::RwLock;

use crate::error::Error;
use crate::plan::redact::Masker;
use crate::terraform::{LineSink, Stream};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug)]
pub struct Ui {
    color: bool,
    quiet: bool,
    verbose: u8,
    annotations: bool,
    /// stderr is a terminal: a progress line may be redrawn in place.
    live: bool,
    /// A progress line is on screen and must be cleared before the next line.
    progress_shown: Cell<bool>,
    masker: RefCell<Masker>,
    /// Under GitHub Actions: stops workflow commands while text that is not tfgate's own
    /// command is written.
    commands: Option<workflow::Bracket>,
    /// A `::group::` is open (the runner does not nest groups).
    in_group: Cell<bool>,
    /// In tests: what would have been written, kept instead (see `Ui::capture`).
    #[cfg(test)]
    captured: Option<RefCell<Captured>>,
}

impl Ui {
    pub fn new(
        choice: ColorChoice,
        no_color_env: bool,
        quiet: bool,
        verbose: u8,
        annotations: bool,
    ) -> Ui {
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => !no_color_env && std::io::stdout().is_terminal(),
        };
        Ui {
            color,
            quiet,
            verbose,
            annotations,
            live: std::io::stderr().is_terminal() && !annotations,
            progress_shown: Cell::new(false),
            masker: RefCell::new(Masker::default()),
            commands: annotations.then(workflow::Bracket::new),
            in_group: Cell::new(false),
            #[cfg(test)]
            captured: None,
        }
    }

    pub fn color(&self) -> bool {
        self.color
    }

    pub fn verbose(&self) -> u8 {
        self.verbose
    }

    /// Replaces the masker (e.g. once `--mask` patterns are known).
    pub fn set_masker(&self, masker: Masker) {
        *self.masker.borrow_mut() = masker;
        self.share_with_logs();
    }

    /// Adds literal secrets found in a plan.
    pub fn add_secrets(&self, secrets: Vec<String>) {
        self.masker.borrow_mut().add_literals(secrets);
        self.share_with_logs();
    }

    /// The `-vv` logs (`LogWriter`) mask with the same masker.
    fn share_with_logs(&self) {
        *LOG_MASKER.write().unwrap_or_else(|e| e.into_inner()) = Some(self.masker());
    }

    /// A copy of the current masker, for renderers and files.
    pub fn masker(&self) -> Masker {
        self.masker.borrow().clone()
    }

    pub fn mask(&self, text: &str) -> String {
        self.masker.borrow().mask(text).into_owned()
    }

    /// The command's result, on stdout.
    pub fn result(&self, text: &str) {
        let masked = self.mask(text);
        let masked = self.plain(&masked);
        #[cfg(test)]
        if let Some(c) = &self.captured {
            let mut c = c.borrow_mut();
            c.stdout.push_str(&masked);
            if !masked.ends_with('\n') {
                c.stdout.push('\n');
            }
            return;
        }
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(masked.as_bytes());
        if !masked.ends_with('\n') {
            let _ = out.write_all(b"\n");
        }
        let _ = out.flush();
    }

    /// The command's result, written in pieces that each end with a line break but the last
    /// (`render::json::summary_pieces`). `render` is handed what to apply to each piece: the
    /// masking, which then runs on the threads that write the pieces, and the pieces are
    /// written one after the other, never joined. Where masking could reach across a line break
    /// (`Masker::within_lines`), or under GitHub Actions, where the text is made inert as a
    /// whole, the pieces are joined and written as `result` writes any text.
    pub fn result_pieces(
        &self,
        render: impl FnOnce(&(dyn Fn(String) -> String + Sync)) -> Vec<String>,
    ) {
        let masker = self.masker();
        let piecewise = masker.within_lines() && self.commands.is_none();
        #[cfg(test)]
        let piecewise = piecewise && self.captured.is_none();
        if !piecewise {
            return self.result(&render(&|piece| piece).concat());
        }
        let pieces = render(&|piece| match masker.mask(&piece) {
            Cow::Owned(masked) => masked,
            Cow::Borrowed(_) => piece,
        });
        let mut out = std::io::stdout().lock();
        for piece in &pieces {
            let _ = out.write_all(piece.as_bytes());
        }
        if !pieces.last().is_some_and(|p| p.ends_with('\n')) {
            let _ = out.write_all(b"\n");
        }
        let _ = out.flush();
    }

    /// Progress for people, on stderr; silent with `--quiet`.
    pub fn status(&self, text: &str) {
        if !self.quiet {
            self.stderr_line(&self.mask(text));
        }
    }

    /// Detail shown with `-v`.
    pub fn detail(&self, text: &str) {
        if self.verbose > 0 && !self.quiet {
            self.stderr_line(&self.mask(text));
        }
    }

    /// A live progress line on a terminal, redrawn in place by the next call and cleared by
    /// the next ordinary line; nothing at all when stderr is not a terminal (CI logs get the
    /// periodic `status` lines instead).
    pub fn progress(&self, text: &str) {
        if self.quiet || !self.live {
            return;
        }
        let text = self.mask(text);
        let text = self.plain(&text);
        let line: String = text.chars().take(160).collect();
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
        self.progress_shown.set(true);
    }

    /// One line of terraform's output, passed through live.
    pub fn terraform_line(&self, line: &str) {
        if !self.quiet {
            self.stderr_line(&self.mask(line));
        }
    }

    /// Asks a yes/no question on stderr and reads the answer from stdin; anything but `y` or
    /// `yes` is no. `None` when stdin is not a terminal: nobody can answer, so the caller needs
    /// an explicit flag (such as `--yes`) instead.
    pub fn confirm(&self, question: &str) -> Option<bool> {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return None;
        }
        {
            let question = self.mask(question);
            let question = self.plain(&question);
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "{question} [y/N] ");
            let _ = err.flush();
        }
        let mut answer = String::new();
        match stdin.read_line(&mut answer) {
            Ok(n) if n > 0 => Some(matches!(
                answer.trim().to_ascii_lowercase().as_str(),
                "y" | "yes"
            )),
            _ => Some(false),
        }
    }

    pub fn warning(&self, text: &str) {
        let text = self.mask(text);
        if self.annotations {
            self.command(&format!("::warning::{}", escape_annotation(&text)));
        } else {
            let label = self.paint("warning:", "33");
            self.stderr_line(&format!("{label} {text}"));
        }
    }

    /// An error that is an outcome rather than a failure of tfgate (a refused apply): said
    /// like `error`, without a hint.
    pub fn error_text(&self, text: &str) {
        let text = self.mask(text);
        if self.annotations {
            self.command(&format!("::error::{}", escape_annotation(&text)));
        } else {
            let label = self.paint("error:", "31");
            self.stderr_line(&format!("{label} {text}"));
        }
    }

    /// Under GitHub Actions, folds what is written until the returned guard is dropped into a
    /// collapsed group titled `title` (tfgate's own words, never plan text). The group lines are
    /// tfgate's commands, written with commands resumed, so they surround the stop-commands
    /// bracket of the text inside. Outside Actions, with `--quiet`, or inside another group
    /// (the runner does not nest them), nothing is written.
    pub fn group(&self, title: &str) -> Group<'_> {
        let open = self.commands.is_some() && !self.quiet && !self.in_group.replace(true);
        if open {
            let title = self.mask(title);
            self.command(&format!("::group::{}", escape_annotation(&title)));
        }
        Group { ui: self, open }
    }

    pub fn error(&self, err: &Error) {
        let text = self.mask(&err.to_string());
        let hint = err.hint().map(|h| self.mask(&h));
        let label = self.paint("error:", "31");
        self.stderr_line(&format!("{label} {text}"));
        if let Some(h) = &hint {
            let label = self.paint("hint:", "36");
            self.stderr_line(&format!("{label} {h}"));
        }
        // Last, so that commands are resumed for it and stay resumed.
        if self.annotations {
            let mut msg = text;
            if let Some(h) = &hint {
                msg.push('\n');
                msg.push_str(h);
            }
            self.command(&format!("::error::{}", escape_annotation(&msg)));
        }
    }

    fn paint(&self, text: &str, sgr: &str) -> String {
        if self.color {
            format!("\x1b[1;{sgr}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Text that is not one of tfgate's own workflow commands, about to be written: under
    /// GitHub Actions, commands are stopped first and the text is made inert.
    fn plain<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let Some(bracket) = &self.commands else {
            return Cow::Borrowed(text);
        };
        if let Some(stop) = bracket.open() {
            self.write_stderr(&stop);
        }
        workflow::inert(text)
    }

    /// One of tfgate's own workflow commands, written with commands resumed.
    fn command(&self, line: &str) {
        if let Some(resume) = self.commands.as_ref().and_then(workflow::Bracket::close) {
            self.write_stderr(&resume);
        }
        self.write_stderr(line);
    }

    fn stderr_line(&self, text: &str) {
        let text = self.plain(text);
        self.write_stderr(&text);
    }

    fn write_stderr(&self, text: &str) {
        #[cfg(test)]
        if let Some(c) = &self.captured {
            let mut c = c.borrow_mut();
            c.stderr.push_str(text);
            if !text.ends_with('\n') {
                c.stderr.push('\n');
            }
            return;
        }
        let mut err = std::io::stderr().lock();
        if self.progress_shown.replace(false) {
            let _ = err.write_all(b"\r\x1b[2K");
        }
        let _ = err.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = err.write_all(b"\n");
        }
        let _ = err.flush();
    }
}

/// An open `::group::`, ended (`::endgroup::`) when dropped, on every way out of the work it
/// folds.
#[must_use = "the group ends when this is dropped"]
pub struct Group<'u> {
    ui: &'u Ui,
    open: bool,
}

impl Drop for Group<'_> {
    fn drop(&mut self) {
        if self.open {
            self.ui.command("::endgroup::");
            self.ui.in_group.set(false);
        }
    }
}

/// The masker of the `-vv` logs, which tracing writes from wherever an event is emitted (the
/// `Ui` is not shared across threads, so it hands a copy here whenever it learns secrets).
static LOG_MASKER: RwLock<Option<Masker>> = RwLock::new(None);

/// Where tracing writes the `-vv` logs: stderr, each event masked as a whole.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogWriter;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = MaskedLogEvent;

    fn make_writer(&'a self) -> MaskedLogEvent {
        MaskedLogEvent(Vec::new())
    }
}

/// One log event, held until it is complete (tracing writes an event at once, then drops the
/// writer), then masked and written to stderr.
pub struct MaskedLogEvent(Vec<u8>);

impl Write for MaskedLogEvent {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for MaskedLogEvent {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let text = mask_log(&self.0);
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    }
}

/// A log event's text through the current masker, line by line.
fn mask_log(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let masker = LOG_MASKER.read().unwrap_or_else(|e| e.into_inner());
    match masker.as_ref() {
        Some(m) => text
            .split_inclusive('\n')
            .map(|line| m.mask(line))
            .collect(),
        None => text.into_owned(),
    }
}

/// Workflow-command data escaping (`%`, CR and LF), so a message cannot inject commands.
pub fn escape_annotation(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

impl Drop for Ui {
    /// Commands stopped for pass-through text are resumed before tfgate exits.
    fn drop(&mut self) {
        if let Some(resume) = self.commands.as_ref().and_then(workflow::Bracket::close) {
            self.write_stderr(&resume);
        }
    }
}

impl LineSink for Ui {
    fn line(&self, _stream: Stream, line: &str) {
        self.terraform_line(line);
    }
}

/// What a capturing `Ui` was asked to write.
#[cfg(test)]
#[derive(Debug, Default)]
struct Captured {
    stdout: String,
    stderr: String,
}

#[cfg(test)]
impl Ui {
    /// A `Ui` that keeps what it writes instead of writing it, as a CI log would show it: no
    /// colour, no live progress line, no annotations.
    pub fn capture() -> Ui {
        let mut ui = Ui::new(ColorChoice::Never, true, false, 0, false);
        ui.live = false;
        ui.captured = Some(RefCell::default());
        ui
    }

    /// What was written to stdout so far.
    pub fn stdout(&self) -> String {
        self.captured
            .as_ref()
            .map(|c| c.borrow().stdout.clone())
            .unwrap_or_default()
    }

    /// What was written to stderr so far.
    pub fn stderr(&self) -> String {
        self.captured
            .as_ref()
            .map(|c| c.borrow().stderr.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capturing_ui_keeps_what_it_writes() {
        let ui = Ui::capture();
        ui.status("tfgate: one");
        ui.progress("not a terminal: nothing");
        ui.warning("two");
        ui.result("{}");
        assert_eq!(ui.stderr(), "tfgate: one\nwarning: two\n");
        assert_eq!(ui.captured.as_ref().unwrap().borrow().stdout, "{}\n");
    }

    #[test]
    fn logs_are_masked_with_the_secrets_the_ui_knows() {
        let ui = Ui::new(ColorChoice::Never, true, false, 2, false);
        ui.add_secrets(vec!["S3CRET\"log\"-3a9f".to_string()]);
        assert_eq!(
            mask_log(
                b"DEBUG running terraform dir=/x/S3CRET\\\"log\\\"-3a9f\nnext S3CRET\"log\"-3a9f\n"
            ),
            "DEBUG running terraform dir=/x/(sensitive value)\nnext (sensitive value)\n"
        );
    }

    #[test]
    fn annotation_escaping() {
        assert_eq!(
            escape_annotation("50% done\n::error::x"),
            "50%25 done%0A::error::x"
        );
    }
}
