//! `bridge doctor` on the org's messaging senders against the sandbox: each configured SMS
//! number must be provisioned and each WhatsApp integration exist and be active, and the
//! agentless messaging row says which one is not and how to fix it.

mod common;

use std::time::Duration;

use bridge::secrets::DirSource;
use bridge_cli::doctor::{self, DoctorReport, Status};
use bridge_sandbox::{count, default_seed, Sandbox};
use bridge_testkit::example_org;
use bridge_testkit::ids::*;
use common::*;
use serde_json::{json, Value};

const ROW: &str = "capability.agentlessMessaging";

async fn doctor_with(sandbox: &Sandbox, mutate: impl FnOnce(&mut Value)) -> DoctorReport {
    let dir = tempfile::tempdir().unwrap();
    let mut doc = example_org(ORG_A);
    mutate(&mut doc);
    write_org(dir.path(), ORG_A, doc, &sandbox.base_url());
    doctor::run(&DirSource::new(dir.path()), ORG_A, Duration::from_secs(10))
        .await
        .expect("doctor runs")
}

#[tokio::test]
async fn configured_senders_are_checked_in_the_messaging_row() {
    let sandbox = Sandbox::start(default_seed()).await.unwrap();
    let r = doctor_with(&sandbox, |_| {}).await;
    let row = r.check(ROW).unwrap();
    assert_eq!(row.status, Status::Pass, "{}", r.render());
    assert!(
        row.detail
            .contains(&format!("acme-sms: SMS number {SMS_A} provisioned"))
            && row.detail.contains(&format!(
                "acme-whatsapp: WhatsApp integration Acme WhatsApp ({WHATSAPP_A}) active"
            )),
        "{}",
        row.detail
    );
    let j = sandbox.journal();
    assert_eq!(count(&j, "GET", "/api/v2/routing/sms/phonenumbers"), 1);
    assert_eq!(
        count(
            &j,
            "GET",
            "/api/v2/conversations/messaging/integrations/whatsapp"
        ),
        1
    );
    assert_eq!(
        count(&j, "POST", "/api/v2/conversations/messages/agentless"),
        0,
        "doctor sends nothing"
    );
}

#[tokio::test]
async fn an_unusable_sender_fails_the_row_with_its_fix() {
    let sandbox = Sandbox::start(default_seed()).await.unwrap();
    let rows = [
        (
            "acme-sms",
            json!({"type": "sms", "address": "+15550009999"}),
            "is not provisioned",
            "SMS Number Inventory",
        ),
        (
            "acme-sms",
            json!({"type": "sms", "address": SMS_A_PORTING}),
            "is porting, not active",
            "wait until",
        ),
        (
            "acme-whatsapp",
            json!({"type": "whatsapp", "integrationId": WHATSAPP_A_INACTIVE}),
            "is Inactive, not active",
            "activate it in Admin > Message > Platforms",
        ),
        (
            "acme-whatsapp",
            json!({"type": "whatsapp", "integrationId": WHATSAPP_B}),
            "does not exist in org",
            "integrationId",
        ),
    ];
    for (name, sender, why, fix) in rows {
        let r = doctor_with(&sandbox, |d| {
            d["messaging"]["senders"][name] = sender.clone()
        })
        .await;
        let row = r.check(ROW).unwrap();
        assert_eq!(row.status, Status::Fail, "{}", r.render());
        assert!(row.detail.contains(why), "{why}: {}", row.detail);
        let f = row.fix.as_deref().unwrap();
        assert!(f.contains(fix) && f.contains(name), "{fix}: {f}");
        assert!(!r.passed());
        assert!(r.render().contains("fix:"), "{}", r.render());
    }
}

#[tokio::test]
async fn senders_the_client_may_not_list_are_unverified_not_failed() {
    let sandbox = Sandbox::start(default_seed()).await.unwrap();
    sandbox.state().set_client_permissions(
        ORG_A,
        CLIENT_A.0,
        vec![
            "conversation:message:create".into(),
            "authorization:role:view".into(),
        ],
    );
    let r = doctor_with(&sandbox, |_| {}).await;
    let row = r.check(ROW).unwrap();
    // The roles still read as granting everything (the override replaces what they grant,
    // not what they say), so only the lists are refused.
    assert_eq!(row.status, Status::Warn, "{}", r.render());
    assert!(
        row.detail.contains("sms:phoneNumber:view [U]"),
        "{}",
        row.detail
    );
    assert!(row
        .fix
        .as_deref()
        .unwrap()
        .contains("messaging:integration:view"));
}

#[tokio::test]
async fn an_org_without_messaging_gets_the_permission_row_only() {
    let sandbox = Sandbox::start(default_seed()).await.unwrap();
    let r = doctor_with(&sandbox, |d| {
        d.as_object_mut().unwrap().remove("messaging");
    })
    .await;
    assert_eq!(r.check(ROW).unwrap().status, Status::Pass);
    assert_eq!(count(&sandbox.journal(), "GET", "/api/v2/routing/**"), 0);
}
