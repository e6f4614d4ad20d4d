//! Utilities shared by every layer: the wire serialization framework and its TLV
//! streams.

pub mod ser;
#[macro_use]
pub mod tlv;
