//! BOLT 2 channel messages: v1 establishment (`open_channel`,
//! `accept_channel`, `funding_created`, `funding_signed`, `channel_ready`),
//! close (`shutdown`, `closing_signed`), normal operation (`update_*`,
//! `commitment_signed`, `revoke_and_ack`) and `channel_reestablish`.
//!
//! Each struct holds the message's fields in wire order; TLV records are
//! flattened into `Option` fields. Decoding only checks the encoding (BOLT 1
//! TLV rules, points on the curve); every protocol check belongs to the
//! channel state machine.

use crate::io::{self, Read, Write};
use crate::ln::features::ChannelTypeFeatures;
use crate::ln::msgs::DecodeError;
use crate::ln::onion::attribution::{AttributionData, ATTRIBUTION_DATA_LEN};
use crate::ln::onion::OnionPacket;
use crate::ln::types::{ChannelId, PaymentHash, PaymentPreimage, ShortChannelId};
use crate::ln::wire::Type;
use crate::prelude::*;
use crate::util::ser::{read_u16_len_bytes, write_u16_len_bytes, Readable, Writeable};
use crate::util::tlv::TlvValue;
use bitcoin::blockdata::constants::ChainHash;
use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::secp256k1::PublicKey;
use bitcoin::{ScriptBuf, Txid};

impl TlvValue for ScriptBuf {
    fn write_value<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        w.write_all(self.as_bytes())
    }
    fn value_len(&self) -> usize {
        self.len()
    }
    fn read_value(value: &[u8]) -> Result<Self, DecodeError> {
        Ok(ScriptBuf::from_bytes(value.to_vec()))
    }
}

impl TlvValue for ChannelTypeFeatures {
    fn write_value<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        w.write_all(&self.to_be_bytes())
    }
    fn value_len(&self) -> usize {
        self.to_be_bytes().len()
    }
    fn read_value(value: &[u8]) -> Result<Self, DecodeError> {
        Ok(ChannelTypeFeatures::from_be_bytes(value.to_vec()))
    }
}

impl TlvValue for AttributionData {
    fn write_value<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        w.write_all(&self.0)
    }
    fn value_len(&self) -> usize {
        ATTRIBUTION_DATA_LEN
    }
    fn read_value(value: &[u8]) -> Result<Self, DecodeError> {
        let bytes: [u8; ATTRIBUTION_DATA_LEN] =
            value.try_into().map_err(|_| DecodeError::BadLengthDescriptor)?;
        Ok(AttributionData(bytes))
    }
}

/// `fee_range` of `closing_signed`: the fees the sender accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClosingSignedFeeRange {
    /// The lowest fee the sender accepts.
    pub min_fee_satoshis: u64,
    /// The highest fee the sender accepts.
    pub max_fee_satoshis: u64,
}

impl Writeable for ClosingSignedFeeRange {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.min_fee_satoshis.write(w)?;
        self.max_fee_satoshis.write(w)
    }
}

impl Readable for ClosingSignedFeeRange {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(ClosingSignedFeeRange {
            min_fee_satoshis: Readable::read(r)?,
            max_fee_satoshis: Readable::read(r)?,
        })
    }
}
crate::impl_tlv_value_fixed!(ClosingSignedFeeRange);

/// `next_funding` / `my_current_funding_locked` of `channel_reestablish`
/// (splicing and dual funding; kept so they round-trip).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FundingTxidWithFlags {
    /// The funding transaction id.
    pub txid: Txid,
    /// `retransmit_flags`.
    pub retransmit_flags: u8,
}

impl Writeable for FundingTxidWithFlags {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.txid.write(w)?;
        self.retransmit_flags.write(w)
    }
}

impl Readable for FundingTxidWithFlags {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(FundingTxidWithFlags { txid: Readable::read(r)?, retransmit_flags: Readable::read(r)? })
    }
}
crate::impl_tlv_value_fixed!(FundingTxidWithFlags);

crate::tlv_stream! {
    /// `open_channel_tlvs` and `accept_channel_tlvs`.
    pub struct OpenChannelTlvs {
        /// `upfront_shutdown_script` (empty: none).
        (0, shutdown_scriptpubkey: ScriptBuf),
        /// `channel_type`.
        (1, channel_type: ChannelTypeFeatures),
    }
}

crate::tlv_stream! {
    /// `channel_ready_tlvs`.
    pub struct ChannelReadyTlvs {
        /// `short_channel_id`: the alias the sender will accept for forwards.
        (1, short_channel_id_alias: ShortChannelId),
    }
}

crate::tlv_stream! {
    /// `closing_signed_tlvs`.
    pub struct ClosingSignedTlvs {
        /// `fee_range`.
        (1, fee_range: ClosingSignedFeeRange),
    }
}

crate::tlv_stream! {
    /// `update_add_htlc_tlvs`.
    pub struct UpdateAddHTLCTlvs {
        /// `blinded_path`: the `path_key` inside a blinded route.
        (0, blinding_point: PublicKey),
    }
}

crate::tlv_stream! {
    /// `update_fulfill_htlc_tlvs` and `update_fail_htlc_tlvs`.
    pub struct AttributionTlvs {
        /// `attribution_data`.
        (1, attribution_data: AttributionData),
    }
}

crate::tlv_stream! {
    /// `commitment_signed_tlvs`.
    pub struct CommitmentSignedTlvs {
        /// `funding_txid` (splicing).
        (1, funding_txid: Txid),
    }
}

crate::tlv_stream! {
    /// `channel_reestablish_tlvs`.
    pub struct ChannelReestablishTlvs {
        /// `next_funding`.
        (1, next_funding: FundingTxidWithFlags),
        /// `my_current_funding_locked`.
        (5, my_current_funding_locked: FundingTxidWithFlags),
    }
}

/// Declares the wire encoding of a message whose fields are written in order,
/// optionally followed by a TLV stream whose records are flattened into the
/// message's fields of the same names.
macro_rules! channel_message {
    ($name:ident, $type_id:expr, [$($field:ident),*] $(, $tlvs:ident { $($tlv_field:ident),* })?) => {
        impl Writeable for $name {
            fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
                $( self.$field.write(w)?; )*
                $( $tlvs { $( $tlv_field: self.$tlv_field.clone(), )* }.write(w)?; )?
                Ok(())
            }
        }
        impl Readable for $name {
            fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
                $( let $field = Readable::read(r)?; )*
                $( let tlvs: $tlvs = Readable::read(r)?; )?
                Ok($name { $( $field, )* $( $( $tlv_field: tlvs.$tlv_field, )* )? })
            }
        }
        impl Type for $name {
            const TYPE: u16 = $type_id;
        }
    };
}

/// `open_channel` (type 32): the funder proposes a channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenChannel {
    /// The chain the channel is on.
    pub chain_hash: ChainHash,
    /// The id until the funding outpoint is known.
    pub temporary_channel_id: ChannelId,
    /// The channel's value.
    pub funding_satoshis: u64,
    /// Given to the fundee at open.
    pub push_msat: u64,
    /// Outputs below this are not created on the sender's commitment.
    pub dust_limit_satoshis: u64,
    /// The most the sender lets be in flight towards it.
    pub max_htlc_value_in_flight_msat: u64,
    /// What the fundee must keep on its side.
    pub channel_reserve_satoshis: u64,
    /// The smallest HTLC the sender accepts.
    pub htlc_minimum_msat: u64,
    /// The initial commitment feerate.
    pub feerate_per_kw: u32,
    /// How long the fundee's outputs are delayed on its commitments.
    pub to_self_delay: u16,
    /// The most HTLCs the sender accepts at once.
    pub max_accepted_htlcs: u16,
    /// The funder's funding key.
    pub funding_pubkey: PublicKey,
    /// Its revocation basepoint.
    pub revocation_basepoint: PublicKey,
    /// Its payment basepoint.
    pub payment_basepoint: PublicKey,
    /// Its delayed payment basepoint.
    pub delayed_payment_basepoint: PublicKey,
    /// Its HTLC basepoint.
    pub htlc_basepoint: PublicKey,
    /// The point of its commitment 0.
    pub first_per_commitment_point: PublicKey,
    /// Bit 0: announce the channel.
    pub channel_flags: u8,
    /// `upfront_shutdown_script`.
    pub shutdown_scriptpubkey: Option<ScriptBuf>,
    /// `channel_type`.
    pub channel_type: Option<ChannelTypeFeatures>,
}
channel_message!(
    OpenChannel,
    32,
    [
        chain_hash,
        temporary_channel_id,
        funding_satoshis,
        push_msat,
        dust_limit_satoshis,
        max_htlc_value_in_flight_msat,
        channel_reserve_satoshis,
        htlc_minimum_msat,
        feerate_per_kw,
        to_self_delay,
        max_accepted_htlcs,
        funding_pubkey,
        revocation_basepoint,
        payment_basepoint,
        delayed_payment_basepoint,
        htlc_basepoint,
        first_per_commitment_point,
        channel_flags
    ],
    OpenChannelTlvs { shutdown_scriptpubkey, channel_type }
);

/// `accept_channel` (type 33): the fundee accepts, with its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptChannel {
    /// The id from `open_channel`.
    pub temporary_channel_id: ChannelId,
    /// Outputs below this are not created on the sender's commitment.
    pub dust_limit_satoshis: u64,
    /// The most the sender lets be in flight towards it.
    pub max_htlc_value_in_flight_msat: u64,
    /// What the funder must keep on its side.
    pub channel_reserve_satoshis: u64,
    /// The smallest HTLC the sender accepts.
    pub htlc_minimum_msat: u64,
    /// Confirmations the sender waits for before `channel_ready`.
    pub minimum_depth: u32,
    /// How long the funder's outputs are delayed on its commitments.
    pub to_self_delay: u16,
    /// The most HTLCs the sender accepts at once.
    pub max_accepted_htlcs: u16,
    /// The fundee's funding key.
    pub funding_pubkey: PublicKey,
    /// Its revocation basepoint.
    pub revocation_basepoint: PublicKey,
    /// Its payment basepoint.
    pub payment_basepoint: PublicKey,
    /// Its delayed payment basepoint.
    pub delayed_payment_basepoint: PublicKey,
    /// Its HTLC basepoint.
    pub htlc_basepoint: PublicKey,
    /// The point of its commitment 0.
    pub first_per_commitment_point: PublicKey,
    /// `upfront_shutdown_script`.
    pub shutdown_scriptpubkey: Option<ScriptBuf>,
    /// `channel_type`.
    pub channel_type: Option<ChannelTypeFeatures>,
}
channel_message!(
    AcceptChannel,
    33,
    [
        temporary_channel_id,
        dust_limit_satoshis,
        max_htlc_value_in_flight_msat,
        channel_reserve_satoshis,
        htlc_minimum_msat,
        minimum_depth,
        to_self_delay,
        max_accepted_htlcs,
        funding_pubkey,
        revocation_basepoint,
        payment_basepoint,
        delayed_payment_basepoint,
        htlc_basepoint,
        first_per_commitment_point
    ],
    OpenChannelTlvs { shutdown_scriptpubkey, channel_type }
);

/// `funding_created` (type 34): the funding outpoint and the funder's
/// signature on the fundee's commitment 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FundingCreated {
    /// The id from `open_channel`.
    pub temporary_channel_id: ChannelId,
    /// The funding transaction.
    pub funding_txid: Txid,
    /// The channel's output in it.
    pub funding_output_index: u16,
    /// Signature on the fundee's first commitment.
    pub signature: Signature,
}
channel_message!(FundingCreated, 34, [temporary_channel_id, funding_txid, funding_output_index, signature]);

/// `funding_signed` (type 35): the fundee's signature on the funder's
/// commitment 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FundingSigned {
    /// The channel (now derived from the funding outpoint).
    pub channel_id: ChannelId,
    /// Signature on the funder's first commitment.
    pub signature: Signature,
}
channel_message!(FundingSigned, 35, [channel_id, signature]);

/// `channel_ready` (type 36): the funding is deep enough for the sender.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelReady {
    /// The channel.
    pub channel_id: ChannelId,
    /// The sender's point for its commitment 1.
    pub second_per_commitment_point: PublicKey,
    /// An alias the sender accepts in onions for this channel.
    pub short_channel_id_alias: Option<ShortChannelId>,
}
channel_message!(
    ChannelReady,
    36,
    [channel_id, second_per_commitment_point],
    ChannelReadyTlvs { short_channel_id_alias }
);

/// `shutdown` (type 38): the sender starts closing, paying to `scriptpubkey`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shutdown {
    /// The channel.
    pub channel_id: ChannelId,
    /// Where the sender's closing output goes.
    pub scriptpubkey: ScriptBuf,
}

impl Writeable for Shutdown {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.channel_id.write(w)?;
        write_u16_len_bytes(w, self.scriptpubkey.as_bytes())
    }
}

impl Readable for Shutdown {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(Shutdown {
            channel_id: Readable::read(r)?,
            scriptpubkey: ScriptBuf::from_bytes(read_u16_len_bytes(r)?),
        })
    }
}

impl Type for Shutdown {
    const TYPE: u16 = 38;
}

/// `closing_signed` (type 39): a fee proposal for the closing transaction,
/// with the sender's signature on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClosingSigned {
    /// The channel.
    pub channel_id: ChannelId,
    /// The proposed fee.
    pub fee_satoshis: u64,
    /// Signature on the closing transaction with that fee.
    pub signature: Signature,
    /// The fees the sender accepts.
    pub fee_range: Option<ClosingSignedFeeRange>,
}
channel_message!(ClosingSigned, 39, [channel_id, fee_satoshis, signature], ClosingSignedTlvs { fee_range });

/// `update_add_htlc` (type 128): offers an HTLC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateAddHTLC {
    /// The channel.
    pub channel_id: ChannelId,
    /// The HTLC's id, counting up from 0 per sender.
    pub htlc_id: u64,
    /// Its amount.
    pub amount_msat: u64,
    /// The hash it is locked to.
    pub payment_hash: PaymentHash,
    /// The height it expires at.
    pub cltv_expiry: u32,
    /// The onion for the receiver.
    pub onion_routing_packet: OnionPacket,
    /// `blinded_path`'s `path_key`.
    pub blinding_point: Option<PublicKey>,
}
channel_message!(
    UpdateAddHTLC,
    128,
    [channel_id, htlc_id, amount_msat, payment_hash, cltv_expiry, onion_routing_packet],
    UpdateAddHTLCTlvs { blinding_point }
);

/// `update_fulfill_htlc` (type 130): claims an HTLC with its preimage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateFulfillHTLC {
    /// The channel.
    pub channel_id: ChannelId,
    /// The HTLC (offered by the receiver of this message).
    pub htlc_id: u64,
    /// The preimage.
    pub payment_preimage: PaymentPreimage,
    /// `attribution_data`.
    pub attribution_data: Option<AttributionData>,
}
channel_message!(
    UpdateFulfillHTLC,
    130,
    [channel_id, htlc_id, payment_preimage],
    AttributionTlvs { attribution_data }
);

/// `update_fail_htlc` (type 131): fails an HTLC with an encrypted reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateFailHTLC {
    /// The channel.
    pub channel_id: ChannelId,
    /// The HTLC.
    pub htlc_id: u64,
    /// The onion failure packet for the origin.
    pub reason: Vec<u8>,
    /// `attribution_data`.
    pub attribution_data: Option<AttributionData>,
}

impl Writeable for UpdateFailHTLC {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.channel_id.write(w)?;
        self.htlc_id.write(w)?;
        write_u16_len_bytes(w, &self.reason)?;
        AttributionTlvs { attribution_data: self.attribution_data.clone() }.write(w)
    }
}

impl Readable for UpdateFailHTLC {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let channel_id = Readable::read(r)?;
        let htlc_id = Readable::read(r)?;
        let reason = read_u16_len_bytes(r)?;
        let tlvs: AttributionTlvs = Readable::read(r)?;
        Ok(UpdateFailHTLC { channel_id, htlc_id, reason, attribution_data: tlvs.attribution_data })
    }
}

impl Type for UpdateFailHTLC {
    const TYPE: u16 = 131;
}

/// `update_fail_malformed_htlc` (type 135): the onion could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateFailMalformedHTLC {
    /// The channel.
    pub channel_id: ChannelId,
    /// The HTLC.
    pub htlc_id: u64,
    /// SHA-256 of the onion received.
    pub sha256_of_onion: [u8; 32],
    /// A `BADONION` failure code.
    pub failure_code: u16,
}
channel_message!(UpdateFailMalformedHTLC, 135, [channel_id, htlc_id, sha256_of_onion, failure_code]);

/// `commitment_signed` (type 132): signatures on the receiver's next
/// commitment and its HTLC transactions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitmentSigned {
    /// The channel.
    pub channel_id: ChannelId,
    /// Signature on the commitment transaction.
    pub signature: Signature,
    /// Signatures on the HTLC transactions, in output order.
    pub htlc_signatures: Vec<Signature>,
    /// `funding_txid` (splicing).
    pub funding_txid: Option<Txid>,
}

impl Writeable for CommitmentSigned {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.channel_id.write(w)?;
        self.signature.write(w)?;
        let count = u16::try_from(self.htlc_signatures.len())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        count.write(w)?;
        for sig in &self.htlc_signatures {
            sig.write(w)?;
        }
        CommitmentSignedTlvs { funding_txid: self.funding_txid }.write(w)
    }
}

impl Readable for CommitmentSigned {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let channel_id = Readable::read(r)?;
        let signature = Readable::read(r)?;
        let count = u16::read(r)? as usize;
        // Grown as signatures arrive: a lying count costs nothing.
        let mut htlc_signatures = Vec::with_capacity(count.min(64));
        for _ in 0..count {
            htlc_signatures.push(Readable::read(r)?);
        }
        let tlvs: CommitmentSignedTlvs = Readable::read(r)?;
        Ok(CommitmentSigned { channel_id, signature, htlc_signatures, funding_txid: tlvs.funding_txid })
    }
}

impl Type for CommitmentSigned {
    const TYPE: u16 = 132;
}

/// `revoke_and_ack` (type 133): revokes the sender's previous commitment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokeAndACK {
    /// The channel.
    pub channel_id: ChannelId,
    /// The secret of the revoked commitment.
    pub per_commitment_secret: [u8; 32],
    /// The point of the sender's commitment after the current one.
    pub next_per_commitment_point: PublicKey,
}
channel_message!(RevokeAndACK, 133, [channel_id, per_commitment_secret, next_per_commitment_point]);

/// `update_fee` (type 134): the funder changes the commitment feerate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateFee {
    /// The channel.
    pub channel_id: ChannelId,
    /// The new feerate.
    pub feerate_per_kw: u32,
}
channel_message!(UpdateFee, 134, [channel_id, feerate_per_kw]);

/// `channel_reestablish` (type 136): where the sender is, sent on reconnection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelReestablish {
    /// The channel.
    pub channel_id: ChannelId,
    /// The number of the next `commitment_signed` the sender expects.
    pub next_commitment_number: u64,
    /// The number of the next `revoke_and_ack` the sender expects.
    pub next_revocation_number: u64,
    /// The last per-commitment secret the sender received (zeros if none).
    pub your_last_per_commitment_secret: [u8; 32],
    /// The sender's current per-commitment point.
    pub my_current_per_commitment_point: PublicKey,
    /// `next_funding`.
    pub next_funding: Option<FundingTxidWithFlags>,
    /// `my_current_funding_locked`.
    pub my_current_funding_locked: Option<FundingTxidWithFlags>,
}
channel_message!(
    ChannelReestablish,
    136,
    [
        channel_id,
        next_commitment_number,
        next_revocation_number,
        your_last_per_commitment_secret,
        my_current_per_commitment_point
    ],
    ChannelReestablishTlvs { next_funding, my_current_funding_locked }
);

/// The updates and the `commitment_signed` that a channel sends together,
/// in this order: adds, fulfills, fails, malformed fails, fee, then the
/// signature (the order BOLT 2 requires for retransmission too).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CommitmentUpdate {
    /// `update_add_htlc`s.
    pub update_add_htlcs: Vec<UpdateAddHTLC>,
    /// `update_fulfill_htlc`s.
    pub update_fulfill_htlcs: Vec<UpdateFulfillHTLC>,
    /// `update_fail_htlc`s.
    pub update_fail_htlcs: Vec<UpdateFailHTLC>,
    /// `update_fail_malformed_htlc`s.
    pub update_fail_malformed_htlcs: Vec<UpdateFailMalformedHTLC>,
    /// `update_fee`, if any.
    pub update_fee: Option<UpdateFee>,
    /// The `commitment_signed` covering them, if any.
    pub commitment_signed: Option<CommitmentSigned>,
}

impl CommitmentUpdate {
    /// True if there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.update_add_htlcs.is_empty()
            && self.update_fulfill_htlcs.is_empty()
            && self.update_fail_htlcs.is_empty()
            && self.update_fail_malformed_htlcs.is_empty()
            && self.update_fee.is_none()
            && self.commitment_signed.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ln::wire::{self, Message};
    use crate::util::ser::decode_exact;
    use bitcoin::secp256k1::{Message as SecpMessage, Secp256k1, SecretKey};

    fn point(b: u8) -> PublicKey {
        PublicKey::from_secret_key(&Secp256k1::new(), &SecretKey::from_slice(&[b; 32]).unwrap())
    }
    fn sig() -> Signature {
        let sk = SecretKey::from_slice(&[7; 32]).unwrap();
        Secp256k1::new().sign_ecdsa(&SecpMessage::from_digest([3; 32]), &sk)
    }

    #[test]
    fn open_channel_tlvs_round_trip_and_order() {
        let mut ct = ChannelTypeFeatures::empty();
        ct.set_static_remote_key_required();
        let open = OpenChannel {
            chain_hash: ChainHash::REGTEST,
            temporary_channel_id: ChannelId([1; 32]),
            funding_satoshis: 100_000,
            push_msat: 0,
            dust_limit_satoshis: 546,
            max_htlc_value_in_flight_msat: 1,
            channel_reserve_satoshis: 1000,
            htlc_minimum_msat: 1,
            feerate_per_kw: 253,
            to_self_delay: 144,
            max_accepted_htlcs: 483,
            funding_pubkey: point(1),
            revocation_basepoint: point(2),
            payment_basepoint: point(3),
            delayed_payment_basepoint: point(4),
            htlc_basepoint: point(5),
            first_per_commitment_point: point(6),
            channel_flags: 1,
            shutdown_scriptpubkey: Some(ScriptBuf::new()),
            channel_type: Some(ct),
        };
        let enc = wire::encode(&open);
        // type, then fixed part: 32+32+8*6+4+2+2+33*6+1 = 319 bytes.
        assert_eq!(&enc[..2], &[0, 32]);
        // TLVs: type 0 len 0; type 1 len 2 = 0x10 0x00 (bit 12, big-endian).
        assert_eq!(&enc[2 + 319..], &[0, 0, 1, 2, 0x10, 0x00]);
        assert_eq!(wire::read_message(&enc), Ok(Message::OpenChannel(open)));
    }

    #[test]
    fn closing_signed_fee_range_is_type_1() {
        let msg = ClosingSigned {
            channel_id: ChannelId([2; 32]),
            fee_satoshis: 500,
            signature: sig(),
            fee_range: Some(ClosingSignedFeeRange { min_fee_satoshis: 100, max_fee_satoshis: 900 }),
        };
        let enc = msg.encode();
        assert_eq!(&enc[32 + 8 + 64..], &[1, 16, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 3, 0x84]);
        assert_eq!(decode_exact::<ClosingSigned>(&enc), Ok(msg));
    }

    #[test]
    fn unknown_even_tlv_is_refused() {
        let msg = RevokeAndACK {
            channel_id: ChannelId([0; 32]),
            per_commitment_secret: [9; 32],
            next_per_commitment_point: point(9),
        };
        let mut enc = msg.encode();
        assert_eq!(decode_exact::<RevokeAndACK>(&enc), Ok(msg.clone()));
        // revoke_and_ack has no TLV stream: trailing bytes are an error of
        // decode_exact, but the wire reader ignores the extension.
        enc.extend_from_slice(&[2, 0]);
        let mut framed = 133u16.to_be_bytes().to_vec();
        framed.extend_from_slice(&enc);
        assert_eq!(wire::read_message(&framed), Ok(Message::RevokeAndACK(msg)));
        let fee = UpdateFee { channel_id: ChannelId([0; 32]), feerate_per_kw: 1000 };
        let ready = ChannelReady {
            channel_id: ChannelId([0; 32]),
            second_per_commitment_point: point(1),
            short_channel_id_alias: None,
        };
        let mut enc = ready.encode();
        enc.extend_from_slice(&[2, 0]);
        assert_eq!(decode_exact::<ChannelReady>(&enc), Err(DecodeError::UnknownRequiredTlv(2)));
        assert_eq!(decode_exact::<UpdateFee>(&fee.encode()), Ok(fee));
    }

    #[test]
    fn attribution_data_must_be_exact_length() {
        let fail = UpdateFailHTLC {
            channel_id: ChannelId([0; 32]),
            htlc_id: 3,
            reason: vec![1, 2, 3],
            attribution_data: Some(AttributionData::new()),
        };
        let enc = fail.encode();
        assert_eq!(decode_exact::<UpdateFailHTLC>(&enc), Ok(fail));
        // Same message with a 1-byte attribution_data.
        let mut short = enc[..32 + 8 + 2 + 3].to_vec();
        short.extend_from_slice(&[1, 1, 0]);
        assert_eq!(decode_exact::<UpdateFailHTLC>(&short), Err(DecodeError::BadLengthDescriptor));
    }

    #[test]
    fn commitment_signed_counts_signatures() {
        let msg = CommitmentSigned {
            channel_id: ChannelId([4; 32]),
            signature: sig(),
            htlc_signatures: vec![sig(), sig()],
            funding_txid: None,
        };
        let enc = msg.encode();
        assert_eq!(enc.len(), 32 + 64 + 2 + 128);
        assert_eq!(&enc[96..98], &[0, 2]);
        assert_eq!(decode_exact::<CommitmentSigned>(&enc), Ok(msg));
        // A count larger than the data is a short read.
        let mut lying = enc.clone();
        lying[97] = 3;
        assert_eq!(decode_exact::<CommitmentSigned>(&lying), Err(DecodeError::ShortRead));
    }
}
