//! Helpers for the onion tests: a node signer over a raw secret key (the BOLT 4
//! vectors give node private keys, which a seeded `KeysManager` cannot hold).
#![allow(dead_code)]

use lightning_core::bitcoin::secp256k1::ecdh::SharedSecret;
use lightning_core::bitcoin::secp256k1::ecdsa::{RecoverableSignature, Signature};
use lightning_core::bitcoin::secp256k1::{All, PublicKey, Scalar, Secp256k1, SecretKey};
use lightning_core::sign::{NodeSigner, Recipient, SignError, UnsignedGossipMessage};

/// A `NodeSigner` that only does ECDH, with the given node key.
pub struct RawKeySigner {
    secp: Secp256k1<All>,
    key: SecretKey,
}

impl RawKeySigner {
    /// A signer holding `key`.
    pub fn new(key: SecretKey) -> Self {
        RawKeySigner { secp: Secp256k1::new(), key }
    }
    /// Our node id.
    pub fn node_id(&self) -> PublicKey {
        PublicKey::from_secret_key(&self.secp, &self.key)
    }
}

impl NodeSigner for RawKeySigner {
    fn get_node_id(&self, _: Recipient) -> Result<PublicKey, SignError> {
        Ok(self.node_id())
    }
    fn ecdh(
        &self, _: Recipient, other_key: &PublicKey, tweak: Option<&Scalar>,
    ) -> Result<SharedSecret, SignError> {
        let point = match tweak {
            Some(t) => other_key.mul_tweak(&self.secp, t).map_err(|_| SignError::InvalidInput)?,
            None => *other_key,
        };
        Ok(SharedSecret::new(&point, &self.key))
    }
    fn sign_bolt11_invoice(
        &self, _: &str, _: &[u8], _: Recipient,
    ) -> Result<RecoverableSignature, SignError> {
        Err(SignError::Refused("test signer only does ECDH"))
    }
    fn sign_gossip_message(&self, _: UnsignedGossipMessage<'_>) -> Result<Signature, SignError> {
        Err(SignError::Refused("test signer only does ECDH"))
    }
}

/// Splits the `bigsize` length prefix off a vector payload and checks it.
pub fn strip_length_prefix(with_len: &[u8]) -> Vec<u8> {
    use lightning_core::util::ser::{BigSize, Readable};
    let mut r = with_len;
    let len = BigSize::read(&mut r).expect("payload starts with its length").0 as usize;
    assert_eq!(len, r.len(), "length prefix matches the payload");
    r.to_vec()
}
