//! The connector's state in the key-value store: one place that knows the key layout.
//!
//! | key | value |
//! |---|---|
//! | `lever/delivery/<token>` | JSON record of a delivery being handled or handled (the replay guard) |
//! | `link/opportunity/<opportunity id>` | the linked partner candidate id |
//! | `link/partner/<partner candidate id>` | the linked opportunity id |
//! | `sync/reported-stage/<opportunity id>` | the Lever stage last reported to the partner |
//! | `setup/stage-map` | JSON stage map set through `setup` (wins over `stage_map` config) |

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::ConnectorError;
use crate::io::{Kv, UnixMillis};
use crate::lever::{OpportunityId, StageId};

/// What was done with one delivery, as stored under its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRecord {
    /// The event name.
    pub event: String,
    /// When it was handled.
    pub handled_at: UnixMillis,
    /// `processing` (claimed, work under way), `forwarded`, `ignored` or `skipped`.
    pub outcome: String,
    /// The reason or the partner event id.
    pub detail: String,
}

/// Typed access to the connector's state.
#[derive(Clone, Copy)]
pub struct Store<'a> {
    kv: &'a dyn Kv,
}

impl std::fmt::Debug for Store<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

fn storage_error(e: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::Internal(format!("key-value store: {e}"))
}

impl<'a> Store<'a> {
    /// State in `kv`.
    pub fn new(kv: &'a dyn Kv) -> Self {
        Self { kv }
    }

    fn get_string(&self, key: &str) -> Result<Option<String>, ConnectorError> {
        match self.kv.get(key).map_err(storage_error)? {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| storage_error(format!("{key} is not UTF-8"))),
        }
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), ConnectorError> {
        self.kv.set(key, value).map_err(storage_error)
    }

    /// The record of a delivery handled before, if any.
    pub fn delivery(&self, token: &str) -> Result<Option<DeliveryRecord>, ConnectorError> {
        match self.get_string(&format!("lever/delivery/{token}"))? {
            None => Ok(None),
            Some(json) => serde_json::from_str(&json).map(Some).map_err(storage_error),
        }
    }

    /// Claims a delivery token before its work starts: `false` when the token is already
    /// claimed or handled (a replay, possibly a concurrent one).
    pub fn claim_delivery(
        &self,
        token: &str,
        record: &DeliveryRecord,
    ) -> Result<bool, ConnectorError> {
        let json = serde_json::to_vec(record).map_err(storage_error)?;
        self.kv
            .insert_new(&format!("lever/delivery/{token}"), &json)
            .map_err(storage_error)
    }

    /// Gives up a claim whose work failed, so a retry of the same delivery can redo it.
    pub fn release_delivery(&self, token: &str) -> Result<(), ConnectorError> {
        self.kv
            .delete(&format!("lever/delivery/{token}"))
            .map_err(storage_error)
    }

    /// Records a handled delivery (over its claim).
    pub fn record_delivery(
        &self,
        token: &str,
        record: &DeliveryRecord,
    ) -> Result<(), ConnectorError> {
        let json = serde_json::to_vec(record).map_err(storage_error)?;
        self.set(&format!("lever/delivery/{token}"), &json)
    }

    /// The partner candidate linked to an opportunity.
    pub fn linked_candidate(
        &self,
        opportunity: &OpportunityId,
    ) -> Result<Option<String>, ConnectorError> {
        self.get_string(&format!("link/opportunity/{opportunity}"))
    }

    /// The opportunity linked to a partner candidate.
    pub fn linked_opportunity(
        &self,
        partner_candidate_id: &str,
    ) -> Result<Option<OpportunityId>, ConnectorError> {
        Ok(self
            .get_string(&format!("link/partner/{partner_candidate_id}"))?
            .map(OpportunityId))
    }

    /// Links a partner candidate and an opportunity both ways.
    pub fn link(
        &self,
        partner_candidate_id: &str,
        opportunity: &OpportunityId,
    ) -> Result<(), ConnectorError> {
        self.set(
            &format!("link/opportunity/{opportunity}"),
            partner_candidate_id.as_bytes(),
        )?;
        self.set(
            &format!("link/partner/{partner_candidate_id}"),
            opportunity.as_str().as_bytes(),
        )
    }

    /// The Lever stage last reported to the partner for an opportunity.
    pub fn reported_stage(
        &self,
        opportunity: &OpportunityId,
    ) -> Result<Option<StageId>, ConnectorError> {
        Ok(self
            .get_string(&format!("sync/reported-stage/{opportunity}"))?
            .map(StageId))
    }

    /// Remembers the Lever stage reported to the partner.
    pub fn set_reported_stage(
        &self,
        opportunity: &OpportunityId,
        stage: &StageId,
    ) -> Result<(), ConnectorError> {
        self.set(
            &format!("sync/reported-stage/{opportunity}"),
            stage.as_str().as_bytes(),
        )
    }

    /// The stage map stored through `setup`, if any.
    pub fn stage_map(&self) -> Result<Option<BTreeMap<String, String>>, ConnectorError> {
        match self.get_string("setup/stage-map")? {
            None => Ok(None),
            Some(json) => serde_json::from_str(&json).map(Some).map_err(storage_error),
        }
    }

    /// Stores the stage map.
    pub fn set_stage_map(&self, map: &BTreeMap<String, String>) -> Result<(), ConnectorError> {
        let json = serde_json::to_vec(map).map_err(storage_error)?;
        self.set("setup/stage-map", &json)
    }
}
