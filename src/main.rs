//! The `tfgate` binary: parse, run, exit code. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let started = std::time::Instant::now();
    let cli = tfgate::cli::Cli::parse();
    let env = tfgate::context::Env::from_process();
    let ctx = tfgate::context::Context::from_env(&env);
    let ui = tfgate::make_ui(&cli, &ctx);
    let code = match tfgate::run(cli, &env, &ui) {
        Ok(outcome) => outcome.exit_code(),
        Err(err) => {
            ui.error(&err);
            err.exit_code()
        }
    };
    tfgate::report_time(&ui, started.elapsed());
    ExitCode::from(code)
}
