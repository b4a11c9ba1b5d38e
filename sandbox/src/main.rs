//! Standalone `bridge-sandbox`: serves the sandbox on loopback for local runs of the bridge.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use bridge_sandbox::{default_seed, Sandbox, Seed};
use clap::Parser;

/// A stateful local stand-in for Genesys Cloud and Zendesk, on loopback.
#[derive(Parser)]
#[command(name = "bridge-sandbox", version)]
struct Args {
    /// Seed file (camelCase JSON); defaults to the seed built into the binary.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Address to listen on; must be loopback.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    if !args.addr.ip().is_loopback() {
        eprintln!(
            "bridge-sandbox: refusing to listen on {}: only loopback addresses (127.0.0.0/8, ::1) are allowed",
            args.addr
        );
        return ExitCode::from(2);
    }
    let seed = match &args.seed {
        None => default_seed(),
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| Seed::from_json(&text).map_err(|e| e.to_string()))
        {
            Ok(seed) => seed,
            Err(e) => {
                eprintln!("bridge-sandbox: cannot load seed {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
    };
    let sandbox = match Sandbox::start_on(seed, args.addr).await {
        Ok(sandbox) => sandbox,
        Err(e) => {
            eprintln!("bridge-sandbox: cannot start on {}: {e}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    let line = serde_json::json!({"baseUrl": sandbox.base_url()});
    if writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    drop(stdout);

    wait_for_stop().await;
    sandbox.shutdown().await;
    ExitCode::SUCCESS
}

async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
