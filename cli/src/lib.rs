//! `bridge`: the operator tool of genesys-bridge, as a library so tests call the same code
//! the binary runs. `main.rs` only parses the command line and the environment.
//!
//! Commands: `dev` (the whole pipeline locally, or `--replay` of the fixtures), `doctor`
//! (checks one org and names what to fix), `orgs` (onboarding on a directory or Secrets
//! Manager), `dlq replay` (dead letters back to their queue). Exit codes: see [`Exit`].

pub mod args;
pub mod dev;
pub mod dlq;
pub mod doctor;
pub mod exit;
pub mod onboard;
pub mod orgs;
pub mod source;

use std::io::{IsTerminal, Write};
use std::time::Duration;

pub use args::Cli;
pub use exit::{CliError, Exit};
pub use source::Env;

use args::{Command, DlqCommand, OrgsCommand};

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
        Command::Doctor(a) => {
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
        Command::Orgs(cmd) => match cmd {
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
        },
        Command::Dlq(DlqCommand::Replay(a)) => {
            let conf = env
                .aws_config(
                    "dlq replay needs an AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)",
                )
                .await?;
            let client = aws_sdk_sqs::Client::new(&conf);
            let opts = dlq::ReplayOptions {
                queue_url: a.queue,
                to: a.to,
                dry_run: a.dry_run,
                max: a.max,
            };
            let mut bar = ProgressBar::new(if opts.dry_run { "listing" } else { "moving" });
            let summary =
                dlq::replay(&client, &opts, &mut |done, total| bar.update(done, total)).await;
            bar.finish();
            let summary = summary?;
            if a.json {
                print_json(&summary, true);
            } else {
                print!("{}", summary.render());
            }
            Ok(pass_fail(summary.passed()))
        }
        Command::Dev(a) => match &a.replay {
            Some(dir) => {
                let report = dev::replay::run(dir, &a.orgs_dir).await?;
                if a.json {
                    print_json(&report, true);
                } else {
                    print!("{}", report.render());
                }
                Ok(pass_fail(report.passed()))
            }
            None => {
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
        },
    }
}

/// A one-line progress bar on stderr (redrawn in place on a terminal, one final line
/// otherwise, so logs of scripted runs stay readable).
struct ProgressBar {
    label: &'static str,
    tty: bool,
    last: Option<(usize, Option<usize>)>,
}

impl ProgressBar {
    fn new(label: &'static str) -> ProgressBar {
        ProgressBar {
            label,
            tty: std::io::stderr().is_terminal(),
            last: None,
        }
    }

    fn line(&self, done: usize, total: Option<usize>) -> String {
        match total {
            Some(t) if t >= done && t > 0 => {
                let width = 30;
                let filled = done * width / t;
                format!(
                    "{} [{}{}] {done}/{t}",
                    self.label,
                    "#".repeat(filled),
                    " ".repeat(width - filled)
                )
            }
            _ => format!("{} {done} message(s)", self.label),
        }
    }

    fn update(&mut self, done: usize, total: Option<usize>) {
        self.last = Some((done, total));
        if self.tty {
            eprint!("\r{}", self.line(done, total));
            let _ = std::io::stderr().flush();
        }
    }

    fn finish(&self) {
        if let Some((done, total)) = self.last {
            if self.tty {
                eprintln!();
            } else {
                eprintln!("{}", self.line(done, total));
            }
        }
    }
}
