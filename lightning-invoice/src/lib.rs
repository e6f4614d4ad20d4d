//! `lightning-invoice` implements BOLT 11 payment requests on top of
//! `lightning-core`: it parses invoices with every reader rule of the spec, and
//! builds and signs them through the core's [`NodeSigner`] (or a closure).
//!
//! - [`Bolt11Invoice`]: parse with [`str::parse`]; an invoice that parses may be
//!   paid. Its [`Display`](core::fmt::Display) is the invoice string.
//! - [`SignedRawBolt11Invoice`]: the same checks except the rules on the
//!   invoice as a whole (required fields, features), for inspecting invoices
//!   that may not be paid, such as pre-2020 ones without a payment secret.
//! - [`InvoiceBuilder`]: typestate builder; the payment hash, description,
//!   payment secret and timestamp must all be given before it can sign.
//! - [`Bolt11Error`]: what is wrong, one variant per reason.
//!
//! Spec decisions (BOLT 11 as of lightning/bolts a3772650):
//! - A `p`, `h`, `s` or `n` field of the wrong length fails the invoice (the
//!   current reader requirement), although the older example "including fields
//!   which must be ignored" still shows such fields being skipped.
//! - Without an `n` field the payee is recovered from the signature as it is,
//!   high S included (libsecp256k1 recovery, which does not normalise S); with
//!   an `n` field a high-S signature fails.
//! - Non-minimal `x`, `c` and `9` fields fail (the spec's SHOULD), as do field
//!   data with non-zero padding bits, an `f` field of a known version with a
//!   wrong program length, an `r` field that is empty or not whole hops, and a
//!   `c` value above `u32::MAX`.
//! - Fields that appear more than once: the first valid one is used.
//! - An even feature bit fails the invoice only if BOLT 9 defines no feature
//!   for it; one BOLT 9 defines for other contexts only (e.g.
//!   `gossip_queries_ex`, which older eclair put in invoices) is ignored, as
//!   eclair does. Missing BOLT 9 dependencies among invoice features fail it.
//! - The builder reads every invoice it signs back through the parser, so a
//!   signer that signs with the wrong key, or an invoice readers would refuse,
//!   is an error rather than a string nobody can pay.
//!
//! Parsing verifies or recovers with one process-wide secp256k1 verification
//! context, made on first use.
//!
//! [`NodeSigner`]: lightning_core::sign::NodeSigner
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod builder;
mod currency;
mod encoding;
mod error;
mod fields;
mod invoice;
mod raw;

pub use builder::{CompleteInvoiceBuilder, InvoiceBuilder, Unset, MAX_TIMESTAMP_SECS};
pub use currency::Currency;
pub use encoding::Bolt11Bech32;
pub use error::Bolt11Error;
pub use fields::{Bolt11InvoiceDescription, Fallback, RouteHint, RouteHintHop, MAX_FIELD_BYTES};
pub use invoice::{
    Bolt11Invoice, DEFAULT_EXPIRY_TIME_SECS, DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA,
    TOLERATED_FOREIGN_REQUIRED_BITS,
};
pub use raw::SignedRawBolt11Invoice;
