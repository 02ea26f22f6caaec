//! A partner API request body: the first byte picks which body the rest is parsed as (a
//! candidate submission, a portal-link request, a stage map, a form of the connect portal).
//! Nothing may panic.
#![no_main]

use lever_plugin::portal::LinkRequest;
use lever_plugin::sync::upload::{Submission, SubmissionBody};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    match kind % 4 {
        0 => {
            if let Ok(parsed) = serde_json::from_slice::<SubmissionBody>(body) {
                let _ = Submission::try_from(parsed);
            }
        }
        1 => {
            let _ = serde_json::from_slice::<LinkRequest>(body);
        }
        2 => {
            let _ = serde_json::from_slice::<std::collections::BTreeMap<String, String>>(body);
        }
        _ => {
            let _ = lever_plugin::portal::parse_form(body);
        }
    }
});
