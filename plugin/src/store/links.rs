//! Links, what was reported, and the per-opportunity claims (reporting, partner notes).

use super::*;

impl ConnStore<'_> {
    /// The partner candidate linked to an opportunity.
    pub fn linked_candidate(
        &self,
        opportunity: &OpportunityId,
    ) -> Result<Option<String>, ConnectorError> {
        self.get_string(&format!("link/opportunity/{}", part(opportunity.as_str())))
    }

    /// The opportunity linked to a partner candidate.
    pub fn linked_opportunity(
        &self,
        partner_candidate_id: &str,
    ) -> Result<Option<OpportunityId>, ConnectorError> {
        Ok(self
            .get_string(&format!("link/partner/{}", part(partner_candidate_id)))?
            .map(OpportunityId))
    }

    /// The keys a partner candidate's upload and link are kept under.
    pub(super) fn candidate_keys(&self, partner_candidate_id: &str) -> Vec<String> {
        let id = part(partner_candidate_id);
        vec![
            self.key(&format!("upload/{id}")),
            self.key(&format!("link/partner/{id}")),
        ]
    }

    /// The keys an opportunity's link and what was reported about it are kept under.
    pub(super) fn opportunity_keys(&self, opportunity: &OpportunityId) -> Vec<String> {
        let id = part(opportunity.as_str());
        [
            "link/opportunity",
            "sync/reported-stage",
            "sync/reported-archive",
            "sync/reporting",
            "sync/notes",
        ]
        .iter()
        .map(|k| self.key(&format!("{k}/{id}")))
        .collect()
    }

    /// Links a partner candidate and an opportunity both ways (a new link is recorded in
    /// the owned-key index first, with every key kept for that opportunity and candidate).
    pub fn link(
        &self,
        partner_candidate_id: &str,
        opportunity: &OpportunityId,
    ) -> Result<(), ConnectorError> {
        let known = self.linked_candidate(opportunity)?.is_some()
            && self.linked_opportunity(partner_candidate_id)?.as_ref() == Some(opportunity);
        if !known {
            let mut keys = self.opportunity_keys(opportunity);
            keys.extend(self.candidate_keys(partner_candidate_id));
            self.own(&keys)?;
            // The opportunity's claim exists (released) from the start, so every claim of
            // it is a swap of a present value: on Spin's SQLite store a swap of an absent
            // key is an unconditional upsert that two claimers could both win.
            let reporting = reporting_suffix(opportunity);
            if self.get_raw(&reporting)?.is_none() {
                self.set(&reporting, &encode(&Reporting::default())?)?;
            }
            // The notes' guard too, for the same reason.
            let notes = notes_suffix(opportunity);
            if self.get_raw(&notes)?.is_none() {
                self.set(&notes, &encode(&PartnerNotes::default())?)?;
            }
        }
        self.set(
            &format!("link/opportunity/{}", part(opportunity.as_str())),
            partner_candidate_id.as_bytes(),
        )?;
        self.set(
            &format!("link/partner/{}", part(partner_candidate_id)),
            opportunity.as_str().as_bytes(),
        )
    }

    /// The Lever stage last reported to the partner for an opportunity.
    pub fn reported_stage(
        &self,
        opportunity: &OpportunityId,
    ) -> Result<Option<StageId>, ConnectorError> {
        Ok(self.reported_stage_at(opportunity)?.map(|(stage, _)| stage))
    }

    /// The Lever stage last reported for an opportunity, with when that change happened in
    /// Lever when a Lever change reported it (`None` when the partner set it, or an upload).
    pub fn reported_stage_at(
        &self,
        opportunity: &OpportunityId,
    ) -> Result<Option<(StageId, Option<UnixMillis>)>, ConnectorError> {
        Ok(self
            .reported("stage", opportunity)?
            .map(|(stage, at)| (StageId(stage), at)))
    }

    /// What was last reported to the partner about an opportunity (`kind`: `stage` or
    /// `archive`), stored as `value` or `value\n<Unix ms of the Lever change>`.
    pub(super) fn reported(
        &self,
        kind: &str,
        opportunity: &OpportunityId,
    ) -> Result<Option<(String, Option<UnixMillis>)>, ConnectorError> {
        Ok(self
            .get_string(&format!(
                "sync/reported-{kind}/{}",
                part(opportunity.as_str())
            ))?
            .map(|value| match value.split_once('\n') {
                Some((reported, at)) => (reported.to_string(), at.parse().ok()),
                None => (value, None),
            }))
    }

    /// Remembers the Lever stage reported to the partner by a Lever change of `at`.
    pub fn set_reported_stage_at(
        &self,
        opportunity: &OpportunityId,
        stage: &StageId,
        at: UnixMillis,
    ) -> Result<(), ConnectorError> {
        self.set(
            &format!("sync/reported-stage/{}", part(opportunity.as_str())),
            format!("{}\n{at}", stage.as_str()).as_bytes(),
        )
    }

    /// The write that remembers the Lever stage reported by a Lever change of `at`.
    pub fn reported_stage_at_write(
        &self,
        opportunity: &OpportunityId,
        stage: &StageId,
        at: UnixMillis,
    ) -> (String, Vec<u8>) {
        (
            self.key(&format!(
                "sync/reported-stage/{}",
                part(opportunity.as_str())
            )),
            format!("{}\n{at}", stage.as_str()).into_bytes(),
        )
    }

    /// Remembers the Lever stage the partner knows (it set it, or an upload placed it).
    pub fn set_reported_stage(
        &self,
        opportunity: &OpportunityId,
        stage: &StageId,
    ) -> Result<(), ConnectorError> {
        self.set(
            &format!("sync/reported-stage/{}", part(opportunity.as_str())),
            stage.as_str().as_bytes(),
        )
    }

    /// The archive state last reported to the partner for an opportunity.
    pub fn reported_archive(
        &self,
        opportunity: &OpportunityId,
    ) -> Result<Option<String>, ConnectorError> {
        Ok(self
            .reported_archive_at(opportunity)?
            .map(|(state, _)| state))
    }

    /// The archive state last reported to the partner for an opportunity, and when that
    /// state began in Lever when a Lever change reported it (`None` when the partner set it,
    /// or it was stored before times were kept).
    pub fn reported_archive_at(
        &self,
        opportunity: &OpportunityId,
    ) -> Result<Option<(String, Option<UnixMillis>)>, ConnectorError> {
        self.reported("archive", opportunity)
    }

    /// Remembers the archive state a Lever change of `at` told the partner (or, for
    /// `active` with nothing reported before, found nothing to tell).
    pub fn set_reported_archive_at(
        &self,
        opportunity: &OpportunityId,
        state: &str,
        at: UnixMillis,
    ) -> Result<(), ConnectorError> {
        self.set(
            &format!("sync/reported-archive/{}", part(opportunity.as_str())),
            format!("{state}\n{at}").as_bytes(),
        )
    }

    /// Claims the right to report an opportunity's change to the partner until `until`:
    /// `false` while another request holds an unexpired claim. A claim left by a stopped
    /// instance lapses, so a retry can report what it never sent. What the key remembers
    /// of stage-change deliveries is kept.
    pub fn claim_report(
        &self,
        opportunity: &OpportunityId,
        now: UnixMillis,
        until: UnixMillis,
        nonce: &str,
    ) -> Result<bool, ConnectorError> {
        let suffix = reporting_suffix(opportunity);
        let watched = self.watch(&suffix)?;
        let current = Reporting::read(watched.current());
        if current.until > now {
            return Ok(false);
        }
        let claimed = Reporting {
            until,
            nonce: nonce.to_string(),
            token: None,
            ..current
        };
        Ok(matches!(
            self.swap(watched, &encode(&claimed)?)?,
            Swapped::Done
        ))
    }

    /// Releases a report claim (keeping what the key remembers of stage-change deliveries).
    pub fn release_report(&self, opportunity: &OpportunityId) -> Result<(), ConnectorError> {
        self.release_report_with(opportunity, Vec::new())
    }

    /// Releases a report claim with `writes` (what was reported), in one write.
    pub fn release_report_with(
        &self,
        opportunity: &OpportunityId,
        mut writes: Vec<(String, Vec<u8>)>,
    ) -> Result<(), ConnectorError> {
        let suffix = reporting_suffix(opportunity);
        let current = Reporting::read(self.get_raw(&suffix)?.as_deref());
        let released = Reporting {
            until: 0,
            token: None,
            ..current
        };
        writes.push((self.key(&suffix), encode(&released)?));
        self.set_many(writes)
    }

    /// Claims an opportunity for the stage-change delivery `token`, the delivery's claim and
    /// the report's in one compare-and-swap (see [`Reporting`]).
    pub fn claim_opportunity(
        &self,
        opportunity: &OpportunityId,
        token: &str,
        now: UnixMillis,
        until: UnixMillis,
        nonce: &str,
    ) -> Result<OpportunityClaim, ConnectorError> {
        let suffix = reporting_suffix(opportunity);
        let mut watched = self.watch(&suffix)?;
        for _ in 0..4 {
            let current = Reporting::read(watched.current());
            if let Some(seen) = current.recent.iter().find(|h| h.token == token) {
                return Ok(OpportunityClaim::Handled(seen.state));
            }
            if current.until > now {
                return Ok(if current.token.as_deref() == Some(token) {
                    OpportunityClaim::Handled(DeliveryState::Processing)
                } else {
                    OpportunityClaim::HeldByOther
                });
            }
            let claimed = Reporting {
                until,
                nonce: nonce.to_string(),
                token: Some(token.to_string()),
                ..current
            };
            match self.swap(watched, &encode(&claimed)?)? {
                Swapped::Done => return Ok(OpportunityClaim::Claimed(claimed)),
                Swapped::Changed(fresh) => watched = fresh,
            }
        }
        Ok(OpportunityClaim::HeldByOther)
    }

    /// Claims adding partner note `id` to `opportunity` until `until`, unless it was added
    /// or another request holds it.
    pub fn claim_note(
        &self,
        opportunity: &OpportunityId,
        id: &str,
        now: UnixMillis,
        until: UnixMillis,
    ) -> Result<NoteClaim, ConnectorError> {
        let suffix = notes_suffix(opportunity);
        let mut watched = self.watch(&suffix)?;
        if watched.current().is_none() {
            // A link made before 0.3 has no guard yet: index it before its first write.
            self.own(&[self.key(&suffix)])?;
        }
        for attempt in 0..6 {
            let mut current: PartnerNotes = match watched.current() {
                Some(raw) => serde_json::from_slice(raw).unwrap_or_default(),
                None => PartnerNotes::default(),
            };
            let mut earlier = None;
            if let Some(note) = current.notes.iter().find(|n| n.id == id) {
                if let Some(lever) = &note.lever_note_id {
                    return Ok(NoteClaim::Added(lever.clone()));
                }
                if note.until > now {
                    return Ok(NoteClaim::Busy);
                }
                earlier = Some(note.at);
            }
            current.notes.retain(|n| n.id != id);
            current.notes.push(PartnerNote {
                id: id.to_string(),
                at: earlier.unwrap_or(now),
                until,
                lever_note_id: None,
            });
            let excess = current.notes.len().saturating_sub(NOTES_RECENT);
            current.notes.drain(..excess);
            match self.swap(watched, &encode(&current)?)? {
                Swapped::Done => return Ok(NoteClaim::Claimed { earlier }),
                Swapped::Changed(fresh) => {
                    watched = fresh;
                    crate::store::index::back_off(attempt);
                }
            }
        }
        Ok(NoteClaim::Busy)
    }

    /// Records that partner note `id` is Lever's `lever_note_id`.
    pub fn note_added(
        &self,
        opportunity: &OpportunityId,
        id: &str,
        lever_note_id: &str,
    ) -> Result<(), ConnectorError> {
        let suffix = notes_suffix(opportunity);
        let mut watched = self.watch(&suffix)?;
        for attempt in 0..8 {
            let mut current: PartnerNotes = match watched.current() {
                Some(raw) => serde_json::from_slice(raw).unwrap_or_default(),
                None => PartnerNotes::default(),
            };
            match current.notes.iter_mut().find(|n| n.id == id) {
                Some(note) => {
                    note.until = 0;
                    note.lever_note_id = Some(lever_note_id.to_string());
                }
                None => current.notes.push(PartnerNote {
                    id: id.to_string(),
                    at: 0,
                    until: 0,
                    lever_note_id: Some(lever_note_id.to_string()),
                }),
            }
            let excess = current.notes.len().saturating_sub(NOTES_RECENT);
            current.notes.drain(..excess);
            match self.swap(watched, &encode(&current)?)? {
                Swapped::Done => return Ok(()),
                Swapped::Changed(fresh) => {
                    watched = fresh;
                    crate::store::index::back_off(attempt);
                }
            }
        }
        Err(ConnectorError::Conflict(format!(
            "partner note {id} was added, but recording it kept conflicting; a retry finds it in Lever"
        )))
    }

    /// The write that releases an opportunity claimed by [`Self::claim_opportunity`] and
    /// remembers the delivery as `handled` (when it was), forgetting deliveries handled
    /// before `forget_before` and all but the newest [`REPORTING_RECENT`].
    pub fn release_opportunity_write(
        &self,
        opportunity: &OpportunityId,
        held: &Reporting,
        handled: Option<Handled>,
        forget_before: UnixMillis,
    ) -> Result<(String, Vec<u8>), ConnectorError> {
        let mut recent: Vec<Handled> = held
            .recent
            .iter()
            .filter(|h| h.at >= forget_before)
            .cloned()
            .collect();
        recent.extend(handled);
        let excess = recent.len().saturating_sub(REPORTING_RECENT);
        recent.drain(..excess);
        let released = Reporting {
            until: 0,
            nonce: held.nonce.clone(),
            token: None,
            recent,
        };
        Ok((self.key(&reporting_suffix(opportunity)), encode(&released)?))
    }

    /// Remembers the archive state reported to the partner.
    pub fn set_reported_archive(
        &self,
        opportunity: &OpportunityId,
        state: &str,
    ) -> Result<(), ConnectorError> {
        self.set(
            &format!("sync/reported-archive/{}", part(opportunity.as_str())),
            state.as_bytes(),
        )
    }
}
