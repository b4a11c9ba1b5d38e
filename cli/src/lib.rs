//! `bridge`: the operator tool of genesys-bridge, as a library so tests call the same code
//! the binary runs. `main.rs` only parses the command line and the environment.
//!
//! Commands: `dev` (the whole pipeline locally, or `--replay` of the fixtures), `doctor`
//! (checks one org and names what to fix), `orgs` (onboarding on a directory or Secrets
//! Manager), `dlq replay` (dead letters back to their queue), `chaos` (events through the
//! real handlers under injected faults, every outcome judged). Exit codes: see [`Exit`].

pub mod args;
pub mod chaos;
pub mod dev;
pub mod dlq;
pub mod doctor;
pub mod exit;
pub mod onboard;
pub mod orgs;
pub mod progress;
pub mod source;

use std::io::Write;
use std::time::Duration;

pub use args::Cli;
pub use exit::{CliError, Exit};
pub use source::Env;

use args::{ChaosArgs, Command, DevArgs, DlqCommand, DoctorArgs, OrgsCommand, ReplayArgs};
use progress::Bar;

/// Runs one command, printing its output; returns the exit code.
pub async fn run(cli: Cli, env: Env) -> Exit {
    match dispatch(cli, &env).await {
        Ok(exit) => exit,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit
        }
    }
}

fn pass_fail(ok: bool) -> Exit {
    if ok {
        Exit::Ok
    } else {
        Exit::Failed
    }
}

fn print_json(v: &impl serde::Serialize, pretty: bool) {
    let text = if pretty {
        serde_json::to_string_pretty(v)
    } else {
        serde_json::to_string(v)
    };
    println!(
        "{}",
        text.unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    );
}

async fn dispatch(cli: Cli, env: &Env) -> Result<Exit, CliError> {
    match cli.command {
        Command::Dev(a) => dev_command(a).await,
        Command::Doctor(a) => doctor_command(a, env).await,
        Command::Orgs(cmd) => orgs_command(cmd, env).await,
        Command::Dlq(DlqCommand::Replay(a)) => dlq_replay_command(a, env).await,
        Command::Chaos(a) => chaos_command(a).await,
    }
}

/// `bridge chaos`: the run's summary; exit 1 if anything was lost or done twice, or a
/// ticket got more updates than Zendesk allows.
async fn chaos_command(a: ChaosArgs) -> Result<Exit, CliError> {
    let aws_endpoint = match (a.aws, a.aws_endpoint) {
        (false, _) => None,
        (true, Some(url)) if !url.trim().is_empty() => Some(url),
        (true, _) => {
            return Err(CliError::usage(
                "--aws needs the local AWS emulator: start `moto_server -H 127.0.0.1 -p PORT` (scripts/test.sh installs it) and pass --aws-endpoint http://127.0.0.1:PORT or set BRIDGE_TEST_AWS_ENDPOINT",
            ))
        }
    };
    let opts = chaos::Options {
        events: a.events,
        fault_rate: a.fault_rate,
        seed: a.seed,
        aws_endpoint,
        concurrency: a.concurrency,
        orgs_dir: a.orgs_dir,
    };
    let report = chaos::run(&opts).await?;
    if a.json {
        print_json(&report, true);
    } else {
        print!("{}", report.render());
    }
    Ok(pass_fail(report.passed()))
}

/// `bridge dev`: a replay report, or the local server until Ctrl-C.
async fn dev_command(a: DevArgs) -> Result<Exit, CliError> {
    if let Some(dir) = &a.replay {
        let report = dev::replay::run(dir, &a.orgs_dir).await?;
        if a.json {
            print_json(&report, true);
        } else {
            print!("{}", report.render());
        }
        return Ok(pass_fail(report.passed()));
    }
    let server = dev::server::DevServer::bind(&a.orgs_dir, a.port).await?;
    print!("{}", server.banner(&a.orgs_dir));
    let _ = std::io::stdout().flush();
    server
        .serve(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(Exit::Ok)
}

/// `bridge doctor`: the checks of one org, as a table or JSON.
async fn doctor_command(a: DoctorArgs, env: &Env) -> Result<Exit, CliError> {
    let timeout = Duration::from_secs(a.timeout.max(1));
    let report = if a.sandbox {
        doctor::run_on_sandbox(&a.source, &a.org, timeout).await?
    } else {
        let source = source::open(&a.source, env, true).await?;
        doctor::run(source.as_ref(), &a.org, timeout).await?
    };
    if a.json {
        print_json(&report.to_json(), true);
    } else {
        print!("{}", report.render());
    }
    Ok(pass_fail(report.passed()))
}

/// `bridge orgs ...`: one org config command on the selected source.
async fn orgs_command(cmd: OrgsCommand, env: &Env) -> Result<Exit, CliError> {
    match cmd {
        OrgsCommand::Put {
            org_id,
            file,
            source,
        } => {
            let src = source::open(&source, env, false).await?;
            println!("{}", orgs::put(src.as_ref(), &org_id, &file).await?);
            Ok(Exit::Ok)
        }
        OrgsCommand::Get {
            org_id,
            reveal,
            json,
            source,
        } => {
            let src = source::open(&source, env, true).await?;
            let doc = orgs::get(src.as_ref(), &org_id, reveal).await?;
            print_json(&doc, !json);
            Ok(Exit::Ok)
        }
        OrgsCommand::List { json, source } => {
            let src = source::open(&source, env, true).await?;
            let rows = orgs::list(src.as_ref()).await?;
            if json {
                print_json(&rows, false);
            } else {
                print!("{}", orgs::render_list(&rows));
            }
            Ok(pass_fail(rows.iter().all(|r| r.valid)))
        }
        OrgsCommand::Rm { org_id, source } => {
            let src = source::open(&source, env, true).await?;
            println!("{}", orgs::rm(src.as_ref(), &org_id).await?);
            Ok(Exit::Ok)
        }
        OrgsCommand::Onboard(a) => {
            print!("{}", onboard::onboard(env, &a).await?.render());
            Ok(Exit::Ok)
        }
        OrgsCommand::Offboard(a) => {
            let report = onboard::offboard(env, &a, &mut onboard::confirm_on_terminal).await?;
            print!("{}", report.render());
            Ok(Exit::Ok)
        }
        OrgsCommand::Render(a) => {
            print!("{}", onboard::render(&a)?);
            Ok(Exit::Ok)
        }
    }
}

/// `bridge dlq replay`: progress on stderr, the list and summary on stdout.
async fn dlq_replay_command(a: ReplayArgs, env: &Env) -> Result<Exit, CliError> {
    let conf = env
        .aws_config("dlq replay needs an AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)")
        .await?;
    let client = aws_sdk_sqs::Client::new(&conf);
    let opts = dlq::ReplayOptions {
        queue_url: a.queue,
        to: a.to,
        dry_run: a.dry_run,
        max: a.max,
        resend_ambiguous: a.resend_ambiguous,
    };
    let label = if opts.dry_run { "listing" } else { "moving" };
    let mut progress = Bar::new(label, "message(s)");
    let summary = dlq::replay(&client, &opts, &mut |done, total| {
        progress.update(done, total)
    })
    .await;
    progress.finish();
    let summary = summary?;
    if a.json {
        print_json(&summary, true);
    } else {
        print!("{}", summary.render());
    }
    Ok(pass_fail(summary.passed()))
}
