//! The `bridge` binary: parses the command line and the environment, runs the command,
//! exits with its code (0 ok, 1 a check or outcome failed, 2 usage or config error).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = bridge_cli::Cli::parse();
    // Logs go to stderr; commands print their results on stdout. `bridge dev` prints its
    // own event -> jobs -> calls log, so the functions' logs add only warnings; a replay's
    // report already holds every outcome, so their logs are off unless RUST_LOG asks.
    let default = match &cli.command {
        bridge_cli::args::Command::Dev(d) if d.replay.is_some() => "off",
        // The functions fail on purpose all the time; the summary says what became of it.
        bridge_cli::args::Command::Chaos(_) => "off",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .compact()
        .try_init();
    let env = bridge_cli::Env::from_process();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::from(bridge_cli::Exit::Usage.code());
        }
    };
    let exit = runtime.block_on(bridge_cli::run(cli, env));
    ExitCode::from(exit.code())
}
