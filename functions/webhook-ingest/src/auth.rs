//! Proving that an HTTPS request comes from the org in its path, with that org's
//! credentials only, and, on the user route, which Genesys user sends it.
//!
//! `POST /orgs/{orgId}/events` takes the org's own credentials, checked in this order:
//! 1. `X-Bridge-Signature: v1=<hex HMAC-SHA256(sharedSecret, "<timestamp>.<raw body>")>` with
//!    `X-Bridge-Timestamp: <unix seconds>` within a 5-minute window (backends);
//! 2. `Authorization: Bearer <webhook.sharedSecret>` (Genesys Web Services data actions).
//!
//! Any other bearer is refused there without a call anywhere: a wrong shared secret (say
//! another org's) is never forwarded to Genesys as if it were a token.
//!
//! `POST /orgs/{orgId}/user/events` takes a Genesys user's token (an agent's, from an
//! Embeddable Client App) and nothing else. The token itself is asked, on the org's own API
//! host, `GET /api/v2/tokens/me` (its org must be the path's org) and `GET
//! /api/v2/users/me` (it must have a user: a client-credentials token is refused). The
//! verdict is cached briefly, keyed by the org and a SHA-256 of the token (the token itself
//! is never kept), in a cache of bounded size. What the user may then do is decided by
//! Genesys with the same token (see `user`).
//!
//! Comparisons are constant time ([`subtle`]); secrets are compared through their SHA-256
//! so that not even their length leaks. Every 401 looks the same to the caller
//! ([`Reject::Unauthorized`]); the reason goes to the log only.
//!
//! [`Auth::authenticate`] and [`Auth::authenticate_user`] are the whole stage, run once per
//! request between `input` and `plan`: they read the org's config and ask Genesys about a
//! user token through `apply` (the I/O), and every rule on what those answers mean is here.
//! [`check`] is the part that needs no network (shared secret, HMAC).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use bridge::genesys::CallerToken;
use bridge::input::{preview, PREVIEW_CHARS};
use bridge::{BridgeError, Deadline, ErrorKind, OrgConfig, Runtime};
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::apply;
use crate::input::HttpRequest;
use crate::response::Reject;

pub const TIMESTAMP_HEADER: &str = "x-bridge-timestamp";
pub const SIGNATURE_HEADER: &str = "x-bridge-signature";
/// Default HMAC window: a signature older or newer than this is refused (replay bound).
pub const DEFAULT_HMAC_WINDOW: Duration = Duration::from_secs(300);
/// Default lifetime of a cached user-token verdict.
pub const DEFAULT_TOKEN_VERDICT_TTL: Duration = Duration::from_secs(60);
/// Most user-token verdicts kept at once (each about 100 bytes).
pub const MAX_TOKEN_VERDICTS: usize = 4096;

type HmacSha256 = Hmac<Sha256>;

/// How a request to the events route proved its org.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Hmac,
    SharedSecret,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Hmac => "hmac",
            AuthMethod::SharedSecret => "sharedSecret",
        }
    }
}

/// The outcome of the checks that need no network.
#[derive(Debug)]
pub enum Verdict {
    Accepted(AuthMethod),
    /// Refused; the reason is for the log only, never for the caller.
    Denied(&'static str),
}

/// A request of the user route, authenticated: the org of its path, the user's token (to
/// act with, for this request only) and the user it belongs to.
#[derive(Debug)]
pub struct UserRequest {
    pub org: Arc<OrgConfig>,
    pub token: CallerToken,
    pub user_id: String,
}

/// The authentication stage: the HMAC window and the cache of user-token verdicts,
/// built once at cold start.
pub struct Auth {
    window: Duration,
    tokens: TokenVerdicts,
}

impl Auth {
    pub fn new(hmac_window: Duration, token_verdict_ttl: Duration) -> Auth {
        Auth {
            window: hmac_window,
            tokens: TokenVerdicts::new(token_verdict_ttl),
        }
    }

    /// Proves that `req` (the events route) comes from the org of its path, with that
    /// org's shared secret or HMAC, and returns that org's config. Unknown org, malformed org
    /// id, missing or wrong credential: the same 401, and no call to Genesys. A config that
    /// cannot be read right now is a 500.
    pub async fn authenticate(
        &self,
        rt: &Runtime,
        req: &HttpRequest,
        now_ms: u64,
    ) -> Result<Arc<OrgConfig>, Reject> {
        let now_s = now_ms / 1000;
        let org = self.path_org(rt, req, now_s).await?;
        match check(&org, req, now_s, self.window) {
            Verdict::Accepted(method) => {
                tracing::debug!(org_id = %org.org_id, auth = method.as_str(), "authenticated");
                Ok(org)
            }
            Verdict::Denied(why) => Err(unauthorized(req, why)),
        }
    }

    /// Proves that `req` (the user route) carries a token of a Genesys user of the org of
    /// its path, asking Genesys with that token only. Unknown org, no bearer, the org's
    /// shared secret, a token Genesys refuses or that belongs to another org: the same 401.
    /// A token without a user (client credentials) is a 403; a token Genesys cannot check
    /// right now a 503 (not cached).
    pub async fn authenticate_user(
        &self,
        rt: &Runtime,
        req: &HttpRequest,
        now_ms: u64,
        deadline: Deadline,
    ) -> Result<UserRequest, Reject> {
        let org = self.path_org(rt, req, now_ms / 1000).await?;
        let token = match req.header("authorization").map(bearer) {
            None => {
                return Err(unauthorized(
                    req,
                    "no Authorization header on the user route",
                ))
            }
            Some(None) => {
                return Err(unauthorized(
                    req,
                    "Authorization is not a Bearer credential",
                ))
            }
            Some(Some(t)) => t,
        };
        // The org's own shared secret is not a user token: it goes nowhere but here.
        let given = Sha256::digest(token.as_bytes());
        if bool::from(
            given
                .as_slice()
                .ct_eq(org.webhook.shared_secret_sha256().as_slice()),
        ) {
            return Err(unauthorized(
                req,
                "the shared secret was sent to the user route",
            ));
        }
        let token = CallerToken::new(token);
        let key = TokenVerdicts::key(&org.org_id, &token);
        let verdict = match self.tokens.get(&key, now_ms) {
            Some(v) => v,
            None => {
                let v = self.ask_genesys(rt, &org, req, &token, deadline).await?;
                self.tokens.put(key, v.clone(), now_ms);
                v
            }
        };
        match verdict {
            TokenVerdict::User(user_id) => {
                tracing::debug!(org_id = %org.org_id, user_id = %user_id, auth = "userToken", "authenticated");
                Ok(UserRequest {
                    org,
                    token,
                    user_id,
                })
            }
            TokenVerdict::Refused(why) => Err(unauthorized(req, why)),
            TokenVerdict::NoUser => {
                tracing::warn!(org_id = %org.org_id, request_id = req.request_id.as_deref(), "a token without a user was sent to the user route (403)");
                Err(Reject::Forbidden(
                    BridgeError::new(
                        ErrorKind::Forbidden,
                        "this route takes a Genesys user's token (an agent's, e.g. from an Embeddable Client App); this token has no user (client credentials?)",
                    )
                    .with_org(&org.org_id)
                    .with_hint("backends send commands to POST /orgs/{orgId}/events with the org's shared secret or an HMAC signature"),
                ))
            }
        }
    }

    /// What Genesys says about a token, asked with the token itself on the org's API host.
    /// Answers that a retry could change are 503 and not cached.
    async fn ask_genesys(
        &self,
        rt: &Runtime,
        org: &OrgConfig,
        req: &HttpRequest,
        token: &CallerToken,
        deadline: Deadline,
    ) -> Result<TokenVerdict, Reject> {
        let unavailable = |e: BridgeError| {
            tracing::error!(org_id = %org.org_id, error = %e, "could not check a user token");
            Reject::Unavailable(e)
        };
        match apply::token_org(rt, org, token, deadline).await {
            Ok(token_org) if token_org.eq_ignore_ascii_case(&org.org_id) => {}
            Ok(token_org) => {
                tracing::warn!(org_id = %org.org_id, token_org = %token_org, request_id = req.request_id.as_deref(), "a Genesys token of another org was presented");
                return Ok(TokenVerdict::Refused("Genesys token of another org"));
            }
            Err(e) if e.retryable() => return Err(unavailable(e)),
            Err(_) => {
                return Ok(TokenVerdict::Refused(
                    "Genesys refused the token (tokens/me)",
                ))
            }
        }
        match apply::token_user(rt, org, token, deadline).await {
            Ok(user_id) => Ok(TokenVerdict::User(user_id)),
            Err(e) if e.retryable() => Err(unavailable(e)),
            Err(e) if e.kind == ErrorKind::BadCredentials => Ok(TokenVerdict::Refused(
                "Genesys refused the token (users/me)",
            )),
            // [U] what Genesys answers users/me for client credentials is not in
            // upstream-facts: any other refusal means "no user".
            Err(_) => Ok(TokenVerdict::NoUser),
        }
    }

    /// The config of the path's org; an unknown org, a malformed org id or an invalid
    /// config is the one 401.
    async fn path_org(
        &self,
        rt: &Runtime,
        req: &HttpRequest,
        now_s: u64,
    ) -> Result<Arc<OrgConfig>, Reject> {
        let Some(org_id) = &req.org_id else {
            check_unknown_org(req, now_s, self.window);
            return Err(unauthorized(req, "the path has no org id"));
        };
        match apply::org(rt, org_id).await {
            Ok(org) => Ok(org),
            Err(e)
                if matches!(
                    e.kind,
                    ErrorKind::UnknownOrg | ErrorKind::Validation | ErrorKind::Config
                ) =>
            {
                check_unknown_org(req, now_s, self.window);
                if e.kind == ErrorKind::Config {
                    tracing::error!(org_id = %org_id, error = %e, "the org's config is invalid; refusing its requests until it is fixed");
                }
                Err(unauthorized(req, "unknown org or invalid org config"))
            }
            Err(e) => {
                tracing::error!(org_id = %org_id, error = %e, "could not load the org config");
                Err(Reject::Failed(e))
            }
        }
    }
}

/// The one refusal, logged with its reason and the path's org as sent (cut).
fn unauthorized(req: &HttpRequest, why: &'static str) -> Reject {
    tracing::warn!(org_id = %preview(&req.path_org, PREVIEW_CHARS), reason = why, request_id = req.request_id.as_deref(), "request refused (401)");
    Reject::Unauthorized(why)
}

/// The `X-Bridge-Signature` value for `body` signed at `timestamp` (unix seconds).
pub fn signature(secret: &str, timestamp: u64, body: &[u8]) -> String {
    format!(
        "v1={}",
        hex::encode(mac(
            secret.as_bytes(),
            timestamp.to_string().as_bytes(),
            body
        ))
    )
}

fn mac(secret: &[u8], timestamp: &[u8], body: &[u8]) -> [u8; 32] {
    let mut m = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    m.update(timestamp);
    m.update(b".");
    m.update(body);
    m.finalize().into_bytes().into()
}

/// Checks the request's credential against `cfg` (the org of the path) at `now_s`.
pub fn check(cfg: &OrgConfig, req: &HttpRequest, now_s: u64, window: Duration) -> Verdict {
    let key = Key {
        secret: cfg.webhook.shared_secret.expose_secret().as_bytes(),
        secret_sha256: cfg.webhook.shared_secret_sha256(),
    };
    check_with(&key, req, now_s, window)
}

const PLACEHOLDER_KEY: &[u8] = b"no-such-org-placeholder-key-0000";
static PLACEHOLDER_SHA256: LazyLock<[u8; 32]> =
    LazyLock::new(|| Sha256::digest(PLACEHOLDER_KEY).into());

/// The same work as [`check`] against a throwaway key, for requests whose org is unknown,
/// so that "no such org" does not answer measurably faster than "wrong credential".
pub fn check_unknown_org(req: &HttpRequest, now_s: u64, window: Duration) {
    let key = Key {
        secret: PLACEHOLDER_KEY,
        secret_sha256: &PLACEHOLDER_SHA256,
    };
    let _ = std::hint::black_box(check_with(&key, req, now_s, window));
}

/// The shared secret: the HMAC key, and its SHA-256 (computed once) for bearers.
struct Key<'a> {
    secret: &'a [u8],
    secret_sha256: &'a [u8; 32],
}

fn check_with(key: &Key, req: &HttpRequest, now_s: u64, window: Duration) -> Verdict {
    if let Some(sig) = req.header(SIGNATURE_HEADER) {
        return check_hmac(key.secret, req, sig, now_s, window);
    }
    let Some(auth) = req.header("authorization") else {
        return Verdict::Denied("no Authorization or X-Bridge-Signature header");
    };
    let Some(token) = bearer(auth) else {
        return Verdict::Denied("Authorization is not a Bearer credential");
    };
    let given = Sha256::digest(token.as_bytes());
    if bool::from(given.as_slice().ct_eq(key.secret_sha256.as_slice())) {
        Verdict::Accepted(AuthMethod::SharedSecret)
    } else {
        // Not forwarded anywhere: Genesys user tokens have their own route.
        Verdict::Denied("bearer is not the org's shared secret")
    }
}

fn bearer(header: &str) -> Option<&str> {
    let (scheme, rest) = header.split_once(' ')?;
    let token = rest.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn check_hmac(
    secret: &[u8],
    req: &HttpRequest,
    sig: &str,
    now_s: u64,
    window: Duration,
) -> Verdict {
    let Some(ts_text) = req.header(TIMESTAMP_HEADER) else {
        return Verdict::Denied("X-Bridge-Signature without X-Bridge-Timestamp");
    };
    let ts = match ts_text.parse::<u64>() {
        Ok(t) if ts_text.len() <= 12 => t,
        _ => return Verdict::Denied("X-Bridge-Timestamp is not unix seconds"),
    };
    if now_s.abs_diff(ts) > window.as_secs() {
        return Verdict::Denied("X-Bridge-Timestamp outside the signature window");
    }
    let want = mac(secret, ts_text.as_bytes(), &req.body);
    // Several `v1=` values may be sent (comma-separated) while a secret is being rotated.
    let mut ok = subtle::Choice::from(0u8);
    for part in sig.split(',') {
        let Some(hex_sig) = part.trim().strip_prefix("v1=") else {
            continue;
        };
        let mut given = [0u8; 32];
        if hex::decode_to_slice(hex_sig, &mut given).is_ok() {
            ok |= given.ct_eq(&want);
        }
    }
    if bool::from(ok) {
        Verdict::Accepted(AuthMethod::Hmac)
    } else {
        Verdict::Denied("X-Bridge-Signature does not match")
    }
}

/// (org id, SHA-256 of the token): see [`TokenVerdicts::key`].
pub type VerdictKey = (String, [u8; 32]);

/// What Genesys said about a user token (cached for a while, both ways).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenVerdict {
    /// A token of this org's user with this id.
    User(String),
    /// A token of this org without a user (client credentials).
    NoUser,
    /// Not a token of this org; the reason is for the log.
    Refused(&'static str),
}

/// Recent answers about user tokens, per (org, SHA-256 of token). Bounded: when full,
/// expired entries go, and if that is not enough, all of them (a burst of made-up tokens
/// costs re-checks, never memory).
pub struct TokenVerdicts {
    ttl_ms: u64,
    max_entries: usize,
    map: Mutex<HashMap<VerdictKey, (TokenVerdict, u64)>>,
}

impl TokenVerdicts {
    pub fn new(ttl: Duration) -> TokenVerdicts {
        TokenVerdicts::bounded(ttl, MAX_TOKEN_VERDICTS)
    }

    pub fn bounded(ttl: Duration, max_entries: usize) -> TokenVerdicts {
        TokenVerdicts {
            ttl_ms: ttl.as_millis() as u64,
            max_entries: max_entries.max(1),
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The key of `token`'s verdict for `org_id`: made once per request, for the lookup
    /// and the answer that follows.
    pub fn key(org_id: &str, token: &CallerToken) -> VerdictKey {
        (
            org_id.to_string(),
            Sha256::digest(token.expose().as_bytes()).into(),
        )
    }

    /// The cached verdict, if still fresh at `now_ms`.
    pub fn get(&self, key: &VerdictKey, now_ms: u64) -> Option<TokenVerdict> {
        let map = self.map.lock().expect("poisoned");
        map.get(key)
            .filter(|(_, until)| *until > now_ms)
            .map(|(v, _)| v.clone())
    }

    pub fn put(&self, key: VerdictKey, verdict: TokenVerdict, now_ms: u64) {
        let mut map = self.map.lock().expect("poisoned");
        if map.len() >= self.max_entries {
            map.retain(|_, (_, until)| *until > now_ms);
            if map.len() >= self.max_entries {
                map.clear();
            }
        }
        map.insert(key, (verdict, now_ms + self.ttl_ms));
    }

    /// How many verdicts are kept now.
    pub fn len(&self) -> usize {
        self.map.lock().expect("poisoned").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::http::{HeaderMap, HeaderValue};

    const SECRET: &str = "acme-webhook-secret-local-0123456789abcdef";
    const NOW: u64 = 1_800_000_000;

    fn req(headers: &[(&'static str, &str)], body: &str) -> HttpRequest {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        HttpRequest {
            route: crate::input::Route::Events,
            org_id: None,
            path_org: "o".into(),
            headers: h,
            idempotency_key: None,
            body: body.as_bytes().to_vec(),
            request_id: None,
        }
    }

    fn verdict(r: &HttpRequest) -> Verdict {
        let digest: [u8; 32] = Sha256::digest(SECRET.as_bytes()).into();
        let key = Key {
            secret: SECRET.as_bytes(),
            secret_sha256: &digest,
        };
        check_with(&key, r, NOW, DEFAULT_HMAC_WINDOW)
    }

    #[test]
    fn signature_matches_openssl() {
        // printf '%s.%s' 1800000000 '{"a":1}' | openssl dgst -sha256 -hmac "$SECRET"
        assert_eq!(
            signature(SECRET, NOW, br#"{"a":1}"#),
            "v1=d4bc1ba2377c007e6c2b1a0cf594758e09c56e3867ccaa126631073e313d2f4f"
        );
    }

    #[test]
    fn hmac_window_and_body_binding() {
        let body = r#"{"command":"x"}"#;
        let ok = |ts: u64, b: &str| {
            let sig = signature(SECRET, ts, body.as_bytes());
            verdict(&req(
                &[
                    (TIMESTAMP_HEADER, &ts.to_string()),
                    (SIGNATURE_HEADER, &sig),
                ],
                b,
            ))
        };
        assert!(matches!(ok(NOW, body), Verdict::Accepted(AuthMethod::Hmac)));
        assert!(matches!(ok(NOW - 300, body), Verdict::Accepted(_)));
        assert!(matches!(ok(NOW + 300, body), Verdict::Accepted(_)));
        assert!(matches!(ok(NOW - 301, body), Verdict::Denied(_)), "stale");
        assert!(
            matches!(ok(NOW + 301, body), Verdict::Denied(_)),
            "from the future"
        );
        assert!(
            matches!(ok(NOW, r#"{"command":"y"}"#), Verdict::Denied(_)),
            "body changed"
        );
        // The timestamp is signed: moving it breaks the signature.
        let sig = signature(SECRET, NOW, body.as_bytes());
        let moved = req(
            &[
                (TIMESTAMP_HEADER, &(NOW + 1).to_string()),
                (SIGNATURE_HEADER, &sig),
            ],
            body,
        );
        assert!(matches!(verdict(&moved), Verdict::Denied(_)));
        // Rotation: any of several v1 values may match.
        let both = format!("v1={}, {sig}", "00".repeat(32));
        let r = req(
            &[
                (TIMESTAMP_HEADER, &NOW.to_string()),
                (SIGNATURE_HEADER, &both),
            ],
            body,
        );
        assert!(matches!(verdict(&r), Verdict::Accepted(_)));
        for bad in ["", "v1=", "v1=zz", "v2=abc", &sig[3..]] {
            let r = req(
                &[
                    (TIMESTAMP_HEADER, &NOW.to_string()),
                    (SIGNATURE_HEADER, bad),
                ],
                body,
            );
            assert!(matches!(verdict(&r), Verdict::Denied(_)), "{bad:?}");
        }
        let r = req(&[(SIGNATURE_HEADER, &sig)], body);
        assert!(matches!(verdict(&r), Verdict::Denied(_)), "no timestamp");
        let r = req(
            &[(TIMESTAMP_HEADER, "soon"), (SIGNATURE_HEADER, &sig)],
            body,
        );
        assert!(matches!(verdict(&r), Verdict::Denied(_)));
    }

    #[test]
    fn bearer_secret_or_token() {
        let r = req(&[("authorization", &format!("Bearer {SECRET}"))], "{}");
        assert!(matches!(
            verdict(&r),
            Verdict::Accepted(AuthMethod::SharedSecret)
        ));
        let r = req(&[("authorization", &format!("bearer  {SECRET} "))], "{}");
        assert!(matches!(
            verdict(&r),
            Verdict::Accepted(AuthMethod::SharedSecret)
        ));
        // Anything else is refused here: it is never sent to Genesys as a token.
        let r = req(&[("authorization", "Bearer some-genesys-token")], "{}");
        assert!(matches!(verdict(&r), Verdict::Denied(_)));
        for h in [format!("Basic {SECRET}"), "Bearer ".into(), "Bearer".into()] {
            let r = req(&[("authorization", &h)], "{}");
            assert!(matches!(verdict(&r), Verdict::Denied(_)), "{h:?}");
        }
        assert!(matches!(verdict(&req(&[], "{}")), Verdict::Denied(_)));
    }

    #[test]
    fn token_verdicts_expire_and_stay_bounded() {
        let v = TokenVerdicts::new(Duration::from_secs(60));
        let t = CallerToken::new("tok");
        let key = |org: &str| TokenVerdicts::key(org, &t);
        assert_eq!(v.get(&key("a"), 0), None);
        v.put(key("a"), TokenVerdict::User("u".into()), 1_000);
        assert_eq!(
            v.get(&key("a"), 60_999),
            Some(TokenVerdict::User("u".into()))
        );
        assert_eq!(v.get(&key("a"), 61_000), None);
        assert_eq!(v.get(&key("b"), 2_000), None, "verdicts are per org");
        let small = TokenVerdicts::bounded(Duration::from_secs(1), 2);
        for i in 0..5 {
            small.put(
                TokenVerdicts::key("a", &CallerToken::new(&format!("t{i}"))),
                TokenVerdict::Refused("x"),
                0,
            );
        }
        assert!(small.len() <= 2);
        // The token is only ever kept as a digest.
        let (_, digest) = TokenVerdicts::key("a", &CallerToken::new("secret-token"));
        assert_ne!(&digest[..], b"secret-token");
    }
}
