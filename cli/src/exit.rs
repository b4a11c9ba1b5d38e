//! Exit codes and the error a command stops with.

use std::fmt;

use bridge::{BridgeError, ErrorKind};

/// The exit codes scripts may rely on (also in `bridge --help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    /// A check, a replayed message or an expected outcome failed.
    Failed = 1,
    /// Usage or configuration error; nothing was changed.
    Usage = 2,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Why a command stopped early, with the exit code it maps to.
#[derive(Debug)]
pub struct CliError {
    pub exit: Exit,
    pub message: String,
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError {
            exit: Exit::Usage,
            message: message.into(),
        }
    }
    pub fn failed(message: impl Into<String>) -> CliError {
        CliError {
            exit: Exit::Failed,
            message: message.into(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// Config and input problems are the operator's to fix before anything can run (2); an
/// upstream or AWS failure is an outcome (1).
impl From<BridgeError> for CliError {
    fn from(e: BridgeError) -> CliError {
        let exit = match e.kind {
            ErrorKind::Config | ErrorKind::Validation => Exit::Usage,
            _ => Exit::Failed,
        };
        CliError {
            exit,
            message: e.to_string(),
        }
    }
}
