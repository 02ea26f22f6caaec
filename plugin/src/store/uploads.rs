//! Upload intents.

use super::*;

impl ConnStore<'_> {
    /// A partner candidate's upload, with its bytes for a compare-and-swap.
    pub fn upload_intent(
        &self,
        partner_candidate_id: &str,
    ) -> Result<Option<Versioned<UploadIntent>>, ConnectorError> {
        self.get_versioned(&format!("upload/{}", part(partner_candidate_id)))
    }

    /// Replaces an upload intent if it is still `expected` (`None`: absent, and the
    /// owned-key index records the candidate's keys first).
    pub fn swap_upload_intent(
        &self,
        partner_candidate_id: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<bool, ConnectorError> {
        if expected.is_none() {
            self.own(&self.candidate_keys(partner_candidate_id))?;
        }
        self.cas(
            &format!("upload/{}", part(partner_candidate_id)),
            expected,
            new,
        )
    }

    /// Forgets an upload intent (nothing was created).
    pub fn delete_upload_intent(&self, partner_candidate_id: &str) -> Result<(), ConnectorError> {
        self.delete(&format!("upload/{}", part(partner_candidate_id)))
    }
}
