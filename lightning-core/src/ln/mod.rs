//! The Lightning protocol proper: identifiers, feature bits, messages and their
//! dispatch by type.

pub mod chan_utils;
pub mod channel;
pub mod channelmanager;
pub mod features;
#[cfg(any(test, feature = "_test_utils"))]
pub mod functional_test_utils;
#[cfg(test)]
mod functional_tests;
pub mod inbound_payment;
pub mod msgs;
pub mod onion;
pub mod peer_channel_encryptor;
pub mod peer_handler;
pub mod types;
pub mod wire;
