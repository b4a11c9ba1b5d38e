//! Runs the function binaries as Lambda runs them, against the sandbox (Genesys + Zendesk)
//! and the AWS emulator: the cold-start benchmark (`coldstart`) and the check of the
//! documented `cargo lambda watch` path (`lambda-watch-check`). See README.md.

pub mod aws_proxy;
pub mod expect;
pub mod host;
pub mod runtime_api;
pub mod stats;
pub mod upstreams;

/// Makes ring the process's TLS provider, for the plain `reqwest::Client`s of the tools
/// (the workspace builds reqwest without a provider of its own, see Cargo.toml).
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
