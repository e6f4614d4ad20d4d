//! The Lightning protocol proper: identifiers, feature bits, messages and their
//! dispatch by type.

pub mod features;
pub mod msgs;
pub mod onion;
pub mod types;
pub mod wire;
