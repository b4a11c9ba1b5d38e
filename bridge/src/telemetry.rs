//! Logging setup for the binaries: JSON lines in Lambda (CloudWatch reads the fields),
//! readable text on a terminal. `RUST_LOG` filters, default `info`.

use std::str::FromStr;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global subscriber once; later calls are no-ops. `RUST_LOG` takes
/// `level` and `target=level` directives (`info`, `bridge=debug,info`); an unreadable
/// value means `info`. (A `Targets` filter: `EnvFilter`'s span and field filters, which
/// nothing here uses, would link a regex engine into every function.)
pub fn init(json: bool) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| Targets::from_str(&v).ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let fmt = tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(filter);
    let _ = if json {
        registry
            .with(fmt.json().flatten_event(true).without_time())
            .try_init()
    } else {
        registry.with(fmt.compact()).try_init()
    };
}
