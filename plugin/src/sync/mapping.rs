//! Partner stage → Lever stage: the explicit stage map first, then a case- and
//! punctuation-insensitive match of stage names. A partner stage that maps to nothing (or
//! to several Lever stages by name) is an error naming it, never a guess.

use std::collections::BTreeMap;

use crate::error::ConnectorError;
use crate::lever::{Stage, StageId};

/// A name reduced to its lower-case letters and digits.
pub fn normalize(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The Lever stage for `partner_stage`, among Lever's current `stages` (pipeline order).
pub fn lever_stage_for(
    partner_stage: &str,
    map: &BTreeMap<String, String>,
    stages: &[Stage],
) -> Result<StageId, ConnectorError> {
    let wanted = normalize(partner_stage);
    if wanted.is_empty() {
        return Err(ConnectorError::InvalidInput(
            "the partner stage is empty".into(),
        ));
    }
    let mapped = |exact: bool| {
        stages.iter().find(|s| {
            map.get(s.id.as_str()).is_some_and(|p| {
                if exact {
                    p == partner_stage
                } else {
                    normalize(p) == wanted
                }
            })
        })
    };
    if let Some(stage) = mapped(true).or_else(|| mapped(false)) {
        return Ok(stage.id.clone());
    }
    let by_name: Vec<&Stage> = stages
        .iter()
        .filter(|s| normalize(&s.text) == wanted)
        .collect();
    match by_name.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err(ConnectorError::InvalidInput(format!(
            "partner stage {partner_stage:?} maps to no Lever stage: add it to the stage map"
        ))),
        several => Err(ConnectorError::InvalidInput(format!(
            "partner stage {partner_stage:?} matches {} Lever stages by name ({}): add it to the stage map",
            several.len(),
            several.iter().map(|s| s.id.as_str()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stages() -> Vec<Stage> {
        [
            ("lead-new", "New lead"),
            ("s-phone", "Phone Screen"),
            ("s-onsite", "On-site interview"),
            ("s-onsite-2", "On-site interview"),
            ("s-offer", "Offer"),
        ]
        .iter()
        .map(|(id, text)| Stage {
            id: StageId(id.to_string()),
            text: text.to_string(),
        })
        .collect()
    }

    #[test]
    fn the_explicit_map_wins_then_names_match_loosely() {
        let map: BTreeMap<String, String> =
            [("s-onsite".to_string(), "Final Round".to_string())].into();
        assert_eq!(
            lever_stage_for("Final Round", &map, &stages())
                .unwrap()
                .as_str(),
            "s-onsite"
        );
        assert_eq!(
            lever_stage_for("final-round", &map, &stages())
                .unwrap()
                .as_str(),
            "s-onsite"
        );
        assert_eq!(
            lever_stage_for("phone screen!", &map, &stages())
                .unwrap()
                .as_str(),
            "s-phone"
        );
        assert_eq!(
            lever_stage_for("OFFER", &map, &stages()).unwrap().as_str(),
            "s-offer"
        );
    }

    #[test]
    fn unknown_or_ambiguous_stages_are_errors_naming_them() {
        let map = BTreeMap::new();
        let error = lever_stage_for("Reference check", &map, &stages()).unwrap_err();
        assert!(matches!(&error, ConnectorError::InvalidInput(m) if m.contains("Reference check")));
        let error = lever_stage_for("on site interview", &map, &stages()).unwrap_err();
        assert!(matches!(&error, ConnectorError::InvalidInput(m) if m.contains("2 Lever stages")));
        // A map entry for a stage Lever no longer has is not used.
        let stale: BTreeMap<String, String> = [("gone".to_string(), "Offer".to_string())].into();
        assert_eq!(
            lever_stage_for("Offer", &stale, &stages())
                .unwrap()
                .as_str(),
            "s-offer"
        );
    }
}
