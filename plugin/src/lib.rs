//! lever-connector: a Lever ATS integration as a WebAssembly component.
//!
//! The logic lives in plain modules that reach I/O only through the traits in [`io`];
//! `bindings` (generated) and `component` (the adapter implementing the exports) are the
//! only modules that know about WIT, and `wasi_io` implements the I/O traits over WASI.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod actions;
pub mod activity;
pub mod audit;
pub mod auth;
pub mod config;
pub mod crypto;
pub mod error;
pub mod http_face;
pub mod io;
pub mod lever;
pub mod multipart;
pub mod ops;
pub mod outbox;
pub mod partner;
pub mod portal;
pub mod secret;
pub mod setup;
pub mod store;
pub mod sync;
pub mod triggers;

// The WIT glue exists only in the component: natively its export names cannot be linked
// into a shared library, and the logic above is what the native tests exercise.
#[cfg(target_arch = "wasm32")]
mod bindings;
#[cfg(target_arch = "wasm32")]
mod component;
#[cfg(all(target_arch = "wasm32", not(feature = "p3")))]
mod component_p2;
#[cfg(all(target_arch = "wasm32", feature = "p3"))]
mod component_p3;
#[cfg(target_arch = "wasm32")]
mod wasi_io;
