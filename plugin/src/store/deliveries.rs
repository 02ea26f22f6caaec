//! Delivery records: the token claim and its expiry.

use super::*;

impl ConnStore<'_> {
    /// Claims a delivery token before its work starts. A token already handled, or being
    /// handled within `lease_ms`, is a duplicate; a claim older than the lease (its instance
    /// was stopped) is taken over so the work is redone. The record is kept until
    /// `keep_until` (recorded in the expiry index before it is written, so a crash leaves
    /// no record the sweep cannot find).
    pub fn claim_delivery(
        &self,
        token: &str,
        record: &DeliveryRecord,
        lease_ms: u64,
        keep_until: UnixMillis,
    ) -> Result<Claim, ConnectorError> {
        let suffix = format!("delivery/{}", part(token));
        let new = encode(record)?;
        // Indexed before the watch, not between it and the swap: Spin's SQLite store swaps a
        // key that was absent when watched with an unconditional upsert, so the time between
        // the two is a window in which two claimers of a new token can both win.
        if self.get_raw(&suffix)?.is_none() {
            self.expire(&[self.key(&suffix)], keep_until)?;
        }
        let mut watched = self.watch(&suffix)?;
        for _ in 0..4 {
            if let Some(bytes) = watched.current() {
                let existing: DeliveryRecord = decode(&self.key(&suffix), bytes)?;
                let lapsed = existing.state == DeliveryState::Processing
                    && existing.handled_at.saturating_add(lease_ms) <= record.handled_at;
                if !lapsed {
                    return Ok(Claim::Duplicate(existing));
                }
            }
            match self.swap(watched, &new)? {
                Swapped::Done => return Ok(Claim::Claimed),
                Swapped::Changed(fresh) => watched = fresh,
            }
        }
        // Others kept winning the race: one of them owns it.
        match self.get_json(&suffix)? {
            Some(existing) => Ok(Claim::Duplicate(existing)),
            None => Err(storage_error("the delivery claim kept changing")),
        }
    }

    /// A delivery's record under its token.
    pub fn delivery_record(&self, token: &str) -> Result<Option<DeliveryRecord>, ConnectorError> {
        self.get_json(&format!("delivery/{}", part(token)))
    }

    /// Gives up a claim whose work failed, so a retry of the same delivery can redo it.
    pub fn release_delivery(&self, token: &str) -> Result<(), ConnectorError> {
        self.delete(&format!("delivery/{}", part(token)))
    }

    /// The write that records a handled delivery (over its claim), for the caller to make
    /// with its other writes. `again_until`: the record is written anew by a later attempt
    /// (the outbox), after its claim's lifetime may have ended, so it is recorded in the
    /// expiry index again (now), until then.
    pub fn delivery_record_write(
        &self,
        token: &str,
        record: &DeliveryRecord,
        again_until: Option<UnixMillis>,
    ) -> Result<(String, Vec<u8>), ConnectorError> {
        let key = self.key(&format!("delivery/{}", part(token)));
        if let Some(until) = again_until {
            self.expire(std::slice::from_ref(&key), until)?;
        }
        Ok((key, encode(record)?))
    }

    /// Records a delivery's record in the expiry index until `until`, before it is written
    /// by a flow that did not claim its token.
    pub fn expire_delivery_record(
        &self,
        token: &str,
        until: UnixMillis,
    ) -> Result<(), ConnectorError> {
        self.expire(&[self.key(&format!("delivery/{}", part(token)))], until)
    }

    /// Writes every `(key, value)` (full keys) in one call.
    pub fn set_many(&self, writes: Vec<(String, Vec<u8>)>) -> Result<(), ConnectorError> {
        self.kv.set_many(&writes).map_err(storage_error)
    }
}
