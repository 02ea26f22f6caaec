//! A Lever webhook body: parsed, verified against the fixtures' signature token, its event
//! read. Nothing may panic; a body is accepted only with a valid signature over its token
//! and time.
#![no_main]

use lever_plugin::lever::webhook::{parse_delivery, parse_event, verify_signature};
use lever_plugin::secret::Secret;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let Ok(delivery) = parse_delivery(body) else {
        return;
    };
    let tokens = [Secret::new("test-signature-token-7f3a")];
    if verify_signature(&delivery, &tokens).is_ok() {
        let _ = parse_event(&delivery);
    }
});
