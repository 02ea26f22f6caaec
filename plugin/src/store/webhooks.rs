//! Installed webhooks and when each was last delivered.

use super::*;

impl ConnStore<'_> {
    /// Our webhook for `event`, if installed.
    pub fn webhook(&self, event: &str) -> Result<Option<InstalledWebhook>, ConnectorError> {
        self.get_json(&format!("webhook/{}", part(event)))
    }

    /// Every webhook we installed, in [`WEBHOOK_EVENTS`] order.
    pub fn webhooks(&self) -> Result<Vec<InstalledWebhook>, ConnectorError> {
        let mut all = Vec::new();
        for event in WEBHOOK_EVENTS {
            all.extend(self.webhook(event)?);
        }
        Ok(all)
    }

    /// Records a webhook we installed.
    pub fn set_webhook(&self, webhook: &InstalledWebhook) -> Result<(), ConnectorError> {
        self.set(
            &format!("webhook/{}", part(&webhook.event)),
            &encode(webhook)?,
        )
    }

    /// Forgets our webhook for `event` and its delivery time.
    pub fn delete_webhook(&self, event: &str) -> Result<(), ConnectorError> {
        self.delete(&format!("webhook/{}", part(event)))?;
        self.delete(&format!("webhook-seen/{}", part(event)))
    }

    /// When the last verified delivery of `event` arrived.
    pub fn webhook_seen(&self, event: &str) -> Result<Option<UnixMillis>, ConnectorError> {
        self.get_number(&format!("webhook-seen/{}", part(event)))
    }

    /// Records a verified delivery of `event`.
    pub fn set_webhook_seen(&self, event: &str, at: UnixMillis) -> Result<(), ConnectorError> {
        self.set_number(&format!("webhook-seen/{}", part(event)), at)
    }

    /// The write that records a verified delivery of `event`, for the caller to make with
    /// its other writes.
    pub fn webhook_seen_write(&self, event: &str, at: UnixMillis) -> (String, Vec<u8>) {
        (
            self.key(&format!("webhook-seen/{}", part(event))),
            at.to_string().into_bytes(),
        )
    }
}
