//! The on-disk envelope of every stored value, and the serde record inside it.
//!
//! # Envelope, format version 2 (written)
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic, the bytes `LNKV` ([`ENVELOPE_MAGIC`]) |
//! | 4 | 1 | format version, `2` ([`FORMAT_VERSION`]) |
//! | 5 | 4 | payload length `n`, big-endian `u32` |
//! | 9 | 4 | CRC-32 (IEEE, as zlib) of bytes 0..9 followed by the payload, big-endian |
//! | 13 | n | payload: one record, `bincode` 2 (standard configuration, serde) |
//!
//! The record is the serde struct `StoredRecord { kind: ValueKind, body: bytes }`,
//! its body encoded with `serde_bytes` (one length, then the raw bytes, read
//! back without a copy). In bincode's standard configuration (little-endian,
//! variable-length integers) it is:
//!
//! | field | encoding |
//! |---|---|
//! | `kind` | the [`ValueKind`]'s variant index as a varint: one byte, `0` to `5` (see [`ValueKind`]) |
//! | body length `m` | varint `u64`: below 251 one byte; up to `u16::MAX` `0xfb` then 2 bytes little-endian; up to `u32::MAX` `0xfc` then 4; above, `0xfd` then 8 |
//! | `body` | `m` bytes: the core's `Writeable` encoding for the core's types (monitor, update, manager, graph, scorer, each versioned by the core); the bincode encoding of the value for [`ValueKind::Serde`] |
//!
//! The record must use every payload byte. Reading names the kind it expects:
//! a record of another kind (a network graph under a monitor's key, say) is
//! [`FormatError::WrongKind`], naming both, before its body is decoded.
//!
//! # Envelope, format version 1 (read only)
//!
//! The same 13-byte header with version `1`; the payload is the body alone
//! (no record, so no kind to check): a core `Writeable` encoding, or the
//! bincode encoding of a serde value. Stores written by earlier versions of
//! this crate keep reading; every write is version 2.
//!
//! # Checks
//!
//! A value is accepted only if the magic matches, the version is one this code
//! knows, the file is exactly `13 + n` bytes long, the checksum matches and (in
//! version 2) the record decodes, uses every byte and has the expected kind;
//! each failure is its own [`FormatError`], wrapped with the key in a
//! [`CodecError`] by the store helpers. The checksum is there to catch a disk
//! or a hand that altered a file; torn writes are prevented by the store
//! itself. The bincode configuration is part of the format: changing it needs
//! a new version.
//!
//! # API
//!
//! - serde values: [`write_value`] / [`read_value`] (kind [`ValueKind::Serde`]);
//! - the core's `Writeable` types: [`write_writeable`] (encoded straight into
//!   the envelope) / [`read_record`] (returns the body to decode), each with
//!   the value's [`ValueKind`]; [`write_record`] stores an already-encoded body;
//! - without a store: [`encode_value`], [`decode_value`],
//!   [`encode_writeable`], [`encode_record`], [`decode_record`], and the bare
//!   envelope ([`encode_envelope`], [`decode_envelope`]).

use core::fmt;

use lightning_core::io;
use lightning_core::util::persist::KVStore;
use lightning_core::util::ser::Writeable;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The first four bytes of every stored value.
pub const ENVELOPE_MAGIC: [u8; 4] = *b"LNKV";

/// The envelope format this code writes: the payload is a record with a
/// [`ValueKind`].
pub const FORMAT_VERSION: u8 = 2;

/// The earlier envelope format, still read: the payload is the bare body.
pub const LEGACY_FORMAT_VERSION: u8 = 1;

/// Length of the envelope header: magic, version, payload length, checksum.
pub const ENVELOPE_HEADER_LEN: usize = 13;

/// The largest payload an envelope can hold (its length field is a `u32`).
pub const MAX_PAYLOAD_LEN: usize = u32::MAX as usize;

/// Bound on the memory `bincode` may claim while decoding one value (1 GiB), so a
/// corrupt length inside a payload cannot make it allocate without limit.
const DECODE_ALLOCATION_LIMIT: usize = 1 << 30;

/// The largest record body this code writes: the largest a reader accepts
/// (bincode counts a borrowed body against the 1 GiB decoding limit), less a
/// margin for the record prefix. A larger body is refused when written, not
/// when read back.
pub const MAX_BODY_LEN: usize = DECODE_ALLOCATION_LIMIT - 64;

/// The longest record prefix (kind and body length) in front of a body: a
/// `u32` varint (5 bytes) and a `u64` varint (9 bytes).
const MAX_RECORD_PREFIX_LEN: usize = 14;

fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<DECODE_ALLOCATION_LIMIT>()
}

/// What a stored value is. Written in every version 2 record and checked on
/// reading, so a value stored under the wrong key is refused by name.
///
/// On disk a kind is its variant index (in brackets below); new kinds are
/// only ever appended. An index this code does not know is a
/// [`FormatError::Decode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ValueKind {
    /// \[0\] A serde value of [`write_value`], its body the value's bincode
    /// encoding.
    Serde,
    /// \[1\] A full `ChannelMonitor` (`monitors/NAME`).
    ChannelMonitor,
    /// \[2\] One `ChannelMonitorUpdate` (`monitor_updates/NAME/ID`).
    ChannelMonitorUpdate,
    /// \[3\] The `ChannelManager` (`manager`).
    ChannelManager,
    /// \[4\] The `NetworkGraph` (`network_graph`).
    NetworkGraph,
    /// \[5\] The scorer (`scorer`).
    Scorer,
}

impl ValueKind {
    /// Every kind, in the order of their on-disk indexes.
    pub const ALL: [ValueKind; 6] = [
        ValueKind::Serde,
        ValueKind::ChannelMonitor,
        ValueKind::ChannelMonitorUpdate,
        ValueKind::ChannelManager,
        ValueKind::NetworkGraph,
        ValueKind::Scorer,
    ];

    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            ValueKind::Serde => "serde value",
            ValueKind::ChannelMonitor => "channel monitor",
            ValueKind::ChannelMonitorUpdate => "channel monitor update",
            ValueKind::ChannelManager => "channel manager",
            ValueKind::NetworkGraph => "network graph",
            ValueKind::Scorer => "scorer",
        }
    }
}

impl fmt::Display for ValueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The payload of a version 2 envelope. `body` is encoded as one length and
/// the raw bytes, and decoded borrowed from the payload.
#[derive(Serialize, Deserialize)]
struct StoredRecord<'a> {
    kind: ValueKind,
    #[serde(borrow, with = "serde_bytes")]
    body: &'a [u8],
}

/// Decodes a bincode payload with a memory limit in proportion to its length:
/// the next power of 16 at or above 16 times the length (at least 4 KiB, at
/// most [`DECODE_ALLOCATION_LIMIT`]). Used for the record and for the body of
/// a serde value.
///
/// bincode counts against its limit the in-memory size of every primitive it
/// decodes (at most 16 bytes, a `u128`, per payload byte) and the full length of
/// every string or byte buffer, which it allocates before reading it. A valid
/// payload therefore never claims more than 16 times its length; a corrupt
/// one announcing a long string is refused with `LimitExceeded` before the
/// allocation. With the fixed 1 GiB limit alone, a 20-byte payload announcing a
/// 1 GiB string made bincode allocate 1 GiB before finding the payload short
/// (found by the `kv_codec` fuzz target).
fn decode_payload<'de, T: Deserialize<'de>>(
    payload: &'de [u8],
) -> Result<(T, usize), bincode::error::DecodeError> {
    fn with_limit<'de, T: Deserialize<'de>, const LIMIT: usize>(
        payload: &'de [u8],
    ) -> Result<(T, usize), bincode::error::DecodeError> {
        bincode::serde::borrow_decode_from_slice(payload, bincode::config::standard().with_limit::<LIMIT>())
    }
    match payload.len().saturating_mul(16) {
        n if n <= 1 << 12 => with_limit::<T, { 1 << 12 }>(payload),
        n if n <= 1 << 16 => with_limit::<T, { 1 << 16 }>(payload),
        n if n <= 1 << 20 => with_limit::<T, { 1 << 20 }>(payload),
        n if n <= 1 << 24 => with_limit::<T, { 1 << 24 }>(payload),
        n if n <= 1 << 28 => with_limit::<T, { 1 << 28 }>(payload),
        _ => with_limit::<T, DECODE_ALLOCATION_LIMIT>(payload),
    }
}

/// Decodes all of `payload` as a `T`.
fn decode_all<'de, T: Deserialize<'de>>(payload: &'de [u8]) -> Result<T, FormatError> {
    let (value, consumed) = decode_payload::<T>(payload).map_err(FormatError::Decode)?;
    if consumed != payload.len() {
        return Err(FormatError::PayloadNotConsumed { consumed, payload_len: payload.len() });
    }
    Ok(value)
}

/// Where a value lives in a [`KVStore`]. Displayed as the non-empty parts joined
/// with `/`, which is also the value's file path relative to a `FilesystemStore`'s
/// data directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueLocation {
    /// The primary namespace.
    pub primary_namespace: String,
    /// The secondary namespace.
    pub secondary_namespace: String,
    /// The key.
    pub key: String,
}

impl ValueLocation {
    /// The location of `key` in the given namespaces.
    pub fn new(primary_namespace: &str, secondary_namespace: &str, key: &str) -> Self {
        ValueLocation {
            primary_namespace: primary_namespace.to_owned(),
            secondary_namespace: secondary_namespace.to_owned(),
            key: key.to_owned(),
        }
    }
}

impl fmt::Display for ValueLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in [&self.primary_namespace, &self.secondary_namespace] {
            if !part.is_empty() {
                write!(f, "{part}/")?;
            }
        }
        f.write_str(&self.key)
    }
}

/// Why bytes are not a valid envelope, or a payload not a valid value.
#[derive(Debug)]
pub enum FormatError {
    /// The bytes end before the header, or before the payload the header
    /// announces.
    Truncated {
        /// The length the bytes should have had at least.
        needed_len: usize,
        /// Their actual length.
        actual_len: usize,
    },
    /// The bytes do not start with [`ENVELOPE_MAGIC`]: not a value of this store.
    BadMagic {
        /// The first four bytes found.
        found: [u8; 4],
    },
    /// The format version is not one this code knows (written by a newer
    /// version of the library, or corrupt).
    UnknownVersion {
        /// The version byte found.
        version: u8,
    },
    /// The bytes go on past the payload the header announces.
    TrailingBytes {
        /// The length the header implies.
        expected_len: usize,
        /// The actual length.
        actual_len: usize,
    },
    /// The checksum does not match the contents: the value was altered.
    ChecksumMismatch {
        /// The checksum stored in the header.
        stored: u32,
        /// The checksum of the bytes found.
        computed: u32,
    },
    /// The payload is too large for an envelope, or a record body larger
    /// than a reader accepts ([`MAX_BODY_LEN`]).
    PayloadTooLarge {
        /// Its length.
        len: usize,
    },
    /// The intact record holds a value of another kind than the one the
    /// reader asked for (a network graph under a monitor's key, say).
    WrongKind {
        /// The kind the reader asked for.
        expected: ValueKind,
        /// The kind the record holds.
        found: ValueKind,
    },
    /// The value could not be encoded.
    Encode(bincode::error::EncodeError),
    /// A core `Writeable` value refused to serialize itself (a channel
    /// monitor whose initial steps were refused, for example).
    Serialize(io::Error),
    /// The payload is not a record, or the body not an encoding of the
    /// requested type.
    Decode(bincode::error::DecodeError),
    /// The record, or a serde value's body, decoded without using all its
    /// bytes, so it holds something else.
    PayloadNotConsumed {
        /// Bytes the decoded value used.
        consumed: usize,
        /// Bytes in the payload.
        payload_len: usize,
    },
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::Truncated { needed_len, actual_len } => {
                write!(f, "truncated: {actual_len} bytes where at least {needed_len} are needed")
            }
            FormatError::BadMagic { found } => {
                write!(f, "not a stored value: starts with {found:02x?} instead of {ENVELOPE_MAGIC:02x?}")
            }
            FormatError::UnknownVersion { version } => write!(
                f,
                "unknown format version {version} (this code reads versions {LEGACY_FORMAT_VERSION} and {FORMAT_VERSION})"
            ),
            FormatError::TrailingBytes { expected_len, actual_len } => {
                write!(f, "{actual_len} bytes where the header announces {expected_len}")
            }
            FormatError::ChecksumMismatch { stored, computed } => {
                write!(f, "checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")
            }
            FormatError::PayloadTooLarge { len } => {
                write!(f, "{len} bytes is more than a stored value may hold ({MAX_BODY_LEN} for a record body)")
            }
            FormatError::WrongKind { expected, found } => {
                write!(f, "holds a {found} where a {expected} was expected")
            }
            FormatError::Encode(e) => write!(f, "cannot encode value: {e}"),
            FormatError::Serialize(e) => write!(f, "cannot serialize value: {e}"),
            FormatError::Decode(e) => write!(f, "cannot decode value: {e}"),
            FormatError::PayloadNotConsumed { consumed, payload_len } => write!(
                f,
                "value decoded from {consumed} of the payload's {payload_len} bytes: not the expected type"
            ),
        }
    }
}

impl std::error::Error for FormatError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FormatError::Encode(e) => Some(e),
            FormatError::Serialize(e) => Some(e),
            FormatError::Decode(e) => Some(e),
            _ => None,
        }
    }
}

/// A failure of the store helpers ([`write_value`], [`read_value`],
/// [`write_writeable`], [`write_record`], [`read_record`]), naming the value it
/// concerns.
#[derive(Debug)]
pub enum CodecError {
    /// The store failed (including [`io::ErrorKind::NotFound`] for a missing key).
    Store {
        /// The value concerned.
        location: ValueLocation,
        /// The store's error.
        error: io::Error,
    },
    /// The stored bytes are not a valid value, or the value cannot be encoded.
    Format {
        /// The value concerned.
        location: ValueLocation,
        /// What is wrong.
        error: FormatError,
    },
}

impl CodecError {
    /// The value the error concerns.
    pub fn location(&self) -> &ValueLocation {
        match self {
            CodecError::Store { location, .. } | CodecError::Format { location, .. } => location,
        }
    }

    /// Whether the error only says that the key holds no value.
    pub fn is_not_found(&self) -> bool {
        matches!(self, CodecError::Store { error, .. } if error.kind() == io::ErrorKind::NotFound)
    }

    /// The format error, if the stored bytes (rather than the store) are at fault.
    pub fn format_error(&self) -> Option<&FormatError> {
        match self {
            CodecError::Format { error, .. } => Some(error),
            CodecError::Store { .. } => None,
        }
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::Store { location, error } => write!(f, "value {location}: store error: {error}"),
            CodecError::Format { location, error } => write!(f, "value {location}: {error}"),
        }
    }
}

impl std::error::Error for CodecError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CodecError::Store { error, .. } => Some(error),
            CodecError::Format { error, .. } => Some(error),
        }
    }
}

fn checksum(header_prefix: &[u8], payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(header_prefix);
    hasher.update(payload);
    hasher.finalize()
}

/// Fills in the version 2 header of `buf`, which holds
/// [`ENVELOPE_HEADER_LEN`] placeholder bytes followed by the payload.
fn finish_envelope(buf: &mut [u8]) -> Result<(), FormatError> {
    let payload_len = buf.len() - ENVELOPE_HEADER_LEN;
    let len_field =
        u32::try_from(payload_len).map_err(|_| FormatError::PayloadTooLarge { len: payload_len })?;
    let (header, payload) = buf.split_at_mut(ENVELOPE_HEADER_LEN);
    header[0..4].copy_from_slice(&ENVELOPE_MAGIC);
    header[4] = FORMAT_VERSION;
    header[5..9].copy_from_slice(&len_field.to_be_bytes());
    let crc = checksum(&header[0..9], payload);
    header[9..13].copy_from_slice(&crc.to_be_bytes());
    Ok(())
}

/// The bytes of a record in front of a body of `body_len` bytes (its kind and
/// the body's length), exactly as bincode encodes them for [`StoredRecord`].
fn record_prefix(
    kind: ValueKind, body_len: usize,
) -> Result<([u8; MAX_RECORD_PREFIX_LEN], usize), FormatError> {
    let mut prefix = [0u8; MAX_RECORD_PREFIX_LEN];
    // serde_bytes serializes a body as bincode does a `[u8]`: its length as a
    // `u64`, then the bytes.
    let len = bincode::serde::encode_into_slice((kind, body_len as u64), &mut prefix, bincode_config())
        .map_err(FormatError::Encode)?;
    Ok((prefix, len))
}

/// Builds a version 2 envelope around a record of `kind` whose body
/// `write_body` appends to the buffer it is given, then moves the body next to
/// the record prefix (the one copy; the body's length is known only once it
/// is written, and its varint prefix varies in length).
fn encode_record_with(
    kind: ValueKind, capacity: usize, write_body: impl FnOnce(&mut Vec<u8>) -> Result<(), FormatError>,
) -> Result<Vec<u8>, FormatError> {
    let body_start = ENVELOPE_HEADER_LEN + MAX_RECORD_PREFIX_LEN;
    let mut buf = Vec::with_capacity(body_start.saturating_add(capacity));
    buf.resize(body_start, 0);
    write_body(&mut buf)?;
    let body_len = buf.len() - body_start;
    if body_len > MAX_BODY_LEN {
        return Err(FormatError::PayloadTooLarge { len: body_len });
    }
    let (prefix, prefix_len) = record_prefix(kind, body_len)?;
    let record_start = ENVELOPE_HEADER_LEN;
    buf[record_start..record_start + prefix_len].copy_from_slice(&prefix[..prefix_len]);
    buf.copy_within(body_start.., record_start + prefix_len);
    buf.truncate(record_start + prefix_len + body_len);
    finish_envelope(&mut buf)?;
    Ok(buf)
}

/// Wraps `payload` in a version 2 envelope as is. A reader expects the payload
/// to be a record: use [`encode_record`] to store a body.
pub fn encode_envelope(payload: &[u8]) -> Result<Vec<u8>, FormatError> {
    if payload.len() > MAX_PAYLOAD_LEN {
        return Err(FormatError::PayloadTooLarge { len: payload.len() });
    }
    let mut buf = Vec::with_capacity(ENVELOPE_HEADER_LEN + payload.len());
    buf.extend_from_slice(&[0u8; ENVELOPE_HEADER_LEN]);
    buf.extend_from_slice(payload);
    finish_envelope(&mut buf)?;
    Ok(buf)
}

/// Checks an envelope (of either version) and returns its version and
/// payload.
pub fn decode_envelope(bytes: &[u8]) -> Result<(u8, &[u8]), FormatError> {
    let truncated = |needed_len| FormatError::Truncated { needed_len, actual_len: bytes.len() };
    let magic: [u8; 4] = match bytes.get(0..4).and_then(|m| m.try_into().ok()) {
        Some(magic) => magic,
        None => return Err(truncated(ENVELOPE_HEADER_LEN)),
    };
    if magic != ENVELOPE_MAGIC {
        return Err(FormatError::BadMagic { found: magic });
    }
    let version = *bytes.get(4).ok_or_else(|| truncated(ENVELOPE_HEADER_LEN))?;
    if version != FORMAT_VERSION && version != LEGACY_FORMAT_VERSION {
        return Err(FormatError::UnknownVersion { version });
    }
    let Some(header) = bytes.get(0..ENVELOPE_HEADER_LEN) else {
        return Err(truncated(ENVELOPE_HEADER_LEN));
    };
    let field = |range: core::ops::Range<usize>| {
        let mut out = [0u8; 4];
        out.copy_from_slice(&header[range]);
        u32::from_be_bytes(out)
    };
    let payload_len = field(5..9) as usize;
    let stored = field(9..13);
    let expected_len = ENVELOPE_HEADER_LEN.saturating_add(payload_len);
    if bytes.len() < expected_len {
        return Err(truncated(expected_len));
    }
    if bytes.len() > expected_len {
        return Err(FormatError::TrailingBytes { expected_len, actual_len: bytes.len() });
    }
    let payload = &bytes[ENVELOPE_HEADER_LEN..];
    let computed = checksum(&header[0..9], payload);
    if computed != stored {
        return Err(FormatError::ChecksumMismatch { stored, computed });
    }
    Ok((version, payload))
}

/// A version 2 envelope holding a record of `kind` with `body` (already
/// encoded: a core `Writeable`'s bytes, say).
pub fn encode_record(kind: ValueKind, body: &[u8]) -> Result<Vec<u8>, FormatError> {
    if body.len() > MAX_BODY_LEN {
        return Err(FormatError::PayloadTooLarge { len: body.len() });
    }
    let (prefix, prefix_len) = record_prefix(kind, body.len())?;
    let mut buf = Vec::with_capacity(ENVELOPE_HEADER_LEN + prefix_len + body.len());
    buf.extend_from_slice(&[0u8; ENVELOPE_HEADER_LEN]);
    buf.extend_from_slice(&prefix[..prefix_len]);
    buf.extend_from_slice(body);
    finish_envelope(&mut buf)?;
    Ok(buf)
}

/// Checks an envelope and returns the body of the value in it, which must be
/// of kind `expected` ([`FormatError::WrongKind`] otherwise). A version 1
/// envelope carries no kind: its whole payload is the body.
pub fn decode_record(bytes: &[u8], expected: ValueKind) -> Result<&[u8], FormatError> {
    let (version, payload) = decode_envelope(bytes)?;
    if version == LEGACY_FORMAT_VERSION {
        return Ok(payload);
    }
    let record: StoredRecord<'_> = decode_all(payload)?;
    if record.kind != expected {
        return Err(FormatError::WrongKind { expected, found: record.kind });
    }
    Ok(record.body)
}

/// Serializes a core `Writeable` (a channel monitor, a monitor update, the
/// channel manager...) straight into a version 2 envelope, as the body of a
/// record of `kind`.
pub fn encode_writeable<T: Writeable + ?Sized>(kind: ValueKind, value: &T) -> Result<Vec<u8>, FormatError> {
    // Growing the buffer costs less than `serialized_length`, which would
    // serialize the value twice.
    encode_record_with(kind, 1024, |buf| value.write(buf).map_err(FormatError::Serialize))
}

/// Encodes `value` with bincode as the body of a [`ValueKind::Serde`] record,
/// in a version 2 envelope.
pub fn encode_value<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, FormatError> {
    encode_record_with(ValueKind::Serde, 64, |buf| {
        bincode::serde::encode_into_std_write(value, buf, bincode_config())
            .map(drop)
            .map_err(FormatError::Encode)
    })
}

/// Checks an envelope and decodes the serde value in it (a
/// [`ValueKind::Serde`] record, or a version 1 payload), which must use every
/// byte of its body.
///
/// Memory is bounded by the payload's length (see `decode_payload`), but
/// recursion depth is not: bincode has no nesting limit, so for a recursive type
/// (an enum holding a `Box` of itself, say) a corrupt value can nest deep enough
/// to overflow the stack, which aborts the process. Store only types whose
/// nesting is bounded by their definition.
pub fn decode_value<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, FormatError> {
    decode_all(decode_record(bytes, ValueKind::Serde)?)
}

/// Writes enveloped `bytes` to `key` of `store`, or reports `encoded`'s error,
/// naming the key either way.
fn store_encoded<K: KVStore + ?Sized>(
    store: &K, primary_namespace: &str, secondary_namespace: &str, key: &str,
    encoded: Result<Vec<u8>, FormatError>,
) -> Result<(), CodecError> {
    let location = || ValueLocation::new(primary_namespace, secondary_namespace, key);
    let bytes = encoded.map_err(|error| CodecError::Format { location: location(), error })?;
    store
        .write(primary_namespace, secondary_namespace, key, &bytes)
        .map_err(|error| CodecError::Store { location: location(), error })
}

/// Reads the bytes stored under `key`, naming the key on failure.
fn load<K: KVStore + ?Sized>(
    store: &K, primary_namespace: &str, secondary_namespace: &str, key: &str,
) -> Result<Vec<u8>, CodecError> {
    store.read(primary_namespace, secondary_namespace, key).map_err(|error| CodecError::Store {
        location: ValueLocation::new(primary_namespace, secondary_namespace, key),
        error,
    })
}

/// Encodes `value` (kind [`ValueKind::Serde`]) and writes it to `key` of
/// `store`.
pub fn write_value<K: KVStore + ?Sized, T: Serialize + ?Sized>(
    store: &K, primary_namespace: &str, secondary_namespace: &str, key: &str, value: &T,
) -> Result<(), CodecError> {
    store_encoded(store, primary_namespace, secondary_namespace, key, encode_value(value))
}

/// Reads `key` of `store` and decodes the serde value in it (with the limits
/// of [`decode_value`]).
pub fn read_value<K: KVStore + ?Sized, T: DeserializeOwned>(
    store: &K, primary_namespace: &str, secondary_namespace: &str, key: &str,
) -> Result<T, CodecError> {
    let bytes = load(store, primary_namespace, secondary_namespace, key)?;
    decode_value(&bytes).map_err(|error| CodecError::Format {
        location: ValueLocation::new(primary_namespace, secondary_namespace, key),
        error,
    })
}

/// Serializes a core `Writeable` as a record of `kind` and writes it to `key`
/// of `store`.
pub fn write_writeable<K: KVStore + ?Sized, T: Writeable + ?Sized>(
    store: &K, primary_namespace: &str, secondary_namespace: &str, key: &str, kind: ValueKind, value: &T,
) -> Result<(), CodecError> {
    store_encoded(store, primary_namespace, secondary_namespace, key, encode_writeable(kind, value))
}

/// Writes an already-encoded `body` as a record of `kind` to `key` of `store`.
pub fn write_record<K: KVStore + ?Sized>(
    store: &K, primary_namespace: &str, secondary_namespace: &str, key: &str, kind: ValueKind, body: &[u8],
) -> Result<(), CodecError> {
    store_encoded(store, primary_namespace, secondary_namespace, key, encode_record(kind, body))
}

/// Reads `key` of `store`, checks its envelope and that it holds a value of
/// `kind` (see [`decode_record`]), and returns the body, for the caller to
/// decode (with the core's `Readable`, say).
pub fn read_record<K: KVStore + ?Sized>(
    store: &K, primary_namespace: &str, secondary_namespace: &str, key: &str, kind: ValueKind,
) -> Result<Vec<u8>, CodecError> {
    let mut bytes = load(store, primary_namespace, secondary_namespace, key)?;
    // The body is the end of the bytes: the record must use every byte.
    let body_len = decode_record(&bytes, kind)
        .map_err(|error| CodecError::Format {
            location: ValueLocation::new(primary_namespace, secondary_namespace, key),
            error,
        })?
        .len();
    bytes.drain(..bytes.len() - body_len);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        name: String,
        amount_msat: u64,
        tags: Vec<u16>,
    }

    fn sample() -> Sample {
        Sample { name: "chan".into(), amount_msat: 1_000_000, tags: vec![1, 2, 300] }
    }

    /// A version 1 envelope, built by hand as the earlier code wrote it.
    fn version_1_envelope(payload: &[u8]) -> Vec<u8> {
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

    struct Bytes(Vec<u8>);
    impl Writeable for Bytes {
        fn write<W: lightning_core::io::Write>(&self, w: &mut W) -> Result<(), io::Error> {
            w.write_all(&self.0)
        }
    }

    #[test]
    fn a_body_no_reader_would_accept_is_refused_when_written() {
        // Lazily zeroed: nothing is touched before the length check.
        let body = vec![0u8; MAX_BODY_LEN + 1];
        assert!(matches!(
            encode_record(ValueKind::ChannelMonitor, &body),
            Err(FormatError::PayloadTooLarge { len }) if len == MAX_BODY_LEN + 1
        ));
    }

    #[test]
    fn envelope_layout_is_as_documented() {
        let bytes = encode_envelope(b"hello").expect("small payload");
        assert_eq!(&bytes[0..4], b"LNKV");
        assert_eq!(bytes[4], 2);
        assert_eq!(&bytes[5..9], &[0, 0, 0, 5]);
        let mut crc = crc32fast::Hasher::new();
        crc.update(&bytes[0..9]);
        crc.update(b"hello");
        assert_eq!(&bytes[9..13], &crc.finalize().to_be_bytes());
        assert_eq!(&bytes[13..], b"hello");
        assert_eq!(decode_envelope(&bytes).expect("valid"), (2, &b"hello"[..]));
    }

    #[test]
    fn record_layout_is_as_documented() {
        for (index, kind) in ValueKind::ALL.into_iter().enumerate() {
            let bytes = encode_record(kind, b"abc").expect("small body");
            assert_eq!(bytes[4], FORMAT_VERSION);
            assert_eq!(&bytes[5..9], &[0, 0, 0, 5]);
            assert_eq!(&bytes[13..], &[index as u8, 3, b'a', b'b', b'c'], "{kind}");
            assert_eq!(decode_record(&bytes, kind).expect("same kind"), b"abc");
        }
        // The body length is a bincode varint: 251 and more take a marker
        // byte and a little-endian integer.
        for (len, prefix) in [
            (250usize, vec![250u8]),
            (251, vec![0xfb, 251, 0]),
            (65_535, vec![0xfb, 0xff, 0xff]),
            (65_536, vec![0xfc, 0, 0, 1, 0]),
        ] {
            let body = vec![7u8; len];
            let bytes = encode_record(ValueKind::Scorer, &body).expect("encodes");
            assert_eq!(bytes[13], 5, "the scorer's index");
            assert_eq!(&bytes[14..14 + prefix.len()], &prefix[..], "length {len}");
            assert_eq!(bytes.len(), 14 + prefix.len() + len);
        }
    }

    #[test]
    fn the_record_is_the_serde_struct_as_bincode_encodes_it() {
        // The hand-built prefix must be exactly what bincode writes for
        // `StoredRecord`, so any serde reader of the format agrees with it.
        for len in [0usize, 1, 250, 251, 252, 65_535, 65_536, 70_000] {
            let body: Vec<u8> = (0..len).map(|i| i as u8).collect();
            for kind in ValueKind::ALL {
                let record = bincode::serde::encode_to_vec(
                    StoredRecord { kind, body: &body },
                    bincode::config::standard(),
                )
                .expect("encodes");
                let expected = encode_envelope(&record).expect("envelope");
                assert_eq!(encode_record(kind, &body).expect("encodes"), expected, "{kind}, {len}");
                assert_eq!(
                    encode_writeable(kind, &Bytes(body.clone())).expect("encodes"),
                    expected,
                    "{kind}, {len}"
                );
            }
        }
        let expected = bincode::serde::encode_to_vec(
            StoredRecord {
                kind: ValueKind::Serde,
                body: &bincode::serde::encode_to_vec(sample(), bincode::config::standard()).expect("encodes"),
            },
            bincode::config::standard(),
        )
        .expect("encodes");
        assert_eq!(encode_value(&sample()).expect("encodes"), encode_envelope(&expected).expect("envelope"));
    }

    #[test]
    fn bodies_are_decoded_without_a_copy() {
        let bytes = encode_record(ValueKind::ChannelMonitor, &[5u8; 300]).expect("encodes");
        let body = decode_record(&bytes, ValueKind::ChannelMonitor).expect("decodes");
        assert_eq!(body, &[5u8; 300][..]);
        // The body is the tail of the stored bytes, not a copy of it.
        assert!(core::ptr::eq(body, &bytes[bytes.len() - 300..]));
    }

    #[test]
    fn a_value_of_another_kind_is_refused_naming_both() {
        let graph = encode_record(ValueKind::NetworkGraph, b"graph").expect("encodes");
        let err = decode_record(&graph, ValueKind::ChannelMonitor).expect_err("wrong kind");
        assert!(
            matches!(
                err,
                FormatError::WrongKind {
                    expected: ValueKind::ChannelMonitor,
                    found: ValueKind::NetworkGraph
                }
            ),
            "{err}"
        );
        assert_eq!(err.to_string(), "holds a network graph where a channel monitor was expected");
        // A serde value is a kind too: neither side reads the other's.
        let value = encode_value(&sample()).expect("encodes");
        assert!(matches!(
            decode_record(&value, ValueKind::ChannelManager),
            Err(FormatError::WrongKind { expected: ValueKind::ChannelManager, found: ValueKind::Serde })
        ));
        assert!(matches!(
            decode_value::<Sample>(&graph),
            Err(FormatError::WrongKind { expected: ValueKind::Serde, found: ValueKind::NetworkGraph })
        ));
    }

    #[test]
    fn malformed_records_are_refused() {
        // A kind index this code does not know (a newer version's).
        let unknown = encode_envelope(&[6, 0]).expect("envelope");
        assert!(matches!(decode_record(&unknown, ValueKind::Serde), Err(FormatError::Decode(_))));
        // A byte after the body.
        let mut record = vec![1, 2, 0xaa, 0xbb];
        let bytes = encode_envelope(&record).expect("envelope");
        assert_eq!(decode_record(&bytes, ValueKind::ChannelMonitor).expect("valid"), [0xaa, 0xbb]);
        record.push(0);
        let bytes = encode_envelope(&record).expect("envelope");
        assert!(matches!(
            decode_record(&bytes, ValueKind::ChannelMonitor),
            Err(FormatError::PayloadNotConsumed { consumed: 4, payload_len: 5 })
        ));
        // A body shorter than its length, and an empty payload.
        let bytes = encode_envelope(&[1, 3, 0xaa]).expect("envelope");
        assert!(matches!(decode_record(&bytes, ValueKind::ChannelMonitor), Err(FormatError::Decode(_))));
        let bytes = encode_envelope(&[]).expect("envelope");
        assert!(matches!(decode_record(&bytes, ValueKind::ChannelMonitor), Err(FormatError::Decode(_))));
    }

    #[test]
    fn version_1_envelopes_still_read() {
        // Exactly the bytes the earlier code wrote for an empty payload.
        assert_eq!(version_1_envelope(b""), [b'L', b'N', b'K', b'V', 1, 0, 0, 0, 0, 0x43, 0x03, 0xd7, 0xbb]);
        // A core value: the payload is the body, whatever kind is asked for.
        let bytes = version_1_envelope(b"writeable bytes");
        assert_eq!(decode_envelope(&bytes).expect("valid"), (1, &b"writeable bytes"[..]));
        for kind in ValueKind::ALL {
            assert_eq!(decode_record(&bytes, kind).expect("no kind to check"), b"writeable bytes");
        }
        // A serde value: the payload is its bincode encoding.
        let payload = bincode::serde::encode_to_vec(sample(), bincode::config::standard()).expect("encodes");
        let bytes = version_1_envelope(&payload);
        assert_eq!(decode_value::<Sample>(&bytes).expect("decodes"), sample());
        // Its checks still apply.
        let mut damaged = bytes.clone();
        damaged[20] ^= 1;
        assert!(matches!(decode_value::<Sample>(&damaged), Err(FormatError::ChecksumMismatch { .. })));
        assert!(matches!(
            decode_value::<u8>(&version_1_envelope(&[1, 2])),
            Err(FormatError::PayloadNotConsumed { consumed: 1, payload_len: 2 })
        ));
    }

    /// Found by the `kv_codec` fuzz target: a few bytes announcing a string of
    /// about 1 GiB made bincode allocate it in full before it found the
    /// payload too short.
    #[test]
    fn a_huge_announced_string_is_refused_before_it_is_allocated() {
        // bincode varint 0xfc: a u64 length follows, here 0x3f3f3f3f (~1 GiB).
        let mut payload = vec![0xfc, 0x3f, 0x3f, 0x3f, 0x3f, 0, 0, 0, 0];
        payload.extend_from_slice(b"short");
        for bytes in
            [encode_record(ValueKind::Serde, &payload).expect("small body"), version_1_envelope(&payload)]
        {
            match decode_value::<String>(&bytes) {
                Err(FormatError::Decode(bincode::error::DecodeError::LimitExceeded)) => {}
                other => panic!("expected LimitExceeded before any allocation, got {other:?}"),
            }
        }
        // The same announced length as a record's body length.
        let mut record = vec![0, 0xfc, 0x3f, 0x3f, 0x3f, 0x3f];
        record.extend_from_slice(b"short");
        let bytes = encode_envelope(&record).expect("small payload");
        assert!(matches!(
            decode_record(&bytes, ValueKind::Serde),
            Err(FormatError::Decode(bincode::error::DecodeError::LimitExceeded))
        ));
        // A string as long as the payload allows still decodes, at every size
        // tier boundary.
        for len in [0usize, 250, 300, 4000, 5000, 70_000, 1 << 20] {
            let value = "x".repeat(len);
            let bytes = encode_value(&value).expect("encodes");
            assert_eq!(decode_value::<String>(&bytes).expect("decodes"), value);
        }
        // The densest payloads: one byte per u128 (16 bytes in memory) or per
        // u64, around the tier boundaries.
        for len in [1usize, 200, 300, 5000, 70_000] {
            let wide = vec![1u128; len];
            assert_eq!(
                decode_value::<Vec<u128>>(&encode_value(&wide).expect("encodes")).expect("decodes"),
                wide
            );
            let narrow = vec![(1u64, true); len];
            let bytes = encode_value(&narrow).expect("encodes");
            assert_eq!(decode_value::<Vec<(u64, bool)>>(&bytes).expect("decodes"), narrow);
        }
    }

    #[test]
    fn known_answer_envelope() {
        // CRC-32/ISO-HDLC of "LNKV" 02 00000000 is 0x04a3ad6b (zlib.crc32).
        assert_eq!(
            encode_envelope(b"").expect("empty payload"),
            [b'L', b'N', b'K', b'V', 2, 0, 0, 0, 0, 0x04, 0xa3, 0xad, 0x6b]
        );
    }

    #[test]
    fn values_round_trip() {
        let bytes = encode_value(&sample()).expect("encodes");
        assert_eq!(decode_value::<Sample>(&bytes).expect("decodes"), sample());
        let bytes = encode_value(&(7u8, String::from("x"))).expect("encodes");
        assert_eq!(decode_value::<(u8, String)>(&bytes).expect("decodes"), (7, "x".into()));
    }

    #[test]
    fn every_flipped_bit_is_caught() {
        let bytes = encode_value(&sample()).expect("encodes");
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut corrupt = bytes.clone();
                corrupt[i] ^= 1 << bit;
                let err = decode_value::<Sample>(&corrupt).expect_err("corruption detected");
                let expected = match i {
                    0..=3 => matches!(err, FormatError::BadMagic { .. }),
                    // No single flipped bit turns 2 into the other known version, 1.
                    4 => matches!(err, FormatError::UnknownVersion { version } if version == 2 ^ (1 << bit)),
                    5..=8 => matches!(err, FormatError::Truncated { .. } | FormatError::TrailingBytes { .. }),
                    _ => matches!(err, FormatError::ChecksumMismatch { .. }),
                };
                assert!(expected, "byte {i} bit {bit}: {err}");
            }
        }
    }

    #[test]
    fn every_truncation_is_caught() {
        let bytes = encode_value(&sample()).expect("encodes");
        for len in 0..bytes.len() {
            let err = decode_value::<Sample>(&bytes[..len]).expect_err("truncation detected");
            let needed = if len < ENVELOPE_HEADER_LEN { ENVELOPE_HEADER_LEN } else { bytes.len() };
            assert!(
                matches!(err, FormatError::Truncated { needed_len, actual_len } if needed_len == needed && actual_len == len),
                "length {len}: {err}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            decode_value::<Sample>(&longer),
            Err(FormatError::TrailingBytes { expected_len, actual_len }) if expected_len == bytes.len() && actual_len == bytes.len() + 1
        ));
    }

    #[test]
    fn wrong_type_is_an_error() {
        let bytes = encode_value(&(1u8, 2u8, 3u8)).expect("encodes");
        assert!(matches!(
            decode_value::<u8>(&bytes),
            Err(FormatError::PayloadNotConsumed { consumed: 1, payload_len: 3 })
        ));
        assert!(matches!(decode_value::<Sample>(&bytes), Err(FormatError::Decode(_))));
    }

    #[test]
    fn a_huge_length_inside_a_valid_envelope_is_refused() {
        // A Vec<u8> whose varint length claims u64::MAX bytes, in a record
        // and an envelope with a correct checksum (as a hand-crafted file
        // would have).
        let body = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        let bytes = encode_record(ValueKind::Serde, &body).expect("envelope");
        assert!(matches!(decode_value::<Vec<u8>>(&bytes), Err(FormatError::Decode(_))));
    }

    #[test]
    fn a_writeable_that_refuses_to_serialize_is_an_error() {
        struct Refuses;
        impl Writeable for Refuses {
            fn write<W: lightning_core::io::Write>(&self, _: &mut W) -> Result<(), io::Error> {
                Err(io::Error::new(io::ErrorKind::InvalidData, "refused"))
            }
        }
        assert!(matches!(
            encode_writeable(ValueKind::ChannelMonitor, &Refuses),
            Err(FormatError::Serialize(_))
        ));
    }

    #[test]
    fn locations_display_as_relative_paths() {
        assert_eq!(ValueLocation::new("", "", "manager").to_string(), "manager");
        assert_eq!(ValueLocation::new("monitors", "", "abc").to_string(), "monitors/abc");
        assert_eq!(ValueLocation::new("monitor_updates", "abc", "7").to_string(), "monitor_updates/abc/7");
    }
}
