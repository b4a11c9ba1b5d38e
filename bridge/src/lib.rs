//! `bridge`: the shared library of genesys-bridge.
//!
//! The one place for per-org config and secrets, Genesys and Zendesk auth and API calls,
//! the retry policy, the error type, the job messages, and the queue and idempotency
//! seams. The Lambda binaries wire these together; they never build an HTTP request.

pub mod aws;
pub mod config;
pub mod deadline;
pub mod error;
pub mod event;
pub mod region;
pub mod retry;
pub mod secrets;
pub mod shape;

pub use config::OrgConfig;
pub use deadline::Deadline;
pub use error::{BridgeError, ErrorDetails, ErrorKind, Result, Upstream};
pub mod genesys;
pub mod http;
pub mod input;
pub mod jobs;
pub mod metrics;
pub mod runtime;
pub mod settings;
pub mod telemetry;
pub mod tenancy;
pub mod zendesk;

pub use runtime::Runtime;
pub mod batch;
pub mod idempotency;
pub mod queue;
