//! `lever-host`: a wasmtime host for the lever-connector component.
//!
//! The product: [`runtime`] (the engine, limits, the compiled-component cache and the
//! imports the component gets), [`server`] (the HTTP face, ticks, reconciles), [`outbound`]
//! (the allow-listed outgoing requests), [`call`] (`lever-host call`), [`settings`],
//! [`kv`], [`logs`], [`drain`], [`signing`], [`wire`] and [`http_util`].
//!
//! The developer tools live apart, in [`dev`]: the Lever and partner simulators, the demo,
//! the benchmarks and their native baseline (re-exported here under their short names).

pub mod call;
pub mod drain;
pub mod http_util;
pub mod kv;
pub mod logs;
pub mod outbound;
pub mod runtime;
pub mod server;
pub mod settings;
pub mod signing;
pub mod wire;

pub mod dev;

/// The component built from `plugin/` (wasm32-wasip2, `component` profile), embedded as the
/// default.
pub use lever_component::COMPONENT;

// The developer tools keep their paths at the crate root.
pub use dev::{bench, demo, native, partner_api, sim};
