//! `bridge-sandbox`: a stateful local stand-in for Genesys Cloud and Zendesk over HTTP on
//! loopback, for client tests in other crates and for local runs of the whole bridge.
//!
//! It answers with the status codes, bodies and headers described in
//! `../shared/docs/upstream-facts.md`, and anything it does not model gets a loud 501.

mod admin;
pub mod aws_proxy;
mod chaos;
mod faults;
mod genesys;
mod journal;
mod org_config;
mod pattern;
mod seed;
mod server;
mod state;
mod zendesk;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use aws_proxy::{AwsFault, AwsProxy};
pub use chaos::{unit, ChaosConfig, ChaosFault};
pub use faults::Fault;
pub use journal::{count, count_upstream, matching, JournalEntry, Upstream};
pub use org_config::point_org_config;
pub use pattern::{method_matches, path_matches};
pub use seed::{
    default_seed, ApiTokenSeed, ConversationSeed, ExternalContactSeed, GenesysSeed,
    MessagingConversationSeed, OAuthClientSeed, OAuthTokenSeed, OrgSeed, ParticipantSeed,
    PhoneSeed, RoleSeed, SchemaRefSeed, Seed, SmsNumberSeed, TicketSeed, UserSeed,
    WhatsAppIntegrationSeed, ZendeskAccountSeed, ZendeskSeed, ZendeskUserSeed,
    ATTRIBUTES_PERMISSION, SMS_NUMBERS_PERMISSION, WHATSAPP_INTEGRATIONS_PERMISSION,
};
pub use state::{StateHandle, DEFAULT_TICKET_UPDATE_LIMIT, DEFAULT_TICKET_UPDATE_WINDOW};

use server::Shared;

/// A running sandbox. Dropping it stops the server (gracefully, in the background).
pub struct Sandbox {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Sandbox {
    /// Starts on `127.0.0.1` with a random free port.
    pub async fn start(seed: Seed) -> io::Result<Sandbox> {
        Sandbox::start_on(seed, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Starts on `addr`, which must be a loopback address: the sandbox has well-known
    /// secrets and must never be reachable from another machine.
    pub async fn start_on(seed: Seed, addr: SocketAddr) -> io::Result<Sandbox> {
        if !addr.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "bridge-sandbox only listens on loopback; {addr} is not a loopback address"
                ),
            ));
        }
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = state::State::from_seed(&seed, format!("http://{addr}"))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let shared = Arc::new(Shared {
            state: StateHandle::new(state),
            journal: journal::Journal::default(),
            faults: faults::Faults::default(),
            chaos: chaos::Chaos::default(),
        });
        let app = server::router(shared.clone());
        let (shutdown, signal) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = signal.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "bridge-sandbox server stopped");
            }
        });
        Ok(Sandbox {
            addr,
            shared,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }

    /// Base URL of both Genesys hosts (API and login): their paths do not collide.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn zendesk_base_url(&self, subdomain: &str) -> String {
        org_config::zendesk_base_url(&self.base_url(), subdomain)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every upstream request received so far, in the order they were answered
    /// (`/__sandbox` requests excluded).
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.shared.journal.snapshot()
    }

    /// The sequence number of the newest journal entry (0 if none): pass it to
    /// [`Sandbox::journal_since`] later to get what was answered in between. Not reset by
    /// [`Sandbox::clear_journal`].
    pub fn last_seq(&self) -> u64 {
        self.shared.journal.last_seq()
    }

    /// The journal entries answered after the one numbered `seq`, in order, without copying
    /// the older ones.
    pub fn journal_since(&self, seq: u64) -> Vec<JournalEntry> {
        self.shared.journal.since(seq)
    }

    pub fn clear_journal(&self) {
        self.shared.journal.clear();
    }

    /// Adds a fault rule.
    ///
    /// # Panics
    /// If the rule is invalid (a status that is neither 0 nor 100..=599, a path without a
    /// leading `/`, or both a JSON and a text body).
    pub fn inject(&self, fault: Fault) {
        if let Err(e) = fault.validate() {
            panic!("bridge-sandbox: invalid fault rule: {e}");
        }
        self.shared.faults.add(fault);
    }

    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Starts (or with `None` stops) faults at a rate on every Genesys and Zendesk request
    /// (see [`ChaosConfig`]); fault rules still come first. Resets the counts.
    pub fn set_chaos(&self, config: Option<ChaosConfig>) {
        self.shared.chaos.set(config);
    }

    /// How many faults of each kind the chaos setting injected so far.
    pub fn chaos_injected(&self) -> std::collections::BTreeMap<ChaosFault, u64> {
        self.shared.chaos.injected()
    }

    pub fn state(&self) -> StateHandle {
        self.shared.state.clone()
    }

    /// Stops accepting, lets in-flight requests finish (up to 5 s) and waits for the server.
    pub async fn shutdown(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
