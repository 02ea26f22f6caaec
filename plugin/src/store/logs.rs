//! The activity and audit logs (rings) and the log counter.

use super::*;

impl ConnStore<'_> {
    /// Appends `activity` (when some) and `audit` entries to the connection's logs and
    /// writes `also` (full keys, values) with them: one `increment` numbers the entries and
    /// one `set-many` writes everything. Nothing is read, swapped or deleted: each log is a
    /// ring of slots, and an entry carries its number, so a reader tells a slot's entry
    /// from one a lap older, and a slow writer's late entry from a newer one.
    pub fn append_logs(
        &self,
        activity: Option<&Activity>,
        audit: &[crate::audit::AuditEntry],
        mut also: Vec<(String, Vec<u8>)>,
    ) -> Result<(), ConnectorError> {
        let activities = u64::from(activity.is_some());
        let audits = audit.len() as u64;
        if activities + audits > 0 {
            let delta = activities + (audits << ACTIVITY_BITS);
            let after = self
                .kv
                .increment(
                    &self.key("logs/n"),
                    i64::try_from(delta).unwrap_or(i64::MAX),
                )
                .map_err(storage_error)?;
            let counts = LogCounts::of(after);
            if let Some(entry) = activity {
                also.push(self.ring_write(
                    "activity",
                    keys::ACTIVITY_RING,
                    counts.activity,
                    entry,
                )?);
            }
            for (i, entry) in audit.iter().enumerate() {
                let seq = counts.audit.saturating_sub(audits - 1 - i as u64);
                also.push(self.ring_write("audit", keys::AUDIT_RING, seq, entry)?);
            }
        }
        self.kv.set_many(&also).map_err(storage_error)
    }

    pub(super) fn ring_write<T: Serialize>(
        &self,
        log: &str,
        ring: u64,
        seq: u64,
        entry: &T,
    ) -> Result<(String, Vec<u8>), ConnectorError> {
        Ok((
            self.key(&format!("{log}/s/{}", seq % ring)),
            encode(&Numbered { seq, entry })?,
        ))
    }

    /// The numbers of the newest activity and audit entries.
    pub(super) fn log_counts(&self) -> Result<LogCounts, ConnectorError> {
        self.kv
            .increment(&self.key("logs/n"), 0)
            .map(LogCounts::of)
            .map_err(storage_error)
    }

    /// Up to `max` entries of a ring log whose newest number is `head`, newest first;
    /// `wraps`: numbers are taken modulo 2^24 (the activity log's).
    pub(super) fn recent_ring<T: DeserializeOwned>(
        &self,
        log: &str,
        ring: u64,
        head: u64,
        max: u64,
        wraps: bool,
    ) -> Result<Vec<T>, ConnectorError> {
        let span = if wraps { max } else { max.min(head) };
        let mut entries = Vec::new();
        for back in 0..span {
            let seq = if wraps {
                head.wrapping_sub(back) & ACTIVITY_MASK
            } else {
                head - back
            };
            let key = format!("{log}/s/{}", seq % ring);
            if let Some(numbered) = self.get_json::<Numbered<T>>(&key)? {
                if numbered.seq == seq {
                    entries.push(numbered.entry);
                }
            }
        }
        Ok(entries)
    }

    /// Up to `max` entries of a log as 0.2 wrote it (`<log>/head`, `<log>/<seq>`), newest
    /// first: shown after the ring's until the ring holds enough.
    pub(super) fn legacy_log<T: DeserializeOwned>(
        &self,
        log: &str,
        max: u64,
    ) -> Result<Vec<T>, ConnectorError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let head = log_head(self.get_raw(&format!("{log}/head"))?.as_deref());
        let mut entries = Vec::new();
        for seq in (head.saturating_sub(max) + 1..=head).rev() {
            if let Some(entry) = self.get_json(&format!("{log}/{seq}"))? {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    /// Up to `max` (at most 500) recorded writes, newest first.
    pub fn recent_audit(&self, max: u64) -> Result<Vec<crate::audit::AuditEntry>, ConnectorError> {
        let max = max.min(keys::AUDIT_KEEP);
        let head = self.log_counts()?.audit;
        let mut entries: Vec<crate::audit::AuditEntry> =
            self.recent_ring("audit", keys::AUDIT_RING, head, max, false)?;
        let more = max - entries.len() as u64;
        entries.extend(self.legacy_log("audit", more)?);
        Ok(entries)
    }

    /// Records a delivery or partner event (the last 100 are kept).
    pub fn append_activity(&self, entry: &Activity) -> Result<(), ConnectorError> {
        self.append_logs(Some(entry), &[], Vec::new())
    }

    /// Records a write to Lever or the partner (the last 500 are kept).
    pub fn append_audit(&self, entry: &crate::audit::AuditEntry) -> Result<(), ConnectorError> {
        self.append_logs(None, std::slice::from_ref(entry), Vec::new())
    }

    /// Up to `max` (at most 100) activity entries, newest first.
    pub fn recent_activity(&self, max: u64) -> Result<Vec<Activity>, ConnectorError> {
        let max = max.min(keys::ACTIVITY_KEEP);
        let head = self.log_counts()?.activity;
        let mut entries: Vec<Activity> =
            self.recent_ring("activity", keys::ACTIVITY_RING, head, max, true)?;
        let more = max - entries.len() as u64;
        entries.extend(self.legacy_log("activity", more)?);
        Ok(entries)
    }
}
