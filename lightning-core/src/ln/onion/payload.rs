//! Hop payloads of payment onions (BOLT 4 `payload` TLV stream) and the rules
//! that tell a forward payload from a final one, blinded or not.
//!
//! Senders build an [`OutboundHopPayload`] per hop and encode it; a hop decodes
//! its payload with [`InboundHopPayload::decode`], which applies the reader
//! requirements of BOLT 4 and says which record is at fault when it refuses.

use crate::io::{self, Write};
use crate::ln::msgs::DecodeError;
use crate::ln::types::{PaymentSecret, ShortChannelId};
use crate::prelude::*;
use crate::tlv_stream;
use crate::util::ser::{BigSize, Readable, Writeable};
use crate::util::tlv::{write_tlv_record, RawBytes, TlvStream, TlvValue, Tu32, Tu64};

use bitcoin::secp256k1::PublicKey;
use core::fmt;

/// The smallest type a custom (application) record may have.
pub const MIN_CUSTOM_TLV_TYPE: u64 = 1 << 16;

/// `payment_data` (type 8): the invoice's payment secret and the total amount
/// of the (possibly multi-part) payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaymentData {
    /// The invoice's payment secret.
    pub payment_secret: PaymentSecret,
    /// Total of all parts of the payment.
    pub total_msat: u64,
}

impl TlvValue for PaymentData {
    fn write_value<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.payment_secret.write(w)?;
        Tu64(self.total_msat).write_value(w)
    }
    fn value_len(&self) -> usize {
        32 + Tu64(self.total_msat).value_len()
    }
    fn read_value(value: &[u8]) -> Result<Self, DecodeError> {
        if value.len() < 32 {
            return Err(DecodeError::BadLengthDescriptor);
        }
        let mut r = value;
        let payment_secret = PaymentSecret::read(&mut r)?;
        Ok(PaymentData { payment_secret, total_msat: Tu64::read_value(r)?.0 })
    }
}

tlv_stream! {
    /// Every known record of a hop payload, as sent; which combinations are
    /// valid is decided by [`InboundHopPayload::decode`].
    pub struct HopPayloadTlvs {
        /// Amount to forward (or to receive).
        (2, amt_to_forward: Tu64),
        /// CLTV of the outgoing HTLC (or the expected final CLTV).
        (4, outgoing_cltv_value: Tu32),
        /// Outgoing channel (forwarding nodes).
        (6, short_channel_id: ShortChannelId),
        /// Payment secret and total (final node).
        (8, payment_data: PaymentData),
        /// Route-blinding data for this node.
        (10, encrypted_recipient_data: RawBytes),
        /// Path key, for the introduction node of a blinded path.
        (12, current_path_key: PublicKey),
        /// Invoice metadata (final node).
        (16, payment_metadata: RawBytes),
        /// Total amount of a blinded payment (final node).
        (18, total_amount_msat: Tu64),
    }
}

/// Application records (types `>= 65536`), kept in type order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomRecords(BTreeMap<u64, Vec<u8>>);

/// A custom record type below [`MIN_CUSTOM_TLV_TYPE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidCustomRecordType(pub u64);

impl CustomRecords {
    /// No record.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds (or replaces) a record; its type must be `>= 65536`.
    pub fn insert(&mut self, record_type: u64, value: Vec<u8>) -> Result<(), InvalidCustomRecordType> {
        if record_type < MIN_CUSTOM_TLV_TYPE {
            return Err(InvalidCustomRecordType(record_type));
        }
        self.0.insert(record_type, value);
        Ok(())
    }
    /// The value of a record.
    pub fn get(&self, record_type: u64) -> Option<&[u8]> {
        self.0.get(&record_type).map(|v| v.as_slice())
    }
    /// The records in type order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &[u8])> {
        self.0.iter().map(|(t, v)| (*t, v.as_slice()))
    }
    /// True if there is no record.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        for (t, v) in &self.0 {
            write_tlv_record(w, *t, &RawBytes(v.clone()))?;
        }
        Ok(())
    }
}

/// A hop payload to send, one variant per kind of hop BOLT 4 describes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutboundHopPayload {
    /// A forwarding node outside any blinded path.
    Forward {
        /// The channel to forward over.
        short_channel_id: ShortChannelId,
        /// Amount of the outgoing HTLC.
        amt_to_forward_msat: u64,
        /// CLTV of the outgoing HTLC.
        outgoing_cltv_value: u32,
    },
    /// The final node, not blinded.
    Receive {
        /// Amount this HTLC delivers.
        amt_to_forward_msat: u64,
        /// The final CLTV the recipient expects.
        outgoing_cltv_value: u32,
        /// Payment secret and total, if the invoice has a secret.
        payment_data: Option<PaymentData>,
        /// Invoice metadata, if the invoice has some.
        payment_metadata: Option<Vec<u8>>,
        /// Application records.
        custom_records: CustomRecords,
    },
    /// A forwarding node inside a blinded path (the introduction node gets
    /// `current_path_key`).
    BlindedForward {
        /// The recipient's data for this hop.
        encrypted_recipient_data: Vec<u8>,
        /// The path key, for the introduction node only.
        current_path_key: Option<PublicKey>,
    },
    /// The final node of a blinded path.
    BlindedReceive {
        /// Amount this HTLC delivers.
        amt_to_forward_msat: u64,
        /// Total amount of the payment.
        total_amount_msat: u64,
        /// The final CLTV.
        outgoing_cltv_value: u32,
        /// The recipient's data for itself.
        encrypted_recipient_data: Vec<u8>,
        /// The path key, if the path has only this hop.
        current_path_key: Option<PublicKey>,
        /// Application records.
        custom_records: CustomRecords,
    },
}

impl OutboundHopPayload {
    fn known_tlvs(&self) -> (HopPayloadTlvs, Option<&CustomRecords>) {
        let mut t = HopPayloadTlvs::default();
        let custom = match self {
            OutboundHopPayload::Forward { short_channel_id, amt_to_forward_msat, outgoing_cltv_value } => {
                t.amt_to_forward = Some(Tu64(*amt_to_forward_msat));
                t.outgoing_cltv_value = Some(Tu32(*outgoing_cltv_value));
                t.short_channel_id = Some(*short_channel_id);
                None
            }
            OutboundHopPayload::Receive {
                amt_to_forward_msat,
                outgoing_cltv_value,
                payment_data,
                payment_metadata,
                custom_records,
            } => {
                t.amt_to_forward = Some(Tu64(*amt_to_forward_msat));
                t.outgoing_cltv_value = Some(Tu32(*outgoing_cltv_value));
                t.payment_data = *payment_data;
                t.payment_metadata = payment_metadata.clone().map(RawBytes);
                Some(custom_records)
            }
            OutboundHopPayload::BlindedForward { encrypted_recipient_data, current_path_key } => {
                t.encrypted_recipient_data = Some(RawBytes(encrypted_recipient_data.clone()));
                t.current_path_key = *current_path_key;
                None
            }
            OutboundHopPayload::BlindedReceive {
                amt_to_forward_msat,
                total_amount_msat,
                outgoing_cltv_value,
                encrypted_recipient_data,
                current_path_key,
                custom_records,
            } => {
                t.amt_to_forward = Some(Tu64(*amt_to_forward_msat));
                t.outgoing_cltv_value = Some(Tu32(*outgoing_cltv_value));
                t.encrypted_recipient_data = Some(RawBytes(encrypted_recipient_data.clone()));
                t.current_path_key = *current_path_key;
                t.total_amount_msat = Some(Tu64(*total_amount_msat));
                Some(custom_records)
            }
        };
        (t, custom)
    }
}

impl Writeable for OutboundHopPayload {
    /// Writes the TLV stream (without the `bigsize` length the packet adds).
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        let (tlvs, custom) = self.known_tlvs();
        tlvs.write(w)?;
        match custom {
            Some(c) => c.write(w),
            None => Ok(()),
        }
    }
}

/// Builds a payment onion from typed payloads, one `(node id, payload)` per hop;
/// the payment hash is the associated data.
pub fn construct_payment_onion<C: bitcoin::secp256k1::Signing>(
    secp_ctx: &bitcoin::secp256k1::Secp256k1<C>, session_key: &bitcoin::secp256k1::SecretKey,
    hops: &[(PublicKey, OutboundHopPayload)], payment_hash: &crate::ln::types::PaymentHash,
) -> Result<super::packet::ConstructedOnion, super::packet::OnionBuildError> {
    let node_ids: Vec<PublicKey> = hops.iter().map(|(id, _)| *id).collect();
    let payloads: Vec<Vec<u8>> = hops.iter().map(|(_, p)| p.encode()).collect();
    super::packet::construct_onion_packet(secp_ctx, session_key, &node_ids, &payloads, &payment_hash.0)
}

/// Why a blinded path cannot be turned into hops of an onion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlindedHopsError {
    /// The path has no hop.
    EmptyPath,
    /// The introduction node is given by a channel, which the caller must
    /// first resolve to a node id from its network graph.
    UnresolvedIntroductionNode,
}

/// The onion hops that cross a blinded path (BOLT 4 "The reader of the
/// `blinded_path`", for payments): the introduction node by its real id with
/// `current_path_key`, every later hop by its blinded id, and the recipient
/// with the amounts and final CLTV. Prepend the unblinded hops that reach the
/// introduction node.
pub fn blinded_path_hops(
    path: &super::blinding::BlindedPath, amt_to_forward_msat: u64, total_amount_msat: u64,
    outgoing_cltv_value: u32,
) -> Result<Vec<(PublicKey, OutboundHopPayload)>, BlindedHopsError> {
    let intro_id = match path.introduction_node {
        super::blinding::IntroductionNode::NodeId(id) => id,
        super::blinding::IntroductionNode::DirectedShortChannelId { .. } => {
            return Err(BlindedHopsError::UnresolvedIntroductionNode)
        }
    };
    let last = path.hops.len().checked_sub(1).ok_or(BlindedHopsError::EmptyPath)?;
    Ok(path
        .hops
        .iter()
        .enumerate()
        .map(|(i, hop)| {
            let node_id = if i == 0 { intro_id } else { hop.blinded_node_id };
            let current_path_key = (i == 0).then_some(path.first_path_key);
            let encrypted_recipient_data = hop.encrypted_recipient_data.clone();
            let payload = if i == last {
                OutboundHopPayload::BlindedReceive {
                    amt_to_forward_msat,
                    total_amount_msat,
                    outgoing_cltv_value,
                    encrypted_recipient_data,
                    current_path_key,
                    custom_records: CustomRecords::new(),
                }
            } else {
                OutboundHopPayload::BlindedForward { encrypted_recipient_data, current_path_key }
            };
            (node_id, payload)
        })
        .collect())
}

/// Why a hop refuses its payload. For an unblinded payload the answer is
/// `invalid_onion_payload` naming [`PayloadError::tlv_type`] at
/// [`PayloadError::offset`]; inside a blinded path it is
/// `invalid_onion_blinding`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PayloadError {
    /// What is wrong.
    pub kind: PayloadErrorKind,
    /// The record at fault (0 if the stream itself is broken before any type).
    pub tlv_type: u64,
    /// Byte offset of that record in the payload (0 for a missing record).
    pub offset: u16,
}

/// What is wrong with a payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadErrorKind {
    /// The TLV stream or a record's value does not decode.
    Decode(DecodeError),
    /// A required record is missing.
    Missing,
    /// A record that this kind of hop must not receive.
    Forbidden,
    /// `encrypted_recipient_data` is present but there is no path key (neither
    /// in `update_add_htlc` nor in `current_path_key`), or both are set.
    PathKeyMismatch,
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            PayloadErrorKind::Decode(e) => write!(f, "record {} at {}: {e}", self.tlv_type, self.offset),
            PayloadErrorKind::Missing => write!(f, "required record {} missing", self.tlv_type),
            PayloadErrorKind::Forbidden => write!(f, "record {} not allowed here", self.tlv_type),
            PayloadErrorKind::PathKeyMismatch => f.write_str("need exactly one path key"),
        }
    }
}

/// A decoded, validated hop payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InboundHopPayload {
    /// Forward outside a blinded path.
    Forward {
        /// Channel to forward over.
        short_channel_id: ShortChannelId,
        /// Amount of the outgoing HTLC.
        amt_to_forward_msat: u64,
        /// CLTV of the outgoing HTLC.
        outgoing_cltv_value: u32,
    },
    /// Final node outside a blinded path.
    Receive {
        /// Amount this HTLC should deliver.
        amt_to_forward_msat: u64,
        /// The CLTV the HTLC should have.
        outgoing_cltv_value: u32,
        /// Payment secret and total, if sent.
        payment_data: Option<PaymentData>,
        /// Invoice metadata, if sent.
        payment_metadata: Option<Vec<u8>>,
        /// Total of the payment: `payment_data.total_msat`, else
        /// `total_amount_msat`, else `amt_to_forward`.
        total_msat: u64,
        /// Application records (odd types `>= 65536`).
        custom_records: CustomRecords,
    },
    /// Forward inside a blinded path (data still encrypted).
    BlindedForward {
        /// The recipient's encrypted data for us.
        encrypted_recipient_data: Vec<u8>,
        /// The path key sent in the payload (we are the introduction node).
        current_path_key: Option<PublicKey>,
    },
    /// Final node of a blinded path (data still encrypted).
    BlindedReceive {
        /// Amount this HTLC should deliver.
        amt_to_forward_msat: u64,
        /// Total of the payment.
        total_amount_msat: u64,
        /// The CLTV the HTLC should have.
        outgoing_cltv_value: u32,
        /// Our own encrypted data.
        encrypted_recipient_data: Vec<u8>,
        /// The path key sent in the payload (a one-hop path).
        current_path_key: Option<PublicKey>,
        /// Application records (odd types `>= 65536`).
        custom_records: CustomRecords,
    },
}

/// Where each known record starts, for error reports.
#[derive(Default)]
struct Offsets([u16; 19]);

impl Offsets {
    fn of(&self, tlv_type: u64) -> u16 {
        self.0.get(tlv_type as usize).copied().unwrap_or(0)
    }
}

fn err(kind: PayloadErrorKind, tlv_type: u64, offset: u16) -> PayloadError {
    PayloadError { kind, tlv_type, offset }
}

impl InboundHopPayload {
    /// Decodes and validates a payload. `is_final` is true when the packet's
    /// next HMAC is all zero; `update_add_has_path_key` when the incoming
    /// `update_add_htlc` carried a `path_key`.
    pub fn decode(bytes: &[u8], is_final: bool, update_add_has_path_key: bool) -> Result<Self, PayloadError> {
        let (t, offsets, custom) = decode_records(bytes)?;
        let mut present_mask = 0u32;
        for (ty, is) in [
            (2, t.amt_to_forward.is_some()),
            (4, t.outgoing_cltv_value.is_some()),
            (6, t.short_channel_id.is_some()),
            (8, t.payment_data.is_some()),
            (10, t.encrypted_recipient_data.is_some()),
            (12, t.current_path_key.is_some()),
            (16, t.payment_metadata.is_some()),
            (18, t.total_amount_msat.is_some()),
        ] {
            if is {
                present_mask |= 1 << ty;
            }
        }
        let present = |ty: u64| -> bool { ty < 32 && present_mask & (1 << ty) != 0 };
        let forbid = |types: &[u64]| -> Result<(), PayloadError> {
            match types.iter().find(|ty| present(**ty)) {
                Some(ty) => Err(err(PayloadErrorKind::Forbidden, *ty, offsets.of(*ty))),
                None => Ok(()),
            }
        };
        let require = |ty: u64| -> Result<(), PayloadError> {
            if present(ty) {
                Ok(())
            } else {
                Err(err(PayloadErrorKind::Missing, ty, 0))
            }
        };

        if let Some(RawBytes(encrypted_recipient_data)) = t.encrypted_recipient_data {
            if update_add_has_path_key == t.current_path_key.is_some() {
                return Err(err(PayloadErrorKind::PathKeyMismatch, 12, offsets.of(12)));
            }
            if !is_final {
                forbid(&[2, 4, 6, 8, 16, 18])?;
                return Ok(InboundHopPayload::BlindedForward {
                    encrypted_recipient_data,
                    current_path_key: t.current_path_key,
                });
            }
            forbid(&[6, 8, 16])?;
            for ty in [2, 4, 18] {
                require(ty)?;
            }
            return Ok(InboundHopPayload::BlindedReceive {
                amt_to_forward_msat: t.amt_to_forward.map_or(0, |v| v.0),
                total_amount_msat: t.total_amount_msat.map_or(0, |v| v.0),
                outgoing_cltv_value: t.outgoing_cltv_value.map_or(0, |v| v.0),
                encrypted_recipient_data,
                current_path_key: t.current_path_key,
                custom_records: custom,
            });
        }

        if update_add_has_path_key {
            return Err(err(PayloadErrorKind::Missing, 10, 0));
        }
        forbid(&[12])?;
        require(2)?;
        require(4)?;
        let amt_to_forward_msat = t.amt_to_forward.map_or(0, |v| v.0);
        let outgoing_cltv_value = t.outgoing_cltv_value.map_or(0, |v| v.0);
        if !is_final {
            forbid(&[8, 16, 18])?;
            let short_channel_id = t.short_channel_id.ok_or(err(PayloadErrorKind::Missing, 6, 0))?;
            return Ok(InboundHopPayload::Forward {
                short_channel_id,
                amt_to_forward_msat,
                outgoing_cltv_value,
            });
        }
        forbid(&[6])?;
        let total_msat = match (&t.payment_data, &t.total_amount_msat) {
            (Some(pd), _) => pd.total_msat,
            (None, Some(total)) => total.0,
            (None, None) => amt_to_forward_msat,
        };
        Ok(InboundHopPayload::Receive {
            amt_to_forward_msat,
            outgoing_cltv_value,
            payment_data: t.payment_data,
            payment_metadata: t.payment_metadata.map(|m| m.0),
            total_msat,
            custom_records: custom,
        })
    }
}

/// Decodes every record, remembering where each known one starts and keeping
/// odd custom records. Unknown even types fail; unknown odd types below 65536
/// are skipped.
fn decode_records(bytes: &[u8]) -> Result<(HopPayloadTlvs, Offsets, CustomRecords), PayloadError> {
    let mut t = HopPayloadTlvs::default();
    let mut offsets = Offsets::default();
    let mut custom = CustomRecords::new();
    let base = bytes.as_ptr() as usize;
    let mut last_end = 0usize;
    for record in TlvStream::new(bytes) {
        let record = record.map_err(|e| {
            let tlv_type = match e {
                DecodeError::TlvTypeOutOfOrder(ty) | DecodeError::DuplicateTlvType(ty) => ty,
                _ => 0,
            };
            err(PayloadErrorKind::Decode(e), tlv_type, u16::try_from(last_end).unwrap_or(u16::MAX))
        })?;
        let value_start = record.value.as_ptr() as usize - base;
        let header =
            BigSize::encoded_len(record.record_type) + BigSize::encoded_len(record.value.len() as u64);
        let offset = u16::try_from(value_start - header).unwrap_or(u16::MAX);
        last_end = value_start + record.value.len();
        let bad = |e: DecodeError| err(PayloadErrorKind::Decode(e), record.record_type, offset);
        let v = record.value;
        match record.record_type {
            2 => t.amt_to_forward = Some(Tu64::read_value(v).map_err(bad)?),
            4 => t.outgoing_cltv_value = Some(Tu32::read_value(v).map_err(bad)?),
            6 => t.short_channel_id = Some(ShortChannelId::read_value(v).map_err(bad)?),
            8 => t.payment_data = Some(PaymentData::read_value(v).map_err(bad)?),
            10 => t.encrypted_recipient_data = Some(RawBytes(v.to_vec())),
            12 => t.current_path_key = Some(PublicKey::read_value(v).map_err(bad)?),
            16 => t.payment_metadata = Some(RawBytes(v.to_vec())),
            18 => t.total_amount_msat = Some(Tu64::read_value(v).map_err(bad)?),
            ty if ty % 2 == 0 => return Err(bad(DecodeError::UnknownRequiredTlv(ty))),
            ty if ty >= MIN_CUSTOM_TLV_TYPE => {
                custom.0.insert(ty, v.to_vec());
                continue;
            }
            _ => continue,
        }
        if let Some(slot) = offsets.0.get_mut(record.record_type as usize) {
            *slot = offset;
        }
    }
    Ok((t, offsets, custom))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fwd() -> OutboundHopPayload {
        OutboundHopPayload::Forward {
            short_channel_id: ShortChannelId(1),
            amt_to_forward_msat: 15000,
            outgoing_cltv_value: 1500,
        }
    }

    #[test]
    fn forward_payload_matches_the_onion_vector_encoding() {
        // First hop of onion-test.json (without its length prefix).
        let expected = [0x02, 0x02, 0x3a, 0x98, 0x04, 0x02, 0x05, 0xdc, 0x06, 0x08, 0, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(fwd().encode(), expected);
        assert_eq!(
            InboundHopPayload::decode(&expected, false, false),
            Ok(InboundHopPayload::Forward {
                short_channel_id: ShortChannelId(1),
                amt_to_forward_msat: 15000,
                outgoing_cltv_value: 1500,
            })
        );
    }

    #[test]
    fn receive_round_trips_with_custom_records() {
        let mut custom = CustomRecords::new();
        custom.insert(65537, vec![1, 2, 3]).unwrap();
        assert_eq!(custom.insert(65535, vec![]), Err(InvalidCustomRecordType(65535)));
        let out = OutboundHopPayload::Receive {
            amt_to_forward_msat: 1000,
            outgoing_cltv_value: 144,
            payment_data: Some(PaymentData { payment_secret: PaymentSecret([7; 32]), total_msat: 3000 }),
            payment_metadata: Some(vec![9; 5]),
            custom_records: custom.clone(),
        };
        let bytes = out.encode();
        assert_eq!(
            InboundHopPayload::decode(&bytes, true, false),
            Ok(InboundHopPayload::Receive {
                amt_to_forward_msat: 1000,
                outgoing_cltv_value: 144,
                payment_data: Some(PaymentData { payment_secret: PaymentSecret([7; 32]), total_msat: 3000 }),
                payment_metadata: Some(vec![9; 5]),
                total_msat: 3000,
                custom_records: custom,
            })
        );
    }

    #[test]
    fn unknown_even_and_bad_values_name_the_record() {
        // amt (2), cltv (4), then unknown even 20 at offset 8.
        let bytes = [2, 1, 1, 4, 2, 1, 1, 0x14, 0];
        let e = InboundHopPayload::decode(&bytes, true, false).unwrap_err();
        assert_eq!(e, err(PayloadErrorKind::Decode(DecodeError::UnknownRequiredTlv(20)), 20, 7));
        // Non-minimal tu64 in amt_to_forward.
        let bytes = [2, 2, 0, 1, 4, 1, 1];
        let e = InboundHopPayload::decode(&bytes, true, false).unwrap_err();
        assert_eq!(e, err(PayloadErrorKind::Decode(DecodeError::NonMinimalInteger), 2, 0));
        // Out of order.
        let bytes = [4, 1, 1, 2, 1, 1];
        let e = InboundHopPayload::decode(&bytes, true, false).unwrap_err();
        assert_eq!(e.kind, PayloadErrorKind::Decode(DecodeError::TlvTypeOutOfOrder(2)));
        assert_eq!(e.offset, 3);
        // Unknown odd below 65536 is skipped, not kept.
        let bytes = [2, 1, 1, 4, 1, 1, 0xfd, 0x02, 0x31, 1, 0];
        match InboundHopPayload::decode(&bytes, true, false).unwrap() {
            InboundHopPayload::Receive { custom_records, .. } => assert!(custom_records.is_empty()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn forward_and_final_rules() {
        let f = fwd().encode();
        // A forward payload at the final hop: short_channel_id not allowed.
        assert_eq!(
            InboundHopPayload::decode(&f, true, false).unwrap_err(),
            err(PayloadErrorKind::Forbidden, 6, 8)
        );
        // Missing short_channel_id when forwarding.
        let r = [2, 1, 1, 4, 1, 1];
        assert_eq!(
            InboundHopPayload::decode(&r, false, false).unwrap_err(),
            err(PayloadErrorKind::Missing, 6, 0)
        );
        // Missing amount.
        assert_eq!(
            InboundHopPayload::decode(&[4, 1, 1], true, false).unwrap_err(),
            err(PayloadErrorKind::Missing, 2, 0)
        );
        // payment_data at a forwarding hop.
        let mut p = f.clone();
        p.extend_from_slice(&[8, 32]);
        p.extend_from_slice(&[0; 32]);
        assert_eq!(
            InboundHopPayload::decode(&p, false, false).unwrap_err(),
            err(PayloadErrorKind::Forbidden, 8, 18)
        );
        // A path key in update_add_htlc without encrypted data.
        assert_eq!(
            InboundHopPayload::decode(&f, false, true).unwrap_err(),
            err(PayloadErrorKind::Missing, 10, 0)
        );
    }

    #[test]
    fn blinded_rules() {
        let pk = PublicKey::from_slice(&[
            0x02, 0x4d, 0x4b, 0x6c, 0xd1, 0x36, 0x10, 0x32, 0xca, 0x9b, 0xd2, 0xae, 0xb9, 0xd9, 0x00, 0xaa,
            0x4d, 0x45, 0xd9, 0xea, 0xd8, 0x0a, 0xc9, 0x42, 0x33, 0x74, 0xc4, 0x51, 0xa7, 0x25, 0x4d, 0x07,
            0x66,
        ])
        .unwrap();
        let intro = OutboundHopPayload::BlindedForward {
            encrypted_recipient_data: vec![1; 20],
            current_path_key: Some(pk),
        };
        let bytes = intro.encode();
        assert!(matches!(
            InboundHopPayload::decode(&bytes, false, false),
            Ok(InboundHopPayload::BlindedForward { .. })
        ));
        // Both path keys, or none.
        assert_eq!(
            InboundHopPayload::decode(&bytes, false, true).unwrap_err().kind,
            PayloadErrorKind::PathKeyMismatch
        );
        let inner = OutboundHopPayload::BlindedForward {
            encrypted_recipient_data: vec![1; 20],
            current_path_key: None,
        };
        assert_eq!(
            InboundHopPayload::decode(&inner.encode(), false, false).unwrap_err().kind,
            PayloadErrorKind::PathKeyMismatch
        );
        // Amount in a blinded forward payload.
        let mut extra = vec![2, 1, 5];
        extra.extend_from_slice(&inner.encode());
        assert_eq!(
            InboundHopPayload::decode(&extra, false, true).unwrap_err(),
            err(PayloadErrorKind::Forbidden, 2, 0)
        );
        // Blinded final needs total_amount_msat.
        let mut fin = vec![2, 1, 5, 4, 1, 5];
        fin.extend_from_slice(&inner.encode());
        assert_eq!(
            InboundHopPayload::decode(&fin, true, true).unwrap_err(),
            err(PayloadErrorKind::Missing, 18, 0)
        );
        fin.extend_from_slice(&[18, 1, 9]);
        assert!(matches!(
            InboundHopPayload::decode(&fin, true, true),
            Ok(InboundHopPayload::BlindedReceive { amt_to_forward_msat: 5, total_amount_msat: 9, .. })
        ));
    }
}
