//! `lightning-invoice` implements BOLT 11 payment requests on top of
//! `lightning-core`: it will parse and validate invoices with every reader rule,
//! and build and sign them through the core's `NodeSigner`.
#![forbid(unsafe_code)]
