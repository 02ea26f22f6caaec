//! Connect-portal links, sessions and flashes.

use super::*;

impl ConnStore<'_> {
    /// Records a portal link under its nonce (swept once it expires).
    pub fn put_portal_link(&self, nonce: &str, link: &PortalLink) -> Result<(), ConnectorError> {
        self.expire(
            &[self.key(&format!("portal/link/{}", part(nonce)))],
            link.expires_at,
        )?;
        if self.cas(
            &format!("portal/link/{}", part(nonce)),
            None,
            &encode(link)?,
        )? {
            Ok(())
        } else {
            Err(ConnectorError::Internal(
                "portal link nonce collision".into(),
            ))
        }
    }

    /// Uses a portal link once: `Err(true)` when it was used before, `Err(false)` when it is
    /// unknown (a concurrent second use loses the compare-and-swap). Expiry is the caller's
    /// check.
    pub fn take_portal_link(
        &self,
        nonce: &str,
        used_by: &str,
    ) -> Result<Result<PortalLink, bool>, ConnectorError> {
        let suffix = format!("portal/link/{}", part(nonce));
        let watched = self.watch(&suffix)?;
        let Some(bytes) = watched.current() else {
            return Ok(Err(false));
        };
        let mut link: PortalLink = decode(&self.key(&suffix), bytes)?;
        if link.used {
            return Ok(Err(true));
        }
        link.used = true;
        link.used_by = Some(used_by.to_string());
        match self.swap(watched, &encode(&link)?)? {
            Swapped::Done => Ok(Ok(link)),
            Swapped::Changed(_) => Ok(Err(true)),
        }
    }

    /// A portal session.
    pub fn portal_session(&self, id: &str) -> Result<Option<PortalSession>, ConnectorError> {
        self.get_json(&format!("portal/session/{}", part(id)))
    }

    /// Starts a portal session (swept once it expires).
    pub fn start_portal_session(
        &self,
        id: &str,
        session: &PortalSession,
    ) -> Result<(), ConnectorError> {
        self.expire(
            &[self.key(&format!("portal/session/{}", part(id)))],
            session.expires_at,
        )?;
        self.set_portal_session(id, session)
    }

    /// Stores a portal session.
    pub fn set_portal_session(
        &self,
        id: &str,
        session: &PortalSession,
    ) -> Result<(), ConnectorError> {
        self.set(&format!("portal/session/{}", part(id)), &encode(session)?)
    }

    /// Up to `max` events of a trigger after sequence number `after`, oldest first.
    pub fn triggers<T: DeserializeOwned>(
        &self,
        kind: &str,
        after: u64,
        max: u64,
    ) -> Result<Vec<T>, ConnectorError> {
        let head = self.trigger_head(kind)?;
        let mut events = Vec::new();
        for seq in (after + 1)..=head.min(after.saturating_add(max)) {
            if let Some(event) = self.get_json(&format!("trigger/{kind}/{seq}"))? {
                events.push(event);
            }
        }
        Ok(events)
    }

    /// The postings poll's cursor.
    pub fn posting_cursor(&self) -> Result<Option<UnixMillis>, ConnectorError> {
        self.get_number("posting-cursor")
    }

    /// Moves the postings poll's cursor.
    pub fn set_posting_cursor(&self, at: UnixMillis) -> Result<(), ConnectorError> {
        self.set_number("posting-cursor", at)
    }

    /// The `updatedAt` last delivered for a posting.
    pub fn posting_seen(&self, id: &str) -> Result<Option<UnixMillis>, ConnectorError> {
        self.get_number(&format!("posting-seen/{}", part(id)))
    }

    /// Remembers the `updatedAt` delivered for a posting (`first`: never seen before, so
    /// the owned-key index records it).
    pub fn set_posting_seen(
        &self,
        id: &str,
        at: UnixMillis,
        first: bool,
    ) -> Result<(), ConnectorError> {
        let suffix = format!("posting-seen/{}", part(id));
        if first {
            self.own(&[self.key(&suffix)])?;
        }
        self.set_number(&suffix, at)
    }
}
