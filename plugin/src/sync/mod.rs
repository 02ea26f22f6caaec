//! Flows that keep Lever and the partner in step. Each is a short sequence of pure steps
//! over the I/O traits.

pub mod candidate_events;
pub mod interviews;
pub mod mapping;
pub mod notes;
pub mod partner_stage;
pub mod reconcile;
pub mod stage;
pub mod upload;
