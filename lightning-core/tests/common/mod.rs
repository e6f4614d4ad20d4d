//! Helpers shared by the integration tests: finding and loading the BOLT vectors.
#![allow(dead_code)]

use std::path::PathBuf;

/// Path of a file under `shared/specs/vectors/`, found beside the checkout.
pub fn vector_path(rel: &str) -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|dir| dir.join("shared/specs/vectors").join(rel))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{rel} not found in a shared/specs/vectors/ above {}", manifest.display()))
}

/// Parses a vector file as JSON.
pub fn load_vectors(rel: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(vector_path(rel)).expect("vector file readable");
    serde_json::from_str(&text).expect("vector file is JSON")
}

/// Decodes a hex field of a vector.
pub fn hex_field(v: &serde_json::Value, key: &str) -> Vec<u8> {
    let s = v[key].as_str().unwrap_or_else(|| panic!("no string field {key} in {v}"));
    hex::decode(s).unwrap_or_else(|e| panic!("field {key} is not hex: {e}"))
}
