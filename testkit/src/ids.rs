//! The ids of the sandbox's default seed (`sandbox/seed.json`, listed in `sandbox/README.md`)
//! under one naming scheme, checked against the seed by the tests below.
//!
//! Org A is "Acme Support" (Zendesk account `acme`), org B "Globex Care" (`globex`); the
//! example org configs of `examples/orgs` are for the same two. Conversation N of org A is
//! `CONV_AN`, and its participants are `CONV_AN_CUSTOMER`, `CONV_AN_AGENT`, `CONV_AN_ACD`.
//! Credentials are `(id, secret)` pairs.

pub const ORG_A: &str = "4f2b1c9e-8a31-4d6e-9b7a-2c5d8e1f0a11";
pub const ORG_B: &str = "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c22";

/// Org A's OAuth client with every permission the bridge needs.
pub const CLIENT_A: (&str, &str) = ("acme-bridge-client", "acme-client-secret-local");
/// Org A's OAuth client without `conversation:communication:view` and
/// `externalContacts:contact:edit`.
pub const CLIENT_A_LIMITED: (&str, &str) = ("acme-limited-client", "acme-limited-secret-local");
/// Org B's OAuth client with every permission the bridge needs.
pub const CLIENT_B: (&str, &str) = ("globex-bridge-client", "globex-client-secret-local");

/// Active; the customer has `zendesk_ticket_id` = 1001.
pub const CONV_A1: &str = "c0a00001-0000-4000-8000-000000000000";
pub const CONV_A1_CUSTOMER: &str = "c0a00001-0000-4000-8000-00000000c001";
pub const CONV_A1_AGENT: &str = "c0a00001-0000-4000-8000-00000000a001";
/// Active; customer, ACD and agent participants.
pub const CONV_A2: &str = "c0a00002-0000-4000-8000-000000000000";
pub const CONV_A2_CUSTOMER: &str = "c0a00002-0000-4000-8000-00000000c001";
pub const CONV_A2_ACD: &str = "c0a00002-0000-4000-8000-00000000ac01";
pub const CONV_A2_AGENT: &str = "c0a00002-0000-4000-8000-00000000a001";
/// Ended; the customer has `zendesk_ticket_id` = 1004.
pub const CONV_A3_ENDED: &str = "c0a00003-0000-4000-8000-000000000000";
pub const CONV_A3_CUSTOMER: &str = "c0a00003-0000-4000-8000-00000000c001";
pub const CONV_A3_AGENT: &str = "c0a00003-0000-4000-8000-00000000a001";
pub const CONV_B1: &str = "c0b00001-0000-4000-8000-000000000000";
pub const CONV_B1_CUSTOMER: &str = "c0b00001-0000-4000-8000-00000000c001";
pub const CONV_B1_AGENT: &str = "c0b00001-0000-4000-8000-00000000a001";
/// The customer has `zendesk_ticket_id` = 2001.
pub const CONV_B2: &str = "c0b00002-0000-4000-8000-000000000000";
pub const CONV_B2_CUSTOMER: &str = "c0b00002-0000-4000-8000-00000000c001";
pub const CONV_B2_AGENT: &str = "c0b00002-0000-4000-8000-00000000a001";

/// The Genesys user behind every agent participant of org A (Alex Agent).
pub const AGENT_USER_A: &str = "d0a00001-0000-4000-8000-000000000000";
/// The Genesys user behind every agent participant of org B (Gil Agent).
pub const AGENT_USER_B: &str = "d0b00001-0000-4000-8000-000000000000";
/// A user of org A who is a participant of no seeded conversation (Blair Agent).
pub const OTHER_USER_A: &str = "d0a00002-0000-4000-8000-000000000000";

/// User tokens (an agent signed in to a client app): each acts with its user's roles,
/// which grant `conversation:communication:view` and `conversation:communication:update`.
pub const USER_TOKEN_A: &str = "acme-agent-alex-token-local";
pub const OTHER_USER_TOKEN_A: &str = "acme-agent-blair-token-local";
pub const USER_TOKEN_B: &str = "globex-agent-gil-token-local";
/// A client-credentials token of [`CLIENT_A_LIMITED`], issued before the sandbox started.
pub const CLIENT_TOKEN_A_LIMITED: &str = "acme-limited-client-token-local";

/// External contact Jane Doe (`tier_text` = silver).
pub const CONTACT_A1: &str = "e0a00001-0000-4000-8000-000000000000";
/// External contact Sam Lee.
pub const CONTACT_A2: &str = "e0a00002-0000-4000-8000-000000000000";
/// External contact Ada Park (`tier_text` = gold).
pub const CONTACT_B1: &str = "e0b00001-0000-4000-8000-000000000000";

/// The API token (email, token) of Zendesk account `acme`'s admin.
pub const ZENDESK_TOKEN_A: (&str, &str) = ("bridge@acme.example", "acme-zendesk-token-local");
/// The API token (email, token) of Zendesk account `globex`'s admin.
pub const ZENDESK_TOKEN_B: (&str, &str) = ("bridge@globex.example", "globex-zendesk-token-local");

/// Org A's provisioned SMS number (status `active`): its messaging sender.
pub const SMS_A: &str = "+15550000100";
/// An SMS number of org A that is seeded as `porting`: not usable yet.
pub const SMS_A_PORTING: &str = "+15550000101";
/// Org A's active WhatsApp integration.
pub const WHATSAPP_A: &str = "3a0a0001-0000-4000-8000-000000000000";
/// An inactive WhatsApp integration of org A.
pub const WHATSAPP_A_INACTIVE: &str = "3a0a0002-0000-4000-8000-000000000000";
/// Org B's provisioned SMS number.
pub const SMS_B: &str = "+15550000300";
/// Org B's active WhatsApp integration.
pub const WHATSAPP_B: &str = "3a0b0001-0000-4000-8000-000000000000";
/// Sam Lee (the customer of `CONV_A2`) is in an active SMS conversation of org A: an
/// agentless message to this number is refused unless `useExistingActiveConversation`.
pub const ACTIVE_SMS_CUSTOMER_A: &str = "+15551230003";
/// That active SMS conversation.
pub const MESSAGING_CONV_A: &str = "c0a00004-0000-4000-8000-000000000000";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn seed() -> Value {
        serde_json::to_value(bridge_sandbox::default_seed()).unwrap()
    }

    fn org(seed: &Value, id: &str) -> Value {
        seed["genesys"]["orgs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["id"] == id)
            .unwrap_or_else(|| panic!("org {id} is not seeded"))
            .clone()
    }

    fn find<'a>(list: &'a Value, key: &str, id: &str) -> &'a Value {
        list.as_array()
            .unwrap()
            .iter()
            .find(|x| x[key] == id)
            .unwrap_or_else(|| panic!("{id} is not in {list}"))
    }

    #[test]
    fn every_id_is_the_seeds() {
        let seed = seed();
        for (org_id, name, clients, conversations, agent, contacts) in [
            (
                ORG_A,
                "Acme Support",
                vec![CLIENT_A, CLIENT_A_LIMITED],
                vec![
                    (
                        CONV_A1,
                        vec![(CONV_A1_CUSTOMER, "customer"), (CONV_A1_AGENT, "agent")],
                    ),
                    (
                        CONV_A2,
                        vec![
                            (CONV_A2_CUSTOMER, "customer"),
                            (CONV_A2_ACD, "acd"),
                            (CONV_A2_AGENT, "agent"),
                        ],
                    ),
                    (
                        CONV_A3_ENDED,
                        vec![(CONV_A3_CUSTOMER, "customer"), (CONV_A3_AGENT, "agent")],
                    ),
                ],
                AGENT_USER_A,
                vec![CONTACT_A1, CONTACT_A2],
            ),
            (
                ORG_B,
                "Globex Care",
                vec![CLIENT_B],
                vec![
                    (
                        CONV_B1,
                        vec![(CONV_B1_CUSTOMER, "customer"), (CONV_B1_AGENT, "agent")],
                    ),
                    (
                        CONV_B2,
                        vec![(CONV_B2_CUSTOMER, "customer"), (CONV_B2_AGENT, "agent")],
                    ),
                ],
                AGENT_USER_B,
                vec![CONTACT_B1],
            ),
        ] {
            let org = org(&seed, org_id);
            assert_eq!(org["name"], name);
            for (id, secret) in clients {
                assert_eq!(find(&org["oauthClients"], "id", id)["secret"], secret);
            }
            for (conv, participants) in conversations {
                let c = find(&org["conversations"], "id", conv);
                for (id, purpose) in participants {
                    let p = find(&c["participants"], "id", id);
                    assert_eq!(p["purpose"], purpose, "{id}");
                    if purpose == "agent" {
                        assert_eq!(p["userId"], agent, "{id}");
                    }
                }
            }
            for contact in contacts {
                find(&org["externalContacts"], "id", contact);
            }
        }
        let a = org(&seed, ORG_A);
        assert_eq!(
            find(&a["smsPhoneNumbers"], "phoneNumber", SMS_A)["phoneNumberStatus"],
            "active"
        );
        assert_eq!(
            find(&a["smsPhoneNumbers"], "phoneNumber", SMS_A_PORTING)["phoneNumberStatus"],
            "porting"
        );
        assert_eq!(
            find(&a["whatsappIntegrations"], "id", WHATSAPP_A)["status"],
            "Active"
        );
        assert_eq!(
            find(&a["whatsappIntegrations"], "id", WHATSAPP_A_INACTIVE)["status"],
            "Inactive"
        );
        let active = find(&a["messagingConversations"], "id", MESSAGING_CONV_A);
        assert_eq!(active["address"], ACTIVE_SMS_CUSTOMER_A);
        let b = org(&seed, ORG_B);
        find(&b["smsPhoneNumbers"], "phoneNumber", SMS_B);
        find(&b["whatsappIntegrations"], "id", WHATSAPP_B);
        for (org_id, user, token) in [
            (ORG_A, AGENT_USER_A, USER_TOKEN_A),
            (ORG_A, OTHER_USER_A, OTHER_USER_TOKEN_A),
            (ORG_B, AGENT_USER_B, USER_TOKEN_B),
        ] {
            assert_eq!(
                find(&org(&seed, org_id)["users"], "id", user)["token"],
                token
            );
        }
        assert_eq!(
            find(&org(&seed, ORG_A)["oauthClients"], "id", CLIENT_A_LIMITED.0)["issuedToken"],
            CLIENT_TOKEN_A_LIMITED
        );
        // The other user of A is in no conversation: the participation check has a case.
        assert!(!seed
            .to_string()
            .contains(&format!("\"userId\":\"{OTHER_USER_A}\"")));
        let ended = |id| find(&org(&seed, ORG_A)["conversations"], "id", id)["endTime"].is_string();
        assert!(ended(CONV_A3_ENDED) && !ended(CONV_A1) && !ended(CONV_A2));
        for (subdomain, (email, token)) in [("acme", ZENDESK_TOKEN_A), ("globex", ZENDESK_TOKEN_B)]
        {
            let account = find(&seed["zendesk"]["accounts"], "subdomain", subdomain);
            assert_eq!(find(&account["apiTokens"], "email", email)["token"], token);
        }
    }

    /// The example org configs are for the seeded orgs and their full-permission clients.
    #[test]
    fn the_example_orgs_use_the_seeded_clients() {
        for (org_id, (client, secret)) in [(ORG_A, CLIENT_A), (ORG_B, CLIENT_B)] {
            let doc = crate::example_org(org_id);
            assert_eq!(doc["orgId"], org_id);
            assert_eq!(doc["genesys"]["clientId"], client);
            assert_eq!(doc["genesys"]["clientSecret"], secret);
        }
    }
}
