//! `lever-host`: a wasmtime host for the lever-connector component, with a faithful Lever
//! API simulator and a partner simulator for local work and tests.

pub mod kv;
pub mod native;
pub mod outbound;
pub mod runtime;

/// The component built from `plugin/` (wasm32-wasip2, `component` profile), embedded as the
/// default.
pub use lever_component::COMPONENT;
pub mod bench;
pub mod call;
pub mod demo;
pub mod drain;
pub mod http_util;
pub mod logs;
pub mod partner_api;
pub mod server;
pub mod settings;
pub mod signing;
pub mod sim;
pub mod wire;
