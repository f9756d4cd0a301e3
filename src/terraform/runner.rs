//! terraform as a child process.
//!
//! Output is read as bytes and split into lines (invalid UTF-8 is replaced, never fatal), each
//! whole line is masked and passed to a sink while it is also kept: the last lines of stderr
//! for error messages, all of stdout when asked. terraform runs in its own process group, so a
//! Ctrl-C reaches it once, from tfgate: `install_signal_handlers` makes SIGINT/SIGTERM forward
//! to the running terraform, which tfgate then waits for (terraform releases its state lock on
//! the way out) before reporting `Error::Interrupted`. With no terraform running, the signal
//! ends tfgate at once, as it would without handlers, unless a caller holds something that
//! must be given back first (a place in the apply queue): after `defer_signals`, the signal is
//! only recorded, `signalled()` wakes, and no terraform is started any more.

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::signal::unix::{SignalKind, signal};

use crate::error::Error;

/// How many lines of stderr a `TerraformFailed` error carries.
pub const STDERR_TAIL_LINES: usize = 20;

/// Where each line of terraform's output goes while it runs.
pub trait LineSink {
    fn line(&self, stream: Stream, line: &str);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// What to do with terraform's stdout.
#[derive(Debug)]
pub enum Stdout {
    /// Pass each line to the sink as it comes.
    Stream,
    /// Keep it (e.g. `show -no-color`), also streaming nothing.
    Capture,
    /// Write it to a file untouched (e.g. `show -json`, which can be large). tfgate writes
    /// the file itself rather than handing terraform the descriptor: terraform ignores a failed
    /// write of its output (a full disk), and would leave a cut-off file and exit 0.
    File(PathBuf),
}

/// A terraform binary bound to a root directory.
#[derive(Debug, Clone)]
pub struct Terraform {
    pub binary: String,
    pub dir: PathBuf,
    /// Extra environment for the child (e.g. `TF_WORKSPACE`, `TF_IN_AUTOMATION`).
    pub env: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct RunOutput {
    pub status: ExitStatus,
    /// All of stdout when `Stdout::Capture` was asked for.
    pub stdout: String,
    /// The last `STDERR_TAIL_LINES` lines of stderr, unmasked: whoever shows them masks them.
    pub stderr_tail: String,
    pub elapsed: Duration,
}

impl RunOutput {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

impl Terraform {
    pub fn new(binary: impl Into<String>, dir: impl Into<PathBuf>) -> Terraform {
        Terraform {
            binary: binary.into(),
            dir: dir.into(),
            env: Vec::new(),
        }
    }

    /// Runs terraform with `args`, whatever its exit status (the caller decides what a
    /// status means). Errors only when it cannot start or when tfgate was interrupted.
    pub async fn run(
        &self,
        args: &[String],
        stdout: Stdout,
        sink: &dyn LineSink,
    ) -> Result<RunOutput, Error> {
        // A signal already received (while tfgate held its place in the queue) means: start
        // nothing new.
        stop_if_signalled()?;
        let started = Instant::now();
        let mut out_file = match &stdout {
            Stdout::File(path) => Some((
                path,
                std::fs::File::create(path).map_err(|e| Error::io("create", path, e))?,
            )),
            Stdout::Stream | Stdout::Capture => None,
        };
        let mut child = self.spawn(args)?;

        let out_pipe = child.stdout.take();
        let err_pipe = child.stderr.take();
        let capture = matches!(stdout, Stdout::Capture);
        let mut captured = String::new();
        let mut tail: VecDeque<String> = VecDeque::with_capacity(STDERR_TAIL_LINES + 1);
        let mut write_error: Option<std::io::Error> = None;

        let read_out = async {
            if let Some(pipe) = out_pipe {
                if let Some((_, file)) = out_file.as_mut() {
                    write_error = copy_to_file(pipe, file).await;
                    return;
                }
                for_each_line(pipe, |line| {
                    if capture {
                        captured.push_str(line);
                        captured.push('\n');
                    } else {
                        sink.line(Stream::Stdout, line);
                    }
                })
                .await;
            }
        };
        let read_err = async {
            if let Some(pipe) = err_pipe {
                for_each_line(pipe, |line| {
                    sink.line(Stream::Stderr, line);
                    tail.push_back(line.to_string());
                    if tail.len() > STDERR_TAIL_LINES {
                        tail.pop_front();
                    }
                })
                .await;
            }
        };
        tokio::join!(read_out, read_err);
        let status = child.wait().await;
        TERRAFORM_TIME.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        *RUNNING.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let status = status.map_err(|e| spawn_error(self, e))?;

        stop_if_signalled()?;
        if let (Some(e), Some((path, _))) = (write_error, out_file) {
            // Whatever terraform's status, its output is incomplete: say why (a full disk says
            // "No space left on device"), rather than let the cut-off file speak for itself.
            return Err(Error::io("write", path, e));
        }
        Ok(RunOutput {
            status,
            stdout: captured,
            stderr_tail: tail.into_iter().collect::<Vec<_>>().join("\n"),
            elapsed: started.elapsed(),
        })
    }

    /// The command for `args`, run in the root with stdin closed and both outputs piped.
    fn command(&self, args: &[String]) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.args(args)
            .current_dir(&self.dir)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("TF_IN_AUTOMATION", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group: a terminal's Ctrl-C goes to tfgate only, and tfgate
            // forwards exactly one signal per signal it receives.
            .process_group(0)
            .kill_on_drop(false);
        cmd
    }

    /// Starts terraform with `args` and records it as the running terraform, which signals are
    /// forwarded to.
    fn spawn(&self, args: &[String]) -> Result<Child, Error> {
        let mut cmd = self.command(args);
        // Only the subcommand: passed-through arguments may carry values (`-var=…`).
        let subcommand = args.first().map_or("", String::as_str);
        tracing::debug!(binary = %self.binary, subcommand, dir = %self.dir.display(), "running terraform");
        // Held across the spawn so a signal cannot fall between the spawn and the record.
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        let child = cmd.spawn().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::TerraformNotFound {
                    binary: self.binary.clone(),
                }
            } else {
                spawn_error(self, e)
            }
        })?;
        *running = child.id().map(|p| Pid::from_raw(p as i32));
        Ok(child)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// What the workflows need of terraform: a run with arguments, its output where asked. The
/// binary in a root (`Terraform`) is the one implementation outside tests; a stand-in lets the
/// workflows' decisions be tested without it.
#[allow(async_fn_in_trait)] // used with concrete types only; no Send bound needed
pub trait RunTerraform {
    /// The binary's name, for errors.
    fn binary(&self) -> &str;

    /// Runs terraform with `args`, whatever its exit status (the caller decides what a status
    /// means). Errors only when it cannot start or when tfgate was interrupted.
    async fn run(
        &self,
        args: &[String],
        stdout: Stdout,
        sink: &dyn LineSink,
    ) -> Result<RunOutput, Error>;

    /// Runs terraform and turns a non-zero exit into `Error::TerraformFailed`.
    async fn run_ok(
        &self,
        args: &[String],
        stdout: Stdout,
        sink: &dyn LineSink,
    ) -> Result<RunOutput, Error> {
        let out = self.run(args, stdout, sink).await?;
        if out.status.success() {
            Ok(out)
        } else {
            Err(self.failed(args, &out))
        }
    }

    fn failed(&self, args: &[String], out: &RunOutput) -> Error {
        Error::TerraformFailed {
            binary: self.binary().to_string(),
            args: args.to_vec(),
            status: out.code(),
            stderr_tail: out.stderr_tail.clone(),
        }
    }
}

impl RunTerraform for Terraform {
    fn binary(&self) -> &str {
        &self.binary
    }

    async fn run(
        &self,
        args: &[String],
        stdout: Stdout,
        sink: &dyn LineSink,
    ) -> Result<RunOutput, Error> {
        Terraform::run(self, args, stdout, sink).await
    }
}

fn spawn_error(tf: &Terraform, source: std::io::Error) -> Error {
    Error::TerraformSpawn {
        binary: tf.binary.clone(),
        source,
    }
}

/// Wall time spent in terraform processes so far, in microseconds (for `-v`'s account of
/// tfgate's own overhead).
static TERRAFORM_TIME: AtomicU64 = AtomicU64::new(0);

/// How long this process has waited for terraform, in total.
pub fn time_in_terraform() -> Duration {
    Duration::from_micros(TERRAFORM_TIME.load(Ordering::Relaxed))
}

/// The terraform process running now, if any.
static RUNNING: Mutex<Option<Pid>> = Mutex::new(None);
/// The first signal received while terraform ran or signals were deferred (0: none). It is
/// never cleared: once asked to stop, tfgate stops.
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// Set by `defer_signals`: with no terraform running, record the signal instead of exiting.
static DEFERRED: AtomicBool = AtomicBool::new(false);
/// Wakes `signalled()`.
static SIGNALLED: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// The first SIGINT/SIGTERM received, if any.
pub fn pending_signal() -> Option<Signal> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        n => Signal::try_from(n).ok(),
    }
}

/// `Error::Interrupted` once a SIGINT/SIGTERM has been received.
fn stop_if_signalled() -> Result<(), Error> {
    match pending_signal() {
        Some(sig) => Err(Error::Interrupted {
            signal: sig as i32,
            signal_name: sig.as_str().to_string(),
        }),
        None => Ok(()),
    }
}

/// From now on a signal received while no terraform runs does not end tfgate: it is recorded
/// (`pending_signal`), wakes `signalled()`, and keeps any further terraform from starting. For
/// callers that must clean up first (leave the apply queue).
pub fn defer_signals() {
    DEFERRED.store(true, Ordering::SeqCst);
}

/// Resolves once a signal has been received (at once if one already was).
pub async fn signalled() -> Signal {
    loop {
        if let Some(sig) = pending_signal() {
            return sig;
        }
        SIGNALLED.notified().await;
    }
}

/// Handles SIGINT and SIGTERM for the rest of the process: forwarded to a running terraform
/// (which tfgate then waits for), or ending tfgate at once (exit 128 + signal) when none runs.
/// Call from inside the tokio runtime.
pub fn install_signal_handlers() -> std::io::Result<()> {
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        loop {
            let sig = tokio::select! {
                _ = sigint.recv() => Signal::SIGINT,
                _ = sigterm.recv() => Signal::SIGTERM,
            };
            on_signal(sig);
        }
    });
    Ok(())
}

fn on_signal(sig: Signal) {
    let running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    match *running {
        Some(pid) => {
            tracing::debug!(signal = sig.as_str(), "forwarding signal to terraform");
            let _ = RECEIVED.compare_exchange(0, sig as i32, Ordering::SeqCst, Ordering::SeqCst);
            SIGNALLED.notify_one();
            // terraform may have exited a moment ago; then there is nothing to forward to.
            let _ = kill(pid, sig);
        }
        None if DEFERRED.load(Ordering::SeqCst) => {
            tracing::debug!(signal = sig.as_str(), "signal recorded for the caller");
            let _ = RECEIVED.compare_exchange(0, sig as i32, Ordering::SeqCst, Ordering::SeqCst);
            SIGNALLED.notify_one();
        }
        None => {
            let _ = writeln!(
                std::io::stderr(),
                "tfgate: interrupted by {}; stopping (any bundle being written stays incomplete)",
                sig.as_str()
            );
            crate::ui::resume_before_exit();
            std::process::exit(128 + sig as i32);
        }
    }
}

/// Calls `f` with each line of `reader` (without its line ending), decoding invalid UTF-8
/// lossily. A final line without a newline is delivered too.
/// Copies a child's output into a file; the first write error, if any. After a failed write
/// the rest is read and dropped, so the child finishes as it would have (no broken pipe).
async fn copy_to_file(
    mut reader: impl AsyncRead + Unpin,
    file: &mut std::fs::File,
) -> Option<std::io::Error> {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 256 * 1024];
    let mut failed: Option<std::io::Error> = None;
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if failed.is_none()
            && let Err(e) = file.write_all(&buf[..n])
        {
            failed = Some(e);
        }
    }
    failed
}

async fn for_each_line(reader: impl AsyncRead + Unpin, mut f: impl FnMut(&str)) {
    let mut reader = BufReader::new(reader);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                while matches!(buf.last(), Some(b'\n' | b'\r')) {
                    buf.pop();
                }
                f(&String::from_utf8_lossy(&buf));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[derive(Default)]
    struct Collect(RefCell<Vec<(Stream, String)>>);
    impl LineSink for Collect {
        fn line(&self, stream: Stream, line: &str) {
            self.0.borrow_mut().push((stream, line.to_string()));
        }
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn streams_lines_and_keeps_the_stderr_tail() {
        let dir = tempfile::tempdir().unwrap();
        let tf = Terraform::new("sh", dir.path());
        let sink = Collect::default();
        let args: Vec<String> = [
            "-c",
            "printf 'a\\nb\\377\\n'; echo err1 >&2; printf 'no newline' >&2; exit 3",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let out = rt().block_on(tf.run(&args, Stdout::Stream, &sink)).unwrap();
        assert_eq!(out.code(), Some(3));
        assert_eq!(out.stderr_tail, "err1\nno newline");
        let lines = sink.0.into_inner();
        assert!(
            lines.contains(&(Stream::Stdout, "b\u{FFFD}".to_string())),
            "{lines:?}"
        );
        let err = rt()
            .block_on(tf.run_ok(&args, Stdout::Capture, &Collect::default()))
            .unwrap_err();
        assert!(matches!(
            err,
            Error::TerraformFailed {
                status: Some(3),
                ..
            }
        ));
    }

    #[test]
    fn a_full_disk_is_an_error_saying_so() {
        // /dev/full: every write fails with ENOSPC, as on a full file system.
        let tf = Terraform::new("sh", ".");
        let args: Vec<String> = ["-c", "head -c 300000 /dev/zero; echo done >&2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let err = rt()
            .block_on(tf.run(
                &args,
                Stdout::File(PathBuf::from("/dev/full")),
                &Collect::default(),
            ))
            .unwrap_err();
        let Error::Io { action, source, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(*action, "write");
        assert_eq!(source.kind(), std::io::ErrorKind::StorageFull);
        assert!(
            err.to_string()
                .to_lowercase()
                .contains("no space left on device"),
            "{err}"
        );
        assert!(err.hint().is_some_and(|h| h.contains("full")), "{err:?}");

        // A file that takes the output: written whole.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        let out = rt()
            .block_on(tf.run(&args, Stdout::File(path.clone()), &Collect::default()))
            .unwrap();
        assert!(out.status.success());
        assert_eq!(std::fs::read(&path).unwrap().len(), 300_000);
    }

    #[test]
    fn missing_binary_is_a_clear_error() {
        let tf = Terraform::new("/nonexistent/terraform", ".");
        let err = rt()
            .block_on(tf.run(&[], Stdout::Stream, &Collect::default()))
            .unwrap_err();
        assert!(matches!(err, Error::TerraformNotFound { .. }), "{err:?}");
    }
}
