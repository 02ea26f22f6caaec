//! What a disconnect and a purge delete.

use super::*;

impl ConnStore<'_> {
    /// Deletes every key of this connection (`purge`), or (a disconnect) the keys whose
    /// class [`keys::Class::kept_on_disconnect`] says go: credentials, webhooks and caches,
    /// keeping settings, links, logs, accepted work and guards for a reconnect. Every key is
    /// found from the key table and the connection's indexes, so this costs what the
    /// connection holds, whatever other connections hold. Answers how many keys it named
    /// (each deleted, or already gone).
    pub fn clear(&self, purge: bool) -> Result<u64, ConnectorError> {
        let mut doomed: Vec<String> = Vec::new();
        for spec in keys::CONNECTION_KEYS {
            if purge || !spec.class.kept_on_disconnect() {
                doomed.extend(self.expand(spec)?);
            }
        }
        if purge {
            doomed.extend(self.owned_keys()?);
            doomed.extend(self.guard_keys()?);
        }
        doomed.sort();
        doomed.dedup();
        for chunk in doomed.chunks(256) {
            self.kv.delete_many(chunk).map_err(storage_error)?;
        }
        let store = Store::new(self.kv);
        if purge {
            store.set_outbox_active(&self.id, false)?;
            store.unregister(&self.id)?;
        } else {
            store.register(&self.id, Some(false))?;
        }
        Ok(doomed.len() as u64)
    }

    /// The keys of one row of the key table this connection may hold, found without
    /// listing the bucket (rows found through the owned-key and expiry indexes answer
    /// nothing here: see [`Self::owned_keys`] and [`Self::guard_keys`]).
    pub(super) fn expand(&self, spec: &keys::KeySpec) -> Result<Vec<String>, ConnectorError> {
        use keys::Found;
        let name = |part: &str, value: &str| self.key(&spec.pattern.replace(part, value));
        Ok(match spec.found {
            Found::Fixed if !spec.pattern.contains('<') => vec![self.key(spec.pattern)],
            Found::Fixed | Found::OwnedIndex | Found::ExpiryIndex => Vec::new(),
            Found::PerWebhookEvent => WEBHOOK_EVENTS
                .iter()
                .map(|event| name("<event>", &part(event)))
                .collect(),
            Found::PerTrigger if spec.pattern.ends_with("/head") => keys::TRIGGER_LOGS
                .iter()
                .map(|kind| name("<kind>", kind))
                .collect(),
            Found::PerTrigger => {
                let mut all = Vec::new();
                for kind in keys::TRIGGER_LOGS {
                    all.extend(self.log_entries(&format!("trigger/{kind}"), keys::TRIGGER_KEEP)?);
                }
                all
            }
            Found::LogEntries { log, keep } => self.log_entries(log, keep)?,
            Found::Ring { log, size } => (0..size)
                .map(|slot| self.key(&format!("{log}/s/{slot}")))
                .collect(),
            Found::TokenList(list) => self
                .index(list)?
                .iter()
                .map(|token| name("<token>", &part(token)))
                .collect(),
        })
    }

    /// The keys of a capped log's entries, from its head back as many as it keeps.
    pub(super) fn log_entries(&self, log: &str, keep: u64) -> Result<Vec<String>, ConnectorError> {
        let head = log_head(self.get_raw(&format!("{log}/head"))?.as_deref());
        Ok((head.saturating_sub(keep) + 1..=head)
            .map(|seq| self.key(&format!("{log}/{seq}")))
            .collect())
    }
}
