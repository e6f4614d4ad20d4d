//! The Sphinx packet (BOLT 4 "Packet Structure", "Packet Construction",
//! "Onion Decryption" and "Filler Generation").
//!
//! [`OnionPacket`] is the 1366-byte `onion_routing_packet` of `update_add_htlc`.
//! The construction and peeling functions underneath it work on a
//! `hop_payloads` of any length, so onion messages (whose packets are longer)
//! can share them.

use crate::io::{self, Read, Write};
use crate::ln::msgs::DecodeError;
use crate::prelude::*;
use crate::util::ser::{BigSize, Readable, Writeable};

use super::keys::{self, HopSecrets, KeyType, Keystream};

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::ecdh::SharedSecret;
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey, Signing};
use core::fmt;

/// The only packet version BOLT 4 defines.
pub const ONION_VERSION: u8 = 0;
/// Length of `hop_payloads` in a payment onion.
pub const HOP_PAYLOADS_LEN: usize = 1300;
/// Length of a whole payment onion: version, key, `hop_payloads`, HMAC.
pub const ONION_PACKET_LEN: usize = 1 + 33 + HOP_PAYLOADS_LEN + 32;
/// Length of an HMAC in the packet.
pub const HMAC_LEN: usize = 32;
/// The longest route a payment onion is built for (and the number of
/// decryption rounds the origin does on a failure, BOLT 4 "Origin node").
pub const MAX_HOPS: usize = 27;

/// The `onion_routing_packet` of `update_add_htlc` (BOLT 4 `onion_packet` with a
/// 1300-byte `hop_payloads`).
///
/// The public key is kept as its 33 wire bytes: a packet with a key that is not
/// on the curve is still a packet, and the hop that receives it must answer
/// with `invalid_onion_key` rather than drop the whole `update_add_htlc`.
#[derive(Clone, PartialEq, Eq)]
pub struct OnionPacket {
    /// The version byte; 0 is the only one defined.
    pub version: u8,
    /// The ephemeral public key, compressed, as sent.
    pub public_key: [u8; 33],
    /// The obfuscated per-hop payloads.
    pub hop_payloads: [u8; HOP_PAYLOADS_LEN],
    /// The HMAC the receiving hop checks.
    pub hmac: [u8; HMAC_LEN],
}

impl fmt::Debug for OnionPacket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnionPacket")
            .field("version", &self.version)
            .field("public_key", &HexBytes(&self.public_key))
            .field("hop_payloads", &format_args!("[{} bytes]", HOP_PAYLOADS_LEN))
            .field("hmac", &HexBytes(&self.hmac))
            .finish()
    }
}

struct HexBytes<'a>(&'a [u8]);
impl fmt::Debug for HexBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl OnionPacket {
    /// The ephemeral public key, if it is a valid point.
    pub fn parsed_public_key(&self) -> Option<PublicKey> {
        PublicKey::from_slice(&self.public_key).ok()
    }

    /// SHA-256 of the whole packet as sent: the `sha256_of_onion` of the
    /// `BADONION` failures and of `update_fail_malformed_htlc`.
    pub fn sha256_of_onion(&self) -> [u8; 32] {
        sha256::Hash::hash(&self.encode()).to_byte_array()
    }
}

impl Writeable for OnionPacket {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        w.write_all(&[self.version])?;
        w.write_all(&self.public_key)?;
        w.write_all(&self.hop_payloads)?;
        w.write_all(&self.hmac)
    }
    fn serialized_length(&self) -> usize {
        ONION_PACKET_LEN
    }
}

impl Readable for OnionPacket {
    /// Reads the 1366 bytes; neither the version nor the key is checked here
    /// (that is the peeling hop's job, which answers with the right failure).
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let mut version = [0u8; 1];
        r.read_exact(&mut version)?;
        let mut public_key = [0u8; 33];
        r.read_exact(&mut public_key)?;
        let mut hop_payloads = [0u8; HOP_PAYLOADS_LEN];
        r.read_exact(&mut hop_payloads)?;
        let mut hmac = [0u8; HMAC_LEN];
        r.read_exact(&mut hmac)?;
        Ok(OnionPacket { version: version[0], public_key, hop_payloads, hmac })
    }
}

/// Why a packet could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnionBuildError {
    /// The route has no hop.
    EmptyRoute,
    /// More hops than [`MAX_HOPS`].
    TooManyHops {
        /// Hops in the route.
        hops: usize,
    },
    /// Not one payload per hop.
    PayloadCountMismatch {
        /// Hops in the route.
        hops: usize,
        /// Payloads given.
        payloads: usize,
    },
    /// A payload shorter than 2 bytes (lengths 0 and 1 are reserved).
    PayloadTooShort {
        /// Index of the hop.
        hop: usize,
    },
    /// The payloads (each with its length prefix and HMAC) do not fit.
    PayloadsTooLong {
        /// Bytes the payloads need.
        needed: usize,
        /// Bytes `hop_payloads` holds.
        available: usize,
    },
    /// A key derivation failed (negligible probability with honest keys).
    KeyDerivation,
}

impl fmt::Display for OnionBuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyRoute => f.write_str("route has no hop"),
            Self::TooManyHops { hops } => write!(f, "{hops} hops, at most {MAX_HOPS} allowed"),
            Self::PayloadCountMismatch { hops, payloads } => {
                write!(f, "{payloads} payloads for {hops} hops")
            }
            Self::PayloadTooShort { hop } => write!(f, "payload of hop {hop} is shorter than 2 bytes"),
            Self::PayloadsTooLong { needed, available } => {
                write!(f, "payloads need {needed} bytes, only {available} available")
            }
            Self::KeyDerivation => f.write_str("key derivation failed"),
        }
    }
}

impl From<keys::KeyDerivationError> for OnionBuildError {
    fn from(_: keys::KeyDerivationError) -> Self {
        OnionBuildError::KeyDerivation
    }
}

/// Bytes a payload of `len` bytes takes in `hop_payloads`: its `bigsize` length,
/// itself and the next hop's HMAC.
pub fn hop_payload_shift(len: usize) -> usize {
    BigSize::encoded_len(len as u64) + len + HMAC_LEN
}

/// A newly built packet and the secrets the sender keeps to read a failure
/// that comes back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConstructedOnion {
    /// The packet for the first hop.
    pub packet: OnionPacket,
    /// The secret shared with each hop, in route order.
    pub hop_shared_secrets: Vec<SharedSecret>,
}

/// Builds a payment onion for `node_ids` carrying `payloads` (one TLV payload
/// per hop, without its length prefix), committing to `associated_data` (the
/// payment hash for payments).
///
/// `session_key` must be fresh randomness for every packet; it also seeds the
/// starting filler, as BOLT 4 prescribes.
pub fn construct_onion_packet<C: Signing, P: AsRef<[u8]>>(
    secp_ctx: &Secp256k1<C>, session_key: &SecretKey, node_ids: &[PublicKey], payloads: &[P],
    associated_data: &[u8],
) -> Result<ConstructedOnion, OnionBuildError> {
    if node_ids.len() > MAX_HOPS {
        return Err(OnionBuildError::TooManyHops { hops: node_ids.len() });
    }
    check_route_shape(node_ids.len(), payloads, HOP_PAYLOADS_LEN)?;
    let secrets = keys::route_hop_secrets(secp_ctx, session_key, node_ids)?;
    let mut hop_payloads = [0u8; HOP_PAYLOADS_LEN];
    let hmac = construct_hop_payloads(&secrets, payloads, associated_data, session_key, &mut hop_payloads)?;
    let packet = OnionPacket {
        version: ONION_VERSION,
        public_key: secrets[0].ephemeral_pubkey.serialize(),
        hop_payloads,
        hmac,
    };
    Ok(ConstructedOnion { packet, hop_shared_secrets: secrets.iter().map(|s| s.shared_secret).collect() })
}

fn check_route_shape<P: AsRef<[u8]>>(
    hops: usize, payloads: &[P], available: usize,
) -> Result<(), OnionBuildError> {
    if hops == 0 {
        return Err(OnionBuildError::EmptyRoute);
    }
    if payloads.len() != hops {
        return Err(OnionBuildError::PayloadCountMismatch { hops, payloads: payloads.len() });
    }
    let mut needed = 0usize;
    for (hop, payload) in payloads.iter().enumerate() {
        let len = payload.as_ref().len();
        if len < 2 {
            return Err(OnionBuildError::PayloadTooShort { hop });
        }
        needed = needed.saturating_add(hop_payload_shift(len));
    }
    if needed > available {
        return Err(OnionBuildError::PayloadsTooLong { needed, available });
    }
    Ok(())
}

/// Fills `hop_payloads` (of any length) for a route whose per-hop secrets are
/// known and returns the HMAC for the first hop. `pad_seed` seeds the starting
/// bytes through its `pad` key.
pub fn construct_hop_payloads<P: AsRef<[u8]>>(
    secrets: &[HopSecrets], payloads: &[P], associated_data: &[u8], pad_seed: &SecretKey,
    hop_payloads: &mut [u8],
) -> Result<[u8; HMAC_LEN], OnionBuildError> {
    let total = hop_payloads.len();
    check_route_shape(secrets.len(), payloads, total)?;
    let filler = generate_filler(secrets, payloads, total);

    hop_payloads.fill(0);
    keys::xor_keystream(&keys::derive_key(KeyType::Pad, &pad_seed.secret_bytes()), hop_payloads);

    let mut next_hmac = [0u8; HMAC_LEN];
    for (i, (hop, payload)) in secrets.iter().zip(payloads.iter()).enumerate().rev() {
        let ss = hop.shared_secret.secret_bytes();
        let payload = payload.as_ref();
        let shift = hop_payload_shift(payload.len());
        hop_payloads.copy_within(0..total - shift, shift);
        let mut cursor = &mut hop_payloads[..shift];
        // Writing into a slice of exactly `shift` bytes cannot fail.
        let _ = BigSize(payload.len() as u64).write(&mut cursor);
        let _ = cursor.write_all(payload);
        let _ = cursor.write_all(&next_hmac);
        keys::xor_keystream(&keys::derive_key(KeyType::Rho, &ss), hop_payloads);
        if i == secrets.len() - 1 {
            hop_payloads[total - filler.len()..].copy_from_slice(&filler);
        }
        next_hmac = keys::hmac_sha256(&keys::derive_key(KeyType::Mu, &ss), &[hop_payloads, associated_data]);
    }
    Ok(next_hmac)
}

/// The filler: what hops `0..n-1` append (obfuscated) to `hop_payloads` as they
/// peel, so the sender can compute the HMACs the later hops will check.
fn generate_filler<P: AsRef<[u8]>>(secrets: &[HopSecrets], payloads: &[P], total: usize) -> Vec<u8> {
    let last = secrets.len().saturating_sub(1);
    let filler_len: usize = payloads[..last].iter().map(|p| hop_payload_shift(p.as_ref().len())).sum();
    let mut filler = Vec::with_capacity(filler_len);
    for (hop, payload) in secrets[..last].iter().zip(payloads.iter()) {
        let mut stream = Keystream::new(&keys::derive_key(KeyType::Rho, &hop.shared_secret.secret_bytes()));
        stream.seek(total - filler.len());
        filler.resize(filler.len() + hop_payload_shift(payload.as_ref().len()), 0);
        stream.xor_into(&mut filler);
    }
    filler
}

/// Why a hop could not peel a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnionPeelError {
    /// The version byte is not 0 (`invalid_onion_version`).
    InvalidVersion,
    /// The ephemeral key is not a valid point (`invalid_onion_key`).
    InvalidKey,
    /// The HMAC does not match (`invalid_onion_hmac`).
    InvalidHmac,
    /// The HMAC matched but the decrypted `hop_payloads` does not start with a
    /// well-formed payload: a bad `bigsize` length, a length below 2, or a
    /// payload and HMAC running past the end (`invalid_onion_payload`).
    InvalidPayloadLength,
}

impl fmt::Display for OnionPeelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InvalidVersion => "unknown onion version",
            Self::InvalidKey => "onion ephemeral key is not a valid point",
            Self::InvalidHmac => "onion HMAC mismatch",
            Self::InvalidPayloadLength => "malformed hop payload length",
        })
    }
}

/// One layer taken off a `hop_payloads`: this hop's payload and whether the
/// packet goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeeledPayload {
    /// This hop's payload (a TLV stream for payments), without its length.
    pub payload: Vec<u8>,
    /// The HMAC for the next hop; all zero if this hop is the final one.
    pub next_hmac: [u8; HMAC_LEN],
}

impl PeeledPayload {
    /// True if the packet ends here (all-zero next HMAC).
    pub fn is_final(&self) -> bool {
        self.next_hmac == [0u8; HMAC_LEN]
    }
}

/// Peels `hop_payloads` (of any length) in place with the hop's shared secret:
/// checks `hmac` over `hop_payloads || associated_data` in constant time,
/// decrypts, takes the payload off the front and leaves in `hop_payloads` what
/// the next hop receives (shifted left, refilled from the stream).
///
/// On an error `hop_payloads` may be partly decrypted and must be discarded.
pub fn peel_hop_payloads(
    shared_secret: &[u8; 32], hop_payloads: &mut [u8], hmac: &[u8; HMAC_LEN], associated_data: &[u8],
) -> Result<PeeledPayload, OnionPeelError> {
    let mu = keys::derive_key(KeyType::Mu, shared_secret);
    let expected = keys::hmac_sha256(&mu, &[hop_payloads, associated_data]);
    if !keys::hmac_eq(&expected, hmac) {
        return Err(OnionPeelError::InvalidHmac);
    }
    let mut stream = Keystream::new(&keys::derive_key(KeyType::Rho, shared_secret));
    stream.xor_into(hop_payloads);

    let total = hop_payloads.len();
    let mut reader = &hop_payloads[..];
    let len = BigSize::read(&mut reader).map_err(|_| OnionPeelError::InvalidPayloadLength)?.0;
    if len < 2 {
        return Err(OnionPeelError::InvalidPayloadLength);
    }
    let len = usize::try_from(len).map_err(|_| OnionPeelError::InvalidPayloadLength)?;
    if len.checked_add(HMAC_LEN).map_or(true, |n| n > reader.len()) {
        return Err(OnionPeelError::InvalidPayloadLength);
    }
    let payload = reader[..len].to_vec();
    let mut next_hmac = [0u8; HMAC_LEN];
    next_hmac.copy_from_slice(&reader[len..len + HMAC_LEN]);
    let shift = total - (reader.len() - len - HMAC_LEN);

    hop_payloads.copy_within(shift.., 0);
    let tail = &mut hop_payloads[total - shift..];
    tail.fill(0);
    stream.xor_into(tail);
    Ok(PeeledPayload { payload, next_hmac })
}

/// A payment onion peeled by one hop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeeledOnion {
    /// The secret this hop shares with the sender; it encrypts any failure
    /// this hop sends back.
    pub shared_secret: SharedSecret,
    /// This hop's payload (a TLV stream), without its length prefix.
    pub payload: Vec<u8>,
    /// The packet for the next hop, or `None` if this hop is the final one.
    pub next_packet: Option<OnionPacket>,
}

/// Checks the version and key of `packet` before any ECDH.
pub fn check_packet_header(packet: &OnionPacket) -> Result<PublicKey, OnionPeelError> {
    if packet.version != ONION_VERSION {
        return Err(OnionPeelError::InvalidVersion);
    }
    packet.parsed_public_key().ok_or(OnionPeelError::InvalidKey)
}

/// Peels a payment onion with a shared secret already computed (for callers
/// that do ECDH themselves; [`super::peel_payment_onion`] goes through the
/// [`NodeSigner`](crate::sign::NodeSigner)).
///
/// The next packet's key is the incoming one multiplied by
/// `SHA256(public_key || shared_secret)`.
pub fn peel_onion_with_shared_secret<C: bitcoin::secp256k1::Verification>(
    secp_ctx: &Secp256k1<C>, shared_secret: SharedSecret, packet: &OnionPacket, associated_data: &[u8],
) -> Result<PeeledOnion, OnionPeelError> {
    let public_key = check_packet_header(packet)?;
    peel_onion_with_parsed_key(secp_ctx, shared_secret, &public_key, packet, associated_data)
}

/// [`peel_onion_with_shared_secret`] once the header was checked and the key
/// parsed (parsing a key is a square root; a forwarding node does it once).
pub(super) fn peel_onion_with_parsed_key<C: bitcoin::secp256k1::Verification>(
    secp_ctx: &Secp256k1<C>, shared_secret: SharedSecret, public_key: &PublicKey, packet: &OnionPacket,
    associated_data: &[u8],
) -> Result<PeeledOnion, OnionPeelError> {
    let ss = shared_secret.secret_bytes();
    let mut hop_payloads = packet.hop_payloads;
    let peeled = peel_hop_payloads(&ss, &mut hop_payloads, &packet.hmac, associated_data)?;
    let next_packet = if peeled.is_final() {
        None
    } else {
        let next_key =
            keys::next_ephemeral_pubkey(secp_ctx, public_key, &ss).map_err(|_| OnionPeelError::InvalidKey)?;
        Some(OnionPacket {
            version: ONION_VERSION,
            public_key: next_key.serialize(),
            hop_payloads,
            hmac: peeled.next_hmac,
        })
    };
    Ok(PeeledOnion { shared_secret, payload: peeled.payload, next_packet })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> SecretKey {
        SecretKey::from_slice(&[b; 32]).unwrap()
    }

    #[test]
    fn rejects_routes_that_do_not_fit() {
        let secp = Secp256k1::new();
        let ids: Vec<PublicKey> = (1..=3).map(|i| PublicKey::from_secret_key(&secp, &key(i))).collect();
        let empty: [Vec<u8>; 0] = [];
        assert_eq!(
            construct_onion_packet(&secp, &key(9), &[], &empty, &[]).unwrap_err(),
            OnionBuildError::EmptyRoute
        );
        assert_eq!(
            construct_onion_packet(&secp, &key(9), &ids, &[[0u8; 2]; 2], &[]).unwrap_err(),
            OnionBuildError::PayloadCountMismatch { hops: 3, payloads: 2 }
        );
        assert_eq!(
            construct_onion_packet(&secp, &key(9), &ids, &[vec![0u8; 2], vec![0u8; 1], vec![0u8; 2]], &[])
                .unwrap_err(),
            OnionBuildError::PayloadTooShort { hop: 1 }
        );
        // 3 * (3 + 400 + 32) = 1305 > 1300.
        assert_eq!(
            construct_onion_packet(&secp, &key(9), &ids, &[[0u8; 400]; 3], &[]).unwrap_err(),
            OnionBuildError::PayloadsTooLong { needed: 1305, available: 1300 }
        );
        let many = vec![ids[0]; MAX_HOPS + 1];
        assert_eq!(
            construct_onion_packet(&secp, &key(9), &many, &vec![vec![0u8; 2]; MAX_HOPS + 1], &[])
                .unwrap_err(),
            OnionBuildError::TooManyHops { hops: MAX_HOPS + 1 }
        );
    }

    #[test]
    fn payload_filling_the_packet_exactly_peels() {
        let secp = Secp256k1::new();
        let id = PublicKey::from_secret_key(&secp, &key(1));
        let payload = vec![0x42u8; HOP_PAYLOADS_LEN - 3 - HMAC_LEN];
        let onion = construct_onion_packet(&secp, &key(5), &[id], &[&payload], b"ad").unwrap();
        let peeled =
            peel_onion_with_shared_secret(&secp, onion.hop_shared_secrets[0], &onion.packet, b"ad").unwrap();
        assert_eq!(peeled.payload, payload);
        assert!(peeled.next_packet.is_none());
    }

    #[test]
    fn header_errors_come_before_the_hmac() {
        let secp = Secp256k1::new();
        let id = PublicKey::from_secret_key(&secp, &key(1));
        let onion = construct_onion_packet(&secp, &key(5), &[id], &[[1u8, 2]], b"").unwrap();
        let ss = onion.hop_shared_secrets[0];
        let mut bad = onion.packet.clone();
        bad.version = 1;
        assert_eq!(peel_onion_with_shared_secret(&secp, ss, &bad, b""), Err(OnionPeelError::InvalidVersion));
        let mut bad = onion.packet.clone();
        bad.public_key[0] = 0x05;
        assert_eq!(peel_onion_with_shared_secret(&secp, ss, &bad, b""), Err(OnionPeelError::InvalidKey));
        assert_eq!(
            peel_onion_with_shared_secret(&secp, ss, &onion.packet, b"x"),
            Err(OnionPeelError::InvalidHmac)
        );
    }

    #[test]
    fn packet_round_trips_on_the_wire() {
        let secp = Secp256k1::new();
        let id = PublicKey::from_secret_key(&secp, &key(1));
        let onion = construct_onion_packet(&secp, &key(5), &[id], &[[1u8, 2]], b"").unwrap();
        let bytes = onion.packet.encode();
        assert_eq!(bytes.len(), ONION_PACKET_LEN);
        assert_eq!(crate::util::ser::decode_exact::<OnionPacket>(&bytes).unwrap(), onion.packet);
        assert_eq!(
            crate::util::ser::decode_exact::<OnionPacket>(&bytes[..ONION_PACKET_LEN - 1]),
            Err(DecodeError::ShortRead)
        );
    }
}
