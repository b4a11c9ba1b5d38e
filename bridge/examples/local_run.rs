//! A minimal local run of genesys-bridge with no AWS and no Genesys account: starts the
//! sandbox, loads the org configs of `examples/orgs/`, writes participant attributes (and
//! reads them back), moves a Zendesk ticket with a safe update, shows a refused call with
//! its actionable error, and prints every upstream call that was made.
//!
//! `cargo run -p bridge --example local_run [-- ORGS_DIR]`

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use bridge::genesys::GenesysOrg;
use bridge::http::HttpClient;
use bridge::secrets::{MemorySource, DEFAULT_TTL};
use bridge::zendesk::{Comment, TicketUpdate};
use bridge::{Deadline, OrgConfig, Runtime};
use bridge_sandbox::{default_seed, point_org_config, Sandbox};
// Only to count the secret fetches printed at the end.
use bridge_testkit::CountingSource;

const ORG: &str = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";
const CONVERSATION: &str = "c0a00001-0000-4000-8000-000000000000";
const CUSTOMER: &str = "c0a00001-0000-4000-8000-00000000c001";
const OTHER_ORGS_CONVERSATION: &str = "c0b00001-0000-4000-8000-000000000000";

type Error = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/orgs"));
    let sandbox = Sandbox::start(default_seed()).await?;
    println!(
        "sandbox (Genesys Cloud + Zendesk stand-in) on {}",
        sandbox.base_url()
    );
    // The org files, pointed at the sandbox in memory (the files are not changed).
    let base_url = sandbox.base_url();
    let orgs = MemorySource::from_dir(&dir, |doc| point_org_config(doc, &base_url))?;
    let source = Arc::new(CountingSource::new(orgs));
    let rt = Runtime::new(source.clone(), DEFAULT_TTL, HttpClient::new()?);
    println!("org configs from {}", dir.display());

    let org = rt.orgs.get(ORG).await?;
    println!(
        "\n1. org {ORG} ({}), region {}",
        org.name.as_deref().unwrap_or("-"),
        org.genesys.region.domain
    );
    let genesys = rt.genesys.org(&org, Deadline::none());
    let (verified, stored) = write_and_read_back(&genesys).await?;
    let ticket_id: u64 = stored
        .get(&org.rules.ticket_id_attribute)
        .ok_or("no ticket id attribute")?
        .parse()?;
    let solved = solve_ticket(&rt, &org, ticket_id).await?;
    match genesys.conversation(OTHER_ORGS_CONVERSATION).await {
        Ok(_) => println!("5. unexpected: another org's conversation was readable"),
        Err(e) => println!(
            "5. reading another org's conversation is refused as it should be:\n   [{}] {e}",
            e.error_type()
        ),
    }

    print_journal(&sandbox, source.fetches());
    let ok = verified && solved;
    println!(
        "\n{}",
        if ok {
            "local run OK"
        } else {
            "local run FAILED"
        }
    );
    sandbox.shutdown().await;
    if ok {
        Ok(())
    } else {
        Err("local run failed".into())
    }
}

/// Writes two attributes and reads the conversation back: whether they stuck, and what the
/// customer participant holds.
async fn write_and_read_back(
    genesys: &GenesysOrg<'_>,
) -> Result<(bool, BTreeMap<String, String>), Error> {
    let attributes: BTreeMap<String, String> = [("crm_tier", "gold"), ("sync_status", "synced")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let written = genesys
        .patch_participant_attributes(CONVERSATION, CUSTOMER, &attributes)
        .await?;
    println!(
        "2. PATCH participant attributes {attributes:?} -> HTTP {} (correlation id {})",
        written.status,
        written.correlation_id.as_deref().unwrap_or("-")
    );
    let conversation = genesys.conversation(CONVERSATION).await?;
    let stored = conversation
        .participant(CUSTOMER)
        .ok_or("customer participant missing")?
        .attributes
        .clone();
    let verified = attributes.iter().all(|(k, v)| stored.get(k) == Some(v));
    println!("3. read back: {stored:?} -> verified: {verified}");
    Ok((verified, stored))
}

/// Moves the ticket to solved with a safe update; whether it is solved now.
async fn solve_ticket(rt: &Runtime, org: &OrgConfig, ticket_id: u64) -> Result<bool, Error> {
    let zendesk = rt.zendesk.account(org, Deadline::none())?;
    let before = zendesk.ticket(ticket_id).await?;
    let after = zendesk
        .update_ticket(
            ticket_id,
            &TicketUpdate {
                status: Some("solved".into()),
                comment: Some(Comment {
                    body: format!("Wrapped up in Genesys conversation {CONVERSATION}"),
                    public: false,
                }),
                safe_update_stamp: before.updated_at.clone(),
            },
        )
        .await?;
    println!(
        "4. Zendesk ticket {ticket_id} (from attribute {}): {} -> {} (safe update)",
        org.rules.ticket_id_attribute, before.status, after.status
    );
    Ok(after.status == "solved")
}

fn print_journal(sandbox: &Sandbox, secret_fetches: usize) {
    let journal = sandbox.journal();
    println!(
        "\nupstream calls made ({}), secret fetches: {secret_fetches}",
        journal.len(),
    );
    for j in &journal {
        println!(
            "   {:>3} {:<6} {:<75} org={}",
            j.status,
            j.method,
            j.path,
            j.org_id.as_deref().unwrap_or("-")
        );
    }
}
