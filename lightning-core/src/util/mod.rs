//! Utilities shared by every layer: the wire serialization framework and its TLV
//! streams, and the key-value store persistence goes through.

pub mod persist;
pub mod ser;
#[macro_use]
pub mod tlv;
