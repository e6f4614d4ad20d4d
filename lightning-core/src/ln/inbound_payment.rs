//! Stateless inbound payments: the payment secret carries (encrypted) what
//! the invoice promised, and the preimage is derived from it with a node
//! key, so no state is stored per invoice (the design of LDK's
//! `inbound_payment`).
//!
//! `payment_secret = iv (16 bytes) || encrypted metadata (16 bytes)`, where
//! the metadata is the minimum amount and the expiry time (8 bytes each,
//! big-endian) XORed with `SHA256(metadata_key || iv)`.
//! `payment_preimage = HMAC-SHA256(preimage_key, iv || metadata)` and the
//! payment hash is its SHA-256. Receiving re-derives the preimage from the
//! secret in the onion and checks it against the HTLC's hash: a secret that
//! was not made with our key, or that was altered, gives another hash.

use crate::ln::types::{PaymentHash, PaymentPreimage, PaymentSecret};
use bitcoin::hashes::hmac::{Hmac, HmacEngine};
use bitcoin::hashes::{sha256, Hash, HashEngine};

/// The keys derived from the node's inbound payment key material.
#[derive(Clone)]
pub struct ExpandedKey {
    preimage_key: [u8; 32],
    metadata_key: [u8; 32],
}

impl core::fmt::Debug for ExpandedKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ExpandedKey(..)")
    }
}

fn tagged(key_material: &[u8; 32], tag: &[u8]) -> [u8; 32] {
    let mut engine = sha256::Hash::engine();
    engine.input(tag);
    engine.input(key_material);
    sha256::Hash::from_engine(engine).to_byte_array()
}

impl ExpandedKey {
    /// Expands `key_material` (e.g. `KeysManager::get_inbound_payment_key_material`).
    pub fn new(key_material: &[u8; 32]) -> Self {
        ExpandedKey {
            preimage_key: tagged(key_material, b"lightning-core inbound preimage"),
            metadata_key: tagged(key_material, b"lightning-core inbound metadata"),
        }
    }

    fn pad(&self, iv: &[u8; 16]) -> [u8; 16] {
        let mut engine = sha256::Hash::engine();
        engine.input(&self.metadata_key);
        engine.input(iv);
        let hash = sha256::Hash::from_engine(engine).to_byte_array();
        let mut out = [0u8; 16];
        out.copy_from_slice(&hash[..16]);
        out
    }

    fn preimage(&self, iv: &[u8; 16], metadata: &[u8; 16]) -> PaymentPreimage {
        let mut engine = HmacEngine::<sha256::Hash>::new(&self.preimage_key);
        engine.input(iv);
        engine.input(metadata);
        PaymentPreimage(Hmac::<sha256::Hash>::from_engine(engine).to_byte_array())
    }
}

/// Why an inbound payment was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InboundPaymentError {
    /// The secret does not derive the HTLC's payment hash: not our invoice,
    /// or tampered with.
    UnknownPayment,
    /// Less than the invoice's minimum amount.
    AmountTooLow,
    /// The invoice expired.
    Expired,
}

/// A new payment hash and secret for an invoice of at least
/// `min_value_msat`, valid until `expiry_time` (seconds since the epoch).
/// `random_bytes` must be fresh randomness.
pub fn create(
    key: &ExpandedKey, min_value_msat: Option<u64>, expiry_time: u64, random_bytes: [u8; 32],
) -> (PaymentHash, PaymentSecret, PaymentPreimage) {
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&random_bytes[..16]);
    let mut metadata = [0u8; 16];
    metadata[..8].copy_from_slice(&min_value_msat.unwrap_or(0).to_be_bytes());
    metadata[8..].copy_from_slice(&expiry_time.to_be_bytes());
    let pad = key.pad(&iv);
    let mut secret = [0u8; 32];
    secret[..16].copy_from_slice(&iv);
    for i in 0..16 {
        secret[16 + i] = metadata[i] ^ pad[i];
    }
    let preimage = key.preimage(&iv, &metadata);
    (preimage.payment_hash(), PaymentSecret(secret), preimage)
}

/// Checks a received payment against the invoice its secret encodes and
/// returns the preimage to claim it with. `now` is the current time in
/// seconds (from block headers).
pub fn verify(
    key: &ExpandedKey, payment_hash: &PaymentHash, payment_secret: &PaymentSecret, amount_msat: u64, now: u64,
) -> Result<PaymentPreimage, InboundPaymentError> {
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&payment_secret.0[..16]);
    let pad = key.pad(&iv);
    let mut metadata = [0u8; 16];
    for i in 0..16 {
        metadata[i] = payment_secret.0[16 + i] ^ pad[i];
    }
    let preimage = key.preimage(&iv, &metadata);
    if preimage.payment_hash() != *payment_hash {
        return Err(InboundPaymentError::UnknownPayment);
    }
    let mut min = [0u8; 8];
    min.copy_from_slice(&metadata[..8]);
    let mut expiry = [0u8; 8];
    expiry.copy_from_slice(&metadata[8..]);
    if amount_msat < u64::from_be_bytes(min) {
        return Err(InboundPaymentError::AmountTooLow);
    }
    if now > u64::from_be_bytes(expiry) {
        return Err(InboundPaymentError::Expired);
    }
    Ok(preimage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let key = ExpandedKey::new(&[7; 32]);
        let (hash, secret, preimage) = create(&key, Some(1000), 2_000, [3; 32]);
        assert_eq!(verify(&key, &hash, &secret, 1000, 1_000), Ok(preimage));
        assert_eq!(verify(&key, &hash, &secret, 999, 1_000), Err(InboundPaymentError::AmountTooLow));
        assert_eq!(verify(&key, &hash, &secret, 1000, 2_001), Err(InboundPaymentError::Expired));
        let mut tampered = secret;
        tampered.0[20] ^= 1;
        assert_eq!(verify(&key, &hash, &tampered, 1000, 1_000), Err(InboundPaymentError::UnknownPayment));
        let other = ExpandedKey::new(&[8; 32]);
        assert_eq!(verify(&other, &hash, &secret, 1000, 1_000), Err(InboundPaymentError::UnknownPayment));
    }
}
