//! The signer traits and [`KeysManager`], the default signer that derives every
//! key from one 32-byte seed.
//!
//! Secrets stay behind these traits so that a hardware or remote signer can hold
//! them: the transport asks [`NodeSigner::ecdh`] for its shared secrets rather than
//! reading the node key, invoices and gossip are signed through [`NodeSigner`],
//! and randomness comes from [`EntropySource`].

use bitcoin::bip32::{ChildNumber, Xpriv};
use bitcoin::hashes::{sha256, sha256d, Hash, HashEngine};
use bitcoin::secp256k1::ecdh::SharedSecret;
use bitcoin::secp256k1::ecdsa::{RecoverableSignature, Signature};
use bitcoin::secp256k1::{self, All, Message, PublicKey, Scalar, Secp256k1, SecretKey};
use bitcoin::Network;
use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};

/// Which of our identities a request is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Recipient {
    /// The node's own identity (its node id).
    Node,
    /// A phantom node shared by several real nodes (for load-balanced
    /// receiving); signers that do not support it refuse.
    PhantomNode,
}

/// Why a signer refused or failed a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignError {
    /// The signer does not hold a key for this recipient.
    UnknownRecipient(Recipient),
    /// A tweak or point made the operation invalid.
    InvalidInput,
    /// A policy check of the signer refused the request; the text says which.
    Refused(&'static str),
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignError::UnknownRecipient(r) => write!(f, "no key for recipient {r:?}"),
            SignError::InvalidInput => f.write_str("invalid input to the signer"),
            SignError::Refused(why) => write!(f, "signer refused: {why}"),
        }
    }
}

/// A source of cryptographically secure random bytes.
pub trait EntropySource {
    /// Returns 32 fresh random bytes; never the same twice.
    fn get_secure_random_bytes(&self) -> [u8; 32];
}

/// A gossip message to sign, given as the bytes its signature covers (BOLT 7:
/// the double SHA-256 of the message after its signature fields).
#[derive(Clone, Copy, Debug)]
pub enum UnsignedGossipMessage<'a> {
    /// The signed part of a `channel_announcement`.
    ChannelAnnouncement(&'a [u8]),
    /// The signed part of a `channel_update`.
    ChannelUpdate(&'a [u8]),
    /// The signed part of a `node_announcement`.
    NodeAnnouncement(&'a [u8]),
}

impl UnsignedGossipMessage<'_> {
    /// The bytes the signature commits to.
    pub fn signed_bytes(&self) -> &[u8] {
        match self {
            UnsignedGossipMessage::ChannelAnnouncement(b)
            | UnsignedGossipMessage::ChannelUpdate(b)
            | UnsignedGossipMessage::NodeAnnouncement(b) => b,
        }
    }
}

/// Holds the node's identity key and signs with it.
pub trait NodeSigner {
    /// Our node id for `recipient`.
    fn get_node_id(&self, recipient: Recipient) -> Result<PublicKey, SignError>;

    /// The ECDH shared secret of our node key (times `tweak`, if any) and
    /// `other_key`: SHA-256 of the compressed shared point, as BOLT 4 and BOLT 8
    /// define it.
    fn ecdh(
        &self, recipient: Recipient, other_key: &PublicKey, tweak: Option<&Scalar>,
    ) -> Result<SharedSecret, SignError>;

    /// Signs a BOLT 11 invoice: `hrp` is its human-readable part and `data_5bit`
    /// its data part without the signature, one 5-bit value per byte. The
    /// signature is over SHA-256 of the hrp bytes followed by the data packed to
    /// bytes (zero-padded).
    fn sign_bolt11_invoice(
        &self, hrp: &str, data_5bit: &[u8], recipient: Recipient,
    ) -> Result<RecoverableSignature, SignError>;

    /// Signs a gossip message with the node key.
    fn sign_gossip_message(&self, msg: UnsignedGossipMessage<'_>) -> Result<Signature, SignError>;
}

/// The digest a BOLT 11 signature covers: SHA-256 of `hrp` followed by
/// `data_5bit` packed into bytes, the last one zero-padded. Returns `None` if a
/// value in `data_5bit` is not 5 bits.
pub fn bolt11_signing_hash(hrp: &str, data_5bit: &[u8]) -> Option<[u8; 32]> {
    let mut engine = sha256::Hash::engine();
    engine.input(hrp.as_bytes());
    let mut acc: u32 = 0;
    let mut bits = 0;
    for v in data_5bit {
        if *v > 31 {
            return None;
        }
        acc = (acc << 5) | *v as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            engine.input(&[(acc >> bits) as u8]);
            acc &= (1 << bits) - 1;
        }
    }
    if bits > 0 {
        engine.input(&[(acc << (8 - bits)) as u8]);
    }
    Some(sha256::Hash::from_engine(engine).to_byte_array())
}

/// The default signer: every key derived with BIP 32 from a 32-byte seed, so the
/// same seed always gives the same node id and the same channel keys.
///
/// Derivation (hardened children of the master key): `0'` node secret, `1'`
/// destination key, `2'` shutdown key, `3'` channel master key, `5'` inbound
/// payment key material.
pub struct KeysManager {
    secp_ctx: Secp256k1<All>,
    node_secret: SecretKey,
    node_id: PublicKey,
    destination_key: Xpriv,
    shutdown_key: Xpriv,
    channel_master_key: Xpriv,
    inbound_payment_key: [u8; 32],
    entropy_seed: [u8; 32],
    rand_counter: AtomicU64,
    seed: [u8; 32],
    starting_time_secs: u64,
    starting_time_nanos: u32,
}

impl KeysManager {
    /// Derives every key from `seed`. The starting time (any value that is
    /// different each time the node starts, usually the wall-clock time) only
    /// feeds the random-bytes generator, so restarting with the same seed never
    /// repeats random bytes; keys do not depend on it.
    pub fn new(seed: &[u8; 32], starting_time_secs: u64, starting_time_nanos: u32) -> Self {
        let secp_ctx = Secp256k1::new();
        // A 32-byte seed is always a valid BIP 32 seed; the only failure is a
        // derived key out of range, with probability ~2^-127.
        let master = Xpriv::new_master(Network::Bitcoin, seed).expect("32-byte seed is a valid BIP 32 seed");
        let child = |i: u32| {
            master
                .derive_priv(&secp_ctx, &[ChildNumber::Hardened { index: i }])
                .expect("hardened derivation from a valid key")
        };
        let node_secret = child(0).private_key;
        let node_id = PublicKey::from_secret_key(&secp_ctx, &node_secret);
        let inbound_payment_key = child(5).private_key.secret_bytes();
        let mut engine = sha256::Hash::engine();
        engine.input(seed);
        engine.input(&starting_time_secs.to_be_bytes());
        engine.input(&starting_time_nanos.to_be_bytes());
        let entropy_seed = sha256::Hash::from_engine(engine).to_byte_array();
        KeysManager {
            node_secret,
            node_id,
            destination_key: child(1),
            shutdown_key: child(2),
            channel_master_key: child(3),
            inbound_payment_key,
            entropy_seed,
            rand_counter: AtomicU64::new(0),
            secp_ctx,
            seed: *seed,
            starting_time_secs,
            starting_time_nanos,
        }
    }

    /// The secp256k1 context this manager signs with.
    pub fn secp_ctx(&self) -> &Secp256k1<All> {
        &self.secp_ctx
    }

    /// The node secret key. Only for signers that must hand it to a component
    /// that cannot go through [`NodeSigner`]; prefer the trait.
    pub fn get_node_secret_key(&self) -> SecretKey {
        self.node_secret
    }

    /// The key material from which inbound payment secrets are derived.
    pub fn get_inbound_payment_key_material(&self) -> [u8; 32] {
        self.inbound_payment_key
    }

    /// The BIP 32 key under which per-channel keys are derived.
    pub fn channel_master_key(&self) -> &Xpriv {
        &self.channel_master_key
    }

    /// The key whose P2WPKH receives our on-chain funds (closing outputs and
    /// claims).
    pub fn destination_key(&self) -> &Xpriv {
        &self.destination_key
    }

    /// The key whose P2WPKH is our default shutdown script.
    pub fn shutdown_key(&self) -> &Xpriv {
        &self.shutdown_key
    }

    /// The seed this manager was built from.
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// The starting time given to [`KeysManager::new`].
    pub fn starting_time(&self) -> (u64, u32) {
        (self.starting_time_secs, self.starting_time_nanos)
    }
}

impl EntropySource for KeysManager {
    fn get_secure_random_bytes(&self) -> [u8; 32] {
        let index = self.rand_counter.fetch_add(1, Ordering::AcqRel);
        let mut engine = sha256::Hash::engine();
        engine.input(&self.entropy_seed);
        engine.input(&index.to_be_bytes());
        sha256::Hash::from_engine(engine).to_byte_array()
    }
}

impl NodeSigner for KeysManager {
    fn get_node_id(&self, recipient: Recipient) -> Result<PublicKey, SignError> {
        match recipient {
            Recipient::Node => Ok(self.node_id),
            Recipient::PhantomNode => Err(SignError::UnknownRecipient(recipient)),
        }
    }

    fn ecdh(
        &self, recipient: Recipient, other_key: &PublicKey, tweak: Option<&Scalar>,
    ) -> Result<SharedSecret, SignError> {
        if recipient != Recipient::Node {
            return Err(SignError::UnknownRecipient(recipient));
        }
        let mut point = *other_key;
        if let Some(tweak) = tweak {
            point = point.mul_tweak(&self.secp_ctx, tweak).map_err(|_| SignError::InvalidInput)?;
        }
        Ok(SharedSecret::new(&point, &self.node_secret))
    }

    fn sign_bolt11_invoice(
        &self, hrp: &str, data_5bit: &[u8], recipient: Recipient,
    ) -> Result<RecoverableSignature, SignError> {
        if recipient != Recipient::Node {
            return Err(SignError::UnknownRecipient(recipient));
        }
        let hash = bolt11_signing_hash(hrp, data_5bit).ok_or(SignError::InvalidInput)?;
        let msg = Message::from_digest(hash);
        Ok(self.secp_ctx.sign_ecdsa_recoverable(&msg, &self.node_secret))
    }

    fn sign_gossip_message(&self, msg: UnsignedGossipMessage<'_>) -> Result<Signature, SignError> {
        let hash = sha256d::Hash::hash(msg.signed_bytes());
        let msg = Message::from_digest(hash.to_byte_array());
        Ok(self.secp_ctx.sign_ecdsa(&msg, &self.node_secret))
    }
}

/// Checks that `sig` by `key` covers `msg_hash`; a convenience for verifiers.
pub fn verify_signature(
    secp_ctx: &Secp256k1<impl secp256k1::Verification>, msg_hash: [u8; 32], sig: &Signature, key: &PublicKey,
) -> bool {
    secp_ctx.verify_ecdsa(&Message::from_digest(msg_hash), sig, key).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_node_id_and_fresh_randomness() {
        let a = KeysManager::new(&[7; 32], 1, 2);
        let b = KeysManager::new(&[7; 32], 3, 4);
        assert_eq!(a.get_node_id(Recipient::Node), b.get_node_id(Recipient::Node));
        let c = KeysManager::new(&[8; 32], 1, 2);
        assert_ne!(a.get_node_id(Recipient::Node), c.get_node_id(Recipient::Node));
        assert_ne!(a.get_secure_random_bytes(), a.get_secure_random_bytes());
        assert_ne!(a.get_secure_random_bytes(), b.get_secure_random_bytes());
    }

    #[test]
    fn ecdh_is_symmetric() {
        let a = KeysManager::new(&[1; 32], 0, 0);
        let b = KeysManager::new(&[2; 32], 0, 0);
        let ab = a.ecdh(Recipient::Node, &b.get_node_id(Recipient::Node).unwrap(), None).unwrap();
        let ba = b.ecdh(Recipient::Node, &a.get_node_id(Recipient::Node).unwrap(), None).unwrap();
        assert_eq!(ab.secret_bytes(), ba.secret_bytes());
        assert!(a.ecdh(Recipient::PhantomNode, &b.get_node_id(Recipient::Node).unwrap(), None).is_err());
    }

    #[test]
    fn bolt11_hash_packs_5bit_groups() {
        // Eight 5-bit values are exactly five bytes.
        let data = [31u8, 0, 31, 0, 31, 0, 31, 0];
        let mut engine = sha256::Hash::engine();
        engine.input(b"lnbc");
        engine.input(&[0b1111_1000, 0b0011_1110, 0b0000_1111, 0b1000_0011, 0b1110_0000]);
        assert_eq!(
            bolt11_signing_hash("lnbc", &data),
            Some(sha256::Hash::from_engine(engine).to_byte_array())
        );
        assert_eq!(bolt11_signing_hash("lnbc", &[32]), None);
    }

    #[test]
    fn gossip_signature_verifies_under_node_id() {
        let k = KeysManager::new(&[3; 32], 0, 0);
        let data = b"some unsigned announcement bytes";
        let sig = k.sign_gossip_message(UnsignedGossipMessage::NodeAnnouncement(data)).unwrap();
        let hash = sha256d::Hash::hash(data).to_byte_array();
        assert!(verify_signature(k.secp_ctx(), hash, &sig, &k.get_node_id(Recipient::Node).unwrap()));
    }
}
