//! Fuzz targets over the parsers of `lightning-core` (and of `lightning-invoice`)
//! that eat untrusted data.
//!
//! Each target is a plain function here, so the same code runs under libFuzzer
//! (`fuzz_targets/`, nightly + `cargo fuzz run NAME --features libfuzzer`) and in
//! the corpus replay test (`tests/corpus_replay.rs`), which runs every file of
//! `corpus/NAME/` through its target under stable `cargo test`. A target panics
//! only when it finds a bug: a decoder panicking, or an accepted input that does
//! not survive a re-encode.

pub mod targets;

/// A fuzz target: takes arbitrary bytes, panics only on a bug.
pub type Target = fn(&[u8]);

/// Every target, by name (the name is also its corpus directory).
pub const TARGETS: &[(&str, Target)] = &[
    ("wire_message", targets::wire_message),
    ("tlv_stream", targets::tlv_stream),
    ("bigsize", targets::bigsize),
    ("onion_peel", targets::onion_peel),
    ("hop_payload", targets::hop_payload),
    ("failure_message", targets::failure_message),
    ("failure_packet", targets::failure_packet),
    ("encrypted_data_tlv", targets::encrypted_data_tlv),
    ("bolt11_invoice", targets::bolt11_invoice),
    ("channel_monitor_update", targets::channel_monitor_update),
    ("channel_monitor", targets::channel_monitor),
    ("channel_message", targets::channel_message),
    ("channel_state_machine", targets::channel_state_machine),
];
