//! Log filtering that keeps secrets out at every level.
//!
//! wasmtime's WASI bindings trace each call a component makes with its arguments and
//! results: request paths and headers, configuration values, stored values. Those carry API
//! keys, tokens, signature tokens and portal links, so `lever-host` caps those targets at
//! `debug` whatever `RUST_LOG` asks (host_tests: `secrets_in_logs`).

use tracing_subscriber::filter::{LevelFilter, Targets};

/// The targets of wasmtime's generated WASI bindings, which log call arguments at trace.
pub const WASI_CALL_TRACERS: [&str; 2] = [
    "wasmtime_wasi_http::p2::bindings",
    "wasmtime_wasi::p2::bindings",
];

/// `filter` with the WASI call tracers capped at `debug`.
pub fn without_secrets(filter: Targets) -> Targets {
    WASI_CALL_TRACERS.iter().fold(filter, |filter, target| {
        filter.with_target(*target, LevelFilter::DEBUG)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasi_call_tracing_stays_off_even_when_asked_for() {
        let asked: Targets = "trace,wasmtime_wasi_http=trace".parse().unwrap();
        let filter = without_secrets(asked);
        assert!(!filter.would_enable(
            "wasmtime_wasi_http::p2::bindings::generated::wasi::http::types",
            &tracing::Level::TRACE
        ));
        assert!(filter.would_enable("wasmtime_wasi_http::p2::http_impl", &tracing::Level::TRACE));
        assert!(filter.would_enable("lever_host::server", &tracing::Level::TRACE));
    }
}
