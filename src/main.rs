//! The `tfgate` binary: parse, run, exit code. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = tfgate::cli::Cli::parse();
    let env = tfgate::context::Env::from_process();
    let ctx = tfgate::context::Context::from_env(&env);
    let ui = tfgate::make_ui(&cli, &ctx);
    match tfgate::run(cli, &env, &ui) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(err) => {
            ui.error(&err);
            ExitCode::from(err.exit_code())
        }
    }
}
