//! BOLT 8 transport: the Noise_XK_secp256k1_ChaChaPoly_SHA256 handshake and the
//! encrypted, length-prefixed message framing that follows it.
//!
//! The handshake is three acts. The initiator knows the responder's static key
//! up front (`XK`); the responder learns the initiator's from act three. Both
//! static-key ECDHs go through [`NodeSigner::ecdh`], so the node secret can stay
//! in a signer. After the handshake each message is sent as an encrypted 2-byte
//! big-endian length with its 16-byte MAC, then the encrypted body with its MAC;
//! each direction's key is rotated after 1000 uses (500 messages).

use crate::prelude::*;
use crate::sign::{NodeSigner, Recipient};
use bitcoin::hashes::hmac::{Hmac, HmacEngine};
use bitcoin::hashes::{sha256, Hash, HashEngine};
use bitcoin::secp256k1::ecdh::SharedSecret;
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey, Signing};
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, Tag};
use core::fmt;

/// The Noise protocol name hashed into the initial chaining key.
const NOISE_PROTOCOL_NAME: &[u8] = b"Noise_XK_secp256k1_ChaChaPoly_SHA256";
/// The BOLT 8 prologue.
const NOISE_PROLOGUE: &[u8] = b"lightning";
/// Size of acts one and two.
pub const ACT_ONE_LEN: usize = 50;
/// Size of act two.
pub const ACT_TWO_LEN: usize = 50;
/// Size of act three.
pub const ACT_THREE_LEN: usize = 66;
/// The MAC appended to every encrypted part.
pub const TAG_LEN: usize = 16;
/// The encrypted length prefix of a message: 2 bytes and a MAC.
pub const MESSAGE_HEADER_LEN: usize = 2 + TAG_LEN;
/// The largest plaintext message (the length prefix is 2 bytes).
pub const MAX_MESSAGE_LEN: usize = 65535;
/// Uses of a key (nonces) after which it is rotated.
const KEY_ROTATION_INTERVAL: u64 = 1000;

/// Which act of the handshake went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    /// Act one (initiator to responder).
    One,
    /// Act two (responder to initiator).
    Two,
    /// Act three (initiator to responder).
    Three,
}

/// Why the transport failed. Every one of these ends the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoiseError {
    /// An act was not exactly its length.
    ActReadFailed(Act),
    /// An act's version byte was not 0.
    BadVersion(Act),
    /// An act carried a public key that does not parse.
    BadPublicKey(Act),
    /// The encrypted static key of act three failed its MAC.
    BadCiphertext,
    /// An act's final MAC did not verify.
    BadTag(Act),
    /// The act arrived in the wrong state (e.g. act two to a responder).
    UnexpectedAct,
    /// The signer refused the ECDH with the node key.
    SignerFailed,
    /// A message's length prefix failed its MAC.
    BadLengthMac,
    /// A message body failed its MAC.
    BadMessageMac,
    /// A message to send is longer than 65535 bytes.
    MessageTooLong,
    /// Encryption was asked for before the handshake finished.
    HandshakeNotComplete,
}

impl fmt::Display for NoiseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoiseError::ActReadFailed(a) => write!(f, "act {a:?} has the wrong length"),
            NoiseError::BadVersion(a) => write!(f, "act {a:?} has an unknown handshake version"),
            NoiseError::BadPublicKey(a) => write!(f, "act {a:?} carries an invalid public key"),
            NoiseError::BadCiphertext => f.write_str("act Three static key failed its MAC"),
            NoiseError::BadTag(a) => write!(f, "act {a:?} failed its MAC"),
            NoiseError::UnexpectedAct => f.write_str("handshake act out of order"),
            NoiseError::SignerFailed => f.write_str("signer refused the ECDH"),
            NoiseError::BadLengthMac => f.write_str("message length failed its MAC"),
            NoiseError::BadMessageMac => f.write_str("message body failed its MAC"),
            NoiseError::MessageTooLong => f.write_str("message longer than 65535 bytes"),
            NoiseError::HandshakeNotComplete => f.write_str("handshake not complete"),
        }
    }
}

/// One direction of the finished transport: key, nonce counter, chaining key.
#[derive(Clone)]
struct CipherState {
    key: [u8; 32],
    nonce: u64,
    chaining_key: [u8; 32],
    cipher: ChaCha20Poly1305,
}

impl CipherState {
    fn new(key: [u8; 32], chaining_key: [u8; 32]) -> Self {
        CipherState { cipher: ChaCha20Poly1305::new(Key::from_slice(&key)), key, nonce: 0, chaining_key }
    }

    /// Moves to the next nonce, rotating the key after 1000 uses.
    fn advance(&mut self) {
        self.nonce += 1;
        if self.nonce == KEY_ROTATION_INTERVAL {
            let (chaining_key, key) = hkdf(&self.chaining_key, &self.key);
            *self = CipherState::new(key, chaining_key);
        }
    }

    fn encrypt_in_place(&mut self, buf: &mut [u8]) -> [u8; TAG_LEN] {
        let tag = self
            .cipher
            .encrypt_in_place_detached(&nonce(self.nonce), &[], buf)
            // Encryption fails only for inputs longer than 2^38 bytes.
            .expect("ChaCha20-Poly1305 encrypts any message under 2^38 bytes");
        self.advance();
        tag.into()
    }

    fn decrypt_in_place(&mut self, buf: &mut [u8], tag: &[u8]) -> Result<(), ()> {
        let result =
            self.cipher.decrypt_in_place_detached(&nonce(self.nonce), &[], buf, Tag::from_slice(tag));
        self.advance();
        result.map_err(|_| ())
    }
}

/// The 96-bit nonce: 32 zero bits and the counter as 64-bit little-endian.
fn nonce(n: u64) -> Nonce {
    let mut bytes = [0u8; 12];
    bytes[4..].copy_from_slice(&n.to_le_bytes());
    *Nonce::from_slice(&bytes)
}

/// HKDF-SHA256 with `salt`, input key material `ikm`, empty info, 64 bytes of
/// output split in two.
fn hkdf(salt: &[u8; 32], ikm: &[u8]) -> ([u8; 32], [u8; 32]) {
    let mut engine = HmacEngine::<sha256::Hash>::new(salt);
    engine.input(ikm);
    let prk = Hmac::from_engine(engine).to_byte_array();
    let mut engine = HmacEngine::<sha256::Hash>::new(&prk);
    engine.input(&[1]);
    let t1 = Hmac::from_engine(engine).to_byte_array();
    let mut engine = HmacEngine::<sha256::Hash>::new(&prk);
    engine.input(&t1);
    engine.input(&[2]);
    let t2 = Hmac::from_engine(engine).to_byte_array();
    (t1, t2)
}

fn sha256_concat(a: &[u8], b: &[u8]) -> [u8; 32] {
    let mut engine = sha256::Hash::engine();
    engine.input(a);
    engine.input(b);
    sha256::Hash::from_engine(engine).to_byte_array()
}

fn encrypt_with_ad(key: &[u8; 32], n: u64, ad: &[u8], plaintext: &[u8], out: &mut [u8]) {
    let (body, tag_out) = out.split_at_mut(plaintext.len());
    body.copy_from_slice(plaintext);
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    let tag = cipher
        .encrypt_in_place_detached(&nonce(n), ad, body)
        .expect("ChaCha20-Poly1305 encrypts any message under 2^38 bytes");
    tag_out[..TAG_LEN].copy_from_slice(&tag);
}

fn decrypt_with_ad(key: &[u8; 32], n: u64, ad: &[u8], ciphertext: &[u8], out: &mut [u8]) -> Result<(), ()> {
    let split = ciphertext.len().checked_sub(TAG_LEN).ok_or(())?;
    let (body, tag) = ciphertext.split_at(split);
    out[..body.len()].copy_from_slice(body);
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    cipher
        .decrypt_in_place_detached(&nonce(n), ad, &mut out[..body.len()], Tag::from_slice(tag))
        .map_err(|_| ())
}

/// The running handshake hash and chaining key.
#[derive(Clone)]
struct SymmetricState {
    h: [u8; 32],
    ck: [u8; 32],
}

impl SymmetricState {
    /// Initial state, with the responder's static key mixed in.
    fn new(responder_static: &PublicKey) -> Self {
        let h = sha256::Hash::hash(NOISE_PROTOCOL_NAME).to_byte_array();
        let ck = h;
        let h = sha256_concat(&h, NOISE_PROLOGUE);
        let h = sha256_concat(&h, &responder_static.serialize());
        SymmetricState { h, ck }
    }

    fn mix_hash(&mut self, data: &[u8]) {
        self.h = sha256_concat(&self.h, data);
    }

    /// `ck, temp_k = HKDF(ck, ss)`.
    fn mix_key(&mut self, shared_secret: &[u8; 32]) -> [u8; 32] {
        let (ck, temp_k) = hkdf(&self.ck, shared_secret);
        self.ck = ck;
        temp_k
    }
}

/// Parses an act's version byte, key and MAC (acts one and two).
fn parse_short_act(act: &[u8], which: Act) -> Result<(PublicKey, [u8; TAG_LEN]), NoiseError> {
    if act.len() != ACT_ONE_LEN {
        return Err(NoiseError::ActReadFailed(which));
    }
    if act[0] != 0 {
        return Err(NoiseError::BadVersion(which));
    }
    let key = PublicKey::from_slice(&act[1..34]).map_err(|_| NoiseError::BadPublicKey(which))?;
    let mut tag = [0u8; TAG_LEN];
    tag.copy_from_slice(&act[34..50]);
    Ok((key, tag))
}

fn ecdh(secret: &SecretKey, point: &PublicKey) -> [u8; 32] {
    SharedSecret::new(point, secret).secret_bytes()
}

/// Where the handshake stands.
enum State {
    /// Initiator: act one not yet produced.
    InitiatorStart { sym: SymmetricState, ephemeral: SecretKey, their_static: PublicKey },
    /// Initiator: act one sent, waiting for act two.
    InitiatorAwaitingActTwo { sym: SymmetricState, ephemeral: SecretKey, their_static: PublicKey },
    /// Responder: waiting for act one.
    ResponderAwaitingActOne { sym: SymmetricState },
    /// Responder: act two sent, waiting for act three.
    ResponderAwaitingActThree { sym: SymmetricState, ephemeral: SecretKey, temp_k2: [u8; 32] },
    /// Handshake done: the transport is ready.
    Finished { sending: CipherState, receiving: CipherState, their_static: PublicKey },
    /// A failure happened; nothing more can be done with this connection.
    Failed,
}

/// One connection's BOLT 8 state: the handshake, then message encryption.
pub struct PeerChannelEncryptor {
    state: State,
}

impl PeerChannelEncryptor {
    /// Starts an outbound connection to `their_node_id` with the ephemeral key
    /// `ephemeral_key` (fresh random for every connection).
    pub fn new_outbound(their_node_id: PublicKey, ephemeral_key: SecretKey) -> Self {
        let sym = SymmetricState::new(&their_node_id);
        PeerChannelEncryptor {
            state: State::InitiatorStart { sym, ephemeral: ephemeral_key, their_static: their_node_id },
        }
    }

    /// Starts an inbound connection; `our_node_id` is our static public key.
    pub fn new_inbound(our_node_id: &PublicKey) -> Self {
        PeerChannelEncryptor {
            state: State::ResponderAwaitingActOne { sym: SymmetricState::new(our_node_id) },
        }
    }

    /// Produces act one (initiator only, once).
    pub fn get_act_one<C: Signing>(
        &mut self, secp_ctx: &Secp256k1<C>,
    ) -> Result<[u8; ACT_ONE_LEN], NoiseError> {
        let State::InitiatorStart { mut sym, ephemeral, their_static } =
            core::mem::replace(&mut self.state, State::Failed)
        else {
            return Err(NoiseError::UnexpectedAct);
        };
        let ephemeral_pub = PublicKey::from_secret_key(secp_ctx, &ephemeral);
        sym.mix_hash(&ephemeral_pub.serialize());
        let temp_k1 = sym.mix_key(&ecdh(&ephemeral, &their_static));
        let mut act = [0u8; ACT_ONE_LEN];
        act[1..34].copy_from_slice(&ephemeral_pub.serialize());
        encrypt_with_ad(&temp_k1, 0, &sym.h, &[], &mut act[34..]);
        sym.mix_hash(&act[34..]);
        self.state = State::InitiatorAwaitingActTwo { sym, ephemeral, their_static };
        Ok(act)
    }

    /// Responder: takes act one and returns act two, using `ephemeral_key`
    /// (fresh random for every connection) and the node key through `signer`.
    pub fn process_act_one<NS: NodeSigner + ?Sized, C: Signing>(
        &mut self, act_one: &[u8], signer: &NS, ephemeral_key: SecretKey, secp_ctx: &Secp256k1<C>,
    ) -> Result<[u8; ACT_TWO_LEN], NoiseError> {
        let State::ResponderAwaitingActOne { mut sym } = core::mem::replace(&mut self.state, State::Failed)
        else {
            return Err(NoiseError::UnexpectedAct);
        };
        let (their_ephemeral, tag) = parse_short_act(act_one, Act::One)?;
        sym.mix_hash(&their_ephemeral.serialize());
        let es = signer
            .ecdh(Recipient::Node, &their_ephemeral, None)
            .map_err(|_| NoiseError::SignerFailed)?
            .secret_bytes();
        let temp_k1 = sym.mix_key(&es);
        decrypt_with_ad(&temp_k1, 0, &sym.h, &tag, &mut []).map_err(|_| NoiseError::BadTag(Act::One))?;
        sym.mix_hash(&tag);

        let ephemeral_pub = PublicKey::from_secret_key(secp_ctx, &ephemeral_key);
        sym.mix_hash(&ephemeral_pub.serialize());
        let temp_k2 = sym.mix_key(&ecdh(&ephemeral_key, &their_ephemeral));
        let mut act = [0u8; ACT_TWO_LEN];
        act[1..34].copy_from_slice(&ephemeral_pub.serialize());
        encrypt_with_ad(&temp_k2, 0, &sym.h, &[], &mut act[34..]);
        sym.mix_hash(&act[34..]);
        self.state = State::ResponderAwaitingActThree { sym, ephemeral: ephemeral_key, temp_k2 };
        Ok(act)
    }

    /// Initiator: takes act two and returns act three. The transport is ready
    /// afterwards.
    pub fn process_act_two<NS: NodeSigner + ?Sized>(
        &mut self, act_two: &[u8], signer: &NS,
    ) -> Result<[u8; ACT_THREE_LEN], NoiseError> {
        let State::InitiatorAwaitingActTwo { mut sym, ephemeral, their_static } =
            core::mem::replace(&mut self.state, State::Failed)
        else {
            return Err(NoiseError::UnexpectedAct);
        };
        let (their_ephemeral, tag) = parse_short_act(act_two, Act::Two)?;
        sym.mix_hash(&their_ephemeral.serialize());
        let temp_k2 = sym.mix_key(&ecdh(&ephemeral, &their_ephemeral));
        decrypt_with_ad(&temp_k2, 0, &sym.h, &tag, &mut []).map_err(|_| NoiseError::BadTag(Act::Two))?;
        sym.mix_hash(&tag);

        let our_static = signer.get_node_id(Recipient::Node).map_err(|_| NoiseError::SignerFailed)?;
        let mut act = [0u8; ACT_THREE_LEN];
        encrypt_with_ad(&temp_k2, 1, &sym.h, &our_static.serialize(), &mut act[1..50]);
        sym.mix_hash(&act[1..50]);
        let se = signer
            .ecdh(Recipient::Node, &their_ephemeral, None)
            .map_err(|_| NoiseError::SignerFailed)?
            .secret_bytes();
        let temp_k3 = sym.mix_key(&se);
        encrypt_with_ad(&temp_k3, 0, &sym.h, &[], &mut act[50..]);
        let (sk, rk) = hkdf(&sym.ck, &[]);
        self.state = State::Finished {
            sending: CipherState::new(sk, sym.ck),
            receiving: CipherState::new(rk, sym.ck),
            their_static,
        };
        Ok(act)
    }

    /// Responder: takes act three and returns the initiator's static key (its
    /// node id). The transport is ready afterwards.
    pub fn process_act_three(&mut self, act_three: &[u8]) -> Result<PublicKey, NoiseError> {
        let State::ResponderAwaitingActThree { mut sym, ephemeral, temp_k2 } =
            core::mem::replace(&mut self.state, State::Failed)
        else {
            return Err(NoiseError::UnexpectedAct);
        };
        if act_three.len() != ACT_THREE_LEN {
            return Err(NoiseError::ActReadFailed(Act::Three));
        }
        if act_three[0] != 0 {
            return Err(NoiseError::BadVersion(Act::Three));
        }
        let mut their_static = [0u8; 33];
        decrypt_with_ad(&temp_k2, 1, &sym.h, &act_three[1..50], &mut their_static)
            .map_err(|_| NoiseError::BadCiphertext)?;
        let their_static =
            PublicKey::from_slice(&their_static).map_err(|_| NoiseError::BadPublicKey(Act::Three))?;
        sym.mix_hash(&act_three[1..50]);
        let temp_k3 = sym.mix_key(&ecdh(&ephemeral, &their_static));
        decrypt_with_ad(&temp_k3, 0, &sym.h, &act_three[50..], &mut [])
            .map_err(|_| NoiseError::BadTag(Act::Three))?;
        let (rk, sk) = hkdf(&sym.ck, &[]);
        self.state = State::Finished {
            sending: CipherState::new(sk, sym.ck),
            receiving: CipherState::new(rk, sym.ck),
            their_static,
        };
        Ok(their_static)
    }

    /// True once the handshake is done.
    pub fn is_ready_for_encryption(&self) -> bool {
        matches!(self.state, State::Finished { .. })
    }

    /// The peer's static key: known from the start for an outbound connection,
    /// after act three for an inbound one.
    pub fn their_node_id(&self) -> Option<PublicKey> {
        match &self.state {
            State::InitiatorStart { their_static, .. }
            | State::InitiatorAwaitingActTwo { their_static, .. }
            | State::Finished { their_static, .. } => Some(*their_static),
            _ => None,
        }
    }

    /// The number of bytes the next read must supply: the next act while
    /// handshaking, a message header afterwards.
    pub fn next_read_len(&self) -> usize {
        match self.state {
            State::InitiatorAwaitingActTwo { .. } => ACT_TWO_LEN,
            State::ResponderAwaitingActOne { .. } => ACT_ONE_LEN,
            State::ResponderAwaitingActThree { .. } => ACT_THREE_LEN,
            _ => MESSAGE_HEADER_LEN,
        }
    }

    /// Encrypts one message, appending its wire form (encrypted length, MAC,
    /// encrypted body, MAC) to `out`.
    pub fn encrypt_message_into(&mut self, message: &[u8], out: &mut Vec<u8>) -> Result<(), NoiseError> {
        let State::Finished { sending, .. } = &mut self.state else {
            return Err(NoiseError::HandshakeNotComplete);
        };
        let len = u16::try_from(message.len()).map_err(|_| NoiseError::MessageTooLong)?;
        let start = out.len();
        out.reserve(MESSAGE_HEADER_LEN + message.len() + TAG_LEN);
        out.extend_from_slice(&len.to_be_bytes());
        let tag = sending.encrypt_in_place(&mut out[start..start + 2]);
        out.extend_from_slice(&tag);
        let body_start = out.len();
        out.extend_from_slice(message);
        let tag = sending.encrypt_in_place(&mut out[body_start..]);
        out.extend_from_slice(&tag);
        Ok(())
    }

    /// Encrypts one message into a new buffer.
    pub fn encrypt_message(&mut self, message: &[u8]) -> Result<Vec<u8>, NoiseError> {
        let mut out = Vec::new();
        self.encrypt_message_into(message, &mut out)?;
        Ok(out)
    }

    /// Decrypts a message header (18 bytes) and returns the body length (the
    /// body on the wire is this plus [`TAG_LEN`]).
    pub fn decrypt_length_header(&mut self, header: &[u8]) -> Result<u16, NoiseError> {
        let State::Finished { receiving, .. } = &mut self.state else {
            return Err(NoiseError::HandshakeNotComplete);
        };
        if header.len() != MESSAGE_HEADER_LEN {
            return Err(NoiseError::BadLengthMac);
        }
        let mut len = [header[0], header[1]];
        receiving.decrypt_in_place(&mut len, &header[2..]).map_err(|_| NoiseError::BadLengthMac)?;
        Ok(u16::from_be_bytes(len))
    }

    /// Decrypts a message body (ciphertext followed by its MAC) in place and
    /// returns the plaintext part of `body`.
    pub fn decrypt_message_in_place<'a>(&mut self, body: &'a mut [u8]) -> Result<&'a mut [u8], NoiseError> {
        let State::Finished { receiving, .. } = &mut self.state else {
            return Err(NoiseError::HandshakeNotComplete);
        };
        let split = body.len().checked_sub(TAG_LEN).ok_or(NoiseError::BadMessageMac)?;
        let (text, tag) = body.split_at_mut(split);
        receiving.decrypt_in_place(text, tag).map_err(|_| NoiseError::BadMessageMac)?;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hkdf_matches_the_bolt8_trace() {
        // From the BOLT 8 initiator trace of act one.
        let salt: [u8; 32] = hex32("2640f52eebcd9e882958951c794250eedb28002c05d7dc2ea0f195406042caf1");
        let ikm = hex32("1e2fb3c8fe8fb9f262f649f64d26ecf0f2c0a805a767cf02dc2d77a6ef1fdcc3");
        let (ck, k) = hkdf(&salt, &ikm);
        assert_eq!(ck, hex32("b61ec1191326fa240decc9564369dbb3ae2b34341d1e11ad64ed89f89180582f"));
        assert_eq!(k, hex32("e68f69b7f096d7917245f5e5cf8ae1595febe4d4644333c99f9c4a1282031c9f"));
    }

    fn hex32(s: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    #[test]
    fn acts_out_of_order_are_refused() {
        let secp = Secp256k1::new();
        let key = PublicKey::from_secret_key(&secp, &SecretKey::from_slice(&[1; 32]).unwrap());
        let mut inbound = PeerChannelEncryptor::new_inbound(&key);
        assert_eq!(inbound.get_act_one(&secp), Err(NoiseError::UnexpectedAct));
        assert_eq!(inbound.encrypt_message(b"x"), Err(NoiseError::HandshakeNotComplete));
    }
}
