//! Failure messages and their return packets (BOLT 4 "Returning Errors" and
//! "Failure Messages").
//!
//! The erring node encodes a [`FailureMessage`], wraps it with
//! [`build_failure_packet`] (HMAC under its `um` key, padding, `ammag`
//! obfuscation); every hop on the way back applies its own `ammag` stream with
//! [`obfuscate_failure_packet`]; the origin peels the layers with
//! [`decode_failure_packet`] and names the hop whose `um` HMAC matches. A packet
//! whose HMAC matches no hop is reported as unattributable, never blamed on a
//! hop by guess.

use crate::io::{self, Read, Write};
use crate::ln::msgs::DecodeError;
use crate::prelude::*;
use crate::util::ser::{read_u16_len_bytes, write_u16_len_bytes, BigSize, Readable, Writeable};

use super::keys::{self, KeyType};
use super::packet::{HMAC_LEN, MAX_HOPS};

use bitcoin::secp256k1::ecdh::SharedSecret;
use core::fmt;

/// Flag of a failure code: the onion could not be parsed by the sending peer.
pub const BADONION: u16 = 0x8000;
/// Flag of a failure code: permanent failure (otherwise transient).
pub const PERM: u16 = 0x4000;
/// Flag of a failure code: node failure (otherwise channel).
pub const NODE: u16 = 0x2000;
/// Flag of a failure code: a channel forwarding parameter was violated.
pub const UPDATE: u16 = 0x1000;

/// A 2-byte `failure_code`, with its flag bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FailureCode(pub u16);

impl FailureCode {
    /// `temporary_node_failure` (NODE|2).
    pub const TEMPORARY_NODE_FAILURE: FailureCode = FailureCode(NODE | 2);
    /// `permanent_node_failure` (PERM|NODE|2).
    pub const PERMANENT_NODE_FAILURE: FailureCode = FailureCode(PERM | NODE | 2);
    /// `required_node_feature_missing` (PERM|NODE|3).
    pub const REQUIRED_NODE_FEATURE_MISSING: FailureCode = FailureCode(PERM | NODE | 3);
    /// `invalid_onion_version` (BADONION|PERM|4).
    pub const INVALID_ONION_VERSION: FailureCode = FailureCode(BADONION | PERM | 4);
    /// `invalid_onion_hmac` (BADONION|PERM|5).
    pub const INVALID_ONION_HMAC: FailureCode = FailureCode(BADONION | PERM | 5);
    /// `invalid_onion_key` (BADONION|PERM|6).
    pub const INVALID_ONION_KEY: FailureCode = FailureCode(BADONION | PERM | 6);
    /// `temporary_channel_failure` (UPDATE|7).
    pub const TEMPORARY_CHANNEL_FAILURE: FailureCode = FailureCode(UPDATE | 7);
    /// `permanent_channel_failure` (PERM|8).
    pub const PERMANENT_CHANNEL_FAILURE: FailureCode = FailureCode(PERM | 8);
    /// `required_channel_feature_missing` (PERM|9).
    pub const REQUIRED_CHANNEL_FEATURE_MISSING: FailureCode = FailureCode(PERM | 9);
    /// `unknown_next_peer` (PERM|10).
    pub const UNKNOWN_NEXT_PEER: FailureCode = FailureCode(PERM | 10);
    /// `amount_below_minimum` (UPDATE|11).
    pub const AMOUNT_BELOW_MINIMUM: FailureCode = FailureCode(UPDATE | 11);
    /// `fee_insufficient` (UPDATE|12).
    pub const FEE_INSUFFICIENT: FailureCode = FailureCode(UPDATE | 12);
    /// `incorrect_cltv_expiry` (UPDATE|13).
    pub const INCORRECT_CLTV_EXPIRY: FailureCode = FailureCode(UPDATE | 13);
    /// `expiry_too_soon` (UPDATE|14).
    pub const EXPIRY_TOO_SOON: FailureCode = FailureCode(UPDATE | 14);
    /// `incorrect_or_unknown_payment_details` (PERM|15).
    pub const INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS: FailureCode = FailureCode(PERM | 15);
    /// `final_incorrect_cltv_expiry` (18).
    pub const FINAL_INCORRECT_CLTV_EXPIRY: FailureCode = FailureCode(18);
    /// `final_incorrect_htlc_amount` (19).
    pub const FINAL_INCORRECT_HTLC_AMOUNT: FailureCode = FailureCode(19);
    /// `channel_disabled` (UPDATE|20).
    pub const CHANNEL_DISABLED: FailureCode = FailureCode(UPDATE | 20);
    /// `expiry_too_far` (21).
    pub const EXPIRY_TOO_FAR: FailureCode = FailureCode(21);
    /// `invalid_onion_payload` (PERM|22).
    pub const INVALID_ONION_PAYLOAD: FailureCode = FailureCode(PERM | 22);
    /// `mpp_timeout` (23).
    pub const MPP_TIMEOUT: FailureCode = FailureCode(23);
    /// `invalid_onion_blinding` (BADONION|PERM|24).
    pub const INVALID_ONION_BLINDING: FailureCode = FailureCode(BADONION | PERM | 24);

    /// The BADONION flag: the sending peer's onion was unparsable.
    pub fn is_badonion(self) -> bool {
        self.0 & BADONION != 0
    }
    /// The PERM flag: the failure is permanent.
    pub fn is_perm(self) -> bool {
        self.0 & PERM != 0
    }
    /// The NODE flag: the node failed, not a channel.
    pub fn is_node(self) -> bool {
        self.0 & NODE != 0
    }
    /// The UPDATE flag: a channel forwarding parameter was violated.
    pub fn is_update(self) -> bool {
        self.0 & UPDATE != 0
    }
}

/// A failure and the data BOLT 4 gives it.
///
/// `channel_update` fields hold the attached `channel_update` exactly as sent
/// (possibly empty: BOLT 4 no longer requires it); they are not parsed here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailureReason {
    /// `temporary_node_failure`.
    TemporaryNodeFailure,
    /// `permanent_node_failure`.
    PermanentNodeFailure,
    /// `required_node_feature_missing`.
    RequiredNodeFeatureMissing,
    /// `invalid_onion_version`.
    InvalidOnionVersion {
        /// SHA-256 of the onion as received.
        sha256_of_onion: [u8; 32],
    },
    /// `invalid_onion_hmac`.
    InvalidOnionHmac {
        /// SHA-256 of the onion as received.
        sha256_of_onion: [u8; 32],
    },
    /// `invalid_onion_key`.
    InvalidOnionKey {
        /// SHA-256 of the onion as received.
        sha256_of_onion: [u8; 32],
    },
    /// `temporary_channel_failure`.
    TemporaryChannelFailure {
        /// The outgoing channel's `channel_update`, raw (may be empty).
        channel_update: Vec<u8>,
    },
    /// `permanent_channel_failure`.
    PermanentChannelFailure,
    /// `required_channel_feature_missing`.
    RequiredChannelFeatureMissing,
    /// `unknown_next_peer`.
    UnknownNextPeer,
    /// `amount_below_minimum`.
    AmountBelowMinimum {
        /// Amount of the outgoing HTLC.
        htlc_msat: u64,
        /// The outgoing channel's `channel_update`, raw (may be empty).
        channel_update: Vec<u8>,
    },
    /// `fee_insufficient`.
    FeeInsufficient {
        /// Amount of the incoming HTLC.
        htlc_msat: u64,
        /// The outgoing channel's `channel_update`, raw (may be empty).
        channel_update: Vec<u8>,
    },
    /// `incorrect_cltv_expiry`.
    IncorrectCltvExpiry {
        /// `cltv_expiry` of the outgoing HTLC.
        cltv_expiry: u32,
        /// The outgoing channel's `channel_update`, raw (may be empty).
        channel_update: Vec<u8>,
    },
    /// `expiry_too_soon`.
    ExpiryTooSoon {
        /// The outgoing channel's `channel_update`, raw (may be empty).
        channel_update: Vec<u8>,
    },
    /// `incorrect_or_unknown_payment_details`.
    IncorrectOrUnknownPaymentDetails {
        /// Amount of the HTLC received.
        htlc_msat: u64,
        /// Best block height the final node knew.
        height: u32,
    },
    /// `final_incorrect_cltv_expiry`.
    FinalIncorrectCltvExpiry {
        /// `cltv_expiry` of the HTLC received.
        cltv_expiry: u32,
    },
    /// `final_incorrect_htlc_amount`.
    FinalIncorrectHtlcAmount {
        /// Amount of the HTLC received.
        incoming_htlc_amt_msat: u64,
    },
    /// `channel_disabled`.
    ChannelDisabled {
        /// Flags; none are defined, so normally 0.
        disabled_flags: u16,
        /// The outgoing channel's `channel_update`, raw (may be empty).
        channel_update: Vec<u8>,
    },
    /// `expiry_too_far`.
    ExpiryTooFar,
    /// `invalid_onion_payload`, optionally naming the TLV type at fault and
    /// its byte offset in the payload.
    InvalidOnionPayload {
        /// `(type, offset)` of the offending record, if narrowed down.
        tlv: Option<(u64, u16)>,
    },
    /// `mpp_timeout`.
    MppTimeout,
    /// `invalid_onion_blinding`.
    InvalidOnionBlinding {
        /// SHA-256 of the onion as received.
        sha256_of_onion: [u8; 32],
    },
    /// A code this library does not know; all bytes after the code are kept
    /// in `data`.
    Unknown {
        /// The failure code.
        code: u16,
        /// Everything after the code.
        data: Vec<u8>,
    },
}

impl FailureReason {
    /// The failure code of this reason.
    pub fn code(&self) -> FailureCode {
        use FailureReason::*;
        match self {
            TemporaryNodeFailure => FailureCode::TEMPORARY_NODE_FAILURE,
            PermanentNodeFailure => FailureCode::PERMANENT_NODE_FAILURE,
            RequiredNodeFeatureMissing => FailureCode::REQUIRED_NODE_FEATURE_MISSING,
            InvalidOnionVersion { .. } => FailureCode::INVALID_ONION_VERSION,
            InvalidOnionHmac { .. } => FailureCode::INVALID_ONION_HMAC,
            InvalidOnionKey { .. } => FailureCode::INVALID_ONION_KEY,
            TemporaryChannelFailure { .. } => FailureCode::TEMPORARY_CHANNEL_FAILURE,
            PermanentChannelFailure => FailureCode::PERMANENT_CHANNEL_FAILURE,
            RequiredChannelFeatureMissing => FailureCode::REQUIRED_CHANNEL_FEATURE_MISSING,
            UnknownNextPeer => FailureCode::UNKNOWN_NEXT_PEER,
            AmountBelowMinimum { .. } => FailureCode::AMOUNT_BELOW_MINIMUM,
            FeeInsufficient { .. } => FailureCode::FEE_INSUFFICIENT,
            IncorrectCltvExpiry { .. } => FailureCode::INCORRECT_CLTV_EXPIRY,
            ExpiryTooSoon { .. } => FailureCode::EXPIRY_TOO_SOON,
            IncorrectOrUnknownPaymentDetails { .. } => FailureCode::INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS,
            FinalIncorrectCltvExpiry { .. } => FailureCode::FINAL_INCORRECT_CLTV_EXPIRY,
            FinalIncorrectHtlcAmount { .. } => FailureCode::FINAL_INCORRECT_HTLC_AMOUNT,
            ChannelDisabled { .. } => FailureCode::CHANNEL_DISABLED,
            ExpiryTooFar => FailureCode::EXPIRY_TOO_FAR,
            InvalidOnionPayload { .. } => FailureCode::INVALID_ONION_PAYLOAD,
            MppTimeout => FailureCode::MPP_TIMEOUT,
            InvalidOnionBlinding { .. } => FailureCode::INVALID_ONION_BLINDING,
            Unknown { code, .. } => FailureCode(*code),
        }
    }

    /// The attached `channel_update`, for the reasons that carry one.
    pub fn channel_update(&self) -> Option<&[u8]> {
        use FailureReason::*;
        match self {
            TemporaryChannelFailure { channel_update }
            | AmountBelowMinimum { channel_update, .. }
            | FeeInsufficient { channel_update, .. }
            | IncorrectCltvExpiry { channel_update, .. }
            | ExpiryTooSoon { channel_update }
            | ChannelDisabled { channel_update, .. } => Some(channel_update),
            _ => None,
        }
    }

    fn write_data<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        use FailureReason::*;
        match self {
            TemporaryNodeFailure
            | PermanentNodeFailure
            | RequiredNodeFeatureMissing
            | PermanentChannelFailure
            | RequiredChannelFeatureMissing
            | UnknownNextPeer
            | ExpiryTooFar
            | MppTimeout => Ok(()),
            InvalidOnionVersion { sha256_of_onion }
            | InvalidOnionHmac { sha256_of_onion }
            | InvalidOnionKey { sha256_of_onion }
            | InvalidOnionBlinding { sha256_of_onion } => w.write_all(sha256_of_onion),
            TemporaryChannelFailure { channel_update } | ExpiryTooSoon { channel_update } => {
                write_u16_len_bytes(w, channel_update)
            }
            AmountBelowMinimum { htlc_msat, channel_update }
            | FeeInsufficient { htlc_msat, channel_update } => {
                htlc_msat.write(w)?;
                write_u16_len_bytes(w, channel_update)
            }
            IncorrectCltvExpiry { cltv_expiry, channel_update } => {
                cltv_expiry.write(w)?;
                write_u16_len_bytes(w, channel_update)
            }
            IncorrectOrUnknownPaymentDetails { htlc_msat, height } => {
                htlc_msat.write(w)?;
                height.write(w)
            }
            FinalIncorrectCltvExpiry { cltv_expiry } => cltv_expiry.write(w),
            FinalIncorrectHtlcAmount { incoming_htlc_amt_msat } => incoming_htlc_amt_msat.write(w),
            ChannelDisabled { disabled_flags, channel_update } => {
                disabled_flags.write(w)?;
                write_u16_len_bytes(w, channel_update)
            }
            InvalidOnionPayload { tlv } => match tlv {
                Some((tlv_type, offset)) => {
                    BigSize(*tlv_type).write(w)?;
                    offset.write(w)
                }
                None => Ok(()),
            },
            Unknown { data, .. } => w.write_all(data),
        }
    }

    /// Reads the data of `code` from `r`, leaving any extra bytes unread.
    fn read_data<R: Read>(code: u16, r: &mut R) -> Result<Self, DecodeError> {
        use FailureReason::*;
        let sha = |r: &mut R| -> Result<[u8; 32], DecodeError> { Readable::read(r) };
        Ok(match FailureCode(code) {
            FailureCode::TEMPORARY_NODE_FAILURE => TemporaryNodeFailure,
            FailureCode::PERMANENT_NODE_FAILURE => PermanentNodeFailure,
            FailureCode::REQUIRED_NODE_FEATURE_MISSING => RequiredNodeFeatureMissing,
            FailureCode::INVALID_ONION_VERSION => InvalidOnionVersion { sha256_of_onion: sha(r)? },
            FailureCode::INVALID_ONION_HMAC => InvalidOnionHmac { sha256_of_onion: sha(r)? },
            FailureCode::INVALID_ONION_KEY => InvalidOnionKey { sha256_of_onion: sha(r)? },
            FailureCode::TEMPORARY_CHANNEL_FAILURE => {
                TemporaryChannelFailure { channel_update: read_u16_len_bytes(r)? }
            }
            FailureCode::PERMANENT_CHANNEL_FAILURE => PermanentChannelFailure,
            FailureCode::REQUIRED_CHANNEL_FEATURE_MISSING => RequiredChannelFeatureMissing,
            FailureCode::UNKNOWN_NEXT_PEER => UnknownNextPeer,
            FailureCode::AMOUNT_BELOW_MINIMUM => {
                AmountBelowMinimum { htlc_msat: u64::read(r)?, channel_update: read_u16_len_bytes(r)? }
            }
            FailureCode::FEE_INSUFFICIENT => {
                FeeInsufficient { htlc_msat: u64::read(r)?, channel_update: read_u16_len_bytes(r)? }
            }
            FailureCode::INCORRECT_CLTV_EXPIRY => {
                IncorrectCltvExpiry { cltv_expiry: u32::read(r)?, channel_update: read_u16_len_bytes(r)? }
            }
            FailureCode::EXPIRY_TOO_SOON => ExpiryTooSoon { channel_update: read_u16_len_bytes(r)? },
            FailureCode::INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS => {
                IncorrectOrUnknownPaymentDetails { htlc_msat: u64::read(r)?, height: u32::read(r)? }
            }
            FailureCode::FINAL_INCORRECT_CLTV_EXPIRY => {
                FinalIncorrectCltvExpiry { cltv_expiry: u32::read(r)? }
            }
            FailureCode::FINAL_INCORRECT_HTLC_AMOUNT => {
                FinalIncorrectHtlcAmount { incoming_htlc_amt_msat: u64::read(r)? }
            }
            FailureCode::CHANNEL_DISABLED => {
                ChannelDisabled { disabled_flags: u16::read(r)?, channel_update: read_u16_len_bytes(r)? }
            }
            FailureCode::EXPIRY_TOO_FAR => ExpiryTooFar,
            FailureCode::INVALID_ONION_PAYLOAD => {
                // The data is optional ("MAY include"): empty means not narrowed down.
                let mut first = [0u8; 1];
                match r.read(&mut first)? {
                    0 => InvalidOnionPayload { tlv: None },
                    _ => {
                        let tlv_type = read_bigsize_after(first[0], r)?;
                        InvalidOnionPayload { tlv: Some((tlv_type, u16::read(r)?)) }
                    }
                }
            }
            FailureCode::MPP_TIMEOUT => MppTimeout,
            FailureCode::INVALID_ONION_BLINDING => InvalidOnionBlinding { sha256_of_onion: sha(r)? },
            FailureCode(code) => {
                let mut data = Vec::new();
                r.read_to_limit(&mut data, u16::MAX as u64)?;
                Unknown { code, data }
            }
        })
    }
}

/// Reads the rest of a `bigsize` whose first byte was already taken.
fn read_bigsize_after<R: Read>(first: u8, r: &mut R) -> Result<u64, DecodeError> {
    let extra = match first {
        0xfd => 2,
        0xfe => 4,
        0xff => 8,
        _ => 0,
    };
    let mut buf = [0u8; 9];
    buf[0] = first;
    r.read_exact(&mut buf[1..1 + extra])?;
    crate::util::ser::decode_exact::<BigSize>(&buf[..1 + extra]).map(|b| b.0)
}

/// A whole `failuremsg`: the failure code and its data, then the optional TLV
/// stream that may follow (kept as raw bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailureMessage {
    /// The failure and its data.
    pub reason: FailureReason,
    /// Whatever follows the data: a TLV stream by the spec, unparsed here (the
    /// origin must ignore extra bytes it does not understand).
    pub extra_tlvs: Vec<u8>,
}

impl From<FailureReason> for FailureMessage {
    fn from(reason: FailureReason) -> Self {
        FailureMessage { reason, extra_tlvs: Vec::new() }
    }
}

impl FailureMessage {
    /// The failure code.
    pub fn code(&self) -> FailureCode {
        self.reason.code()
    }
}

impl Writeable for FailureMessage {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.reason.code().0.write(w)?;
        self.reason.write_data(w)?;
        w.write_all(&self.extra_tlvs)
    }
}

impl Readable for FailureMessage {
    /// Reads the code and its data, and keeps everything left in `r` as
    /// `extra_tlvs`.
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let code = u16::read(r)?;
        let reason = FailureReason::read_data(code, r)?;
        let mut extra_tlvs = Vec::new();
        r.read_to_limit(&mut extra_tlvs, u16::MAX as u64)?;
        Ok(FailureMessage { reason, extra_tlvs })
    }
}

/// The total of `failure_len + pad_len` BOLT 4 asks for (at least, and
/// preferably exactly).
pub const FAILURE_MESSAGE_PADDED_LEN: usize = 256;

/// Why a failure packet could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureBuildError {
    /// The failure message (or the padding) is longer than a `u16` length.
    MessageTooLong,
}

/// Builds the return packet of the erring node: `hmac || failure_len ||
/// failuremsg || pad_len || pad`, the HMAC under the `um` key of
/// `shared_secret`, padded so `failure_len + pad_len` is at least
/// `padded_len` (use [`FAILURE_MESSAGE_PADDED_LEN`]), then obfuscated with the
/// node's own `ammag` stream. The result is the `reason` of `update_fail_htlc`.
pub fn build_failure_packet(
    shared_secret: &[u8; 32], failure_message: &[u8], padded_len: usize,
) -> Result<Vec<u8>, FailureBuildError> {
    let failure_len = u16::try_from(failure_message.len()).map_err(|_| FailureBuildError::MessageTooLong)?;
    let pad_len = padded_len.saturating_sub(failure_message.len());
    let pad_len_u16 = u16::try_from(pad_len).map_err(|_| FailureBuildError::MessageTooLong)?;
    let mut packet = Vec::with_capacity(HMAC_LEN + 4 + failure_message.len() + pad_len);
    packet.extend_from_slice(&[0u8; HMAC_LEN]);
    packet.extend_from_slice(&failure_len.to_be_bytes());
    packet.extend_from_slice(failure_message);
    packet.extend_from_slice(&pad_len_u16.to_be_bytes());
    packet.resize(packet.len() + pad_len, 0);
    let hmac = keys::hmac_sha256(&keys::derive_key(KeyType::Um, shared_secret), &[&packet[HMAC_LEN..]]);
    packet[..HMAC_LEN].copy_from_slice(&hmac);
    obfuscate_failure_packet(shared_secret, &mut packet);
    Ok(packet)
}

/// Applies a hop's `ammag` stream to a return packet: what every hop on the way
/// back does (and what the origin undoes, layer by layer).
pub fn obfuscate_failure_packet(shared_secret: &[u8; 32], packet: &mut [u8]) {
    keys::xor_keystream(&keys::derive_key(KeyType::Ammag, shared_secret), packet);
}

/// Why the origin could not read a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureDecodeError {
    /// Shorter than an HMAC and the two lengths: nothing can be checked.
    PacketTooShort,
    /// No hop's HMAC matches: the packet was garbled on the way (by a hop
    /// or in transit) and cannot be attributed.
    Unattributable,
}

impl fmt::Display for FailureDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::PacketTooShort => "failure packet too short",
            Self::Unattributable => "failure packet HMAC matches no hop",
        })
    }
}

/// A failure read by the origin, authenticated to one hop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedFailure {
    /// Index in the route (0 = first hop after us) of the hop that built the
    /// failure.
    pub hop_index: usize,
    /// The failure code, if the message is at least two bytes long.
    pub failure_code: Option<FailureCode>,
    /// The `failuremsg` bytes exactly as the hop sent them.
    pub message_bytes: Vec<u8>,
    /// The parsed message, or why it does not parse. The hop is authenticated
    /// either way: an unparsable message is still that hop's fault.
    pub message: Result<FailureMessage, DecodeError>,
}

/// Origin side: peels the return `packet` with the secrets of the route (in
/// route order) and finds the hop whose `um` HMAC matches.
///
/// The work does not depend on which hop failed: after the match the loop runs
/// dummy rounds up to [`MAX_HOPS`] (BOLT 4 "Origin node").
pub fn decode_failure_packet(
    hop_shared_secrets: &[SharedSecret], packet: &[u8],
) -> Result<DecodedFailure, FailureDecodeError> {
    if packet.len() < HMAC_LEN + 4 {
        return Err(FailureDecodeError::PacketTooShort);
    }
    let mut buf = packet.to_vec();
    let mut found: Option<(usize, Vec<u8>)> = None;
    let rounds = hop_shared_secrets.len().max(MAX_HOPS);
    for round in 0..rounds {
        let live = found.is_none() && round < hop_shared_secrets.len();
        // After the match (or past the route) keep working on a constant key
        // so timing does not reveal the erring hop's position.
        let ss = match hop_shared_secrets.get(round) {
            Some(ss) if live => ss.secret_bytes(),
            _ => [0u8; 32],
        };
        obfuscate_failure_packet(&ss, &mut buf);
        let um = keys::derive_key(KeyType::Um, &ss);
        let expected = keys::hmac_sha256(&um, &[&buf[HMAC_LEN..]]);
        let mut got = [0u8; HMAC_LEN];
        got.copy_from_slice(&buf[..HMAC_LEN]);
        if keys::hmac_eq(&expected, &got) && live {
            found = Some((round, buf.clone()));
        }
    }
    let (hop_index, plain) = found.ok_or(FailureDecodeError::Unattributable)?;
    let (message_bytes, message) = parse_failure_body(&plain[HMAC_LEN..]);
    let failure_code = (message_bytes.len() >= 2)
        .then(|| FailureCode(u16::from_be_bytes([message_bytes[0], message_bytes[1]])));
    Ok(DecodedFailure { hop_index, failure_code, message_bytes, message })
}

/// Splits `failure_len || failuremsg || pad_len || pad` and parses the message.
/// A body whose lengths do not add up gives the bytes it could take and an
/// error.
fn parse_failure_body(body: &[u8]) -> (Vec<u8>, Result<FailureMessage, DecodeError>) {
    let failure_len = u16::from_be_bytes([body[0], body[1]]) as usize;
    let Some(message) = body.get(2..2 + failure_len) else {
        return (body[2..].to_vec(), Err(DecodeError::BadLengthDescriptor));
    };
    let rest = &body[2 + failure_len..];
    let pad_ok = rest.len() >= 2 && u16::from_be_bytes([rest[0], rest[1]]) as usize == rest.len() - 2;
    if !pad_ok {
        return (message.to_vec(), Err(DecodeError::BadLengthDescriptor));
    }
    (message.to_vec(), crate::util::ser::decode_exact::<FailureMessage>(message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::ser::decode_exact;

    fn all_reasons() -> Vec<FailureReason> {
        use FailureReason::*;
        let cu = vec![1u8, 2, 3];
        vec![
            TemporaryNodeFailure,
            PermanentNodeFailure,
            RequiredNodeFeatureMissing,
            InvalidOnionVersion { sha256_of_onion: [4; 32] },
            InvalidOnionHmac { sha256_of_onion: [5; 32] },
            InvalidOnionKey { sha256_of_onion: [6; 32] },
            TemporaryChannelFailure { channel_update: cu.clone() },
            PermanentChannelFailure,
            RequiredChannelFeatureMissing,
            UnknownNextPeer,
            AmountBelowMinimum { htlc_msat: 11, channel_update: cu.clone() },
            FeeInsufficient { htlc_msat: 12, channel_update: Vec::new() },
            IncorrectCltvExpiry { cltv_expiry: 13, channel_update: cu.clone() },
            ExpiryTooSoon { channel_update: cu.clone() },
            IncorrectOrUnknownPaymentDetails { htlc_msat: 15, height: 800_000 },
            FinalIncorrectCltvExpiry { cltv_expiry: 18 },
            FinalIncorrectHtlcAmount { incoming_htlc_amt_msat: 19 },
            ChannelDisabled { disabled_flags: 0, channel_update: cu },
            ExpiryTooFar,
            InvalidOnionPayload { tlv: None },
            InvalidOnionPayload { tlv: Some((65537, 7)) },
            MppTimeout,
            InvalidOnionBlinding { sha256_of_onion: [24; 32] },
            Unknown { code: 0x0063, data: vec![9, 9] },
        ]
    }

    #[test]
    fn every_failure_round_trips_with_its_code_and_flags() {
        for reason in all_reasons() {
            let msg = FailureMessage::from(reason.clone());
            let bytes = msg.encode();
            assert_eq!(u16::from_be_bytes([bytes[0], bytes[1]]), reason.code().0);
            assert_eq!(decode_exact::<FailureMessage>(&bytes).unwrap(), msg, "{reason:?}");
        }
        assert!(FailureCode::INVALID_ONION_BLINDING.is_badonion());
        assert!(FailureCode::INVALID_ONION_BLINDING.is_perm());
        assert!(FailureCode::PERMANENT_NODE_FAILURE.is_node());
        assert!(FailureCode::CHANNEL_DISABLED.is_update());
        assert!(!FailureCode::MPP_TIMEOUT.is_perm());
        assert_eq!(FailureCode::INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS.0, 0x400f);
    }

    #[test]
    fn extra_bytes_after_the_data_are_kept_apart() {
        let bytes = [0x40, 0x0f, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0x0c, 0x35, 0, 0xfd, 0x84, 0xd1, 0];
        let msg = decode_exact::<FailureMessage>(&bytes).unwrap();
        assert_eq!(
            msg.reason,
            FailureReason::IncorrectOrUnknownPaymentDetails { htlc_msat: 100, height: 800000 }
        );
        assert_eq!(msg.extra_tlvs, vec![0xfd, 0x84, 0xd1, 0]);
        assert_eq!(msg.encode(), bytes);
    }

    #[test]
    fn truncated_data_is_a_short_read() {
        assert_eq!(decode_exact::<FailureMessage>(&[0x10, 0x0b, 0, 0]), Err(DecodeError::ShortRead));
        assert_eq!(decode_exact::<FailureMessage>(&[0x10]), Err(DecodeError::ShortRead));
    }

    #[test]
    fn origin_finds_the_erring_hop_and_rejects_garbage() {
        let secrets: Vec<SharedSecret> = (1..=4u8).map(|i| SharedSecret::from_bytes([i; 32])).collect();
        let msg = FailureMessage::from(FailureReason::MppTimeout).encode();
        for erring in 0..secrets.len() {
            let mut packet = build_failure_packet(&secrets[erring].secret_bytes(), &msg, 256).unwrap();
            assert_eq!(packet.len(), 32 + 2 + 2 + 256);
            for hop in (0..erring).rev() {
                obfuscate_failure_packet(&secrets[hop].secret_bytes(), &mut packet);
            }
            let decoded = decode_failure_packet(&secrets, &packet).unwrap();
            assert_eq!(decoded.hop_index, erring);
            assert_eq!(decoded.failure_code, Some(FailureCode::MPP_TIMEOUT));
            assert_eq!(decoded.message.unwrap().reason, FailureReason::MppTimeout);
            // One flipped bit anywhere: no hop may be blamed by mistake.
            for bit in [0usize, 8 * 40, 8 * 291 + 7] {
                let mut bad = packet.clone();
                bad[bit / 8] ^= 1 << (bit % 8);
                assert_eq!(decode_failure_packet(&secrets, &bad), Err(FailureDecodeError::Unattributable));
            }
        }
        assert_eq!(decode_failure_packet(&secrets, &[0u8; 35]), Err(FailureDecodeError::PacketTooShort));
    }

    #[test]
    fn authenticated_but_malformed_body_is_still_attributed() {
        let ss = [7u8; 32];
        // failure_len says 300 but only 256 + 2 bytes follow.
        let mut packet = vec![0u8; 32];
        packet.extend_from_slice(&300u16.to_be_bytes());
        packet.extend_from_slice(&[0u8; 258]);
        let hmac = keys::hmac_sha256(&keys::derive_key(KeyType::Um, &ss), &[&packet[32..]]);
        packet[..32].copy_from_slice(&hmac);
        obfuscate_failure_packet(&ss, &mut packet);
        let decoded = decode_failure_packet(&[SharedSecret::from_bytes(ss)], &packet).unwrap();
        assert_eq!(decoded.hop_index, 0);
        assert_eq!(decoded.message, Err(DecodeError::BadLengthDescriptor));
    }
}
