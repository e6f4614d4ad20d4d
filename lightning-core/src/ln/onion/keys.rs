//! Key material of the Sphinx construction (BOLT 4 "Key Generation", "Pseudo
//! Random Byte Stream", "Shared Secret" and "Blinding Ephemeral Onion Keys").
//!
//! Every per-hop key is `HMAC-SHA256(key_type, shared_secret)`; every stream is
//! ChaCha20 with that key and an all-zero 96-bit nonce. The ephemeral key the
//! sender uses for hop `i + 1` is its key for hop `i` multiplied by
//! `SHA256(ephemeral_pubkey_i || shared_secret_i)`.

use crate::prelude::*;

use bitcoin::hashes::hmac::{Hmac, HmacEngine};
use bitcoin::hashes::{sha256, Hash, HashEngine};
use bitcoin::secp256k1::ecdh::SharedSecret;
use bitcoin::secp256k1::{PublicKey, Scalar, Secp256k1, SecretKey, Signing, Verification};
use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use chacha20::ChaCha20;

/// The key types of BOLT 4: each names the HMAC key that turns a shared secret
/// into a key for one purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    /// `rho`: the stream that obfuscates `hop_payloads` (and, in route blinding,
    /// the ChaCha20-Poly1305 key of `encrypted_recipient_data`).
    Rho,
    /// `mu`: the HMAC key of a forward packet.
    Mu,
    /// `um`: the HMAC key of a return (failure) packet.
    Um,
    /// `pad`: the stream that fills a new packet's starting `hop_payloads`.
    Pad,
    /// `ammag`: the stream that obfuscates a return packet.
    Ammag,
    /// `ammagext`: the stream that obfuscates `attribution_data`.
    AmmagExt,
    /// `blinded_node_id`: the tweak of a node id (and its key) inside a blinded
    /// path.
    BlindedNodeId,
}

impl KeyType {
    /// The HMAC key: the key type's name in ASCII, without a terminating zero.
    pub fn label(self) -> &'static [u8] {
        match self {
            KeyType::Rho => b"rho",
            KeyType::Mu => b"mu",
            KeyType::Um => b"um",
            KeyType::Pad => b"pad",
            KeyType::Ammag => b"ammag",
            KeyType::AmmagExt => b"ammagext",
            KeyType::BlindedNodeId => b"blinded_node_id",
        }
    }
}

/// Derives the `key_type` key from a 32-byte secret: `HMAC-SHA256(label, secret)`.
pub fn derive_key(key_type: KeyType, secret: &[u8; 32]) -> [u8; 32] {
    hmac_sha256(key_type.label(), &[secret])
}

/// HMAC-SHA256 keyed with `key` over the concatenation of `parts`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut engine = HmacEngine::<sha256::Hash>::new(key);
    for part in parts {
        engine.input(part);
    }
    Hmac::<sha256::Hash>::from_engine(engine).to_byte_array()
}

/// Compares two MACs in time that does not depend on where they differ.
pub fn hmac_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    core::hint::black_box(diff) == 0
}

/// A ChaCha20 keystream (BOLT 4 "Pseudo Random Byte Stream"): key from a
/// shared secret, all-zero nonce, starting at byte 0.
pub struct Keystream(ChaCha20);

impl Keystream {
    /// Starts the stream of `key`.
    pub fn new(key: &[u8; 32]) -> Self {
        Keystream(ChaCha20::new(key.into(), &[0u8; 12].into()))
    }

    /// Moves to byte `offset` of the stream.
    pub fn seek(&mut self, offset: usize) {
        self.0.seek(offset as u64);
    }

    /// XORs the next `data.len()` bytes of the stream into `data`.
    pub fn xor_into(&mut self, data: &mut [u8]) {
        self.0.apply_keystream(data);
    }
}

/// XORs the stream of `key` (from byte 0) into `data`.
pub fn xor_keystream(key: &[u8; 32], data: &mut [u8]) {
    Keystream::new(key).xor_into(data);
}

/// The blinding factor of an ephemeral key: `SHA256(pubkey || shared_secret)`.
/// Used both for the onion's ephemeral key and for a blinded path's path key.
pub fn blinding_factor(ephemeral_pubkey: &PublicKey, shared_secret: &[u8; 32]) -> [u8; 32] {
    let mut engine = sha256::Hash::engine();
    engine.input(&ephemeral_pubkey.serialize());
    engine.input(shared_secret);
    sha256::Hash::from_engine(engine).to_byte_array()
}

/// Why a key could not be derived. Each case happens with negligible
/// probability for honest input (a hash landing outside the curve order), but
/// an attacker-chosen point can still be rejected by the curve library, so it
/// is an error rather than a panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyDerivationError {
    /// A hash was not a valid scalar, or a tweak gave the point at infinity.
    InvalidTweak,
}

/// The next ephemeral public key seen by the next hop: `pubkey` multiplied by
/// its blinding factor with `shared_secret`.
pub fn next_ephemeral_pubkey<C: Verification>(
    secp_ctx: &Secp256k1<C>, ephemeral_pubkey: &PublicKey, shared_secret: &[u8; 32],
) -> Result<PublicKey, KeyDerivationError> {
    let factor = blinding_factor(ephemeral_pubkey, shared_secret);
    let tweak = Scalar::from_be_bytes(factor).map_err(|_| KeyDerivationError::InvalidTweak)?;
    ephemeral_pubkey.mul_tweak(secp_ctx, &tweak).map_err(|_| KeyDerivationError::InvalidTweak)
}

/// What the sender knows about one hop after walking the route: the
/// ephemeral public key the hop sees and the secret it shares with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HopSecrets {
    /// The ephemeral public key in the packet this hop receives.
    pub ephemeral_pubkey: PublicKey,
    /// `SHA256(ECDH(ephemeral key, hop node id))`.
    pub shared_secret: SharedSecret,
}

/// Walks a route from `session_key`: for each hop, the ephemeral public key it
/// sees and the shared secret, blinding the ephemeral key after every hop.
pub fn route_hop_secrets<C: Signing>(
    secp_ctx: &Secp256k1<C>, session_key: &SecretKey, node_ids: &[PublicKey],
) -> Result<Vec<HopSecrets>, KeyDerivationError> {
    let mut out = Vec::with_capacity(node_ids.len());
    let mut ephemeral_key = *session_key;
    for (i, node_id) in node_ids.iter().enumerate() {
        let ephemeral_pubkey = PublicKey::from_secret_key(secp_ctx, &ephemeral_key);
        let shared_secret = SharedSecret::new(node_id, &ephemeral_key);
        out.push(HopSecrets { ephemeral_pubkey, shared_secret });
        if i + 1 < node_ids.len() {
            let factor = blinding_factor(&ephemeral_pubkey, &shared_secret.secret_bytes());
            let tweak = Scalar::from_be_bytes(factor).map_err(|_| KeyDerivationError::InvalidTweak)?;
            ephemeral_key = ephemeral_key.mul_tweak(&tweak).map_err(|_| KeyDerivationError::InvalidTweak)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex32(s: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    #[test]
    fn ammag_and_um_keys_match_the_error_vector() {
        // Last hop of onion-error-test.json.
        let ss = hex32("b5756b9b542727dbafc6765a49488b023a725d631af688fc031217e90770c328");
        assert_eq!(
            derive_key(KeyType::Um, &ss),
            hex32("4da7f2923edce6c2d85987d1d9fa6d88023e6c3a9c3d20f07d3b10b61a78d646")
        );
        assert_eq!(
            derive_key(KeyType::Ammag, &ss),
            hex32("2f36bb8822e1f0d04c27b7d8bb7d7dd586e032a3218b8d414afbba6f169a4d68")
        );
    }

    #[test]
    fn hmac_eq_detects_any_difference() {
        let a = [7u8; 32];
        for i in 0..32 {
            let mut b = a;
            b[i] ^= 0x80;
            assert!(!hmac_eq(&a, &b));
        }
        assert!(hmac_eq(&a, &[7u8; 32]));
    }

    #[test]
    fn seeking_continues_the_same_stream() {
        let key = [9u8; 32];
        let mut whole = [0u8; 100];
        xor_keystream(&key, &mut whole);
        let mut tail = [0u8; 37];
        let mut ks = Keystream::new(&key);
        ks.seek(63);
        ks.xor_into(&mut tail);
        assert_eq!(&whole[63..], &tail[..]);
    }
}
