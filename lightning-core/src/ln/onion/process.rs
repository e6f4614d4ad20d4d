//! What a node does with the onion of an incoming HTLC: peel it with the
//! node key held by the signer, check the payload, unblind when inside a
//! blinded path, and say where the HTLC goes next, or exactly which failure to
//! send back.
//!
//! The checks here are the ones the onion and the HTLC alone decide. Checks
//! against our channels and policy (fees, `cltv_expiry_delta`, liquidity, the
//! current block height, known payment hashes, replayed HMACs) belong to the
//! caller, which then builds the failure with [`HtlcFailure::Fail`].

use crate::ln::types::{PaymentHash, ShortChannelId};
use crate::prelude::*;
use crate::sign::{NodeSigner, Recipient};
use crate::util::tlv::TlvStream;

use super::blinding::{self, PaymentConstraints, UnblindedHop};
use super::failure::{build_failure_packet, FailureBuildError, FailureCode, FailureMessage, FailureReason};
use super::packet::{self, OnionPacket, OnionPeelError};
use super::payload::{CustomRecords, InboundHopPayload, PaymentData};

use bitcoin::secp256k1::ecdh::SharedSecret;
use bitcoin::secp256k1::{PublicKey, Secp256k1, Verification};

/// The parts of an incoming `update_add_htlc` the onion is checked against.
#[derive(Clone, Copy, Debug)]
pub struct IncomingHtlc<'a> {
    /// The `onion_routing_packet`.
    pub onion: &'a OnionPacket,
    /// The payment hash: the onion's associated data.
    pub payment_hash: PaymentHash,
    /// `amount_msat` of the HTLC.
    pub amount_msat: u64,
    /// `cltv_expiry` of the HTLC.
    pub cltv_expiry: u32,
    /// The `path_key` TLV of `update_add_htlc`, set when we are inside a blinded
    /// path (after its introduction node).
    pub path_key: Option<PublicKey>,
}

/// Where the next hop of a blinded path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlindedNextHop {
    /// Over this channel.
    ShortChannelId(ShortChannelId),
    /// To this node, over any channel with it.
    NodeId(PublicKey),
}

/// What to do with an HTLC whose onion peeled cleanly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NextHop {
    /// Forward outside a blinded path.
    Forward {
        /// The channel the sender chose.
        short_channel_id: ShortChannelId,
        /// Amount of the outgoing HTLC.
        amt_to_forward_msat: u64,
        /// CLTV of the outgoing HTLC.
        outgoing_cltv_value: u32,
        /// The onion for the next hop.
        next_packet: OnionPacket,
    },
    /// Forward inside a blinded path; amount and CLTV come from the
    /// recipient's `payment_relay`.
    BlindedForward {
        /// Where to forward.
        next_hop: BlindedNextHop,
        /// Amount of the outgoing HTLC.
        amt_to_forward_msat: u64,
        /// CLTV of the outgoing HTLC.
        outgoing_cltv_value: u32,
        /// The onion for the next hop.
        next_packet: OnionPacket,
        /// The `path_key` to put in the outgoing `update_add_htlc`.
        next_path_key: PublicKey,
        /// True if we are the introduction node (the path key came in the
        /// payload): failures go back as `update_fail_htlc`.
        is_introduction_node: bool,
    },
    /// We are the final node, outside a blinded path.
    Receive {
        /// Amount the sender meant to deliver (the HTLC carries at least this).
        amt_to_forward_msat: u64,
        /// The CLTV the sender expects (the HTLC expires no earlier).
        outgoing_cltv_value: u32,
        /// Payment secret and total, if sent.
        payment_data: Option<PaymentData>,
        /// Invoice metadata, if sent.
        payment_metadata: Option<Vec<u8>>,
        /// Total of the payment.
        total_msat: u64,
        /// Application records.
        custom_records: CustomRecords,
    },
    /// We are the final node of a blinded path we built.
    BlindedReceive {
        /// Amount the sender meant to deliver.
        amt_to_forward_msat: u64,
        /// Total of the payment.
        total_amount_msat: u64,
        /// The CLTV the sender expects.
        outgoing_cltv_value: u32,
        /// Our `path_id` (to check the path was used as we meant).
        path_id: Option<Vec<u8>>,
        /// Our `payment_constraints`, already checked against the HTLC.
        payment_constraints: Option<PaymentConstraints>,
        /// Application records.
        custom_records: CustomRecords,
    },
}

/// A peeled onion: the secret shared with the sender and what to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeeledPaymentHop {
    /// Encrypts any failure we later send back for this HTLC.
    pub shared_secret: SharedSecret,
    /// Where the HTLC goes.
    pub next_hop: NextHop,
}

/// The failure to send back for an HTLC whose onion we refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HtlcFailure {
    /// Send `update_fail_malformed_htlc` with these fields (we could not, or
    /// must not, encrypt a reply).
    Malformed {
        /// A `BADONION` code.
        failure_code: FailureCode,
        /// SHA-256 of the onion as received.
        sha256_of_onion: [u8; 32],
    },
    /// Send `update_fail_htlc` with this message encrypted for the sender
    /// (see [`HtlcFailure::update_fail_reason`]).
    Fail {
        /// Our secret with the sender.
        shared_secret: SharedSecret,
        /// The failure.
        message: FailureMessage,
    },
}

impl HtlcFailure {
    /// The `reason` of `update_fail_htlc` for a [`HtlcFailure::Fail`]: the
    /// message padded to 256 bytes and wrapped in our return-packet layer.
    /// `None` for [`HtlcFailure::Malformed`].
    pub fn update_fail_reason(&self) -> Option<Result<Vec<u8>, FailureBuildError>> {
        match self {
            HtlcFailure::Malformed { .. } => None,
            HtlcFailure::Fail { shared_secret, message } => Some(build_failure_packet(
                &shared_secret.secret_bytes(),
                &crate::util::ser::Writeable::encode(message),
                super::failure::FAILURE_MESSAGE_PADDED_LEN,
            )),
        }
    }
}

/// Peels the onion of an incoming HTLC with our node key (through
/// `node_signer`, so a hardware signer can hold it) and applies BOLT 4's
/// reader rules.
///
/// Inside a blinded path (`htlc.path_key` set) every failure is
/// `invalid_onion_blinding` sent as `update_fail_malformed_htlc`; at the
/// introduction node it is `invalid_onion_blinding` in `update_fail_htlc`.
/// Elsewhere a bad version, key or HMAC is malformed, and a bad payload is
/// `invalid_onion_payload` naming the record at fault.
pub fn peel_payment_onion<NS: NodeSigner + ?Sized, C: Verification>(
    node_signer: &NS, secp_ctx: &Secp256k1<C>, htlc: &IncomingHtlc<'_>,
) -> Result<PeeledPaymentHop, HtlcFailure> {
    let sha256_of_onion = || htlc.onion.sha256_of_onion();
    let malformed = |code: FailureCode| HtlcFailure::Malformed {
        failure_code: if htlc.path_key.is_some() { FailureCode::INVALID_ONION_BLINDING } else { code },
        sha256_of_onion: sha256_of_onion(),
    };

    let onion_key = packet::check_packet_header(htlc.onion).map_err(|e| match e {
        OnionPeelError::InvalidVersion => malformed(FailureCode::INVALID_ONION_VERSION),
        _ => malformed(FailureCode::INVALID_ONION_KEY),
    })?;

    // Inside a blinded path the sender encrypted our layer to our blinded id.
    let blinding = match &htlc.path_key {
        Some(path_key) => {
            let ss = node_signer
                .ecdh(Recipient::Node, path_key, None)
                .map_err(|_| malformed(FailureCode::INVALID_ONION_BLINDING))?;
            let tweak = blinding::blinded_node_id_tweak(&ss.secret_bytes())
                .map_err(|_| malformed(FailureCode::INVALID_ONION_BLINDING))?;
            Some((*path_key, ss, tweak))
        }
        None => None,
    };
    let shared_secret = node_signer
        .ecdh(Recipient::Node, &onion_key, blinding.as_ref().map(|(_, _, tweak)| tweak))
        .map_err(|_| malformed(FailureCode::INVALID_ONION_KEY))?;

    let peeled = packet::peel_onion_with_parsed_key(
        secp_ctx,
        shared_secret,
        &onion_key,
        htlc.onion,
        &htlc.payment_hash.0,
    )
    .map_err(|e| match e {
        OnionPeelError::InvalidVersion => malformed(FailureCode::INVALID_ONION_VERSION),
        OnionPeelError::InvalidKey => malformed(FailureCode::INVALID_ONION_KEY),
        OnionPeelError::InvalidHmac => malformed(FailureCode::INVALID_ONION_HMAC),
        OnionPeelError::InvalidPayloadLength => {
            if htlc.path_key.is_some() {
                malformed(FailureCode::INVALID_ONION_BLINDING)
            } else {
                fail(shared_secret, FailureReason::InvalidOnionPayload { tlv: None })
            }
        }
    })?;

    let blinding_failure = || {
        if htlc.path_key.is_some() {
            malformed(FailureCode::INVALID_ONION_BLINDING)
        } else {
            fail(shared_secret, FailureReason::InvalidOnionBlinding { sha256_of_onion: sha256_of_onion() })
        }
    };

    let is_final = peeled.next_packet.is_none();
    let payload =
        InboundHopPayload::decode(&peeled.payload, is_final, htlc.path_key.is_some()).map_err(|e| {
            if htlc.path_key.is_some() || mentions_blinding(&peeled.payload) {
                blinding_failure()
            } else {
                fail(shared_secret, FailureReason::InvalidOnionPayload { tlv: Some((e.tlv_type, e.offset)) })
            }
        })?;

    let next_hop = match payload {
        InboundHopPayload::Forward { short_channel_id, amt_to_forward_msat, outgoing_cltv_value } => {
            NextHop::Forward {
                short_channel_id,
                amt_to_forward_msat,
                outgoing_cltv_value,
                next_packet: peeled
                    .next_packet
                    .ok_or_else(|| fail(shared_secret, FailureReason::InvalidOnionPayload { tlv: None }))?,
            }
        }
        InboundHopPayload::Receive {
            amt_to_forward_msat,
            outgoing_cltv_value,
            payment_data,
            payment_metadata,
            total_msat,
            custom_records,
        } => {
            if htlc.cltv_expiry < outgoing_cltv_value {
                return Err(fail(
                    shared_secret,
                    FailureReason::FinalIncorrectCltvExpiry { cltv_expiry: htlc.cltv_expiry },
                ));
            }
            if htlc.amount_msat < amt_to_forward_msat {
                return Err(fail(
                    shared_secret,
                    FailureReason::FinalIncorrectHtlcAmount { incoming_htlc_amt_msat: htlc.amount_msat },
                ));
            }
            NextHop::Receive {
                amt_to_forward_msat,
                outgoing_cltv_value,
                payment_data,
                payment_metadata,
                total_msat,
                custom_records,
            }
        }
        InboundHopPayload::BlindedForward { encrypted_recipient_data, current_path_key } => {
            let hop = unblind(node_signer, secp_ctx, &blinding, current_path_key, &encrypted_recipient_data)
                .ok_or_else(blinding_failure)?;
            let data = &hop.encrypted_data;
            let next_hop = match (data.short_channel_id, data.next_node_id) {
                (Some(scid), None) => BlindedNextHop::ShortChannelId(scid),
                (None, Some(node_id)) => BlindedNextHop::NodeId(node_id),
                _ => return Err(blinding_failure()),
            };
            let relay = data.payment_relay.ok_or_else(blinding_failure)?;
            check_blinded_constraints(&hop, htlc).ok_or_else(blinding_failure)?;
            let amt_to_forward_msat =
                relay.amount_to_forward_msat(htlc.amount_msat).ok_or_else(blinding_failure)?;
            let outgoing_cltv_value =
                htlc.cltv_expiry.checked_sub(relay.cltv_expiry_delta as u32).ok_or_else(blinding_failure)?;
            NextHop::BlindedForward {
                next_hop,
                amt_to_forward_msat,
                outgoing_cltv_value,
                next_packet: peeled.next_packet.ok_or_else(blinding_failure)?,
                next_path_key: hop.next_path_key,
                is_introduction_node: htlc.path_key.is_none(),
            }
        }
        InboundHopPayload::BlindedReceive {
            amt_to_forward_msat,
            total_amount_msat,
            outgoing_cltv_value,
            encrypted_recipient_data,
            current_path_key,
            custom_records,
        } => {
            let hop = unblind(node_signer, secp_ctx, &blinding, current_path_key, &encrypted_recipient_data)
                .ok_or_else(blinding_failure)?;
            check_blinded_constraints(&hop, htlc).ok_or_else(blinding_failure)?;
            if htlc.cltv_expiry < outgoing_cltv_value || htlc.amount_msat < amt_to_forward_msat {
                return Err(blinding_failure());
            }
            NextHop::BlindedReceive {
                amt_to_forward_msat,
                total_amount_msat,
                outgoing_cltv_value,
                path_id: hop.encrypted_data.path_id.map(|p| p.0),
                payment_constraints: hop.encrypted_data.payment_constraints,
                custom_records,
            }
        }
    };
    Ok(PeeledPaymentHop { shared_secret, next_hop })
}

fn fail(shared_secret: SharedSecret, reason: FailureReason) -> HtlcFailure {
    HtlcFailure::Fail { shared_secret, message: FailureMessage::from(reason) }
}

/// True if a payload that failed to decode carries route-blinding records, so
/// its failure must be `invalid_onion_blinding`.
fn mentions_blinding(payload: &[u8]) -> bool {
    TlvStream::new(payload).any(|r| matches!(r, Ok(rec) if rec.record_type == 10 || rec.record_type == 12))
}

/// Unblinds our hop with the path key of `update_add_htlc` (already ECDH'd in
/// `blinding`) or, at the introduction node, the one from the payload.
fn unblind<NS: NodeSigner + ?Sized, C: Verification>(
    node_signer: &NS, secp_ctx: &Secp256k1<C>,
    blinding: &Option<(PublicKey, SharedSecret, bitcoin::secp256k1::Scalar)>,
    current_path_key: Option<PublicKey>, encrypted_recipient_data: &[u8],
) -> Option<UnblindedHop> {
    match (blinding, current_path_key) {
        (Some((path_key, ss, _)), None) => blinding::unblind_hop_with_shared_secret(
            secp_ctx,
            path_key,
            &ss.secret_bytes(),
            encrypted_recipient_data,
        )
        .ok(),
        (None, Some(path_key)) => {
            blinding::unblind_hop(node_signer, secp_ctx, &path_key, encrypted_recipient_data).ok()
        }
        _ => None,
    }
}

/// `payment_constraints` and `allowed_features` against the HTLC.
fn check_blinded_constraints(hop: &UnblindedHop, htlc: &IncomingHtlc<'_>) -> Option<()> {
    if let Some(c) = &hop.encrypted_data.payment_constraints {
        if htlc.cltv_expiry > c.max_cltv_expiry || htlc.amount_msat < c.htlc_minimum_msat {
            return None;
        }
    }
    // No payment feature is allowed yet: any bit set is unknown to us.
    if hop.encrypted_data.allowed_features().supports_unknown_bits() {
        return None;
    }
    Some(())
}
