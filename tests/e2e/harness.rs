//! One connector + both simulators on ephemeral loopback ports, per test.

use std::sync::OnceLock;
use std::time::Duration;

use lever_host::http_util::{bind_loopback, now_ms, ClientResponse, HttpClient};
use lever_host::partner_api::{connect_by_oauth, PartnerApi};
use lever_host::runtime::{Limits, Runtime};
use lever_host::server::{Connector, Served};
use lever_host::settings::Settings;
use lever_host::signing::{lever_delivery, random_token};
use lever_host::sim::lever::{ACME, DEFAULT_API_KEY, GLOBEX, GLOBEX_API_KEY};
use lever_host::sim::{partner, LeverSimOptions, Simulators};
use serde_json::{json, Value};

/// Ada Lovelace, seeded in Acme's Lever at "On-site interview".
pub const ADA: &str = "250d8f03-738a-4bba-a671-8a3d73477145";
pub const ADA_CONTACT: &str = "d4f29dcb-7fdb-4a3e-9e0d-1b6a0c9c2c11";
pub const ONSITE: &str = "9f1c2a22-onsite";
pub const PHONE: &str = "9f1c2a21-phone";
pub const OFFER: &str = "9f1c2a23-offer";
pub const RECRUITER: &str = "user-0001";
pub const RUST_POSTING: &str = "f2f01e16-27f8-4711-a728-7d49499795a0";
/// Katherine Johnson, seeded in Globex's Lever at "Hiring manager screen".
pub const KATHERINE: &str = "6a1f0c2e-5b7d-4e8f-9a0b-katherine001";
pub const GLOBEX_TECH: &str = "7d2e4c10-a1b2-4c3d-8e9f-000000000002";
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

pub fn acme_stage_map() -> Value {
    json!({ PHONE: "interviewing", ONSITE: "onsite", OFFER: "offer" })
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
    pub partner: PartnerApi,
}

impl World {
    /// A deployment pointing at fresh simulators; no connection is set up yet.
    pub async fn bare() -> Self {
        Self::bare_with(|_| {}).await
    }

    /// A bare deployment whose settings `adjust` may change before it starts.
    pub async fn bare_with(adjust: impl FnOnce(&mut Settings)) -> Self {
        Self::bare_on(runtime(), adjust).await
    }

    /// A bare deployment running `runtime` (another time limit, say).
    pub async fn bare_on(runtime: Runtime, adjust: impl FnOnce(&mut Settings)) -> Self {
        Self::bare_built(runtime, adjust, false).await
    }

    /// A bare deployment whose HTTP face runs the logic compiled natively (the benchmark's
    /// baseline).
    pub async fn bare_native() -> Self {
        Self::bare_built(runtime(), |_| {}, true).await
    }

    async fn bare_built(
        runtime: Runtime,
        adjust: impl FnOnce(&mut Settings),
        native: bool,
    ) -> Self {
        let sims = simulators(LeverSimOptions::default()).await;
        let listener = bind_loopback(None).await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let mut settings = Settings::in_process(sims.connector_config(&url)).unwrap();
        adjust(&mut settings);
        let mut connector = Connector::new(runtime, &settings).unwrap();
        if native {
            connector = connector.with_native_http_face();
        }
        let served = connector.spawn(listener).unwrap();
        Self {
            partner: PartnerApi::new(&url, partner::DEFAULT_API_KEY),
            sims,
            connector,
            served,
            client: HttpClient::default(),
        }
    }

    /// Acme connected by API key, webhooks installed and enabled, stages mapped, Ada linked
    /// to partner candidate `cand-ada`.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// [`World::start`] with adjusted settings.
    pub async fn start_with(adjust: impl FnOnce(&mut Settings)) -> Self {
        let world = Self::bare_with(adjust).await;
        world.set_up_acme().await;
        world
    }

    /// Connects Acme by API key and sets it up.
    pub async fn set_up_acme(&self) {
        self.ok(
            "POST",
            "/connections/acme/api-key",
            Some(json!({ "apiKey": DEFAULT_API_KEY })),
        )
        .await;
        self.install("acme", ACME).await;
        self.ok("PUT", "/connections/acme/stage-map", Some(acme_stage_map()))
            .await;
        self.ok(
            "PUT",
            "/connections/acme/candidates/cand-ada/link",
            Some(json!({ "opportunityId": ADA })),
        )
        .await;
    }

    /// Connects Globex by API key and sets it up (Katherine linked to `cand-kj`).
    pub async fn set_up_globex(&self) {
        self.ok(
            "POST",
            "/connections/globex/api-key",
            Some(json!({ "apiKey": GLOBEX_API_KEY })),
        )
        .await;
        self.install("globex", GLOBEX).await;
        self.ok(
            "PUT",
            "/connections/globex/stage-map",
            Some(json!({ GLOBEX_TECH: "interviewing" })),
        )
        .await;
        self.ok(
            "PUT",
            "/connections/globex/candidates/cand-kj/link",
            Some(json!({ "opportunityId": KATHERINE })),
        )
        .await;
    }

    /// Chooses Acme's `perform_as` user (the recruiter).
    pub async fn set_perform_as(&self) {
        self.ok(
            "PUT",
            "/connections/acme/perform-as",
            Some(json!({ "userId": RECRUITER })),
        )
        .await;
    }

    /// Installs a connection's webhooks and has the account's Super Admin enable them.
    pub async fn install(&self, connection: &str, account: &str) -> Value {
        let report = self
            .ok("POST", &format!("/connections/{connection}/webhooks"), None)
            .await;
        self.sims.lever.enable_webhooks(account, &[]);
        report
    }

    /// Connects `connection` by OAuth as `account`'s Super Admin; the callback's answer.
    pub async fn connect_oauth(&self, connection: &str, account: &str) -> ClientResponse {
        connect_by_oauth(&self.partner, connection, account)
            .await
            .unwrap()
    }

    /// A partner call that must answer 200; its JSON.
    pub async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.partner
            .ok(method, path, body)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// A partner call; the whole answer.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> ClientResponse {
        self.partner.call(method, path, body).await.unwrap()
    }

    pub fn webhook_url(&self, connection: &str) -> String {
        format!("{}/webhooks/lever/{connection}", self.served.url())
    }

    /// POSTs a body to a connection's Lever webhook route.
    pub async fn post_raw(
        &self,
        connection: &str,
        body: impl Into<bytes::Bytes>,
    ) -> ClientResponse {
        self.client
            .send(
                "POST",
                &self.webhook_url(connection),
                &[("content-type", "application/json")],
                body,
            )
            .await
            .unwrap()
    }

    /// POSTs a delivery to Acme's URL.
    pub async fn post(&self, body: &Value) -> ClientResponse {
        self.post_raw("acme", body.to_string()).await
    }

    /// A fresh delivery of `event` signed the way Lever signs it for `account`: with the
    /// token of the account's webhook for that event, or (an event the connector did not
    /// subscribe to) with its `candidateStageChange` webhook's token.
    pub fn signed_for(&self, account: &str, event: &str, data: Value) -> Value {
        self.signed_at(account, event, data, now_ms())
    }

    /// [`World::signed_for`], triggered at `triggered_at`.
    pub fn signed_at(&self, account: &str, event: &str, data: Value, triggered_at: u64) -> Value {
        let lever = &self.sims.lever;
        let token = lever
            .signature_token(account, event)
            .or_else(|| lever.signature_token(account, "candidateStageChange"))
            .unwrap_or_else(|| panic!("{account} has no webhooks"));
        lever_delivery(&token, event, data, triggered_at, &random_token(48))
    }

    /// A fresh delivery signed for Acme.
    pub fn signed(&self, event: &str, data: Value) -> Value {
        self.signed_for(ACME, event, data)
    }

    /// A fresh `candidateStageChange` for Ada claiming `to_stage`, signed for Acme.
    pub fn ada_moved(&self, to_stage: &str) -> Value {
        self.signed(
            "candidateStageChange",
            json!({
                "opportunityId": ADA,
                "contactId": ADA_CONTACT,
                "candidateId": ADA,
                "fromStageId": PHONE,
                "toStageId": to_stage,
            }),
        )
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

/// Asserts the JSON error body's code and returns it with its message.
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

/// Waits for the completed delivery of the stage change that moved `opportunity` to `stage`,
/// passing over any other delivery still arriving (a late webhook of an earlier change).
pub async fn stage_change_delivery(
    deliveries: &mut tokio::sync::broadcast::Receiver<lever_host::sim::lever::DeliveryAttempt>,
    opportunity: &str,
    stage: &str,
) -> lever_host::sim::lever::DeliveryAttempt {
    loop {
        let delivery = tokio::time::timeout(WAIT, deliveries.recv())
            .await
            .expect("the stage change was delivered in time")
            .expect("the simulator still runs");
        let data = &delivery.body["data"];
        if delivery.event == "candidateStageChange"
            && data["opportunityId"] == opportunity
            && data["toStageId"] == stage
        {
            return delivery;
        }
    }
}
