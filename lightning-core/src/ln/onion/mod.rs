//! BOLT 4 onion routing: Sphinx packets, hop payloads, failures and route
//! blinding.
//!
//! - [`keys`]: the per-hop keys (`rho`, `mu`, `um`, `pad`, `ammag`, ...), the
//!   ChaCha20 streams and the blinding of ephemeral keys along a route.
//! - [`packet`]: the 1366-byte [`OnionPacket`], its construction for up to
//!   [`MAX_HOPS`] hops ([`construct_onion_packet`]) and the peeling of one
//!   layer with a known shared secret ([`peel_onion_with_shared_secret`]).
//! - [`payload`]: typed hop payloads, [`OutboundHopPayload`] to send and
//!   [`InboundHopPayload`] decoded under the BOLT 4 reader rules.
//! - [`failure`]: every failure code with its data, the return packet built by
//!   the erring node, re-obfuscated by each hop back and attributed by the
//!   origin.
//! - [`attribution`]: `attribution_data` (attributable failures and hold
//!   times): added at every hop back, checked at the origin.
//! - [`blinding`]: building a [`BlindedPath`] and unblinding a hop inside one.
//! - [`process`]: what a node does with an incoming HTLC's onion:
//!   [`peel_payment_onion`] gets the shared secret from the
//!   [`NodeSigner`](crate::sign::NodeSigner), peels, validates the payload,
//!   unblinds if needed, and answers with the next hop or with the exact
//!   failure to send back.
//!
//! Decisions where BOLT 4 leaves room:
//! - [`OnionPacket`] keeps its ephemeral key as the 33 bytes sent, so a packet
//!   with a key off the curve still decodes and is answered with
//!   `invalid_onion_key` instead of failing the whole `update_add_htlc`.
//! - A failure is padded so `failure_len + pad_len` is 256 (the SHOULD); the
//!   origin always runs [`MAX_HOPS`] decryption rounds.
//! - `channel_update` in failures is kept as raw bytes; parsing it (and never
//!   applying it to the graph) is the router's job.
//! - Custom payload records: odd types `>= 65536` reach the recipient, unknown
//!   even types fail the payload, unknown odd types below 65536 are ignored.
//!   A blinded final payload may carry custom records: "no other TLV field" is
//!   read as no other *known* field.
//! - Replay protection (a repeated HMAC) and the checks against our own
//!   channels and block height stay with the caller of [`peel_payment_onion`].

pub mod attribution;
pub mod blinding;
pub mod failure;
pub mod keys;
pub mod packet;
pub mod payload;
pub mod process;

pub use blinding::{build_blinded_path, unblind_hop, BlindedHop, BlindedPath, EncryptedDataTlvs};
pub use failure::{
    build_failure_packet, decode_failure_packet, obfuscate_failure_packet, DecodedFailure, FailureCode,
    FailureMessage, FailureReason,
};
pub use packet::{
    construct_onion_packet, peel_onion_with_shared_secret, ConstructedOnion, OnionPacket, MAX_HOPS,
    ONION_PACKET_LEN,
};
pub use payload::{blinded_path_hops, construct_payment_onion, InboundHopPayload, OutboundHopPayload};
pub use process::{peel_payment_onion, HtlcFailure, IncomingHtlc, NextHop, PeeledPaymentHop};
