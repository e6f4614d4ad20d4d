//! Property tests: every BOLT 2 message decodes back to what was encoded,
//! through the typed decoder and the wire dispatcher alike.

use lightning_core::bitcoin::blockdata::constants::ChainHash;
use lightning_core::bitcoin::hashes::Hash;
use lightning_core::bitcoin::secp256k1::ecdsa::Signature;
use lightning_core::bitcoin::secp256k1::{Message as SecpMessage, PublicKey, Secp256k1, SecretKey};
use lightning_core::bitcoin::{ScriptBuf, Txid};
use lightning_core::ln::features::ChannelTypeFeatures;
use lightning_core::ln::msgs::channel::FundingTxidWithFlags;
use lightning_core::ln::msgs::*;
use lightning_core::ln::onion::attribution::{AttributionData, ATTRIBUTION_DATA_LEN};
use lightning_core::ln::onion::OnionPacket;
use lightning_core::ln::types::{ChannelId, PaymentHash, PaymentPreimage, ShortChannelId};
use lightning_core::ln::wire::{self, Message};
use proptest::prelude::*;

fn point() -> impl Strategy<Value = PublicKey> {
    (1u8..=200).prop_map(|b| {
        PublicKey::from_secret_key(&Secp256k1::new(), &SecretKey::from_slice(&[b; 32]).unwrap())
    })
}
fn sig() -> impl Strategy<Value = Signature> {
    (1u8..=200, any::<[u8; 32]>()).prop_map(|(k, m)| {
        Secp256k1::new().sign_ecdsa(&SecpMessage::from_digest(m), &SecretKey::from_slice(&[k; 32]).unwrap())
    })
}
fn id() -> impl Strategy<Value = ChannelId> {
    any::<[u8; 32]>().prop_map(ChannelId)
}
fn script() -> impl Strategy<Value = ScriptBuf> {
    proptest::collection::vec(any::<u8>(), 0..60).prop_map(ScriptBuf::from_bytes)
}
fn channel_type() -> impl Strategy<Value = ChannelTypeFeatures> {
    // Trailing zero bytes are dropped on encode, so generate canonical vectors.
    proptest::collection::vec(any::<u8>(), 0..4).prop_map(|v| {
        let f = ChannelTypeFeatures::from_le_bytes(v);
        ChannelTypeFeatures::from_be_bytes(f.to_be_bytes())
    })
}
fn onion() -> impl Strategy<Value = OnionPacket> {
    (any::<u8>(), any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(|(version, k, h)| {
        let mut public_key = [2u8; 33];
        public_key[1..].copy_from_slice(&k);
        let mut hop_payloads = [0u8; 1300];
        hop_payloads[..32].copy_from_slice(&h);
        OnionPacket { version, public_key, hop_payloads, hmac: h }
    })
}
fn attribution() -> impl Strategy<Value = Option<AttributionData>> {
    proptest::option::of(any::<u8>().prop_map(|b| AttributionData([b; ATTRIBUTION_DATA_LEN])))
}
fn funding_flags() -> impl Strategy<Value = Option<FundingTxidWithFlags>> {
    proptest::option::of(
        (any::<[u8; 32]>(), any::<u8>())
            .prop_map(|(t, f)| FundingTxidWithFlags { txid: Txid::from_byte_array(t), retransmit_flags: f }),
    )
}

fn check(msg: Message<wire::NoCustomMessage>) -> Result<(), TestCaseError> {
    let bytes = lightning_core::util::ser::Writeable::encode(&msg);
    prop_assert_eq!(wire::read_message(&bytes), Ok(msg));
    Ok(())
}

proptest! {
    #[test]
    fn open_and_accept_round_trip(
        tid in id(), amounts in any::<[u64; 6]>(), feerate in any::<u32>(), delays in any::<[u16; 2]>(),
        keys in proptest::collection::vec(point(), 6), flags in any::<u8>(), minimum_depth in any::<u32>(),
        shutdown in proptest::option::of(script()), ct in proptest::option::of(channel_type()),
    ) {
        check(Message::OpenChannel(OpenChannel {
            chain_hash: ChainHash::BITCOIN, temporary_channel_id: tid, funding_satoshis: amounts[0],
            push_msat: amounts[1], dust_limit_satoshis: amounts[2], max_htlc_value_in_flight_msat: amounts[3],
            channel_reserve_satoshis: amounts[4], htlc_minimum_msat: amounts[5], feerate_per_kw: feerate,
            to_self_delay: delays[0], max_accepted_htlcs: delays[1], funding_pubkey: keys[0],
            revocation_basepoint: keys[1], payment_basepoint: keys[2], delayed_payment_basepoint: keys[3],
            htlc_basepoint: keys[4], first_per_commitment_point: keys[5], channel_flags: flags,
            shutdown_scriptpubkey: shutdown.clone(), channel_type: ct.clone(),
        }))?;
        check(Message::AcceptChannel(AcceptChannel {
            temporary_channel_id: tid, dust_limit_satoshis: amounts[0], max_htlc_value_in_flight_msat: amounts[1],
            channel_reserve_satoshis: amounts[2], htlc_minimum_msat: amounts[3], minimum_depth,
            to_self_delay: delays[0], max_accepted_htlcs: delays[1], funding_pubkey: keys[0],
            revocation_basepoint: keys[1], payment_basepoint: keys[2], delayed_payment_basepoint: keys[3],
            htlc_basepoint: keys[4], first_per_commitment_point: keys[5],
            shutdown_scriptpubkey: shutdown, channel_type: ct,
        }))?;
    }

    #[test]
    fn funding_and_close_round_trip(
        cid in id(), txid in any::<[u8; 32]>(), vout in any::<u16>(), s in sig(), p in point(),
        alias in proptest::option::of(any::<u64>()), spk in script(), fee in any::<u64>(),
        range in proptest::option::of(any::<(u64, u64)>()),
    ) {
        check(Message::FundingCreated(FundingCreated {
            temporary_channel_id: cid, funding_txid: Txid::from_byte_array(txid), funding_output_index: vout, signature: s,
        }))?;
        check(Message::FundingSigned(FundingSigned { channel_id: cid, signature: s }))?;
        check(Message::ChannelReady(ChannelReady {
            channel_id: cid, second_per_commitment_point: p, short_channel_id_alias: alias.map(ShortChannelId),
        }))?;
        check(Message::Shutdown(Shutdown { channel_id: cid, scriptpubkey: spk }))?;
        check(Message::ClosingSigned(ClosingSigned {
            channel_id: cid, fee_satoshis: fee, signature: s,
            fee_range: range.map(|(a, b)| ClosingSignedFeeRange { min_fee_satoshis: a, max_fee_satoshis: b }),
        }))?;
    }

    #[test]
    fn updates_round_trip(
        cid in id(), htlc_id in any::<u64>(), amount in any::<u64>(), hash in any::<[u8; 32]>(),
        cltv in any::<u32>(), packet in onion(), blinding in proptest::option::of(point()),
        attribution in attribution(), reason in proptest::collection::vec(any::<u8>(), 0..400),
        code in any::<u16>(), feerate in any::<u32>(),
    ) {
        check(Message::UpdateAddHTLC(UpdateAddHTLC {
            channel_id: cid, htlc_id, amount_msat: amount, payment_hash: PaymentHash(hash), cltv_expiry: cltv,
            onion_routing_packet: packet, blinding_point: blinding,
        }))?;
        check(Message::UpdateFulfillHTLC(UpdateFulfillHTLC {
            channel_id: cid, htlc_id, payment_preimage: PaymentPreimage(hash), attribution_data: attribution.clone(),
        }))?;
        check(Message::UpdateFailHTLC(UpdateFailHTLC { channel_id: cid, htlc_id, reason, attribution_data: attribution }))?;
        check(Message::UpdateFailMalformedHTLC(UpdateFailMalformedHTLC {
            channel_id: cid, htlc_id, sha256_of_onion: hash, failure_code: code,
        }))?;
        check(Message::UpdateFee(UpdateFee { channel_id: cid, feerate_per_kw: feerate }))?;
    }

    #[test]
    fn commitment_and_reestablish_round_trip(
        cid in id(), s in sig(), htlc_sigs in proptest::collection::vec(sig(), 0..20),
        funding_txid in proptest::option::of(any::<[u8; 32]>()), secret in any::<[u8; 32]>(), p in point(),
        numbers in any::<(u64, u64)>(), next_funding in funding_flags(), locked in funding_flags(),
    ) {
        check(Message::CommitmentSigned(CommitmentSigned {
            channel_id: cid, signature: s, htlc_signatures: htlc_sigs,
            funding_txid: funding_txid.map(Txid::from_byte_array),
        }))?;
        check(Message::RevokeAndACK(RevokeAndACK { channel_id: cid, per_commitment_secret: secret, next_per_commitment_point: p }))?;
        check(Message::ChannelReestablish(ChannelReestablish {
            channel_id: cid, next_commitment_number: numbers.0, next_revocation_number: numbers.1,
            your_last_per_commitment_secret: secret, my_current_per_commitment_point: p,
            next_funding, my_current_funding_locked: locked,
        }))?;
    }
}
