//! Logging setup for the binaries: JSON lines in Lambda (CloudWatch reads the fields),
//! readable text on a terminal. `RUST_LOG` filters, default `info`.

/// Installs the global subscriber once; later calls are no-ops.
pub fn init(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().flatten_event(true).without_time().try_init()
    } else {
        builder.compact().try_init()
    };
}
