//! One connector + both simulators on ephemeral loopback ports, per test.

use std::sync::OnceLock;
use std::time::Duration;

use lever_host::http_util::{bind_loopback, now_ms, ClientResponse, HttpClient};
use lever_host::runtime::{Limits, Runtime};
use lever_host::server::{Connector, Served};
use lever_host::settings::Settings;
use lever_host::signing::{lever_delivery, random_token};
use lever_host::sim::{partner, LeverSimOptions, Simulators};
use serde_json::{json, Value};

pub const API_KEY: &str = "sim-api-key";
pub const SIGNATURE_TOKEN: &str = "test-signature-token-7f3a";
/// Ada Lovelace, seeded in the Lever simulator at "On-site interview".
pub const ADA: &str = "250d8f03-738a-4bba-a671-8a3d73477145";
pub const ADA_CONTACT: &str = "d4f29dcb-7fdb-4a3e-9e0d-1b6a0c9c2c11";
pub const ONSITE: &str = "9f1c2a22-onsite";
pub const RECRUITER: &str = "user-0001";
pub const WAIT: Duration = Duration::from_secs(20);

/// The component, compiled once for the whole test binary.
pub fn runtime() -> Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            Runtime::new(lever_host::COMPONENT, Limits::default())
                .expect("the component compiles and links")
        })
        .clone()
}

pub fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/lever/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn stage_map() -> String {
    json!({ "9f1c2a21-phone": "interviewing", ONSITE: "onsite", "9f1c2a23-offer": "offer" })
        .to_string()
}

/// Both simulators with default options on free loopback ports.
pub async fn simulators(options: LeverSimOptions) -> Simulators {
    Simulators::start(options, partner::DEFAULT_SECRET, None, None)
        .await
        .expect("the simulators start")
}

pub struct World {
    pub sims: Simulators,
    pub connector: Connector,
    pub served: Served,
    pub client: HttpClient,
}

impl World {
    /// The default deployment: every key set, Ada linked to partner candidate `cand-ada`.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A deployment whose configuration `adjust` may change before it starts.
    pub async fn start_with(adjust: impl FnOnce(&mut Settings)) -> Self {
        let sims = simulators(LeverSimOptions::default()).await;
        let config =
            sims.connector_config(("lever_signature_token", SIGNATURE_TOKEN), &stage_map());
        let mut settings = Settings::in_process(config).unwrap();
        adjust(&mut settings);
        let connector = Connector::new(runtime(), &settings).unwrap();
        let served = connector.spawn(bind_loopback(None).await.unwrap()).unwrap();
        let world = Self {
            sims,
            connector,
            served,
            client: HttpClient::default(),
        };
        world.link("cand-ada", ADA).await;
        world
    }

    pub async fn link(&self, partner_candidate: &str, opportunity: &str) {
        self.connector
            .link_candidate(partner_candidate, opportunity)
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("link-candidate: {e:?}"));
    }

    /// Has the Lever simulator deliver `candidateStageChange` to the connector, and plays a
    /// recruiter moving `opportunity` to `stage` in Lever's UI.
    pub async fn recruiter_moves(&self, opportunity: &str, stage: &str) {
        self.sims
            .lever
            .add_webhook("candidateStageChange", &self.webhook_url(), SIGNATURE_TOKEN);
        let moved = self
            .client
            .post_json(
                &format!(
                    "http://{}/_sim/opportunities/{opportunity}/stage",
                    self.sims.lever_addr
                ),
                &[],
                &json!({ "stage": stage }),
            )
            .await
            .unwrap();
        assert_eq!(moved.status, 200, "{}", moved.text());
    }

    pub fn webhook_url(&self) -> String {
        format!("{}/webhooks/lever", self.served.url())
    }

    /// POSTs a body to the connector's Lever webhook route.
    pub async fn post_raw(&self, body: impl Into<bytes::Bytes>) -> ClientResponse {
        self.client
            .send(
                "POST",
                &self.webhook_url(),
                &[("content-type", "application/json")],
                body,
            )
            .await
            .unwrap()
    }

    pub async fn post(&self, body: &Value) -> ClientResponse {
        self.post_raw(body.to_string()).await
    }

    /// The partner's verified callbacks.
    pub fn partner_events(&self) -> Vec<Value> {
        self.sims
            .partner
            .received()
            .into_iter()
            .filter(|e| e.verified)
            .map(|e| e.body)
            .collect()
    }
}

/// A fresh, correctly signed delivery of `event` with `data`.
pub fn signed(event: &str, data: Value) -> Value {
    lever_delivery(SIGNATURE_TOKEN, event, data, now_ms(), &random_token(48))
}

/// A fresh `candidateStageChange` for Ada claiming `to_stage`.
pub fn ada_moved(to_stage: &str) -> Value {
    signed(
        "candidateStageChange",
        json!({
            "opportunityId": ADA,
            "contactId": ADA_CONTACT,
            "candidateId": ADA,
            "fromStageId": "9f1c2a21-phone",
            "toStageId": to_stage,
        }),
    )
}

/// Asserts the JSON error body's code and returns its message.
pub fn error_code(response: &ClientResponse) -> (String, String) {
    let body = response.json();
    (
        body["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {}", response.text()))
            .to_string(),
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}
