//! The outbox and the dead letters.

use super::*;

impl ConnStore<'_> {
    pub(super) fn index(&self, name: &str) -> Result<Vec<String>, ConnectorError> {
        Ok(self.get_json(name)?.unwrap_or_default())
    }

    /// Adds or removes `id` in the JSON list under `name` (compare-and-swap); answers how
    /// many the list holds afterwards.
    pub(super) fn update_index(
        &self,
        name: &str,
        id: &str,
        present: bool,
    ) -> Result<usize, ConnectorError> {
        let ids = index::update(self.kv, &self.key(name), |ids: &mut Vec<String>| {
            let has = ids.iter().any(|i| i == id);
            if has == present {
                return false;
            }
            if present {
                ids.push(id.to_string());
            } else {
                ids.retain(|i| i != id);
            }
            true
        })?;
        Ok(ids.len())
    }

    /// The tokens in the outbox, oldest first.
    pub fn outbox_tokens(&self) -> Result<Vec<String>, ConnectorError> {
        self.index("outbox-index")
    }

    /// Puts an item in the outbox (indexed first, and the connection marked as having
    /// work, so a crash leaves no item a tick cannot find).
    pub fn put_outbox(&self, item: &OutboxItem) -> Result<(), ConnectorError> {
        self.update_index("outbox-index", &item.token, true)?;
        Store::new(self.kv).set_outbox_active(&self.id, true)?;
        self.set(&format!("outbox/{}", part(&item.token)), &encode(item)?)
    }

    /// An outbox item with its bytes, for a compare-and-swap.
    pub fn outbox_item(
        &self,
        token: &str,
    ) -> Result<Option<Versioned<OutboxItem>>, ConnectorError> {
        self.get_versioned(&format!("outbox/{}", part(token)))
    }

    /// Replaces an outbox item if it still holds `seen`.
    pub fn swap_outbox(&self, seen: &[u8], item: &OutboxItem) -> Result<bool, ConnectorError> {
        self.cas(
            &format!("outbox/{}", part(&item.token)),
            Some(seen),
            &encode(item)?,
        )
    }

    /// Removes an item from the outbox (and, when it was the last, the connection from the
    /// active outboxes; an item put meanwhile puts it back).
    pub fn remove_outbox(&self, token: &str) -> Result<(), ConnectorError> {
        self.delete(&format!("outbox/{}", part(token)))?;
        if self.update_index("outbox-index", token, false)? == 0 {
            let store = Store::new(self.kv);
            store.set_outbox_active(&self.id, false)?;
            if !self.outbox_tokens()?.is_empty() {
                store.set_outbox_active(&self.id, true)?;
            }
        }
        Ok(())
    }

    /// Moves an item to the dead letters.
    pub fn put_dead_letter(&self, item: &OutboxItem) -> Result<(), ConnectorError> {
        self.update_index("dead-index", &item.token, true)?;
        self.set(&format!("dead/{}", part(&item.token)), &encode(item)?)?;
        self.remove_outbox(&item.token)
    }

    /// The dead letters, oldest first.
    pub fn dead_letters(&self) -> Result<Vec<OutboxItem>, ConnectorError> {
        let mut letters = Vec::new();
        for token in self.index("dead-index")? {
            if let Some(item) = self.get_json(&format!("dead/{}", part(&token)))? {
                letters.push(item);
            }
        }
        Ok(letters)
    }

    /// Takes a dead letter out (to replay it); `None` when there is none under `token`.
    pub fn take_dead_letter(&self, token: &str) -> Result<Option<OutboxItem>, ConnectorError> {
        let suffix = format!("dead/{}", part(token));
        let Some(item) = self.get_json::<OutboxItem>(&suffix)? else {
            return Ok(None);
        };
        self.delete(&suffix)?;
        self.update_index("dead-index", token, false)?;
        Ok(Some(item))
    }
}
