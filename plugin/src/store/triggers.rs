//! Trigger settings, cursors and event logs.

use super::*;

impl ConnStore<'_> {
    /// The enabled triggers (their names).
    pub fn enabled_triggers(&self) -> Result<Vec<String>, ConnectorError> {
        Ok(self.get_json("triggers")?.unwrap_or_default())
    }

    /// Sets the enabled triggers.
    pub fn set_enabled_triggers(&self, kinds: &[String]) -> Result<(), ConnectorError> {
        self.set("triggers", &encode(&kinds)?)
    }

    /// Whether a trigger event was delivered.
    pub fn trigger_seen(&self, id: &str) -> Result<bool, ConnectorError> {
        Ok(self
            .get_raw(&format!("trigger-seen/{}", part(id)))?
            .is_some())
    }

    /// Marks a trigger event delivered, until `until` (then it is swept).
    pub fn mark_trigger_seen(&self, id: &str, until: UnixMillis) -> Result<(), ConnectorError> {
        let suffix = format!("trigger-seen/{}", part(id));
        self.expire(&[self.key(&suffix)], until)?;
        self.set(&suffix, b"1")
    }

    /// The newest sequence number of a trigger's log (0 when empty).
    pub fn trigger_head(&self, kind: &str) -> Result<u64, ConnectorError> {
        Ok(log_head(
            self.get_raw(&format!("trigger/{kind}/head"))?.as_deref(),
        ))
    }

    /// Appends an event to a trigger's log and drops the one `keep` places back.
    pub fn append_trigger<T: Serialize>(
        &self,
        kind: &str,
        event: &T,
        keep: u64,
        random: &dyn Random,
    ) -> Result<u64, ConnectorError> {
        self.append_log(&format!("trigger/{kind}"), event, keep, random)
    }

    /// Appends to the log under `log` (the sequence number is taken with compare-and-swap)
    /// and drops the entry `keep` places back.
    ///
    /// The head holds `<seq>:<nonce>`: two appends racing for the same number never write
    /// the same bytes, so a host that reports a swap it made as failed (see
    /// [`crate::io::Kv::swap`]'s WASI implementation) is never taken to have let both win.
    pub(super) fn append_log<T: Serialize>(
        &self,
        log: &str,
        entry: &T,
        keep: u64,
        random: &dyn Random,
    ) -> Result<u64, ConnectorError> {
        let head_key = format!("{log}/head");
        let nonce = hex::encode(random.bytes(8));
        let mut watched = self.watch(&head_key)?;
        for attempt in 1..=32 {
            let next = log_head(watched.current()) + 1;
            match self.swap(watched, format!("{next}:{nonce}").as_bytes())? {
                Swapped::Done => {
                    self.set(&format!("{log}/{next}"), &encode(entry)?)?;
                    if next > keep {
                        self.delete(&format!("{log}/{}", next - keep))?;
                    }
                    return Ok(next);
                }
                Swapped::Changed(_) => {
                    index::back_off(attempt);
                    watched = self.watch(&head_key)?;
                }
            }
        }
        Err(ConnectorError::Conflict(format!(
            "the {log} log kept changing; retry"
        )))
    }
}
