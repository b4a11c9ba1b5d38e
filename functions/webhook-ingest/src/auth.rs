//! Proving that an HTTPS request comes from the org in its path, with that org's
//! credentials only.
//!
//! Three ways, checked in this order:
//! 1. `X-Bridge-Signature: v1=<hex HMAC-SHA256(sharedSecret, "<timestamp>.<raw body>")>` with
//!    `X-Bridge-Timestamp: <unix seconds>` within a 5-minute window (backends);
//! 2. `Authorization: Bearer <webhook.sharedSecret>` (Genesys Web Services data actions);
//! 3. `Authorization: Bearer <Genesys access token>`: any other bearer is asked
//!    `GET /api/v2/tokens/me` (with the org's own API host) and accepted only if its
//!    organization is the path's org; the verdict is cached briefly, keyed by a SHA-256 of
//!    the token (the token itself is never kept).
//!
//! Comparisons are constant time ([`subtle`]); secrets are compared through their SHA-256
//! so that not even their length leaks. Every refusal looks the same to the caller
//! ([`Reject::Unauthorized`]); the reason goes to the log only.
//!
//! [`Auth::authenticate`] is the whole stage, run once per request between `input` and
//! `plan`: it reads the org's config and asks Genesys about a token through `apply` (the
//! I/O), and every rule on what those answers mean is here. [`check`] is its part that
//! needs no network (shared secret, HMAC).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use bridge::input::{preview, PREVIEW_CHARS};
use bridge::{Deadline, ErrorKind, OrgConfig, Runtime};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::apply;
use crate::input::HttpRequest;
use crate::response::Reject;

pub const TIMESTAMP_HEADER: &str = "x-bridge-timestamp";
pub const SIGNATURE_HEADER: &str = "x-bridge-signature";
/// Default HMAC window: a signature older or newer than this is refused (replay bound).
pub const DEFAULT_HMAC_WINDOW: Duration = Duration::from_secs(300);
/// Default lifetime of a cached Genesys-token verdict.
pub const DEFAULT_TOKEN_VERDICT_TTL: Duration = Duration::from_secs(60);

type HmacSha256 = Hmac<Sha256>;

/// How a request proved its org.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Hmac,
    SharedSecret,
    GenesysToken,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Hmac => "hmac",
            AuthMethod::SharedSecret => "sharedSecret",
            AuthMethod::GenesysToken => "genesysToken",
        }
    }
}

/// The outcome of the checks that need no network.
#[derive(Debug)]
pub enum Verdict {
    Accepted(AuthMethod),
    /// A bearer that is not the shared secret: maybe a Genesys token of this org.
    CheckToken(SecretString),
    /// Refused; the reason is for the log only, never for the caller.
    Denied(&'static str),
}

/// The authentication stage: the HMAC window and the cache of Genesys-token verdicts,
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

    /// Proves that `req` comes from the org of its path, with that org's credentials only,
    /// and returns that org's config. Unknown org, malformed org id, missing or wrong
    /// credential: the same 401. A config that cannot be read right now is a 500, a token
    /// Genesys cannot check now a 503.
    pub async fn authenticate(
        &self,
        rt: &Runtime,
        req: &HttpRequest,
        now_ms: u64,
        deadline: Deadline,
    ) -> Result<Arc<OrgConfig>, Reject> {
        let now_s = now_ms / 1000;
        let Some(org_id) = &req.org_id else {
            check_unknown_org(req, now_s, self.window);
            return Err(unauthorized(req, "the path has no org id"));
        };
        let org = match apply::org(rt, org_id).await {
            Ok(org) => org,
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
                return Err(unauthorized(req, "unknown org or invalid org config"));
            }
            Err(e) => {
                tracing::error!(org_id = %org_id, error = %e, "could not load the org config");
                return Err(Reject::Failed(e));
            }
        };
        let method = match check(&org, req, now_s, self.window) {
            Verdict::Accepted(m) => m,
            Verdict::Denied(why) => return Err(unauthorized(req, why)),
            Verdict::CheckToken(token) => {
                self.genesys_token(rt, &org, req, &token, now_ms, deadline)
                    .await?
            }
        };
        tracing::debug!(org_id = %org.org_id, auth = method.as_str(), "authenticated");
        Ok(org)
    }

    /// A bearer that is not the shared secret: accepted only if Genesys says it is a token
    /// of this org. Verdicts are cached both ways for a short while, so a warm caller makes
    /// no Genesys call; one that Genesys could not check is not cached (503, retry).
    async fn genesys_token(
        &self,
        rt: &Runtime,
        org: &OrgConfig,
        req: &HttpRequest,
        token: &SecretString,
        now_ms: u64,
        deadline: Deadline,
    ) -> Result<AuthMethod, Reject> {
        let key = TokenVerdicts::key(&org.org_id, token);
        match self.tokens.get(&key, now_ms) {
            Some(true) => return Ok(AuthMethod::GenesysToken),
            Some(false) => return Err(unauthorized(req, "Genesys token refused (cached)")),
            None => {}
        }
        match apply::token_org(rt, org, token, deadline).await {
            Ok(token_org) => {
                let same = token_org.eq_ignore_ascii_case(&org.org_id);
                self.tokens.put(key, same, now_ms);
                if !same {
                    tracing::warn!(org_id = %org.org_id, token_org = %token_org, "a Genesys token of another org was presented");
                    return Err(unauthorized(req, "Genesys token of another org"));
                }
                Ok(AuthMethod::GenesysToken)
            }
            Err(e) if e.retryable() => {
                tracing::error!(org_id = %org.org_id, error = %e, "could not check a Genesys token");
                Err(Reject::Unavailable(e))
            }
            Err(_) => {
                self.tokens.put(key, false, now_ms);
                Err(unauthorized(
                    req,
                    "bearer is neither the shared secret nor a Genesys token",
                ))
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
        Verdict::CheckToken(SecretString::from(token.to_string()))
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

/// Recent answers of `tokens/me`, per (org, SHA-256 of token). Bounded: when full, expired
/// entries go, and if that is not enough, all of them.
pub struct TokenVerdicts {
    ttl_ms: u64,
    max_entries: usize,
    map: Mutex<HashMap<VerdictKey, (bool, u64)>>,
}

impl TokenVerdicts {
    pub fn new(ttl: Duration) -> TokenVerdicts {
        TokenVerdicts {
            ttl_ms: ttl.as_millis() as u64,
            max_entries: 4096,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The key of `token`'s verdict for `org_id`: made once per request, for the lookup
    /// and the answer that follows.
    pub fn key(org_id: &str, token: &SecretString) -> VerdictKey {
        (
            org_id.to_string(),
            Sha256::digest(token.expose_secret().as_bytes()).into(),
        )
    }

    /// The cached verdict, if still fresh at `now_ms`.
    pub fn get(&self, key: &VerdictKey, now_ms: u64) -> Option<bool> {
        let map = self.map.lock().expect("poisoned");
        map.get(key)
            .filter(|(_, until)| *until > now_ms)
            .map(|(ok, _)| *ok)
    }

    pub fn put(&self, key: VerdictKey, ok: bool, now_ms: u64) {
        let mut map = self.map.lock().expect("poisoned");
        if map.len() >= self.max_entries {
            map.retain(|_, (_, until)| *until > now_ms);
            if map.len() >= self.max_entries {
                map.clear();
            }
        }
        map.insert(key, (ok, now_ms + self.ttl_ms));
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
        let r = req(&[("authorization", "Bearer some-genesys-token")], "{}");
        match verdict(&r) {
            Verdict::CheckToken(t) => assert_eq!(t.expose_secret(), "some-genesys-token"),
            v => panic!("{v:?}"),
        }
        for h in [format!("Basic {SECRET}"), "Bearer ".into(), "Bearer".into()] {
            let r = req(&[("authorization", &h)], "{}");
            assert!(matches!(verdict(&r), Verdict::Denied(_)), "{h:?}");
        }
        assert!(matches!(verdict(&req(&[], "{}")), Verdict::Denied(_)));
    }

    #[test]
    fn token_verdicts_expire_and_stay_bounded() {
        let v = TokenVerdicts::new(Duration::from_secs(60));
        let t = SecretString::from("tok".to_string());
        let key = |org: &str| TokenVerdicts::key(org, &t);
        assert_eq!(v.get(&key("a"), 0), None);
        v.put(key("a"), true, 1_000);
        assert_eq!(v.get(&key("a"), 60_999), Some(true));
        assert_eq!(v.get(&key("a"), 61_000), None);
        assert_eq!(v.get(&key("b"), 2_000), None, "verdicts are per org");
        let small = TokenVerdicts {
            max_entries: 2,
            ..TokenVerdicts::new(Duration::from_secs(1))
        };
        for i in 0..5 {
            small.put(
                TokenVerdicts::key("a", &SecretString::from(format!("t{i}"))),
                false,
                0,
            );
        }
        assert!(small.map.lock().unwrap().len() <= 2);
    }
}
