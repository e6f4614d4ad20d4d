//! Utilities shared by every layer: the wire serialization framework and its TLV
//! streams, and logging.

#[macro_use]
pub mod logger;
pub mod config;
pub mod ser;
#[macro_use]
pub mod tlv;
