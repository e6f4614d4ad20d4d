//! The on-disk envelope of every stored value, and the serde helpers around it.
//!
//! # Envelope, format version 1
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic, the bytes `LNKV` ([`ENVELOPE_MAGIC`]) |
//! | 4 | 1 | format version, `1` ([`FORMAT_VERSION`]) |
//! | 5 | 4 | payload length `n`, big-endian `u32` |
//! | 9 | 4 | CRC-32 (IEEE, as zlib) of bytes 0..9 followed by the payload, big-endian |
//! | 13 | n | payload |
//!
//! A value is accepted only if the magic matches, the version is one this code
//! knows, the file is exactly `13 + n` bytes long and the checksum matches; each
//! failure is its own [`FormatError`], wrapped with the key in a [`CodecError`] by
//! the store helpers. The checksum is there to catch a disk or a hand that
//! altered a file; torn writes are prevented by the store itself.
//!
//! # Payloads
//!
//! [`write_value`] / [`read_value`] carry any `serde` type, encoded with `bincode`
//! 2.x in its standard configuration (little-endian, variable-length integers).
//! That configuration is part of format version 1: changing it needs a new
//! version. Types with a hand-written encoding (the core's `Writeable` ones, such
//! as channel monitors) go through [`write_payload`] / [`read_payload`], which put
//! their bytes in the same envelope; [`encode_writeable`] / [`write_writeable`]
//! encode such a value straight into the envelope, without a copy.

use core::fmt;

use lightning_core::io;
use lightning_core::util::persist::KVStore;
use lightning_core::util::ser::Writeable;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The first four bytes of every stored value.
pub const ENVELOPE_MAGIC: [u8; 4] = *b"LNKV";

/// The envelope format this code writes, and the only one it reads.
pub const FORMAT_VERSION: u8 = 1;

/// Length of the version 1 header: magic, version, payload length, checksum.
pub const ENVELOPE_HEADER_LEN: usize = 13;

/// The largest payload an envelope can hold (its length field is a `u32`).
pub const MAX_PAYLOAD_LEN: usize = u32::MAX as usize;

/// Bound on the memory `bincode` may claim while decoding one value (1 GiB), so a
/// corrupt length inside a payload cannot make it allocate without limit.
const DECODE_ALLOCATION_LIMIT: usize = 1 << 30;

fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<DECODE_ALLOCATION_LIMIT>()
}

/// Decodes a bincode payload with a memory limit in proportion to its length:
/// the next power of 16 at or above 16 times the length (at least 4 KiB, at
/// most [`DECODE_ALLOCATION_LIMIT`]).
///
/// bincode counts against its limit the in-memory size of every primitive it
/// decodes (at most 16 bytes, a `u128`, per payload byte) and the full length of
/// every string or byte buffer, which it allocates before reading it. A valid
/// payload therefore never claims more than 16 times its length; a corrupt
/// one announcing a long string is refused with `LimitExceeded` before the
/// allocation. With the fixed 1 GiB limit alone, a 20-byte payload announcing a
/// 1 GiB string made bincode allocate 1 GiB before finding the payload short
/// (found by the `kv_codec` fuzz target).
fn decode_payload<T: DeserializeOwned>(payload: &[u8]) -> Result<(T, usize), bincode::error::DecodeError> {
    fn with_limit<T: DeserializeOwned, const LIMIT: usize>(
        payload: &[u8],
    ) -> Result<(T, usize), bincode::error::DecodeError> {
        bincode::serde::decode_from_slice(payload, bincode::config::standard().with_limit::<LIMIT>())
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
    /// The payload is too large for an envelope.
    PayloadTooLarge {
        /// Its length.
        len: usize,
    },
    /// The value could not be encoded.
    Encode(bincode::error::EncodeError),
    /// A core `Writeable` value refused to serialize itself (a channel
    /// monitor whose initial steps were refused, for example).
    Serialize(io::Error),
    /// The payload is not an encoding of the requested type.
    Decode(bincode::error::DecodeError),
    /// The payload decoded as the requested type without using all its bytes, so
    /// it holds some other type.
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
            FormatError::UnknownVersion { version } => {
                write!(f, "unknown format version {version} (this code reads version {FORMAT_VERSION})")
            }
            FormatError::TrailingBytes { expected_len, actual_len } => {
                write!(f, "{actual_len} bytes where the header announces {expected_len}")
            }
            FormatError::ChecksumMismatch { stored, computed } => {
                write!(f, "checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")
            }
            FormatError::PayloadTooLarge { len } => {
                write!(f, "payload of {len} bytes exceeds the envelope's limit of {MAX_PAYLOAD_LEN}")
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

/// A failure of [`write_value`], [`read_value`], [`write_payload`] or
/// [`read_payload`], naming the value it concerns.
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

/// Fills in the header of `buf`, which holds [`ENVELOPE_HEADER_LEN`] placeholder
/// bytes followed by the payload.
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

/// Wraps `payload` in a version 1 envelope.
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

/// Serializes a core `Writeable` (a channel monitor, a monitor update, the
/// channel manager...) straight into a version 1 envelope.
pub fn encode_writeable<T: Writeable + ?Sized>(value: &T) -> Result<Vec<u8>, FormatError> {
    // Growing the buffer costs less than `serialized_length`, which would
    // serialize the value twice.
    let mut buf = Vec::with_capacity(1024);
    buf.extend_from_slice(&[0u8; ENVELOPE_HEADER_LEN]);
    value.write(&mut buf).map_err(FormatError::Serialize)?;
    finish_envelope(&mut buf)?;
    Ok(buf)
}

/// Checks an envelope and returns its payload.
pub fn decode_envelope(bytes: &[u8]) -> Result<&[u8], FormatError> {
    let truncated = |needed_len| FormatError::Truncated { needed_len, actual_len: bytes.len() };
    let magic: [u8; 4] = match bytes.get(0..4).and_then(|m| m.try_into().ok()) {
        Some(magic) => magic,
        None => return Err(truncated(ENVELOPE_HEADER_LEN)),
    };
    if magic != ENVELOPE_MAGIC {
        return Err(FormatError::BadMagic { found: magic });
    }
    let version = *bytes.get(4).ok_or_else(|| truncated(ENVELOPE_HEADER_LEN))?;
    if version != FORMAT_VERSION {
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
    Ok(payload)
}

/// Encodes `value` with bincode inside a version 1 envelope.
pub fn encode_value<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, FormatError> {
    let mut buf = vec![0u8; ENVELOPE_HEADER_LEN];
    bincode::serde::encode_into_std_write(value, &mut buf, bincode_config()).map_err(FormatError::Encode)?;
    finish_envelope(&mut buf)?;
    Ok(buf)
}

/// Checks an envelope and decodes the value in it, which must use every payload
/// byte.
///
/// Memory is bounded by the payload's length (see `decode_payload`), but
/// recursion depth is not: bincode has no nesting limit, so for a recursive type
/// (an enum holding a `Box` of itself, say) a corrupt value can nest deep enough
/// to overflow the stack, which aborts the process. Store only types whose
/// nesting is bounded by their definition.
pub fn decode_value<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, FormatError> {
    let payload = decode_envelope(bytes)?;
    let (value, consumed) = decode_payload::<T>(payload).map_err(FormatError::Decode)?;
    if consumed != payload.len() {
        return Err(FormatError::PayloadNotConsumed { consumed, payload_len: payload.len() });
    }
    Ok(value)
}

/// Encodes `value` and writes it to `key` of `store`.
pub fn write_value<K: KVStore + ?Sized, T: Serialize + ?Sized>(
    store: &K, primary_namespace: &str, secondary_namespace: &str, key: &str, value: &T,
) -> Result<(), CodecError> {
    let location = || ValueLocation::new(primary_namespace, secondary_namespace, key);
    let bytes = encode_value(value).map_err(|error| CodecError::Format { location: location(), error })?;
    store
        .write(primary_namespace, secondary_namespace, key, &bytes)
        .map_err(|error| CodecError::Store { location: location(), error })
}

/// Reads `key` of `store` and decodes the value in it (with the limits of
/// [`decode_value`]).
pub fn read_value<K: KVStore + ?Sized, T: DeserializeOwned>(
    store: &K, primary_namespace: &str, secondary_namespace: &str, key: &str,
) -> Result<T, CodecError> {
    let location = || ValueLocation::new(primary_namespace, secondary_namespace, key);
    let bytes = store
        .read(primary_namespace, secondary_namespace, key)
        .map_err(|error| CodecError::Store { location: location(), error })?;
    decode_value(&bytes).map_err(|error| CodecError::Format { location: location(), error })
}

/// Writes already-encoded bytes (a `Writeable`'s encoding, say) to `key` of
/// `store`, inside an envelope.
pub fn write_payload<K: KVStore + ?Sized>(
    store: &K, primary_namespace: &str, secondary_namespace: &str, key: &str, payload: &[u8],
) -> Result<(), CodecError> {
    let location = || ValueLocation::new(primary_namespace, secondary_namespace, key);
    let bytes =
        encode_envelope(payload).map_err(|error| CodecError::Format { location: location(), error })?;
    store
        .write(primary_namespace, secondary_namespace, key, &bytes)
        .map_err(|error| CodecError::Store { location: location(), error })
}

/// Serializes a core `Writeable` into an envelope and writes it to `key` of
/// `store`.
pub fn write_writeable<K: KVStore + ?Sized, T: Writeable + ?Sized>(
    store: &K, primary_namespace: &str, secondary_namespace: &str, key: &str, value: &T,
) -> Result<(), CodecError> {
    let location = || ValueLocation::new(primary_namespace, secondary_namespace, key);
    let bytes =
        encode_writeable(value).map_err(|error| CodecError::Format { location: location(), error })?;
    store
        .write(primary_namespace, secondary_namespace, key, &bytes)
        .map_err(|error| CodecError::Store { location: location(), error })
}

/// Reads `key` of `store`, checks its envelope and returns the payload bytes.
pub fn read_payload<K: KVStore + ?Sized>(
    store: &K, primary_namespace: &str, secondary_namespace: &str, key: &str,
) -> Result<Vec<u8>, CodecError> {
    let location = || ValueLocation::new(primary_namespace, secondary_namespace, key);
    let mut bytes = store
        .read(primary_namespace, secondary_namespace, key)
        .map_err(|error| CodecError::Store { location: location(), error })?;
    decode_envelope(&bytes).map_err(|error| CodecError::Format { location: location(), error })?;
    bytes.drain(..ENVELOPE_HEADER_LEN);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        name: String,
        amount_msat: u64,
        tags: Vec<u16>,
    }

    fn sample() -> Sample {
        Sample { name: "chan".into(), amount_msat: 1_000_000, tags: vec![1, 2, 300] }
    }

    #[test]
    fn envelope_layout_is_as_documented() {
        let bytes = encode_envelope(b"hello").expect("small payload");
        assert_eq!(&bytes[0..4], b"LNKV");
        assert_eq!(bytes[4], 1);
        assert_eq!(&bytes[5..9], &[0, 0, 0, 5]);
        let mut crc = crc32fast::Hasher::new();
        crc.update(&bytes[0..9]);
        crc.update(b"hello");
        assert_eq!(&bytes[9..13], &crc.finalize().to_be_bytes());
        assert_eq!(&bytes[13..], b"hello");
        assert_eq!(decode_envelope(&bytes).expect("valid"), b"hello");
    }

    /// Found by the `kv_codec` fuzz target: a few bytes announcing a string of
    /// about 1 GiB made bincode allocate it in full before it found the
    /// payload too short.
    #[test]
    fn a_huge_announced_string_is_refused_before_it_is_allocated() {
        // bincode varint 0xfc: a u64 length follows, here 0x3f3f3f3f (~1 GiB).
        let mut payload = vec![0xfc, 0x3f, 0x3f, 0x3f, 0x3f, 0, 0, 0, 0];
        payload.extend_from_slice(b"short");
        let bytes = encode_envelope(&payload).expect("small payload");
        match decode_value::<String>(&bytes) {
            Err(FormatError::Decode(bincode::error::DecodeError::LimitExceeded)) => {}
            other => panic!("expected LimitExceeded before any allocation, got {other:?}"),
        }
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
        // CRC-32/ISO-HDLC of "LNKV" 01 00000000 is 0x4303d7bb (zlib.crc32).
        assert_eq!(
            encode_envelope(b"").expect("empty payload"),
            [b'L', b'N', b'K', b'V', 1, 0, 0, 0, 0, 0x43, 0x03, 0xd7, 0xbb]
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
                    4 => matches!(err, FormatError::UnknownVersion { version } if version == 1 ^ (1 << bit)),
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
        // A Vec<u8> whose varint length claims u64::MAX bytes, in an envelope
        // with a correct checksum (as a hand-crafted file would have).
        let payload = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        let bytes = encode_envelope(&payload).expect("envelope");
        assert!(matches!(decode_value::<Vec<u8>>(&bytes), Err(FormatError::Decode(_))));
    }

    #[test]
    fn writeables_are_enveloped_like_payloads() {
        struct Bytes(Vec<u8>);
        impl Writeable for Bytes {
            fn write<W: lightning_core::io::Write>(&self, w: &mut W) -> Result<(), io::Error> {
                w.write_all(&self.0)
            }
        }
        struct Refuses;
        impl Writeable for Refuses {
            fn write<W: lightning_core::io::Write>(&self, _: &mut W) -> Result<(), io::Error> {
                Err(io::Error::new(io::ErrorKind::InvalidData, "refused"))
            }
        }
        let payload: Vec<u8> = (0..=255).collect();
        let enveloped = encode_writeable(&Bytes(payload.clone())).expect("encodes");
        assert_eq!(enveloped, encode_envelope(&payload).expect("envelope"));
        assert!(matches!(encode_writeable(&Refuses), Err(FormatError::Serialize(_))));
    }

    #[test]
    fn locations_display_as_relative_paths() {
        assert_eq!(ValueLocation::new("", "", "manager").to_string(), "manager");
        assert_eq!(ValueLocation::new("monitors", "", "abc").to_string(), "monitors/abc");
        assert_eq!(ValueLocation::new("monitor_updates", "abc", "7").to_string(), "monitor_updates/abc/7");
    }
}
