//! Utilities shared by every layer: the wire serialization framework and its TLV
//! streams, logging, and the key-value store persistence goes through.

#[macro_use]
pub mod logger;
pub mod config;
pub mod persist;
pub mod ser;
#[macro_use]
pub mod tlv;
