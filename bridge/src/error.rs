//! The one error type of genesys-bridge: written for the admin who must fix the problem.
//!
//! Every failure says which upstream refused (Genesys or Zendesk, never ambiguous), the HTTP
//! status and upstream code, the org, the permission or field at fault when known, the
//! upstream correlation id, whether a retry can help, and a hint in plain words. The
//! [`BridgeError::error_type`] string is stable and is what Lambda diagnostics and Architect
//! see (e.g. `Genesys.MissingPermission`), never a Rust type path.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// Which system produced (or refused) the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Upstream {
    /// Genesys Cloud, API host or login (token) host.
    Genesys,
    /// Zendesk Support.
    Zendesk,
    /// AWS Secrets Manager (org configs).
    SecretsManager,
    /// AWS SQS (job queues).
    Sqs,
    /// AWS DynamoDB (idempotency records).
    DynamoDb,
}

impl Upstream {
    pub fn as_str(self) -> &'static str {
        match self {
            Upstream::Genesys => "Genesys",
            Upstream::Zendesk => "Zendesk",
            Upstream::SecretsManager => "SecretsManager",
            Upstream::Sqs => "SQS",
            Upstream::DynamoDb => "DynamoDB",
        }
    }
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What went wrong, independent of which upstream said it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ErrorKind {
    /// The credential was rejected (401, or the token endpoint's `invalid_client`).
    BadCredentials,
    /// Authenticated, but a named permission is missing (Genesys 403 `missing.permissions`).
    MissingPermission,
    /// Authenticated, but not allowed, for a reason other than a named permission.
    Forbidden,
    /// The resource does not exist *for this org and region*.
    NotFound,
    /// A concurrent change won (Genesys 409, Zendesk safe-update 409).
    Conflict,
    /// Zendesk: closed tickets cannot change (422). Permanent.
    ClosedTicket,
    /// The upstream rejected the request body or parameters (400/422).
    InvalidRequest,
    /// Throttled (429, or the Genesys token endpoint's 400 "rate limit exceeded").
    RateLimited,
    /// The upstream failed (5xx).
    ServerError,
    /// No HTTP answer: connect, TLS, timeout, reset.
    Transport,
    /// We stopped because the invocation deadline would have passed.
    DeadlineExceeded,
    /// The credentials configured for org A belong to org B (tokens/me check), or an
    /// invocation names another org than the one it came through.
    WrongOrg,
    /// A data action was invoked without the per-org alias (`...:org-<orgId>`) that names
    /// its org, in a deployment that serves several orgs.
    OrgAliasRequired,
    /// An org config is invalid or missing a section.
    Config,
    /// No config for that org id.
    UnknownOrg,
    /// The caller's input is invalid (a field is missing or malformed).
    Validation,
    /// The upstream answered with something we cannot parse.
    UnexpectedResponse,
    /// A bug or an invariant broken inside the bridge.
    Internal,
    /// A request that must not be repeated reached the upstream, and whether it took effect
    /// is unknown (a timeout after sending, a lost connection, a 5xx). Never retried blindly.
    MayHaveBeenSent,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BadCredentials => "BadCredentials",
            ErrorKind::MissingPermission => "MissingPermission",
            ErrorKind::Forbidden => "Forbidden",
            ErrorKind::NotFound => "NotFound",
            ErrorKind::Conflict => "Conflict",
            ErrorKind::ClosedTicket => "ClosedTicket",
            ErrorKind::InvalidRequest => "InvalidRequest",
            ErrorKind::RateLimited => "RateLimited",
            ErrorKind::ServerError => "ServerError",
            ErrorKind::Transport => "Transport",
            ErrorKind::DeadlineExceeded => "DeadlineExceeded",
            ErrorKind::WrongOrg => "WrongOrg",
            ErrorKind::OrgAliasRequired => "OrgAliasRequired",
            ErrorKind::Config => "InvalidConfig",
            ErrorKind::UnknownOrg => "UnknownOrg",
            ErrorKind::Validation => "InvalidInput",
            ErrorKind::UnexpectedResponse => "UnexpectedResponse",
            ErrorKind::Internal => "Internal",
            ErrorKind::MayHaveBeenSent => "MayHaveBeenSent",
        }
    }
}

/// The one error type. Build with the constructors; add context with the `with_*` methods.
/// The details live in a box so that `Result<T, BridgeError>` stays one pointer wide; field
/// access (`e.kind`, `e.hint = …`) goes through `Deref`.
#[derive(Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct BridgeError(Box<ErrorDetails>);

/// What a [`BridgeError`] knows. Every field is safe to log: none is ever a secret.
#[derive(Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetails {
    pub kind: ErrorKind,
    pub upstream: Option<Upstream>,
    /// HTTP status from the upstream, when there was an answer.
    pub status: Option<u16>,
    /// The upstream's own error code (`missing.permissions`, `RecordInvalid`, `invalid_client`).
    pub code: Option<String>,
    pub message: String,
    /// `ININ-Correlation-Id` (Genesys) or `X-Request-Id` (Zendesk): what support will ask for.
    pub correlation_id: Option<String>,
    pub org_id: Option<String>,
    /// What we were doing ("patch participant attributes"), for the admin reading the log.
    pub operation: Option<String>,
    /// Permission names parsed out of a Genesys 403 body.
    pub missing_permissions: Vec<String>,
    /// The input or config field at fault.
    pub field: Option<String>,
    /// The OAuth client (Genesys) or credential description (Zendesk) that was used.
    pub credential: Option<String>,
    /// How long the upstream asked us to wait (429 Retry-After).
    #[serde(skip)]
    pub retry_after: Option<Duration>,
    pub hint: Option<String>,
    /// The request reached the upstream and may have taken effect: no answer came back
    /// after it was sent (timeout, lost connection), or the answer was a 5xx. False when the
    /// upstream refused it (4xx, 429) or it never left (connect error, deadline).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub may_have_been_sent: bool,
}

pub type Result<T, E = BridgeError> = std::result::Result<T, E>;

impl std::ops::Deref for BridgeError {
    type Target = ErrorDetails;
    fn deref(&self) -> &ErrorDetails {
        &self.0
    }
}

impl std::ops::DerefMut for BridgeError {
    fn deref_mut(&mut self) -> &mut ErrorDetails {
        &mut self.0
    }
}

impl BridgeError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        BridgeError(Box::new(ErrorDetails {
            kind,
            upstream: None,
            status: None,
            code: None,
            message: message.into(),
            correlation_id: None,
            org_id: None,
            operation: None,
            missing_permissions: Vec::new(),
            field: None,
            credential: None,
            retry_after: None,
            hint: None,
            may_have_been_sent: false,
        }))
    }

    /// Invalid input: names the field and what was expected.
    pub fn validation(field: impl Into<String>, expected: impl Into<String>) -> Self {
        let field = field.into();
        let expected = expected.into();
        let mut e = BridgeError::new(ErrorKind::Validation, format!("`{field}`: {expected}"));
        e.field = Some(field);
        e
    }

    /// Invalid org config: names the field and what was expected.
    pub fn config(field: impl Into<String>, expected: impl Into<String>) -> Self {
        let field = field.into();
        let expected = expected.into();
        let mut e = BridgeError::new(ErrorKind::Config, format!("`{field}`: {expected}"));
        e.field = Some(field);
        e
    }

    /// Takes the details out, to move fields (field access otherwise goes through `Deref`).
    pub fn into_details(self) -> ErrorDetails {
        *self.0
    }

    pub fn internal(message: impl Into<String>) -> Self {
        BridgeError::new(ErrorKind::Internal, message)
    }

    pub fn upstream(upstream: Upstream, kind: ErrorKind, message: impl Into<String>) -> Self {
        let mut e = BridgeError::new(kind, message);
        e.upstream = Some(upstream);
        e
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }
    pub fn with_org(mut self, org_id: impl Into<String>) -> Self {
        self.org_id = Some(org_id.into());
        self
    }
    /// Sets the org only if none is set yet (inner layers know better).
    pub fn or_org(mut self, org_id: &str) -> Self {
        if self.org_id.is_none() {
            self.org_id = Some(org_id.to_string());
        }
        self
    }
    pub fn with_operation(mut self, op: impl Into<String>) -> Self {
        self.operation = Some(op.into());
        self
    }
    pub fn with_correlation_id(mut self, id: Option<String>) -> Self {
        if id.is_some() {
            self.correlation_id = id;
        }
        self
    }
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
    pub fn with_credential(mut self, credential: impl Into<String>) -> Self {
        self.credential = Some(credential.into());
        self
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn with_retry_after(mut self, d: Option<Duration>) -> Self {
        self.retry_after = d;
        self
    }

    /// The stable error-type string for Lambda diagnostics and Architect Failure paths:
    /// `<Upstream>.<Kind>` for upstream errors, `Bridge.<Kind>` for ours.
    pub fn error_type(&self) -> String {
        let prefix = match (self.upstream, self.kind) {
            (_, ErrorKind::Validation) => "Input",
            (_, ErrorKind::Config) | (_, ErrorKind::UnknownOrg) => "Config",
            (Some(u), _) => u.as_str(),
            (None, _) => "Bridge",
        };
        format!("{prefix}.{}", self.kind.as_str())
    }

    /// Whether trying the same thing later can succeed without anyone changing anything.
    /// A queue consumer reports a retryable item as failed (SQS redelivers it); a
    /// non-retryable one is a permanent outcome.
    pub fn retryable(&self) -> bool {
        match self.kind {
            ErrorKind::RateLimited
            | ErrorKind::Transport
            | ErrorKind::DeadlineExceeded
            | ErrorKind::Conflict => true,
            ErrorKind::ServerError => self.status != Some(501),
            _ => false,
        }
    }
}

impl fmt::Display for BridgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.upstream, self.status) {
            (Some(u), Some(s)) => write!(f, "{u} answered {s}")?,
            (Some(u), None) => write!(f, "{u} call failed")?,
            (None, _) => write!(f, "{}", self.error_type())?,
        }
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        if let Some(op) = &self.operation {
            write!(f, " while trying to {op}")?;
        }
        if let Some(org) = &self.org_id {
            write!(f, " for org {org}")?;
        }
        // Upstream messages often end in '.', and the parts below add their own.
        write!(f, ": {}", self.message.trim_end_matches('.'))?;
        if !self.missing_permissions.is_empty() {
            write!(
                f,
                ". Missing permission(s): {}",
                self.missing_permissions.join(", ")
            )?;
        }
        if let Some(c) = &self.credential {
            write!(f, ". Credential used: {c}")?;
        }
        if let Some(id) = &self.correlation_id {
            write!(f, ". Correlation id: {id}")?;
        }
        if let Some(h) = &self.hint {
            write!(f, ". Fix: {h}")?;
        }
        Ok(())
    }
}

// Debug shows the same structured fields (none of which is ever a secret), so a `{:?}` in a
// log is as useful as Display.
impl fmt::Debug for BridgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BridgeError")
            .field("error_type", &self.error_type())
            .field("status", &self.status)
            .field("code", &self.code)
            .field("org_id", &self.org_id)
            .field("operation", &self.operation)
            .field("message", &self.message)
            .field("missing_permissions", &self.missing_permissions)
            .field("field", &self.field)
            .field("credential", &self.credential)
            .field("correlation_id", &self.correlation_id)
            .field("retry_after", &self.retry_after)
            .field("hint", &self.hint)
            .field("may_have_been_sent", &self.may_have_been_sent)
            .finish()
    }
}

impl std::error::Error for BridgeError {}

/// Lambda diagnostics: the stable error type and the full human message.
impl From<BridgeError> for lambda_runtime::Diagnostic {
    fn from(e: BridgeError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.error_type(),
            error_message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_type_strings_are_stable() {
        let cases = [
            (
                BridgeError::upstream(Upstream::Genesys, ErrorKind::MissingPermission, "x"),
                "Genesys.MissingPermission",
            ),
            (
                BridgeError::upstream(Upstream::Zendesk, ErrorKind::ClosedTicket, "x"),
                "Zendesk.ClosedTicket",
            ),
            (
                BridgeError::validation("ticketId", "a number"),
                "Input.InvalidInput",
            ),
            (
                BridgeError::config("genesys.region", "a region"),
                "Config.InvalidConfig",
            ),
            (
                BridgeError::new(ErrorKind::UnknownOrg, "x"),
                "Config.UnknownOrg",
            ),
            (BridgeError::internal("x"), "Bridge.Internal"),
            (
                BridgeError::new(ErrorKind::OrgAliasRequired, "x"),
                "Bridge.OrgAliasRequired",
            ),
        ];
        for (e, want) in cases {
            assert_eq!(e.error_type(), want);
        }
    }

    #[test]
    fn display_has_every_actionable_part() {
        let mut e =
            BridgeError::upstream(Upstream::Genesys, ErrorKind::MissingPermission, "denied")
                .with_status(403)
                .with_code("missing.permissions")
                .with_org("org-1")
                .with_operation("read the conversation")
                .with_correlation_id(Some("corr-9".into()))
                .with_hint("assign a role");
        e.missing_permissions = vec!["conversation:communication:view".into()];
        let s = e.to_string();
        for part in [
            "Genesys answered 403",
            "missing.permissions",
            "org-1",
            "read the conversation",
            "conversation:communication:view",
            "corr-9",
            "Fix: assign a role",
        ] {
            assert!(s.contains(part), "{s:?} lacks {part:?}");
        }
    }

    #[test]
    fn retryable_classification() {
        let k = |kind, status| {
            let mut e = BridgeError::upstream(Upstream::Genesys, kind, "x");
            e.status = status;
            e.retryable()
        };
        assert!(k(ErrorKind::RateLimited, Some(429)));
        assert!(k(ErrorKind::ServerError, Some(503)));
        assert!(!k(ErrorKind::ServerError, Some(501)));
        assert!(k(ErrorKind::Transport, None));
        assert!(!k(ErrorKind::MissingPermission, Some(403)));
        assert!(!k(ErrorKind::ClosedTicket, Some(422)));
        assert!(!k(ErrorKind::NotFound, Some(404)));
    }
}
