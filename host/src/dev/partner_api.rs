//! The partner's side of the connector's HTTP API, for the demo and the tests: every call
//! carries the partner credential, and OAuth is completed the way an admin's browser does.

use anyhow::{ensure, Context as _};
use serde_json::Value;

use crate::http_util::{ClientResponse, HttpClient};

/// The partner's side of the connector's API: every call carries the partner credential.
#[derive(Debug, Clone)]
pub struct PartnerApi {
    client: HttpClient,
    base: String,
    bearer: String,
}

impl PartnerApi {
    /// A client for the connector at `base` presenting `api_key`.
    pub fn new(base: &str, api_key: &str) -> Self {
        Self {
            client: HttpClient::default(),
            base: base.trim_end_matches('/').to_string(),
            bearer: format!("Bearer {api_key}"),
        }
    }

    /// Sends `method path` with an optional JSON body.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<ClientResponse> {
        let mut headers = vec![("authorization", self.bearer.as_str())];
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        self.client
            .send(
                method,
                &format!("{}{path}", self.base),
                &headers,
                body.map(|b| b.to_string()).unwrap_or_default(),
            )
            .await
    }

    /// Like [`PartnerApi::call`], failing unless the answer is 200; returns its JSON.
    pub async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let response = self.call(method, path, body).await?;
        ensure!(
            response.status == 200,
            "{method} {path} answered {}: {}",
            response.status,
            response.text()
        );
        Ok(response.json())
    }
}

/// Connects `connection` by OAuth the way a customer's Super Admin does: the partner asks
/// for the authorize URL, the admin's browser follows it (consenting for `account`), and
/// Lever's redirect lands on the connector's callback. Returns the callback's answer.
pub async fn connect_by_oauth(
    partner: &PartnerApi,
    connection: &str,
    account: &str,
) -> anyhow::Result<ClientResponse> {
    let started = partner
        .ok(
            "POST",
            &format!("/connections/{connection}/oauth/start"),
            None,
        )
        .await?;
    let authorize = started["authorizeUrl"]
        .as_str()
        .context("no authorizeUrl")?
        .to_string();
    let browser = HttpClient::default();
    let consent = browser
        .get(&format!("{authorize}&account={account}"), &[])
        .await?;
    ensure!(
        consent.status == 302,
        "authorize answered {}: {}",
        consent.status,
        consent.text()
    );
    let callback = consent
        .headers
        .get("location")
        .context("no redirect from authorize")?;
    browser.get(callback, &[]).await
}
