//! The component built from `plugin/` (wasm32-wasip2, `component` profile), as bytes.
//!
//! A crate of its own, with no dependencies, so that cargo runs its build script (which
//! builds the component) at the start of a build, alongside wasmtime, instead of after
//! every dependency of `lever-host`.

/// The component's bytes.
pub static COMPONENT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/lever_plugin.wasm"));
