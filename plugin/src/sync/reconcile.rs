//! Reconciliation: re-read the opportunities Lever changed since a millisecond-exact cursor
//! and report to the partner what a missed webhook left unreported (stage, archive state).
//! Safe to run any time: every state is reported once.

use serde::Serialize;

use crate::auth;
use crate::config;
use crate::error::ConnectorError;
use crate::io::{Env, UnixMillis};
use crate::lever::{self, Opportunity};
use crate::store::{ConnectionId, Store};
use crate::sync::candidate_events::report_archive;
use crate::sync::stage::{report_stage, Outcome};

/// What a reconciliation found and fixed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reconciled {
    /// The connection.
    pub connection_id: ConnectionId,
    /// Opportunities Lever changed since the cursor.
    pub changed: u32,
    /// Of those, the ones linked to partner candidates.
    pub tracked: u32,
    /// Partner events sent to repair what was missed.
    pub fixed: u32,
    /// The cursor now (Unix ms of the newest change read).
    pub cursor: u64,
}

/// Reconciles one connection.
pub fn reconcile(env: &Env, c: &ConnectionId) -> Result<Reconciled, ConnectorError> {
    let partner_settings = config::partner(env.config)?;
    let api = auth::lever_api(env, c)?.background();
    let store = Store::new(env.kv).connection(c);
    let cursor = store.reconcile_cursor()?.unwrap_or(0);
    let since = cursor.to_string();
    // `updated_at_start` is inclusive: the newest change of the last run is read again and
    // found already reported, so nothing changed in that same millisecond is skipped.
    let changed: Vec<Opportunity> = lever::list_all(
        env,
        &api,
        &["opportunities"],
        &[("updated_at_start", since.as_str())],
    )?;
    let mut report = Reconciled {
        connection_id: c.clone(),
        changed: u32::try_from(changed.len()).unwrap_or(u32::MAX),
        tracked: 0,
        fixed: 0,
        cursor,
    };
    // An opportunity another delivery is reporting right now is read again by the next run:
    // the cursor stays at or before it.
    let mut busy: Option<UnixMillis> = None;
    for opportunity in &changed {
        report.cursor = report.cursor.max(opportunity.updated_at);
        if store.linked_candidate(&opportunity.id)?.is_none() {
            continue;
        }
        report.tracked += 1;
        for outcome in [
            report_stage(env, c, &partner_settings, opportunity),
            report_archive(env, c, &partner_settings, &api, opportunity, false),
        ] {
            match outcome {
                Ok(Outcome::Forwarded(_)) => report.fixed += 1,
                Ok(_) => {}
                Err(ConnectorError::Conflict(_)) => {
                    busy = Some(
                        busy.map_or(opportunity.updated_at, |b| b.min(opportunity.updated_at)),
                    );
                }
                Err(error) => return Err(error),
            }
        }
    }
    if let Some(busy) = busy {
        report.cursor = report.cursor.min(busy);
    }
    store.set_reconcile_cursor(report.cursor)?;
    Ok(report)
}
