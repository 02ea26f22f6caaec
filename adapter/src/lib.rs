//! An adapter component for `wasmtime serve`: it exports the `wasi:keyvalue@0.2.0-draft2`
//! store and atomics and `wasi:config@0.2.0-draft-2024-09-27` that the connector imports
//! (the drafts Spin implements), built on WASI's filesystem and environment, which
//! `wasmtime serve` does provide. Composed with the connector by `wac plug`.
//!
//! State lives in files under the directory preopened as `/state`
//! (`wasmtime serve --dir ./state::/state`), so it outlives each request's instance and is
//! shared by every instance and process given the same directory. The logic is in plain
//! modules ([`files`], [`config`]) that test natively; the bindings exist only on wasm32.

pub mod config;
pub mod files;

#[cfg(target_arch = "wasm32")]
mod component;
