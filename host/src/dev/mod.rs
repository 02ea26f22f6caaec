//! The developer tools, apart from the product: the Lever and partner simulators, the demo,
//! the benchmarks, the natively compiled baseline they measure against, and the partner-API
//! client the demo and the tests drive the connector with. The product (`runtime`,
//! `server`, `outbound`, `call`, `settings`, `kv`, ...) never depends on them, except the
//! server's opt-in native HTTP face used as the benchmark's baseline.

pub mod bench;
pub mod demo;
pub mod native;
pub mod partner_api;
pub mod sim;
