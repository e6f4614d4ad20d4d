//! [`KeysManager`]: the default signer, every key derived from one 32-byte
//! seed with BIP 32.

use bitcoin::bip32::{ChildNumber, Xpriv};
use bitcoin::hashes::{sha256, sha256d, Hash, HashEngine};
use bitcoin::secp256k1::ecdh::SharedSecret;
use bitcoin::secp256k1::ecdsa::{RecoverableSignature, Signature};
use bitcoin::secp256k1::{All, Message, PublicKey, Scalar, Secp256k1, SecretKey};
use bitcoin::Network;
use core::sync::atomic::{AtomicU64, Ordering};

use super::in_memory::{ChannelSecrets, InMemorySigner};
use super::{
    bolt11_signing_hash, EntropySource, NodeSigner, Recipient, SignError, SignerProvider,
    UnsignedGossipMessage,
};
use crate::ln::chan_utils::p2wpkh_script;
use bitcoin::ScriptBuf;

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

impl KeysManager {
    /// The signer of the channel with `channel_keys_id`. Its keys are
    /// derived from the channel master key (`3'`): a hardened BIP 32 child at
    /// `3'/a'/b'`, `a` and `b` being the first two big-endian 31-bit words of
    /// the id, then each secret is `SHA256(child key || channel_keys_id ||
    /// name)`, so every byte of the id matters and the same seed and id always
    /// give the same keys.
    pub fn derive_channel_keys(
        &self, channel_value_satoshis: u64, channel_keys_id: &[u8; 32],
    ) -> InMemorySigner {
        let word = |i: usize| {
            u32::from_be_bytes([
                channel_keys_id[i],
                channel_keys_id[i + 1],
                channel_keys_id[i + 2],
                channel_keys_id[i + 3],
            ]) & 0x7fff_ffff
        };
        let child = self
            .channel_master_key
            .derive_priv(
                &self.secp_ctx,
                &[ChildNumber::Hardened { index: word(0) }, ChildNumber::Hardened { index: word(4) }],
            )
            .expect("hardened derivation from a valid key");
        let derive = |name: &[u8]| {
            let mut engine = sha256::Hash::engine();
            engine.input(&child.private_key.secret_bytes());
            engine.input(channel_keys_id);
            engine.input(name);
            sha256::Hash::from_engine(engine).to_byte_array()
        };
        let key = |name: &[u8]| {
            SecretKey::from_slice(&derive(name))
                .expect("a SHA-256 output is a valid key except with probability 2^-128")
        };
        let secrets = ChannelSecrets {
            funding_key: key(b"funding key"),
            revocation_base_key: key(b"revocation base key"),
            payment_key: key(b"payment key"),
            delayed_payment_base_key: key(b"delayed payment base key"),
            htlc_base_key: key(b"HTLC base key"),
            commitment_seed: derive(b"commitment seed"),
        };
        InMemorySigner::new(secrets, channel_value_satoshis, *channel_keys_id)
    }
}

impl SignerProvider for KeysManager {
    type EcdsaSigner = InMemorySigner;

    fn generate_channel_keys_id(
        &self, inbound: bool, channel_value_satoshis: u64, user_channel_id: u128,
    ) -> [u8; 32] {
        let mut engine = sha256::Hash::engine();
        engine.input(&self.get_secure_random_bytes());
        engine.input(&[inbound as u8]);
        engine.input(&channel_value_satoshis.to_be_bytes());
        engine.input(&user_channel_id.to_be_bytes());
        sha256::Hash::from_engine(engine).to_byte_array()
    }

    fn derive_channel_signer(
        &self, channel_value_satoshis: u64, channel_keys_id: [u8; 32],
    ) -> InMemorySigner {
        self.derive_channel_keys(channel_value_satoshis, &channel_keys_id)
    }

    fn get_destination_script(&self, _channel_keys_id: [u8; 32]) -> Result<ScriptBuf, SignError> {
        Ok(p2wpkh_script(&PublicKey::from_secret_key(&self.secp_ctx, &self.destination_key.private_key)))
    }

    fn get_shutdown_scriptpubkey(&self) -> Result<ScriptBuf, SignError> {
        Ok(p2wpkh_script(&PublicKey::from_secret_key(&self.secp_ctx, &self.shutdown_key.private_key)))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::verify_signature;

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
