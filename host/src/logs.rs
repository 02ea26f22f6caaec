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

/// `filter` with the WASI call tracers capped at `debug` (and never made more verbose than
/// `filter` has them: a cap that turned them on would make every log call in the process
/// consult the filter).
pub fn without_secrets(filter: Targets) -> Targets {
    WASI_CALL_TRACERS.iter().fold(filter, |filter, target| {
        if filter.would_enable(target, &tracing::Level::TRACE) {
            filter.with_target(*target, LevelFilter::DEBUG)
        } else {
            filter
        }
    })
}

/// The most verbose level `filter` lets through anywhere: nothing more verbose need be
/// asked of it (the `log` and `tracing` macros then skip such calls with one comparison).
pub fn most_verbose(filter: &Targets) -> LevelFilter {
    filter
        .iter()
        .map(|(_, level)| level)
        .chain(filter.default_level())
        .max()
        .unwrap_or(LevelFilter::OFF)
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
        assert_eq!(most_verbose(&filter), LevelFilter::TRACE);
    }

    #[test]
    fn the_cap_never_turns_a_quiet_filter_up() {
        let filter = without_secrets("warn,lever_host=info".parse().unwrap());
        assert_eq!(most_verbose(&filter), LevelFilter::INFO);
        assert!(!filter.would_enable("wasmtime_wasi::p2::bindings::x", &tracing::Level::DEBUG));
        assert!(filter.would_enable("wasmtime_wasi::p2::bindings::x", &tracing::Level::WARN));
        assert_eq!(
            most_verbose(&without_secrets("off".parse().unwrap())),
            LevelFilter::OFF
        );
    }
}
