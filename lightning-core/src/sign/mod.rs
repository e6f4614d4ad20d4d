//! The signer traits and [`KeysManager`], the default signer that derives every
//! key from one 32-byte seed.
//!
//! Secrets stay behind these traits so that a hardware or remote signer can hold
//! them: the transport asks [`NodeSigner::ecdh`] for its shared secrets rather than
//! reading the node key, invoices and gossip are signed through [`NodeSigner`],
//! randomness comes from [`EntropySource`], and each channel's keys live in a
//! [`ChannelSigner`] / [`EcdsaChannelSigner`] (by default an [`InMemorySigner`])
//! that a [`SignerProvider`] derives from a `channel_keys_id`.
//!
//! Modules: [`channel_signer`] has the per-channel signer traits and their
//! policy, [`in_memory`] the [`InMemorySigner`] holding one channel's secrets,
//! [`keys_manager`] the [`KeysManager`].

pub mod channel_signer;
pub mod in_memory;
pub mod keys_manager;

pub use channel_signer::{ChannelSigner, EcdsaChannelSigner};
pub use in_memory::{ChannelSecrets, InMemorySigner, SignerPolicyState};
pub use keys_manager::KeysManager;

use bitcoin::hashes::{sha256, Hash, HashEngine};
use bitcoin::secp256k1::ecdh::SharedSecret;
use bitcoin::secp256k1::ecdsa::{RecoverableSignature, Signature};
use bitcoin::secp256k1::{self, Message, PublicKey, Scalar, Secp256k1};
use bitcoin::ScriptBuf;
use core::fmt;

use crate::ln::chan_utils::commitment::CommitmentSignatureError;

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
    /// The channel signer was asked for something that needs the channel's
    /// parameters before [`ChannelSigner::provide_channel_parameters`].
    ChannelParametersMissing,
    /// The counterparty's signatures on our commitment do not verify.
    InvalidCounterpartySignature(CommitmentSignatureError),
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignError::UnknownRecipient(r) => write!(f, "no key for recipient {r:?}"),
            SignError::InvalidInput => f.write_str("invalid input to the signer"),
            SignError::Refused(why) => write!(f, "signer refused: {why}"),
            SignError::ChannelParametersMissing => {
                f.write_str("channel parameters not provided to the signer")
            }
            SignError::InvalidCounterpartySignature(e) => write!(f, "counterparty signature: {e}"),
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

/// Checks that `sig` by `key` covers `msg_hash`; a convenience for verifiers.
pub fn verify_signature(
    secp_ctx: &Secp256k1<impl secp256k1::Verification>, msg_hash: [u8; 32], sig: &Signature, key: &PublicKey,
) -> bool {
    secp_ctx.verify_ecdsa(&Message::from_digest(msg_hash), sig, key).is_ok()
}

/// Hands out channel signers and the scripts our funds go to.
pub trait SignerProvider {
    /// The channel signer this provider derives.
    type EcdsaSigner: EcdsaChannelSigner;

    /// A fresh `channel_keys_id` for a new channel. The channel stores it and
    /// later calls [`Self::derive_channel_signer`] with it to get the same
    /// keys back (after a restart, or for its monitor).
    fn generate_channel_keys_id(
        &self, inbound: bool, channel_value_satoshis: u64, user_channel_id: u128,
    ) -> [u8; 32];

    /// The signer of the channel with this `channel_keys_id`: the same id
    /// always gives the same keys.
    fn derive_channel_signer(
        &self, channel_value_satoshis: u64, channel_keys_id: [u8; 32],
    ) -> Self::EcdsaSigner;

    /// The script our on-chain claims (swept outputs, HTLC claims) pay to.
    fn get_destination_script(&self, channel_keys_id: [u8; 32]) -> Result<ScriptBuf, SignError>;

    /// The script to put in `shutdown` (and `upfront_shutdown_script`).
    fn get_shutdown_scriptpubkey(&self) -> Result<ScriptBuf, SignError>;
}

/// Everything a node needs from its keys: randomness, the node key, and
/// channel signers. Implemented for every type that implements the three.
pub trait KeysInterface: EntropySource + NodeSigner + SignerProvider {}

impl<T: EntropySource + NodeSigner + SignerProvider> KeysInterface for T {}
