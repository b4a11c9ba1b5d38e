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

/// The functions of the workspace: every `functions/<name>/` with a Cargo.toml, sorted. The
/// folder is named as its crate and its binary (`bootstrap` in Lambda), so a new function is
/// picked up by the size check, the cold-start bench and the cargo lambda check as it lands.
pub fn functions(root: &std::path::Path) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root.join("functions"))? {
        let path = entry?.path();
        if path.join("Cargo.toml").is_file() {
            if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                out.push(name.to_string());
            }
        }
    }
    out.sort();
    Ok(out)
}
