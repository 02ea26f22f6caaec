//! Links between partner candidates and Lever opportunities, and the stage map.

use std::collections::BTreeMap;

use crate::config;
use crate::error::ConnectorError;
use crate::io::Env;
use crate::lever::OpportunityId;
use crate::store::Store;

fn require_id(name: &str, value: &str) -> Result<(), ConnectorError> {
    if value.trim().is_empty() || value.len() > 256 || value.chars().any(char::is_control) {
        return Err(ConnectorError::InvalidInput(format!(
            "{name} must be 1 to 256 printable characters"
        )));
    }
    Ok(())
}

/// Links a partner candidate to an opportunity. Linking the same pair again succeeds; an
/// opportunity or candidate already linked elsewhere is a conflict.
pub fn link_candidate(
    env: &Env,
    partner_candidate_id: &str,
    opportunity: &OpportunityId,
) -> Result<(), ConnectorError> {
    require_id("partner-candidate-id", partner_candidate_id)?;
    require_id("opportunity-id", opportunity.as_str())?;
    let store = Store::new(env.kv);
    if let Some(existing) = store.linked_candidate(opportunity)? {
        if existing != partner_candidate_id {
            return Err(ConnectorError::Conflict(format!(
                "opportunity {opportunity} is already linked to partner candidate {existing}"
            )));
        }
    }
    if let Some(existing) = store.linked_opportunity(partner_candidate_id)? {
        if &existing != opportunity {
            return Err(ConnectorError::Conflict(format!(
                "partner candidate {partner_candidate_id} is already linked to opportunity {existing}"
            )));
        }
    }
    store.link(partner_candidate_id, opportunity)
}

/// The stage map in force: stored through `setup`, else the `stage_map` configuration.
/// `NotConfigured(stage_map)` when there is neither.
pub fn stage_map(env: &Env) -> Result<BTreeMap<String, String>, ConnectorError> {
    if let Some(map) = Store::new(env.kv).stage_map()? {
        return Ok(map);
    }
    config::stage_map(env.config)?
        .ok_or_else(|| ConnectorError::NotConfigured(config::STAGE_MAP.into()))
}

/// Replaces the stored stage map. Ids must be non-empty and each Lever stage mapped once.
pub fn set_stage_map(env: &Env, mappings: &[(String, String)]) -> Result<(), ConnectorError> {
    let mut map = BTreeMap::new();
    for (lever, partner) in mappings {
        require_id("lever-stage-id", lever)?;
        require_id("partner-stage", partner)?;
        if map.insert(lever.clone(), partner.clone()).is_some() {
            return Err(ConnectorError::InvalidInput(format!(
                "Lever stage {lever} is mapped twice"
            )));
        }
    }
    Store::new(env.kv).set_stage_map(&map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::fake::{FakeConfig, FakeHttp, FakeKv, FixedClock};

    #[test]
    fn linking_is_idempotent_and_refuses_a_second_partner() {
        let (http, kv, config, clock) = (
            FakeHttp::default(),
            FakeKv::default(),
            FakeConfig::default(),
            FixedClock(0),
        );
        let env = Env {
            http: &http,
            kv: &kv,
            config: &config,
            clock: &clock,
        };
        let opp = OpportunityId("opp-1".into());
        link_candidate(&env, "cand-1", &opp).unwrap();
        link_candidate(&env, "cand-1", &opp).unwrap();
        assert!(matches!(
            link_candidate(&env, "cand-2", &opp),
            Err(ConnectorError::Conflict(_))
        ));
        assert!(matches!(
            link_candidate(&env, "cand-1", &OpportunityId("opp-2".into())),
            Err(ConnectorError::Conflict(_))
        ));
        assert!(matches!(
            link_candidate(&env, " ", &opp),
            Err(ConnectorError::InvalidInput(_))
        ));
    }

    #[test]
    fn stored_stage_map_wins_over_configuration() {
        let (http, kv, clock) = (FakeHttp::default(), FakeKv::default(), FixedClock(0));
        let config = FakeConfig::from_pairs(&[("stage_map", r#"{"a":"configured"}"#)]);
        let env = Env {
            http: &http,
            kv: &kv,
            config: &config,
            clock: &clock,
        };
        assert_eq!(stage_map(&env).unwrap()["a"], "configured");
        set_stage_map(&env, &[("a".into(), "stored".into())]).unwrap();
        assert_eq!(stage_map(&env).unwrap()["a"], "stored");
        assert!(
            set_stage_map(&env, &[("a".into(), "x".into()), ("a".into(), "y".into())]).is_err()
        );
    }
}
