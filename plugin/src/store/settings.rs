//! The connection's settings: perform_as, environment, maps, tags, caches.

use super::*;

impl ConnStore<'_> {
    /// The Lever user writes are attributed to.
    pub fn perform_as(&self) -> Result<Option<String>, ConnectorError> {
        self.get_string("perform-as")
    }

    /// Sets the `perform_as` user.
    pub fn set_perform_as(&self, user: &str) -> Result<(), ConnectorError> {
        self.set("perform-as", user.as_bytes())
    }

    /// The Lever environment chosen for the connection, when one was.
    pub fn environment(&self) -> Result<Option<crate::config::Tier>, ConnectorError> {
        Ok(self
            .get_string("environment")?
            .map(|name| crate::config::Tier::from_stored(&name)))
    }

    /// Chooses the connection's Lever environment.
    pub fn set_environment(&self, tier: crate::config::Tier) -> Result<(), ConnectorError> {
        self.set("environment", tier.as_str().as_bytes())
    }

    /// The stage map, if set.
    pub fn stage_map(&self) -> Result<Option<BTreeMap<String, String>>, ConnectorError> {
        self.get_json("stage-map")
    }

    /// Replaces the stage map.
    pub fn set_stage_map(&self, map: &BTreeMap<String, String>) -> Result<(), ConnectorError> {
        self.set("stage-map", &encode(map)?)
    }

    /// The chosen upload stage (absent: the default rule).
    pub fn upload_stage(&self) -> Result<Option<StageId>, ConnectorError> {
        Ok(self.get_string("upload-stage")?.map(StageId))
    }

    /// Sets (`Some`) or clears (`None`: back to the default rule) the upload stage.
    pub fn set_upload_stage(&self, stage: Option<&StageId>) -> Result<(), ConnectorError> {
        match stage {
            Some(stage) => self.set("upload-stage", stage.as_str().as_bytes()),
            None => self.delete("upload-stage"),
        }
    }

    /// Lever's stages as last read, and when (Unix ms).
    pub fn cached_stages(&self) -> Result<Option<(UnixMillis, Vec<Stage>)>, ConnectorError> {
        Ok(self
            .get_json::<CachedStages>("cache/stages")?
            .map(|c| (c.at, c.stages)))
    }

    /// Remembers Lever's stages as read at `at`.
    pub fn set_cached_stages(
        &self,
        at: UnixMillis,
        stages: &[Stage],
    ) -> Result<(), ConnectorError> {
        self.set(
            "cache/stages",
            &encode(&CachedStages {
                at,
                stages: stages.to_vec(),
            })?,
        )
    }

    /// Partner role → Lever posting links.
    pub fn roles(&self) -> Result<BTreeMap<String, String>, ConnectorError> {
        Ok(self.get_json("roles")?.unwrap_or_default())
    }

    /// Links (`Some(posting)`) or unlinks (`None`) a role, safely against concurrent edits;
    /// answers whether the role was linked before.
    pub fn set_role(&self, role: &str, posting: Option<&str>) -> Result<bool, ConnectorError> {
        let mut watched = self.watch("roles")?;
        for attempt in 1..=16 {
            let mut roles: BTreeMap<String, String> = match watched.current() {
                None => BTreeMap::new(),
                Some(bytes) => decode(&self.key("roles"), bytes)?,
            };
            let existed = match posting {
                Some(posting) => roles.insert(role.into(), posting.into()).is_some(),
                None => roles.remove(role).is_some(),
            };
            match self.swap(watched, &encode(&roles)?)? {
                Swapped::Done => return Ok(existed),
                Swapped::Changed(_) => {
                    index::back_off(attempt);
                    watched = self.watch("roles")?;
                }
            }
        }
        Err(ConnectorError::Conflict(
            "the role links kept changing; retry".into(),
        ))
    }

    /// The archive reason partner rejections use.
    pub fn rejection_reason(&self) -> Result<Option<String>, ConnectorError> {
        self.get_string("rejection-reason")
    }

    /// Sets the archive reason partner rejections use.
    pub fn set_rejection_reason(&self, reason: &str) -> Result<(), ConnectorError> {
        self.set("rejection-reason", reason.as_bytes())
    }

    /// The names the mapped Lever stages had when they were mapped.
    pub fn stage_names(&self) -> Result<BTreeMap<String, String>, ConnectorError> {
        Ok(self.get_json("stage-names")?.unwrap_or_default())
    }

    /// Records the mapped Lever stages' names.
    pub fn set_stage_names(&self, names: &BTreeMap<String, String>) -> Result<(), ConnectorError> {
        self.set("stage-names", &encode(names)?)
    }

    /// The reconciliation cursor.
    pub fn reconcile_cursor(&self) -> Result<Option<UnixMillis>, ConnectorError> {
        self.get_number("sync/cursor")
    }

    /// Moves the reconciliation cursor.
    pub fn set_reconcile_cursor(&self, at: UnixMillis) -> Result<(), ConnectorError> {
        self.set_number("sync/cursor", at)
    }

    /// The tags every upload gets.
    pub fn upload_tags(&self) -> Result<Vec<String>, ConnectorError> {
        Ok(self.get_json("upload-tags")?.unwrap_or_default())
    }

    /// Sets the tags every upload gets.
    pub fn set_upload_tags(&self, tags: &[String]) -> Result<(), ConnectorError> {
        self.set("upload-tags", &encode(&tags)?)
    }

    /// Whether interview events carry the interview's feedback (the connection opted in).
    pub fn interview_feedback(&self) -> Result<bool, ConnectorError> {
        Ok(self.get_string("interview-feedback")?.as_deref() == Some("true"))
    }

    /// Opts in to (or out of) feedback in interview events.
    pub fn set_interview_feedback(&self, enabled: bool) -> Result<(), ConnectorError> {
        if enabled {
            self.set("interview-feedback", b"true")
        } else {
            self.kv
                .delete(&self.key("interview-feedback"))
                .map_err(storage_error)
        }
    }
}
