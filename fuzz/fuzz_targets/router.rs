//! The HTTP router: any method, path and headers get a route or a typed refusal, never a
//! panic.
#![no_main]

use lever_plugin::http_face::accept;
use libfuzzer_sys::fuzz_target;

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

fuzz_target!(|data: &[u8]| {
    let Some((&method, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let (path, header) = text.split_once('\n').unwrap_or((&text, ""));
    let method = METHODS[usize::from(method) % METHODS.len()];
    if let Ok((route, _)) = accept(method, path, [("cookie", header.as_bytes())]) {
        let _ = route.max_body_bytes();
    }
});
