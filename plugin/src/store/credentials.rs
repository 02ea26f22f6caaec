//! Credentials: the stored auth, its compare-and-swap and the token refresh lock.

use super::*;

impl ConnStore<'_> {
    /// The stored credentials, with their bytes for a compare-and-swap.
    pub fn auth(&self) -> Result<Option<Versioned<StoredAuth>>, ConnectorError> {
        self.get_versioned("auth")
    }

    /// Stores credentials unconditionally (a new connection).
    pub fn set_auth(&self, auth: &StoredAuth) -> Result<(), ConnectorError> {
        Store::new(self.kv).register(&self.id, Some(true))?;
        self.set("auth", &encode(auth)?)
    }

    /// Replaces the credentials only if they are still `seen`.
    pub fn swap_auth(&self, seen: &[u8], auth: &StoredAuth) -> Result<bool, ConnectorError> {
        self.cas("auth", Some(seen), &encode(auth)?)
    }

    /// Takes the refresh lock, or takes over a lapsed one: `true` when the caller holds it.
    pub fn acquire_refresh_lock(
        &self,
        lease: &Lease,
        now: UnixMillis,
    ) -> Result<bool, ConnectorError> {
        let watched = self.watch("refresh-lock")?;
        if let Some(bytes) = watched.current() {
            let held: Lease = decode(&self.key("refresh-lock"), bytes)?;
            if held.expires_at > now {
                return Ok(false);
            }
        }
        Ok(matches!(
            self.swap(watched, &encode(lease)?)?,
            Swapped::Done
        ))
    }

    /// Releases the refresh lock if the caller still holds it.
    pub fn release_refresh_lock(&self, lease: &Lease) -> Result<(), ConnectorError> {
        if self.get_json::<Lease>("refresh-lock")?.as_ref() == Some(lease) {
            self.delete("refresh-lock")?;
        }
        Ok(())
    }

    /// Takes a token from the connection's Lever rate-limit bucket, shared by every
    /// instance: one read of the base and one `increment` of the ticket counter, and a write
    /// of a new base when the bucket sat full (at most every tenth of its refill time). `None` when taken, else the wait in
    /// ms (the ticket is given back).
    pub fn take_rate_token(
        &self,
        now: UnixMillis,
        limit: crate::config::RateLimit,
        reserve: f64,
        random: &dyn Random,
    ) -> Result<Option<u64>, ConnectorError> {
        let raw = self.get_raw("rate/base")?;
        let base: Option<crate::lever::RateBase> = match &raw {
            Some(bytes) => Some(decode(&self.key("rate/base"), bytes)?),
            None => None,
        };
        let counter = self.key("rate/n");
        let ticket = self.kv.increment(&counter, 1).map_err(storage_error)?;
        let decided = crate::lever::ticket(base.as_ref(), ticket, now, limit, reserve);
        if let Some(rebased) = decided.rebase {
            // A plain write, no compare-and-swap: a base says "the bucket was full at `at`
            // with ticket `n` taken", true when written; two instances rebasing at once both
            // write a true one, and the one that lands last is at most a write's delay old.
            let rebased = crate::lever::RateBase {
                writer: hex::encode(random.bytes(8)),
                ..rebased
            };
            self.set("rate/base", &encode(&rebased)?)?;
        }
        if decided.wait.is_some() {
            self.kv.increment(&counter, -1).map_err(storage_error)?;
        }
        Ok(decided.wait)
    }
}
