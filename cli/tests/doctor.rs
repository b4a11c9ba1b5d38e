//! `bridge doctor` against the local sandbox: a healthy org passes every check, and each
//! seeded misconfiguration is named with its specific fix.

mod common;

use std::time::Duration;

use bridge::secrets::DirSource;
use bridge_cli::doctor::{self, DoctorReport, Grant, Status};
use bridge_sandbox::{default_seed, Fault, Sandbox};
use bridge_testkit::example_org;
use bridge_testkit::ids::{ORG_A, ORG_B};
use common::*;
use serde_json::{json, Value};

const TIMEOUT: Duration = Duration::from_secs(10);

struct Setup {
    sandbox: Sandbox,
    dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    Setup {
        sandbox: Sandbox::start(default_seed())
            .await
            .expect("sandbox starts"),
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Setup {
    /// Writes the example org, changed by `mutate`, pointed at the sandbox.
    fn org(&self, org_id: &str, mutate: impl FnOnce(&mut Value)) {
        let mut doc = example_org(org_id);
        mutate(&mut doc);
        write_org(self.dir.path(), org_id, doc, &self.sandbox.base_url());
    }

    async fn doctor(&self, org_id: &str) -> DoctorReport {
        doctor::run(&DirSource::new(self.dir.path()), org_id, TIMEOUT)
            .await
            .expect("doctor runs")
    }
}

fn check<'a>(r: &'a DoctorReport, id: &str) -> &'a doctor::Check {
    r.check(id)
        .unwrap_or_else(|| panic!("no check {id} in\n{}", r.render()))
}

fn assert_status(r: &DoctorReport, id: &str, want: Status) {
    let c = check(r, id);
    assert_eq!(c.status, want, "check {id}:\n{}", r.render());
}

fn fix<'a>(r: &'a DoctorReport, id: &str) -> &'a str {
    check(r, id)
        .fix
        .as_deref()
        .unwrap_or_else(|| panic!("check {id} has no fix:\n{}", r.render()))
}

const ALL: [&str; 9] = [
    "config",
    "genesys.token",
    "genesys.org",
    "genesys.roles",
    "capability.participantAttributes",
    "capability.conversationRead",
    "capability.externalContacts",
    "capability.agentlessMessaging",
    "zendesk.credential",
];

#[tokio::test]
async fn healthy_orgs_pass_every_check() {
    let s = setup().await;
    s.org(ORG_A, |_| {});
    s.org(ORG_B, |_| {});
    for org in [ORG_A, ORG_B] {
        let r = s.doctor(org).await;
        let ids: Vec<&str> = r.checks.iter().map(|c| c.id).collect();
        assert_eq!(ids, ALL, "every check is a row, in order");
        for id in ALL {
            assert_status(&r, id, Status::Pass);
        }
        assert!(r.passed());
        let text = r.render();
        assert!(!text.contains('✗'), "{text}");
        assert!(
            text.contains("conversation:communication:update [U]"),
            "the unverified permission is marked:\n{text}"
        );
    }
    // Permissions were read from the roles, not probed: no probe calls reached Genesys.
    let journal = s.sandbox.journal();
    assert_eq!(
        bridge_sandbox::count(&journal, "GET", "/api/v2/authorization/roles/*"),
        2
    );
    assert_eq!(
        bridge_sandbox::count(&journal, "PATCH", "/api/v2/**"),
        0,
        "doctor changes nothing"
    );
}

// The sandbox serves every region from one host, so "the client was created in another
// region" cannot be modelled by host. At a real login host, a client of another region is
// simply unknown: `invalid_client`, exactly what the sandbox answers for an unknown client
// id. Doctor cannot tell the two apart from that answer, so it must name both.
#[tokio::test]
async fn wrong_region_or_bad_credentials_is_named_with_both_fixes() {
    let s = setup().await;
    s.org(ORG_A, |d| {
        d["genesys"]["clientId"] = json!("acme-client-created-in-usw2")
    });
    let r = s.doctor(ORG_A).await;
    assert_status(&r, "config", Status::Pass);
    assert_status(&r, "genesys.token", Status::Fail);
    let c = check(&r, "genesys.token");
    assert_eq!(c.error_type.as_deref(), Some("Genesys.BadCredentials"));
    assert!(
        c.detail.contains("invalid_client") && c.detail.contains("acme-client-created-in-usw2"),
        "{}",
        c.detail
    );
    assert!(c.detail.contains("wrong region"), "{}", c.detail);
    let f = fix(&r, "genesys.token");
    assert!(
        f.contains("genesys.clientId") && f.contains("genesys.clientSecret"),
        "{f}"
    );
    assert!(f.contains("region") && f.contains("mypurecloud.ie"), "{f}");
    for id in [
        "genesys.org",
        "genesys.roles",
        "capability.conversationRead",
    ] {
        assert_status(&r, id, Status::Skip);
    }
    // Zendesk is independent of Genesys and still checked.
    assert_status(&r, "zendesk.credential", Status::Pass);
    assert!(!r.passed());

    // A wrong secret for a known client gets the same row.
    s.org(ORG_A, |d| {
        d["genesys"]["clientSecret"] = json!("not-the-secret")
    });
    let r = s.doctor(ORG_A).await;
    assert_eq!(
        check(&r, "genesys.token").error_type.as_deref(),
        Some("Genesys.BadCredentials")
    );
}

#[tokio::test]
async fn unreachable_login_host_is_told_apart_from_bad_credentials() {
    let s = setup().await;
    // A port nothing listens on: no HTTP answer at all, as for a wrong region host override.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut doc = example_org(ORG_A);
    bridge_sandbox::point_org_config(&mut doc, &s.sandbox.base_url());
    doc["genesys"]["loginBaseUrl"] = json!(format!("http://127.0.0.1:{closed}"));
    std::fs::write(s.dir.path().join(format!("{ORG_A}.json")), doc.to_string()).unwrap();
    let r = s.doctor(ORG_A).await;
    let c = check(&r, "genesys.token");
    assert_eq!(c.status, Status::Fail);
    assert_eq!(
        c.error_type.as_deref(),
        Some("Genesys.Transport"),
        "{}",
        r.render()
    );
    assert!(c.detail.contains("unreachable"), "{}", c.detail);
    assert!(fix(&r, "genesys.token").contains("genesys.region"));
}

#[tokio::test]
async fn token_throttling_is_told_apart() {
    let s = setup().await;
    s.org(ORG_A, |_| {});
    // Genesys' real token throttling form (400 invalid_request "rate limit exceeded"), on
    // every attempt the retry policy makes.
    let fault = Fault::token_rate_limited().statuses([400; 8]);
    s.sandbox.inject(fault);
    let r = s.doctor(ORG_A).await;
    let c = check(&r, "genesys.token");
    assert_eq!(c.status, Status::Fail, "{}", r.render());
    assert_eq!(c.error_type.as_deref(), Some("Genesys.RateLimited"));
    assert!(c.detail.contains("throttled"), "{}", c.detail);
    assert!(fix(&r, "genesys.token").contains("wait"));
}

#[tokio::test]
async fn credentials_of_another_org_are_named() {
    let s = setup().await;
    s.org(ORG_A, |d| {
        d["genesys"]["clientId"] = json!("globex-bridge-client");
        d["genesys"]["clientSecret"] = json!("globex-client-secret-local");
    });
    let r = s.doctor(ORG_A).await;
    assert_status(&r, "genesys.token", Status::Pass);
    assert_status(&r, "genesys.org", Status::Fail);
    let c = check(&r, "genesys.org");
    assert_eq!(c.error_type.as_deref(), Some("Genesys.WrongOrg"));
    // Names whose credentials they are.
    assert!(
        c.detail.contains(ORG_B) && c.detail.contains("Globex Care"),
        "{}",
        c.detail
    );
    let f = fix(&r, "genesys.org");
    assert!(f.contains(ORG_A) && f.contains("Acme Support"), "{f}");
    for cap in [
        "capability.participantAttributes",
        "capability.agentlessMessaging",
    ] {
        assert_status(&r, cap, Status::Skip);
    }
    // The refused token was never used for anything but tokens/me.
    let journal = s.sandbox.journal();
    assert_eq!(
        bridge_sandbox::count(&journal, "*", "/api/v2/conversations/**"),
        0
    );
    assert_eq!(
        bridge_sandbox::count(&journal, "*", "/api/v2/authorization/**"),
        0
    );
}

#[tokio::test]
async fn missing_permissions_are_named_per_capability() {
    let s = setup().await;
    s.org(ORG_A, |d| {
        d["genesys"]["clientId"] = json!("acme-limited-client");
        d["genesys"]["clientSecret"] = json!("acme-limited-secret-local");
    });
    let r = s.doctor(ORG_A).await;
    assert_status(&r, "genesys.roles", Status::Pass);
    assert_status(&r, "capability.participantAttributes", Status::Pass);
    for (id, perm) in [
        (
            "capability.conversationRead",
            "conversation:communication:view",
        ),
        (
            "capability.externalContacts",
            "externalContacts:contact:edit",
        ),
        (
            "capability.agentlessMessaging",
            "conversation:message:create",
        ),
    ] {
        let c = check(&r, id);
        assert_eq!(c.status, Status::Fail, "{id}:\n{}", r.render());
        assert!(c.detail.contains(perm), "{id}: {}", c.detail);
        let f = fix(&r, id);
        assert!(
            f.contains(perm) && f.contains("acme-limited-client") && f.contains("role"),
            "{f}"
        );
        assert!(!f.contains("scope X"), "{f}");
    }
    // The view half of external contacts is granted; only edit is named as missing.
    let ext = check(&r, "capability.externalContacts");
    assert!(
        !ext.detail.contains("externalContacts:contact:view"),
        "{}",
        ext.detail
    );
    let grants: Vec<(String, Grant)> = ext
        .needs
        .iter()
        .map(|n| (n.permission.clone(), n.grant))
        .collect();
    assert_eq!(
        grants,
        vec![
            ("externalContacts:contact:view".to_string(), Grant::Granted),
            ("externalContacts:contact:edit".to_string(), Grant::Missing)
        ]
    );
    assert!(!r.passed());
}

#[tokio::test]
async fn without_role_view_permissions_are_probed_safely() {
    let s = setup().await;
    s.org(ORG_A, |d| {
        d["genesys"]["clientId"] = json!("acme-limited-client");
        d["genesys"]["clientSecret"] = json!("acme-limited-secret-local");
    });
    // The client may not read roles any more.
    s.sandbox.state().set_client_permissions(
        ORG_A,
        "acme-limited-client",
        vec![
            "conversation:communication:update".into(),
            "externalContacts:contact:view".into(),
        ],
    );
    let r = s.doctor(ORG_A).await;
    let roles = check(&r, "genesys.roles");
    assert_eq!(roles.status, Status::Warn, "{}", r.render());
    assert!(
        roles.detail.contains("authorization:role:view") && roles.detail.contains("probed"),
        "{}",
        roles.detail
    );
    assert_status(&r, "capability.participantAttributes", Status::Pass);
    assert!(check(&r, "capability.participantAttributes")
        .detail
        .contains("(probed)"));
    assert_status(&r, "capability.conversationRead", Status::Fail);
    assert!(check(&r, "capability.conversationRead")
        .detail
        .contains("(probed)"));
    let ext = check(&r, "capability.externalContacts");
    assert_eq!(ext.status, Status::Fail);
    assert!(
        ext.detail.contains("externalContacts:contact:edit")
            && !ext.detail.contains("contact:view"),
        "{}",
        ext.detail
    );
    // Messaging cannot be probed without sending a message: unverified, not failed.
    assert_status(&r, "capability.agentlessMessaging", Status::Warn);
    // Probes never changed anything: every probe targeted an id that does not exist.
    let journal = s.sandbox.journal();
    for e in bridge_sandbox::matching(&journal, "*", "/api/v2/**") {
        assert!(
            e.status == 200 || e.status == 403 || e.status == 404,
            "{} {} -> {}",
            e.method,
            e.path,
            e.status
        );
        assert!(e.method != "POST", "no message was sent: {}", e.path);
    }
    assert!(
        bridge_sandbox::count(&journal, "PATCH", "/api/v2/**") > 0,
        "write permissions were probed"
    );
}

#[tokio::test]
async fn bad_zendesk_token_and_end_user_are_named() {
    let s = setup().await;
    s.org(ORG_A, |d| {
        d["zendesk"]["auth"]["apiToken"] = json!("revoked-token")
    });
    let r = s.doctor(ORG_A).await;
    let c = check(&r, "zendesk.credential");
    assert_eq!(c.status, Status::Fail, "{}", r.render());
    assert_eq!(c.error_type.as_deref(), Some("Zendesk.BadCredentials"));
    assert!(
        c.detail.contains("not authenticated") && c.detail.contains("bridge@acme.example"),
        "{}",
        c.detail
    );
    let f = fix(&r, "zendesk.credential");
    assert!(
        f.contains("zendesk.auth.apiToken") && f.contains("zendesk.auth.email"),
        "{f}"
    );
    // Genesys is unaffected.
    assert_status(&r, "genesys.token", Status::Pass);
    assert_status(&r, "capability.conversationRead", Status::Pass);

    // A valid token of an end-user authenticates but cannot work tickets.
    s.org(ORG_A, |d| {
        d["zendesk"]["auth"]["email"] = json!("jane.doe@example.com");
        d["zendesk"]["auth"]["apiToken"] = json!("acme-enduser-token-local");
    });
    let r = s.doctor(ORG_A).await;
    let c = check(&r, "zendesk.credential");
    assert_eq!(c.status, Status::Fail, "{}", r.render());
    assert!(
        c.detail.contains("end-user") && c.detail.contains("jane.doe@example.com"),
        "{}",
        c.detail
    );
    assert!(fix(&r, "zendesk.credential").contains("agent or admin"));
}

#[tokio::test]
async fn malformed_config_names_the_field_and_skips_the_rest() {
    let s = setup().await;
    type Mutation = fn(&mut Value);
    let rows: Vec<(&str, Mutation)> = vec![
        ("genesys.region", |d| {
            d["genesys"]["region"] = json!("mars-1")
        }),
        ("webhook.sharedSecret", |d| {
            d["webhook"]["sharedSecret"] = json!("short")
        }),
        ("clientSecrt", |d| {
            d["genesys"]["clientSecrt"] = json!("typo")
        }),
        ("rules.wrapupStatus", |d| {
            d["rules"]["wrapupStatus"]["x"] = json!("done")
        }),
    ];
    for (field, mutate) in rows {
        s.org(ORG_A, mutate);
        let r = s.doctor(ORG_A).await;
        let c = check(&r, "config");
        assert_eq!(c.status, Status::Fail, "{field}:\n{}", r.render());
        assert!(c.detail.contains(field), "{field}: {}", c.detail);
        assert_eq!(c.error_type.as_deref(), Some("Config.InvalidConfig"));
        assert!(
            fix(&r, "config").contains(&format!("{ORG_A}.json")),
            "the fix names the file"
        );
        for id in &ALL[1..] {
            assert_status(&r, id, Status::Skip);
        }
    }
    assert!(
        s.sandbox.journal().is_empty(),
        "an invalid config makes no upstream call"
    );

    // Not JSON at all.
    std::fs::write(s.dir.path().join(format!("{ORG_A}.json")), "{ \"orgId\": ").unwrap();
    let r = s.doctor(ORG_A).await;
    assert_status(&r, "config", Status::Fail);
    assert!(fix(&r, "config").contains("valid JSON"));

    // No file for the org.
    let r = s.doctor("00000000-0000-4000-8000-000000000000").await;
    assert_status(&r, "config", Status::Fail);
    assert!(fix(&r, "config").contains("bridge orgs put"));
}

#[tokio::test]
async fn binary_prints_the_table_json_and_exit_codes() {
    let s = setup().await;
    s.org(ORG_A, |_| {});
    s.org(ORG_B, |d| {
        d["genesys"]["clientId"] = json!("acme-bridge-client");
        d["genesys"]["clientSecret"] = json!("acme-client-secret-local");
    });
    let dir = s.dir.path().to_str().unwrap().to_string();
    // The binary blocks this thread; the sandbox runs on the test runtime's other workers.
    let healthy = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || {
            bridge(&["doctor", "--org", ORG_A, "--orgs-dir", &dir], &[])
        })
        .await
        .unwrap()
    };
    let out = stdout(&healthy);
    assert_eq!(healthy.status.code(), Some(0), "{out}{}", stderr(&healthy));
    assert!(
        out.contains("✓ config schema") && out.contains("org is ready"),
        "{out}"
    );
    println!("{out}");

    let broken = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || {
            bridge(&["doctor", "--org", ORG_B, "--orgs-dir", &dir], &[])
        })
        .await
        .unwrap()
    };
    let out = stdout(&broken);
    assert_eq!(broken.status.code(), Some(1), "{out}{}", stderr(&broken));
    assert!(
        out.contains("✗ org check (tokens/me)") && out.contains("fix: put the id and secret"),
        "{out}"
    );
    println!("{out}");

    let json_run = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || {
            bridge(
                &["doctor", "--org", ORG_B, "--orgs-dir", &dir, "--json"],
                &[],
            )
        })
        .await
        .unwrap()
    };
    assert_eq!(json_run.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&json_run.stdout).expect("--json prints JSON");
    assert_eq!(v["passed"], json!(false));
    let org_row = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "genesys.org")
        .unwrap();
    assert_eq!(org_row["status"], "fail");
    assert_eq!(org_row["errorType"], "Genesys.WrongOrg");

    // --sandbox: the example files as they are, pointed at an embedded sandbox.
    let sandboxed = bridge(&["doctor", "--org", ORG_A, "--sandbox"], &[]);
    assert_eq!(
        sandboxed.status.code(),
        Some(0),
        "{}{}",
        stdout(&sandboxed),
        stderr(&sandboxed)
    );
    assert!(stdout(&sandboxed).contains("checked against the local sandbox"));
    let limited = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || {
            bridge(
                &["doctor", "--org", ORG_B, "--sandbox", "--orgs-dir", &dir],
                &[],
            )
        })
        .await
        .unwrap()
    };
    assert_eq!(limited.status.code(), Some(1), "{}", stdout(&limited));
    assert!(stdout(&limited).contains("credentials of another org"));
    let sm = bridge(
        &["doctor", "--org", ORG_A, "--sandbox", "--secrets-manager"],
        &[],
    );
    assert_eq!(sm.status.code(), Some(2));

    // Usage errors: exit 2.
    let bad = bridge(&["doctor", "--org", "acme", "--orgs-dir", &dir], &[]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("UUID"));
    let missing_dir = bridge(
        &["doctor", "--org", ORG_A, "--orgs-dir", "/nonexistent/orgs"],
        &[],
    );
    assert_eq!(missing_dir.status.code(), Some(2));
    let no_org = bridge(&["doctor"], &[]);
    assert_eq!(no_org.status.code(), Some(2));
}

#[tokio::test]
async fn doctor_reads_the_org_from_secrets_manager() {
    use bridge::secrets::{SecretSource, SecretsManagerSource};
    let s = setup().await;
    let conf = bridge_testkit::aws_test_config().await;
    let prefix = format!("{}/", bridge_testkit::unique_name("bridge-doctor"));
    let source = SecretsManagerSource::from_conf(&conf, prefix.clone());
    let mut doc = example_org(ORG_A);
    doc["zendesk"]["auth"]["apiToken"] = json!("revoked");
    bridge_sandbox::point_org_config(&mut doc, &s.sandbox.base_url());
    source
        .put(ORG_A, &secrecy::SecretString::from(doc.to_string()))
        .await
        .unwrap();

    let r = doctor::run(&source, ORG_A, TIMEOUT).await.unwrap();
    assert!(
        r.location.contains(&format!("{prefix}{ORG_A}")),
        "{}",
        r.location
    );
    assert_status(&r, "genesys.org", Status::Pass);
    assert_status(&r, "zendesk.credential", Status::Fail);
    assert!(
        fix(&r, "zendesk.credential").contains("Secrets Manager secret"),
        "the fix names the secret"
    );

    let r = doctor::run(&source, ORG_B, TIMEOUT).await.unwrap();
    assert_status(&r, "config", Status::Fail);
    assert!(check(&r, "config").detail.contains("not found"));
    assert!(fix(&r, "config").contains("bridge orgs put"));
}
