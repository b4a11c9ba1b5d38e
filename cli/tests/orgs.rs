//! `bridge orgs put|get|list|rm` on both secret sources: a directory (through the binary
//! and the library) and Secrets Manager (moto, through the binary).

mod common;

use bridge_testkit::example_org;
use bridge_testkit::ids::{ORG_A, ORG_B};
use common::*;
use serde_json::{json, Value};

const SECRETS: [&str; 3] = [
    "acme-client-secret-local",
    "acme-zendesk-token-local",
    "acme-webhook-secret-local-0123456789abcdef",
];

fn example_file(dir: &std::path::Path, name: &str, doc: &Value) -> String {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string_pretty(doc).unwrap()).unwrap();
    p.to_str().unwrap().to_string()
}

/// Runs put/get/list/rm through the binary with `source` flags, and checks every rule.
fn exercise(source: &[&str], env: &[(&str, &str)]) {
    let files = tempfile::tempdir().unwrap();
    let acme = example_file(files.path(), "acme.json", &example_org(ORG_A));
    let run = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend_from_slice(source);
        bridge(&all, env)
    };

    // put: created, then replaced.
    let o = run(&["orgs", "put", ORG_A, &acme]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).starts_with("created org 4f2b1c9e"),
        "{}",
        stdout(&o)
    );
    let o = run(&["orgs", "put", ORG_A, &acme]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("replaced org"), "{}", stdout(&o));

    // put refuses a file of another org, and an invalid one; nothing is written.
    let o = run(&["orgs", "put", ORG_B, &acme]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("is the config of org {ORG_A}")),
        "{}",
        stderr(&o)
    );
    let mut bad = example_org(ORG_B);
    bad["genesys"]["region"] = json!("mars-1");
    let bad = example_file(files.path(), "bad.json", &bad);
    let o = run(&["orgs", "put", ORG_B, &bad]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("genesys.region") && stderr(&o).contains("nothing was written"),
        "{}",
        stderr(&o)
    );
    let o = run(&["orgs", "get", ORG_B]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "the refused org was not stored: {}",
        stdout(&o)
    );
    let o = run(&["orgs", "put", "not-a-uuid", &acme]);
    assert_eq!(o.status.code(), Some(2));

    // get redacts unless --reveal.
    let o = run(&["orgs", "get", ORG_A]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).expect("get prints JSON");
    assert_eq!(doc["orgId"], ORG_A);
    assert_eq!(doc["genesys"]["clientSecret"], "** redacted **");
    for s in SECRETS {
        assert!(!stdout(&o).contains(s), "get leaked {s}");
    }
    let o = run(&["orgs", "get", ORG_A, "--reveal", "--json"]);
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["genesys"]["clientSecret"], "acme-client-secret-local");
    assert_eq!(stdout(&o).lines().count(), 1, "--json is one line");

    // list.
    let globex = example_file(files.path(), "globex.json", &example_org(ORG_B));
    assert_eq!(run(&["orgs", "put", ORG_B, &globex]).status.code(), Some(0));
    let o = run(&["orgs", "list"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("ORG ID") && text.contains("Acme Support") && text.contains("Globex Care"),
        "{text}"
    );
    let o = run(&["orgs", "list", "--json"]);
    let rows: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    let ids: Vec<&str> = rows.iter().map(|r| r["orgId"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![ORG_A, ORG_B]);
    assert_eq!(rows[1]["zendesk"], "globex");
    for s in SECRETS {
        assert!(!stdout(&o).contains(s), "list leaked {s}");
    }

    // rm, then rm again is an outcome failure.
    let o = run(&["orgs", "rm", ORG_B]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("removed org"));
    let o = run(&["orgs", "rm", ORG_B]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("nothing removed"));
    let o = run(&["orgs", "list", "--json"]);
    let rows: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows.len(), 1);
}

#[test]
fn orgs_on_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let orgs = dir.path().join("orgs");
    exercise(&["--orgs-dir", orgs.to_str().unwrap()], &[]);
    // The directory holds exactly the files the commands wrote, named by org id.
    let names: Vec<String> = std::fs::read_dir(&orgs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(names, vec![format!("{ORG_A}.json")]);
}

#[test]
fn orgs_on_secrets_manager() {
    let env = aws_env();
    let prefix = format!("{}/", bridge_testkit::unique_name("bridge-cli-test"));
    exercise(
        &["--secrets-manager", "--secret-prefix", &prefix],
        &with_env(&env),
    );
}

#[test]
fn secrets_manager_without_a_region_is_a_usage_error() {
    let o = bridge(
        &["orgs", "list", "--secrets-manager"],
        &[
            ("AWS_REGION", ""),
            ("AWS_DEFAULT_REGION", ""),
            ("AWS_PROFILE", ""),
            ("AWS_CONFIG_FILE", "/nonexistent/config"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("AWS_REGION"));
}

#[test]
fn conflicting_source_flags_are_refused() {
    let o = bridge(
        &["orgs", "list", "--orgs-dir", "x", "--secrets-manager"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
}

#[tokio::test]
async fn library_put_checks_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let src = bridge::secrets::DirSource::new(dir.path().join("orgs"));
    let files = tempfile::tempdir().unwrap();
    let mut doc = example_org(ORG_A);
    doc["genesys"].as_object_mut().unwrap().remove("clientId");
    let f = example_file(files.path(), "x.json", &doc);
    let e = bridge_cli::orgs::put(&src, ORG_A, std::path::Path::new(&f))
        .await
        .unwrap_err();
    assert_eq!(e.exit, bridge_cli::Exit::Usage);
    assert!(e.message.contains("clientId"), "{}", e.message);
    assert!(
        !dir.path().join("orgs").exists(),
        "nothing was written, not even the directory"
    );
}

/// A shared secret pasted where the `webhook` object belongs: no command may print it.
#[test]
fn a_secret_in_the_wrong_place_is_never_printed() {
    let orgs = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let mut doc = example_org(ORG_A);
    doc["webhook"] = json!("LEAKME-shared-secret-0123456789abcdef");
    let leaky = example_file(files.path(), "leaky.json", &doc);
    let dir = orgs.path().to_str().unwrap();
    // put refuses it, naming the field.
    let o = bridge(&["orgs", "put", ORG_A, &leaky, "--orgs-dir", dir], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let mut shown = format!("{}{}", stdout(&o), stderr(&o));
    assert!(shown.contains("webhook"), "{shown}");
    // Stored anyway (by hand, or by an older tool): get, list and doctor read it.
    std::fs::write(orgs.path().join(format!("{ORG_A}.json")), doc.to_string()).unwrap();
    for args in [
        vec!["orgs", "get", ORG_A, "--orgs-dir", dir],
        vec!["orgs", "get", ORG_A, "--reveal", "--orgs-dir", dir],
        vec!["orgs", "list", "--orgs-dir", dir],
        vec!["doctor", "--org", ORG_A, "--orgs-dir", dir],
        vec!["doctor", "--org", ORG_A, "--orgs-dir", dir, "--json"],
    ] {
        let o = bridge(&args, &[]);
        let out = format!("{}{}", stdout(&o), stderr(&o));
        assert!(out.contains("webhook"), "{args:?} names the field: {out}");
        shown.push_str(&out);
    }
    assert!(!shown.contains("LEAKME"), "{shown}");
}
