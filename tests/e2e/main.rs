//! End-to-end tests: the real `.wasm` (built from `plugin/` and embedded in `lever-host`),
//! run by the real host, against the Lever and partner simulators on 127.0.0.1.

mod audit;
mod bad_input;
mod component;
mod connections;
mod environments;
mod harness;
mod interviews;
mod marketplace;
mod node;
mod notes;
mod operations;
mod platform;
mod portal;
mod sandbox;
mod serve;
mod simulators;
mod spin;
mod stage_sync;
mod store_upgrade;
mod version_reach;
mod wasm_hosts;
mod wasmtime_serve;
