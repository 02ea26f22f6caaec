//! The connect portal's link token check: any string is refused unless it carries a valid
//! signature for the connection, never a panic.
#![no_main]

use lever_plugin::portal::check_token;
use lever_plugin::store::ConnectionId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    let connection = ConnectionId::parse("acme").expect("a valid id");
    if let Ok(nonce) = check_token(&[7u8; 32], &connection, &token, 1_700_000_000_000) {
        assert!(!nonce.is_empty());
    }
});
