//! Damaged files on disk: each is refused with an error that names the file and
//! says what is wrong, never decoded into a wrong or default value.

mod common;

use std::fs;
use std::path::PathBuf;

use common::test_dir;
use lightning_core::util::persist::KVStore;
use lightning_persister::codec::{
    read_record, read_value, write_record, write_value, CodecError, FormatError, ValueKind, ValueLocation,
    ENVELOPE_HEADER_LEN,
};
use lightning_persister::fs_store::FilesystemStore;
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Monitor {
    funding_txid: [u8; 32],
    latest_update_id: u64,
    balance_msat: u64,
    htlcs: Vec<(u64, [u8; 32])>,
}

fn monitor() -> Monitor {
    Monitor {
        funding_txid: [0x11; 32],
        latest_update_id: 42,
        balance_msat: 1_234_567,
        htlcs: (0..20).map(|i| (i * 1000, [i as u8; 32])).collect(),
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: FilesystemStore,
    path: PathBuf,
    original: Vec<u8>,
}

const NS: &str = "monitors";
const KEY: &str = "chan_0";

fn fixture() -> Fixture {
    let dir = test_dir("corruption");
    let store = FilesystemStore::new(dir.path()).expect("open store");
    write_value(&store, NS, "", KEY, &monitor()).expect("write");
    let path = store.key_path(NS, "", KEY).expect("path");
    let original = fs::read(&path).expect("stored file");
    Fixture { _dir: dir, store, path, original }
}

/// Stores `bytes` as the file, reads it back, and checks the error names the
/// file; returns the format error.
fn read_damaged(f: &Fixture, bytes: &[u8]) -> FormatError {
    fs::write(&f.path, bytes).expect("damage the file");
    let err = read_value::<_, Monitor>(&f.store, NS, "", KEY).expect_err("damage detected");
    assert_eq!(err.location(), &ValueLocation::new(NS, "", KEY));
    let shown = err.to_string();
    assert!(shown.starts_with("value monitors/chan_0: "), "{shown}");
    assert_eq!(f.store.data_dir().join("monitors/chan_0"), f.path, "the name shown is the file's path");
    match err {
        CodecError::Format { error, .. } => error,
        CodecError::Store { error, .. } => panic!("expected a format error, got a store error: {error}"),
    }
}

#[test]
fn intact_file_reads_back() {
    let f = fixture();
    assert_eq!(read_value::<_, Monitor>(&f.store, NS, "", KEY).expect("read"), monitor());
}

#[test]
fn truncated_files_are_refused() {
    let f = fixture();
    let len = f.original.len();
    for cut in
        [0, 1, 4, 5, ENVELOPE_HEADER_LEN - 1, ENVELOPE_HEADER_LEN, ENVELOPE_HEADER_LEN + 1, len / 2, len - 1]
    {
        let err = read_damaged(&f, &f.original[..cut]);
        let needed = if cut < ENVELOPE_HEADER_LEN { ENVELOPE_HEADER_LEN } else { len };
        assert!(
            matches!(err, FormatError::Truncated { needed_len, actual_len } if needed_len == needed && actual_len == cut),
            "cut at {cut}: {err}"
        );
        assert!(err.to_string().starts_with(&format!("truncated: {cut} bytes")), "{err}");
    }
}

#[test]
fn flipped_payload_bytes_fail_the_checksum() {
    let f = fixture();
    for offset in [ENVELOPE_HEADER_LEN, ENVELOPE_HEADER_LEN + 7, f.original.len() / 2, f.original.len() - 1] {
        let mut bytes = f.original.clone();
        bytes[offset] ^= 0x01;
        let err = read_damaged(&f, &bytes);
        assert!(matches!(err, FormatError::ChecksumMismatch { .. }), "offset {offset}: {err}");
        assert!(err.to_string().starts_with("checksum mismatch"), "{err}");
    }
    // A flipped checksum byte is caught the same way.
    let mut bytes = f.original.clone();
    bytes[10] ^= 0x80;
    assert!(matches!(read_damaged(&f, &bytes), FormatError::ChecksumMismatch { .. }));
}

#[test]
fn unknown_versions_are_refused() {
    let f = fixture();
    for version in [0u8, 3, 0xff] {
        let mut bytes = f.original.clone();
        bytes[4] = version;
        let err = read_damaged(&f, &bytes);
        assert!(matches!(err, FormatError::UnknownVersion { version: v } if v == version), "{err}");
        assert!(err.to_string().contains(&format!("unknown format version {version}")), "{err}");
    }
}

#[test]
fn foreign_files_and_trailing_bytes_are_refused() {
    let f = fixture();
    let err = read_damaged(&f, b"{\"json\": true}");
    assert!(matches!(err, FormatError::BadMagic { found } if &found == b"{\"js"), "{err}");

    let mut longer = f.original.clone();
    longer.extend_from_slice(b"junk");
    let err = read_damaged(&f, &longer);
    assert!(matches!(err, FormatError::TrailingBytes { .. }), "{err}");
}

#[test]
fn a_value_of_another_type_is_refused() {
    let f = fixture();
    write_value(&f.store, NS, "", KEY, &"a string, not a monitor").expect("write");
    let err = read_value::<_, Monitor>(&f.store, NS, "", KEY).expect_err("wrong type");
    assert!(err.to_string().starts_with("value monitors/chan_0: "), "{err}");
    assert!(matches!(
        err.format_error(),
        Some(FormatError::Decode(_) | FormatError::PayloadNotConsumed { .. })
    ));
}

#[test]
fn missing_values_are_store_errors_naming_the_key() {
    let f = fixture();
    let err = read_value::<_, Monitor>(&f.store, NS, "", "chan_9").expect_err("missing");
    assert!(err.is_not_found());
    assert!(err.format_error().is_none());
    assert_eq!(err.location().to_string(), "monitors/chan_9");
    assert!(err.to_string().starts_with("value monitors/chan_9: store error: "), "{err}");
    assert!(err.to_string().contains("chan_9"), "{err}");
}

#[test]
fn a_value_of_another_kind_is_refused_naming_the_file_and_both_kinds() {
    let f = fixture();
    // A serde value where a monitor is expected.
    let err = read_record(&f.store, NS, "", KEY, ValueKind::ChannelMonitor).expect_err("wrong kind");
    assert_eq!(err.location(), &ValueLocation::new(NS, "", KEY));
    assert!(matches!(
        err.format_error(),
        Some(FormatError::WrongKind { expected: ValueKind::ChannelMonitor, found: ValueKind::Serde })
    ));
    assert_eq!(
        err.to_string(),
        "value monitors/chan_0: holds a serde value where a channel monitor was expected"
    );
    // A network graph where a serde value is expected.
    write_record(&f.store, NS, "", KEY, ValueKind::NetworkGraph, b"graph bytes").expect("write");
    let err = read_value::<_, Monitor>(&f.store, NS, "", KEY).expect_err("wrong kind");
    assert!(matches!(
        err.format_error(),
        Some(FormatError::WrongKind { expected: ValueKind::Serde, found: ValueKind::NetworkGraph })
    ));
    assert_eq!(
        err.to_string(),
        "value monitors/chan_0: holds a network graph where a serde value was expected"
    );
}

/// The bytes the earlier code (format version 1) wrote: the header, then the
/// body alone.
fn version_1_file(payload: &[u8]) -> Vec<u8> {
    let mut bytes = b"LNKV".to_vec();
    bytes.push(1);
    bytes.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    let mut crc = crc32fast::Hasher::new();
    crc.update(&bytes);
    crc.update(payload);
    bytes.extend_from_slice(&crc.finalize().to_be_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

#[test]
fn files_of_format_version_1_still_read() {
    let f = fixture();
    let payload = bincode::serde::encode_to_vec(monitor(), bincode::config::standard()).expect("encodes");
    fs::write(&f.path, version_1_file(&payload)).expect("write");
    assert_eq!(read_value::<_, Monitor>(&f.store, NS, "", KEY).expect("read"), monitor());
    fs::write(&f.path, version_1_file(b"writeable bytes")).expect("write");
    assert_eq!(
        read_record(&f.store, NS, "", KEY, ValueKind::ChannelMonitor).expect("read"),
        b"writeable bytes"
    );
    // And they are checked as before.
    let mut damaged = version_1_file(&payload);
    damaged[ENVELOPE_HEADER_LEN + 3] ^= 1;
    assert!(matches!(read_damaged(&f, &damaged), FormatError::ChecksumMismatch { .. }));
    let whole = version_1_file(&payload);
    assert!(matches!(read_damaged(&f, &whole[..whole.len() - 1]), FormatError::Truncated { .. }));
    // Rewritten, a value takes the current format.
    write_value(&f.store, NS, "", KEY, &monitor()).expect("write");
    assert_eq!(fs::read(&f.path).expect("stored")[4], 2);
}

#[test]
fn raw_payloads_share_the_envelope_and_its_checks() {
    let f = fixture();
    let kind = ValueKind::ChannelMonitorUpdate;
    write_record(&f.store, "monitor_updates", "chan_0", "43", kind, b"writeable bytes").expect("write");
    assert_eq!(
        read_record(&f.store, "monitor_updates", "chan_0", "43", kind).expect("read"),
        b"writeable bytes"
    );
    let path = f.store.key_path("monitor_updates", "chan_0", "43").expect("path");
    let mut bytes = fs::read(&path).expect("file");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x20;
    fs::write(&path, &bytes).expect("damage");
    let err = read_record(&f.store, "monitor_updates", "chan_0", "43", kind).expect_err("damage detected");
    assert!(matches!(err.format_error(), Some(FormatError::ChecksumMismatch { .. })));
    assert!(err.to_string().starts_with("value monitor_updates/chan_0/43: checksum mismatch"), "{err}");
    // The damaged value is still listed (it is a key) and can be overwritten.
    assert_eq!(f.store.list("monitor_updates", "chan_0").expect("list"), vec!["43"]);
    write_record(&f.store, "monitor_updates", "chan_0", "43", kind, b"fixed").expect("overwrite");
    assert_eq!(read_record(&f.store, "monitor_updates", "chan_0", "43", kind).expect("read"), b"fixed");
}
