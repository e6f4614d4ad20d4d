//! Route blinding (BOLT 4 "Route Blinding" and `encrypted_data_tlv`).
//!
//! The recipient builds a [`BlindedPath`] with [`build_blinded_path`]: a chain of
//! path keys `E_i` from a session key, a shared secret `ss_i` with each node,
//! the node ids hidden as `B_i = HMAC256("blinded_node_id", ss_i) * N_i`, and
//! each hop's `encrypted_data_tlv` sealed with ChaCha20-Poly1305 under
//! `rho_i`. A node inside the path calls [`unblind_hop`] with the path key it
//! received: it gets the decrypted [`EncryptedDataTlvs`], the next path key,
//! and the tweak with which to peel the onion (which the sender encrypted to
//! `B_i`).

use crate::io::{self, Read, Write};
use crate::ln::features::BlindedHopFeatures;
use crate::ln::msgs::DecodeError;
use crate::ln::types::ShortChannelId;
use crate::prelude::*;
use crate::sign::{NodeSigner, Recipient, SignError};
use crate::tlv_stream;
use crate::util::ser::{read_array, Readable, Writeable};
use crate::util::tlv::{RawBytes, TlvValue, Tu32, Tu64};

use super::keys::{self, KeyType};

use bitcoin::secp256k1::{PublicKey, Scalar, Secp256k1, SecretKey, Signing, Verification};
use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce, Tag};
use core::fmt;

/// Length of the Poly1305 tag at the end of `encrypted_recipient_data`.
pub const ENCRYPTED_DATA_TAG_LEN: usize = 16;

/// `payment_relay` of `encrypted_data_tlv`: what a blinded forwarding node
/// charges and the CLTV delta it applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PaymentRelay {
    /// CLTV delta of this hop.
    pub cltv_expiry_delta: u16,
    /// Proportional fee, in millionths.
    pub fee_proportional_millionths: u32,
    /// Base fee, in millisatoshi.
    pub fee_base_msat: u32,
}

impl PaymentRelay {
    /// The amount to forward when `incoming_amount_msat` arrives (BOLT 4:
    /// `((amount - fee_base) * 1e6 + 1e6 + fee_prop - 1) / (1e6 + fee_prop)`),
    /// or `None` if the incoming amount does not even cover the base fee.
    pub fn amount_to_forward_msat(&self, incoming_amount_msat: u64) -> Option<u64> {
        let after_base = incoming_amount_msat.checked_sub(self.fee_base_msat as u64)? as u128;
        let prop = self.fee_proportional_millionths as u128;
        let amount = (after_base * 1_000_000 + 1_000_000 + prop - 1) / (1_000_000 + prop);
        u64::try_from(amount).ok()
    }
}

impl TlvValue for PaymentRelay {
    fn write_value<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.cltv_expiry_delta.write(w)?;
        self.fee_proportional_millionths.write(w)?;
        Tu32(self.fee_base_msat).write_value(w)
    }
    fn value_len(&self) -> usize {
        6 + Tu32(self.fee_base_msat).value_len()
    }
    fn read_value(value: &[u8]) -> Result<Self, DecodeError> {
        if value.len() < 6 {
            return Err(DecodeError::BadLengthDescriptor);
        }
        let mut r = value;
        let cltv_expiry_delta = u16::read(&mut r)?;
        let fee_proportional_millionths = u32::read(&mut r)?;
        let fee_base_msat = Tu32::read_value(r)?.0;
        Ok(PaymentRelay { cltv_expiry_delta, fee_proportional_millionths, fee_base_msat })
    }
}

/// `payment_constraints` of `encrypted_data_tlv`: limits the recipient puts on
/// HTLCs that use the path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PaymentConstraints {
    /// The highest `cltv_expiry` an HTLC may have at this hop.
    pub max_cltv_expiry: u32,
    /// The smallest amount an HTLC may carry at this hop.
    pub htlc_minimum_msat: u64,
}

impl TlvValue for PaymentConstraints {
    fn write_value<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.max_cltv_expiry.write(w)?;
        Tu64(self.htlc_minimum_msat).write_value(w)
    }
    fn value_len(&self) -> usize {
        4 + Tu64(self.htlc_minimum_msat).value_len()
    }
    fn read_value(value: &[u8]) -> Result<Self, DecodeError> {
        if value.len() < 4 {
            return Err(DecodeError::BadLengthDescriptor);
        }
        let mut r = value;
        let max_cltv_expiry = u32::read(&mut r)?;
        let htlc_minimum_msat = Tu64::read_value(r)?.0;
        Ok(PaymentConstraints { max_cltv_expiry, htlc_minimum_msat })
    }
}

tlv_stream! {
    /// `encrypted_data_tlv`: the plaintext of `encrypted_recipient_data`, the
    /// recipient's instructions to one node of a blinded path.
    pub struct EncryptedDataTlvs {
        /// Padding so every hop's data has the same length.
        (1, padding: RawBytes),
        /// The outgoing channel (forwarding nodes).
        (2, short_channel_id: ShortChannelId),
        /// The next node (forwarding nodes; instead of `short_channel_id`).
        (4, next_node_id: PublicKey),
        /// The recipient's own data to recognise the path (final node).
        (6, path_id: RawBytes),
        /// A path key to send on instead of the derived one (where two blinded
        /// paths are joined).
        (8, next_path_key_override: PublicKey),
        /// Fees and CLTV delta of a forwarding node.
        (10, payment_relay: PaymentRelay),
        /// Limits on HTLCs using the path.
        (12, payment_constraints: PaymentConstraints),
        /// Features the payment may use (must be empty today).
        (14, allowed_features: RawBytes),
    }
}

impl EncryptedDataTlvs {
    /// `allowed_features` as features (empty if absent, as BOLT 4 says to treat it).
    pub fn allowed_features(&self) -> BlindedHopFeatures {
        BlindedHopFeatures::from_be_bytes(
            self.allowed_features.as_ref().map_or_else(Vec::new, |f| f.0.clone()),
        )
    }
}

/// The first node of a blinded path (BOLT 1 `sciddir_or_pubkey`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntroductionNode {
    /// The node id of the introduction node.
    NodeId(PublicKey),
    /// A channel and a direction: the introduction node is the channel's
    /// node_1 (direction 0) or node_2 (direction 1).
    DirectedShortChannelId {
        /// 0 for node_1, 1 for node_2.
        direction: u8,
        /// The channel.
        short_channel_id: ShortChannelId,
    },
}

impl Writeable for IntroductionNode {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        match self {
            IntroductionNode::NodeId(pk) => pk.write(w),
            IntroductionNode::DirectedShortChannelId { direction, short_channel_id } => {
                direction.write(w)?;
                short_channel_id.write(w)
            }
        }
    }
}

impl Readable for IntroductionNode {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let first = u8::read(r)?;
        match first {
            0 | 1 => Ok(IntroductionNode::DirectedShortChannelId {
                direction: first,
                short_channel_id: ShortChannelId::read(r)?,
            }),
            2 | 3 => {
                let mut buf = [0u8; 33];
                buf[0] = first;
                buf[1..].copy_from_slice(&read_array::<_, 32>(r)?);
                PublicKey::from_slice(&buf)
                    .map(IntroductionNode::NodeId)
                    .map_err(|_| DecodeError::InvalidValue)
            }
            _ => Err(DecodeError::InvalidValue),
        }
    }
}

/// One hop of a blinded path (`blinded_path_hop`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlindedHop {
    /// The hop's blinded node id `B_i`.
    pub blinded_node_id: PublicKey,
    /// Its `encrypted_data_tlv`, sealed with ChaCha20-Poly1305.
    pub encrypted_recipient_data: Vec<u8>,
}

/// Most hops a [`BlindedPath`] read from untrusted data may have: every hop
/// takes a hop payload in the payment onion, which carries at most
/// [`MAX_HOPS`](super::packet::MAX_HOPS).
pub const MAX_BLINDED_PATH_HOPS: usize = super::packet::MAX_HOPS;
/// Most bytes of `encrypted_recipient_data`, summed over all hops, a
/// [`BlindedPath`] read from untrusted data may carry: all of it must fit in
/// the payment onion's [`HOP_PAYLOADS_LEN`](super::packet::HOP_PAYLOADS_LEN)
/// bytes of hop payloads, so a longer path could never be paid through.
pub const MAX_BLINDED_PATH_DATA_LEN: usize = super::packet::HOP_PAYLOADS_LEN;

/// A blinded path (`blinded_path`), as a recipient hands it to a sender.
///
/// Reading one fails with [`DecodeError::InvalidValue`] beyond
/// [`MAX_BLINDED_PATH_HOPS`] hops or [`MAX_BLINDED_PATH_DATA_LEN`] bytes of
/// encrypted data in total, so untrusted input cannot make us hold more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlindedPath {
    /// Where the path starts (not blinded).
    pub introduction_node: IntroductionNode,
    /// `E_0`, the path key of the first hop.
    pub first_path_key: PublicKey,
    /// The hops, the introduction node first.
    pub hops: Vec<BlindedHop>,
}

impl Writeable for BlindedPath {
    /// Fails (with `InvalidInput`) if there are more than 255 hops or a hop's
    /// data is longer than 65535 bytes, which the encoding cannot carry.
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        let num_hops =
            u8::try_from(self.hops.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        self.introduction_node.write(w)?;
        self.first_path_key.write(w)?;
        num_hops.write(w)?;
        for hop in &self.hops {
            hop.blinded_node_id.write(w)?;
            crate::util::ser::write_u16_len_bytes(w, &hop.encrypted_recipient_data)?;
        }
        Ok(())
    }
}

impl Readable for BlindedPath {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let introduction_node = IntroductionNode::read(r)?;
        let first_path_key = PublicKey::read(r)?;
        let num_hops = u8::read(r)? as usize;
        if num_hops > MAX_BLINDED_PATH_HOPS {
            return Err(DecodeError::InvalidValue);
        }
        let mut hops = Vec::with_capacity(num_hops);
        let mut total_data_len = 0usize;
        for _ in 0..num_hops {
            let blinded_node_id = PublicKey::read(r)?;
            // Check the length before reading (and allocating) the data.
            let len = u16::read(r)? as usize;
            total_data_len = total_data_len.saturating_add(len);
            if total_data_len > MAX_BLINDED_PATH_DATA_LEN {
                return Err(DecodeError::InvalidValue);
            }
            let encrypted_recipient_data = crate::util::ser::read_bytes(r, len)?;
            hops.push(BlindedHop { blinded_node_id, encrypted_recipient_data });
        }
        Ok(BlindedPath { introduction_node, first_path_key, hops })
    }
}

/// Why a blinded path could not be built or a blinded hop not unblinded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlindingError {
    /// The path has no hop.
    EmptyPath,
    /// A key derivation or tweak failed.
    KeyDerivation,
    /// The signer refused the ECDH.
    Signer(SignError),
    /// `encrypted_recipient_data` did not authenticate under our key.
    DecryptionFailed,
    /// The decrypted data is not a valid `encrypted_data_tlv`.
    InvalidData(DecodeError),
}

impl fmt::Display for BlindingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyPath => f.write_str("blinded path has no hop"),
            Self::KeyDerivation => f.write_str("key derivation failed"),
            Self::Signer(e) => write!(f, "signer: {e}"),
            Self::DecryptionFailed => f.write_str("encrypted_recipient_data does not decrypt"),
            Self::InvalidData(e) => write!(f, "invalid encrypted_data_tlv: {e}"),
        }
    }
}

impl From<keys::KeyDerivationError> for BlindingError {
    fn from(_: keys::KeyDerivationError) -> Self {
        BlindingError::KeyDerivation
    }
}

/// Seals an `encrypted_data_tlv` for a hop: ChaCha20-Poly1305 under `rho`, zero
/// nonce, no associated data; the tag is appended.
pub fn encrypt_recipient_data(rho: &[u8; 32], plaintext: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(plaintext.len() + ENCRYPTED_DATA_TAG_LEN);
    buf.extend_from_slice(plaintext);
    let cipher = ChaCha20Poly1305::new(rho.into());
    // Encryption only fails for messages over 256 GiB.
    let tag = cipher
        .encrypt_in_place_detached(&Nonce::default(), &[], &mut buf)
        .expect("a Vec-held message is far below the ChaCha20-Poly1305 length limit");
    buf.extend_from_slice(&tag);
    buf
}

/// Opens `encrypted_recipient_data` with `rho`; `None` if it does not
/// authenticate.
pub fn decrypt_recipient_data(rho: &[u8; 32], ciphertext: &[u8]) -> Option<Vec<u8>> {
    let body_len = ciphertext.len().checked_sub(ENCRYPTED_DATA_TAG_LEN)?;
    let (body, tag) = ciphertext.split_at(body_len);
    let mut buf = body.to_vec();
    let cipher = ChaCha20Poly1305::new(rho.into());
    cipher.decrypt_in_place_detached(&Nonce::default(), &[], &mut buf, Tag::from_slice(tag)).ok()?;
    Some(buf)
}

/// Builds a blinded path through `hops` (each a node id and the plaintext
/// `encrypted_data_tlv` for it, the recipient last) from `session_key` (`e_0`,
/// fresh randomness).
///
/// To join this path to another one, put the other path's `first_path_key` in
/// the last hop's data as `next_path_key_override` and append its hops.
pub fn build_blinded_path<C: Signing + Verification, D: AsRef<[u8]>>(
    secp_ctx: &Secp256k1<C>, session_key: &SecretKey, hops: &[(PublicKey, D)],
) -> Result<BlindedPath, BlindingError> {
    let first = hops.first().ok_or(BlindingError::EmptyPath)?;
    let node_ids: Vec<PublicKey> = hops.iter().map(|(id, _)| *id).collect();
    let secrets = keys::route_hop_secrets(secp_ctx, session_key, &node_ids)?;
    let mut out = Vec::with_capacity(hops.len());
    for ((node_id, data), secret) in hops.iter().zip(secrets.iter()) {
        let ss = secret.shared_secret.secret_bytes();
        let tweak = blinded_node_id_tweak(&ss)?;
        let blinded_node_id =
            node_id.mul_tweak(secp_ctx, &tweak).map_err(|_| BlindingError::KeyDerivation)?;
        let rho = keys::derive_key(KeyType::Rho, &ss);
        out.push(BlindedHop {
            blinded_node_id,
            encrypted_recipient_data: encrypt_recipient_data(&rho, data.as_ref()),
        });
    }
    Ok(BlindedPath {
        introduction_node: IntroductionNode::NodeId(first.0),
        first_path_key: secrets[0].ephemeral_pubkey,
        hops: out,
    })
}

/// `HMAC256("blinded_node_id", ss)` as a scalar: the tweak that turns a node id
/// (and its key) into the blinded one.
pub fn blinded_node_id_tweak(shared_secret: &[u8; 32]) -> Result<Scalar, BlindingError> {
    Scalar::from_be_bytes(keys::derive_key(KeyType::BlindedNodeId, shared_secret))
        .map_err(|_| BlindingError::KeyDerivation)
}

/// What a node inside a blinded path learns from its path key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnblindedHop {
    /// The decrypted `encrypted_data_tlv`, raw.
    pub decrypted_data: Vec<u8>,
    /// The same, parsed.
    pub encrypted_data: EncryptedDataTlvs,
    /// The path key to send to the next node: `next_path_key_override` if
    /// set, otherwise `SHA256(E_i || ss_i) * E_i`.
    pub next_path_key: PublicKey,
    /// The tweak of our node key under which the sender encrypted our onion
    /// layer (`HMAC256("blinded_node_id", ss_i)`).
    pub onion_key_tweak: Scalar,
}

/// Unblinds a hop from the secret shared with the path key (`SHA256(k_i *
/// E_i)`), for callers that do ECDH themselves.
pub fn unblind_hop_with_shared_secret<C: Verification>(
    secp_ctx: &Secp256k1<C>, path_key: &PublicKey, shared_secret: &[u8; 32], encrypted_recipient_data: &[u8],
) -> Result<UnblindedHop, BlindingError> {
    let rho = keys::derive_key(KeyType::Rho, shared_secret);
    let decrypted_data =
        decrypt_recipient_data(&rho, encrypted_recipient_data).ok_or(BlindingError::DecryptionFailed)?;
    let encrypted_data =
        EncryptedDataTlvs::decode_stream(&decrypted_data).map_err(BlindingError::InvalidData)?;
    let next_path_key = match encrypted_data.next_path_key_override {
        Some(key) => key,
        None => keys::next_ephemeral_pubkey(secp_ctx, path_key, shared_secret)?,
    };
    let onion_key_tweak = blinded_node_id_tweak(shared_secret)?;
    Ok(UnblindedHop { decrypted_data, encrypted_data, next_path_key, onion_key_tweak })
}

/// Unblinds a hop with our node key held by `node_signer`: ECDH with the path
/// key, decrypt `encrypted_recipient_data`, derive the next path key.
pub fn unblind_hop<NS: NodeSigner + ?Sized, C: Verification>(
    node_signer: &NS, secp_ctx: &Secp256k1<C>, path_key: &PublicKey, encrypted_recipient_data: &[u8],
) -> Result<UnblindedHop, BlindingError> {
    let ss = node_signer.ecdh(Recipient::Node, path_key, None).map_err(BlindingError::Signer)?;
    unblind_hop_with_shared_secret(secp_ctx, path_key, &ss.secret_bytes(), encrypted_recipient_data)
}

/// What a sender pays to cross a blinded path, aggregated by the recipient
/// from the hops' [`PaymentRelay`]s (BOLT 4, `blinded_payinfo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlindedPayInfo {
    /// Total base fee, in millisatoshi.
    pub fee_base_msat: u64,
    /// Total proportional fee, in millionths.
    pub fee_proportional_millionths: u64,
    /// Total CLTV delta, including the recipient's `min_final_cltv_expiry_delta`.
    pub cltv_expiry_delta: u32,
}

/// Aggregates the relays of the forwarding hops (in path order, introduction
/// node first) into the totals a sender needs, rounding up as BOLT 4 says.
/// `None` on overflow.
pub fn aggregate_payinfo(
    relays: &[PaymentRelay], min_final_cltv_expiry_delta: u16,
) -> Option<BlindedPayInfo> {
    const M: u128 = 1_000_000;
    let mut base: u128 = 0;
    let mut prop: u128 = 0;
    let mut cltv: u32 = min_final_cltv_expiry_delta as u32;
    for relay in relays.iter().rev() {
        let hop_base = relay.fee_base_msat as u128;
        let hop_prop = relay.fee_proportional_millionths as u128;
        base = (hop_base * M).checked_add(base.checked_mul(M + hop_prop)?)?.div_ceil(M);
        prop = (prop.checked_add(hop_prop)?.checked_mul(M)?)
            .checked_add(prop.checked_mul(hop_prop)?)?
            .div_ceil(M);
        cltv = cltv.checked_add(relay.cltv_expiry_delta as u32)?;
    }
    Some(BlindedPayInfo {
        fee_base_msat: u64::try_from(base).ok()?,
        fee_proportional_millionths: u64::try_from(prop).ok()?,
        cltv_expiry_delta: cltv,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::ser::decode_exact;

    fn path(hops: usize, data_len: usize) -> BlindedPath {
        let secp = bitcoin::secp256k1::Secp256k1::new();
        let key = bitcoin::secp256k1::SecretKey::from_slice(&[7; 32]).unwrap();
        let point = PublicKey::from_secret_key(&secp, &key);
        BlindedPath {
            introduction_node: IntroductionNode::NodeId(point),
            first_path_key: point,
            hops: (0..hops)
                .map(|_| BlindedHop { blinded_node_id: point, encrypted_recipient_data: vec![1; data_len] })
                .collect(),
        }
    }

    #[test]
    fn blinded_path_read_is_bounded() {
        // At the limits: read back equal.
        let at_hops = path(MAX_BLINDED_PATH_HOPS, MAX_BLINDED_PATH_DATA_LEN / MAX_BLINDED_PATH_HOPS);
        assert_eq!(decode_exact::<BlindedPath>(&at_hops.encode()), Ok(at_hops));
        let at_len = path(2, MAX_BLINDED_PATH_DATA_LEN / 2);
        assert_eq!(decode_exact::<BlindedPath>(&at_len.encode()), Ok(at_len));
        // One hop or one byte more: refused, though the encoding carries it.
        let many = path(MAX_BLINDED_PATH_HOPS + 1, 1);
        assert_eq!(decode_exact::<BlindedPath>(&many.encode()), Err(DecodeError::InvalidValue));
        let long = path(2, MAX_BLINDED_PATH_DATA_LEN / 2 + 1);
        assert_eq!(decode_exact::<BlindedPath>(&long.encode()), Err(DecodeError::InvalidValue));
        // 255 hops of 65535 bytes are refused without reading them all.
        let mut huge = path(1, 0).encode();
        let count_at = huge.len() - 33 - 2 - 1;
        huge[count_at] = 255;
        assert_eq!(decode_exact::<BlindedPath>(&huge), Err(DecodeError::InvalidValue));
    }

    #[test]
    fn relay_amount_inverts_the_fee() {
        let relay =
            PaymentRelay { cltv_expiry_delta: 0, fee_proportional_millionths: 150, fee_base_msat: 100 };
        // 100_000 forwarded costs 100 + 15 = 100_115.
        assert_eq!(relay.amount_to_forward_msat(100_115), Some(100_000));
        assert_eq!(relay.amount_to_forward_msat(99), None);
        let zero = PaymentRelay::default();
        assert_eq!(zero.amount_to_forward_msat(u64::MAX), Some(u64::MAX));
    }

    #[test]
    fn payinfo_matches_the_blinded_payment_vector() {
        // Bob, Carol, Dave of blinded-payment-onion-test.json.
        let relays = [
            PaymentRelay { cltv_expiry_delta: 50, fee_proportional_millionths: 0, fee_base_msat: 10000 },
            PaymentRelay { cltv_expiry_delta: 75, fee_proportional_millionths: 150, fee_base_msat: 100 },
            PaymentRelay { cltv_expiry_delta: 25, fee_proportional_millionths: 100, fee_base_msat: 0 },
        ];
        assert_eq!(
            aggregate_payinfo(&relays, 0),
            Some(BlindedPayInfo {
                fee_base_msat: 10100,
                fee_proportional_millionths: 251,
                cltv_expiry_delta: 150
            })
        );
    }

    #[test]
    fn tampered_encrypted_data_is_rejected() {
        let rho = [3u8; 32];
        let sealed = encrypt_recipient_data(&rho, b"\x02\x08\x00\x00\x00\x00\x00\x00\x00\x01");
        assert_eq!(decrypt_recipient_data(&rho, &sealed).unwrap().len(), 10);
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert_eq!(decrypt_recipient_data(&rho, &bad), None);
        }
        assert_eq!(decrypt_recipient_data(&rho, &sealed[..15]), None);
    }

    #[test]
    fn introduction_node_encodings() {
        let scid =
            IntroductionNode::DirectedShortChannelId { direction: 1, short_channel_id: ShortChannelId(42) };
        let bytes = scid.encode();
        assert_eq!(bytes.len(), 9);
        assert_eq!(decode_exact::<IntroductionNode>(&bytes), Ok(scid));
        assert_eq!(decode_exact::<IntroductionNode>(&[4u8; 33]), Err(DecodeError::InvalidValue));
    }
}
