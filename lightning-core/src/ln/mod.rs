//! The Lightning protocol proper: identifiers, feature bits, messages and their
//! dispatch by type.

pub mod chan_utils;
pub mod channel;
pub mod channelmanager;
pub mod features;
pub mod inbound_payment;
pub mod msgs;
pub mod onion;
pub mod peer_channel_encryptor;
pub mod peer_handler;
pub mod types;
pub mod wire;
