//! The simulators: Lever's API (and its webhook deliveries) and a partner platform, each on
//! its own loopback port.

pub mod faults;
pub mod lever;
pub mod partner;

use std::net::SocketAddr;

use crate::http_util::{bind_loopback, serve, ServerTask};
pub use lever::{LeverSim, LeverSimOptions};
pub use partner::PartnerSim;

/// The path the partner simulator expects callbacks on (any path is accepted).
pub const PARTNER_CALLBACK_PATH: &str = "/hooks/lever-connector";

/// Both simulators, running.
#[derive(Debug)]
pub struct Simulators {
    /// The Lever simulator.
    pub lever: LeverSim,
    /// The partner simulator.
    pub partner: PartnerSim,
    /// Where the Lever simulator listens.
    pub lever_addr: SocketAddr,
    /// Where the partner simulator listens.
    pub partner_addr: SocketAddr,
    _servers: (ServerTask, ServerTask),
}

impl Simulators {
    /// Starts both on loopback (`None` = a free port).
    pub async fn start(
        options: LeverSimOptions,
        partner_secret: &str,
        lever_addr: Option<SocketAddr>,
        partner_addr: Option<SocketAddr>,
    ) -> anyhow::Result<Self> {
        let lever = LeverSim::new(options);
        let partner = PartnerSim::new(partner_secret);
        let lever_listener = bind_loopback(lever_addr).await?;
        let partner_listener = bind_loopback(partner_addr).await?;
        let lever_addr = lever_listener.local_addr()?;
        let partner_addr = partner_listener.local_addr()?;
        let l = lever.clone();
        let lever_server = serve(lever_listener, move |r| {
            let l = l.clone();
            async move { l.handle(r).await }
        });
        let p = partner.clone();
        let partner_server = serve(partner_listener, move |r| {
            let p = p.clone();
            async move { p.handle(r).await }
        });
        Ok(Self {
            lever,
            partner,
            lever_addr,
            partner_addr,
            _servers: (lever_server, partner_server),
        })
    }

    /// The Lever API root, `http://ADDR/v1`.
    pub fn lever_api_base(&self) -> String {
        format!("http://{}/v1", self.lever_addr)
    }

    /// The OAuth server root, `http://ADDR` (`/authorize`, `/oauth/token`).
    pub fn lever_auth_base(&self) -> String {
        format!("http://{}", self.lever_addr)
    }

    /// The deployment configuration that points at these simulators, for a connector
    /// reachable at `public_base_url`: the simulated Lever environment and OAuth client, the
    /// partner's callback, secret and API key, and a fresh random encryption key.
    pub fn connector_config(
        &self,
        public_base_url: &str,
    ) -> std::collections::BTreeMap<String, String> {
        use base64::Engine as _;
        let key: [u8; 32] = rand::random();
        [
            ("lever_api_base", self.lever_api_base()),
            ("lever_auth_base", self.lever_auth_base()),
            ("oauth_client_id", lever::oauth::CLIENT_ID.to_string()),
            (
                "oauth_client_secret",
                lever::oauth::CLIENT_SECRET.to_string(),
            ),
            ("public_base_url", public_base_url.to_string()),
            ("partner_callback_url", self.partner_callback_url()),
            (
                "partner_webhook_secret",
                partner::DEFAULT_SECRET.to_string(),
            ),
            ("partner_api_key", partner::DEFAULT_API_KEY.to_string()),
            (
                "encryption_key",
                base64::engine::general_purpose::STANDARD.encode(key),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// The partner callback URL.
    pub fn partner_callback_url(&self) -> String {
        format!("http://{}{PARTNER_CALLBACK_PATH}", self.partner_addr)
    }
}
