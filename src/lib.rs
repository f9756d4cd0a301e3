//! tfgate: plan, archive, review and apply Terraform from GitHub Actions, so that what reaches
//! production is exactly what was reviewed.
//!
//! `run` takes the parsed command line and the environment snapshot and returns an `Outcome`
//! or an `Error`; `main` maps either to the exit code (`error::code`).

pub mod actions;
pub mod archive;
pub mod aws;
pub mod cli;
pub mod commands;
pub mod context;
pub mod duration;
pub mod error;
pub mod github;
pub mod ops;
pub mod plan;
pub mod queue;
pub mod render;
pub mod sarif;
pub mod settings;
pub mod state_lock;
pub mod terraform;
pub mod ui;
pub mod wire;

use clap::CommandFactory;
use cli::{Cli, Command};
use context::{Context, Env};
use error::{Error, Outcome};
use plan::redact::Masker;
use ui::Ui;

/// Builds the `Ui` for a command line and environment.
pub fn make_ui(cli: &Cli, ctx: &Context) -> Ui {
    Ui::new(
        cli.global.color,
        ctx.no_color,
        cli.global.quiet,
        cli.global.verbose,
        ctx.github_actions,
    )
}

/// Runs one tfgate command.
pub fn run(cli: Cli, env: &Env, ui: &Ui) -> Result<Outcome, Error> {
    let ctx = Context::from_env(env);
    init_tracing(cli.global.verbose);
    aws::use_ca_bundle(ctx.aws_ca_bundle.clone());
    let masker = Masker::new(&cli.global.masks).map_err(|e| Error::MaskPattern {
        pattern: cli.global.masks.join(" "),
        message: e.to_string(),
    })?;
    ui.set_masker(masker);
    let (common, file) = settings::resolve_common(&cli.global, &ctx)?;
    let github = settings::resolve_github(&cli.global.github, &ctx, &file, common.file.as_deref())?;
    // File patterns join the command line's.
    ui.set_masker(Masker::new(&common.masks).map_err(|e| Error::MaskPattern {
        pattern: common.masks.join(" "),
        message: e.to_string(),
    })?);

    ui.add_secrets(terraform::backend::secret_init_values(&common.init_args));
    if matches!(cli.command, Command::Plan(_) | Command::Apply(_))
        && let Some(wrapper) =
            terraform::wrapper::setup_terraform_wrapper(&common.terraform, ctx.path.as_deref())
    {
        ui.warning(&format!(
            "{} is hashicorp/setup-terraform's wrapper script: it buffers terraform's output and does not pass signals on, so a cancelled run cannot make terraform release the state lock; set `terraform_wrapper: false` on the setup-terraform step",
            wrapper.display()
        ));
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("start", "the async runtime", e))?;
    let _guard = runtime.enter();
    terraform::runner::install_signal_handlers()
        .map_err(|e| Error::io("install signal handlers for", "tfgate", e))?;
    let resolved = Resolved {
        ctx,
        common,
        file,
        github,
    };
    dispatch(&cli.command, env, ui, resolved, &runtime)
}

/// What commands take from the command line, the environment and the settings file, resolved
/// once by `run`.
struct Resolved {
    ctx: Context,
    common: settings::Common,
    file: settings::FileSettings,
    github: settings::GithubSettings,
}

/// Runs one command, on `runtime` when it is async.
fn dispatch(
    command: &Command,
    env: &Env,
    ui: &Ui,
    resolved: Resolved,
    runtime: &tokio::runtime::Runtime,
) -> Result<Outcome, Error> {
    let Resolved {
        ctx,
        common,
        file,
        github,
    } = resolved;
    match command {
        Command::Plan(args) => {
            let inputs = commands::plan::Inputs {
                common: &common,
                file: &file,
                ctx: &ctx,
                env,
                github: &github,
            };
            runtime.block_on(commands::plan::run(ui, args, &inputs))
        }
        Command::Show(args) => runtime.block_on(commands::show::run(ui, &common, &args.plan)),
        Command::Apply(args) => runtime.block_on(commands::apply::run(
            ui, args, &common, &file, &ctx, &github,
        )),
        Command::Diff(args) => {
            let rules =
                settings::resolve_ignore(&file, common.file.as_deref(), &args.ignore.rules)?;
            runtime.block_on(commands::diff::run(ui, &common, &github, args, &rules))
        }
        Command::Lock(cmd) => runtime.block_on(commands::lock::run(ui, &common, cmd)),
        Command::Queue(cmd) => runtime.block_on(commands::queue::run(ui, &common, cmd)),
        Command::Archive(cmd) => {
            runtime.block_on(commands::archive::run(ui, &common, &github, cmd))
        }
        Command::Comment(args) => {
            runtime.block_on(commands::comment::run(ui, &github, &args.bundle))
        }
        Command::Completions(args) => {
            commands::completions::completions(ui, Cli::command(), args.shell)
        }
        Command::Man(args) => commands::completions::man(ui, Cli::command(), args),
    }
}

/// With `-v`: how the run's wall time splits between terraform and tfgate itself.
pub fn report_time(ui: &Ui, total: std::time::Duration) {
    let in_terraform = terraform::runner::time_in_terraform();
    if in_terraform.is_zero() {
        return;
    }
    let own = total.saturating_sub(in_terraform);
    ui.detail(&format!(
        "tfgate: {:.1} ms in all, {:.1} ms in terraform, {:.1} ms in tfgate",
        total.as_secs_f64() * 1e3,
        in_terraform.as_secs_f64() * 1e3,
        own.as_secs_f64() * 1e3
    ));
}

fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 | 1 => return,
        2 => "tfgate=debug",
        _ => "tfgate=trace",
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(level))
        .with_writer(ui::LogWriter)
        .with_target(false)
        .try_init();
}
