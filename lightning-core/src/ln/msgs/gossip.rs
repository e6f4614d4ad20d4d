//! BOLT 7 gossip messages: announcements, updates and the gossip queries.
//!
//! Each signed message is split in two: an `Unsigned*` struct holding exactly the
//! bytes its signature covers (including unknown trailing data, which must be
//! kept so the signature still checks and the message can be relayed as it
//! came), and the signed struct that adds the signature fields in front.
//! [`UnsignedChannelAnnouncement::signing_hash`] and friends give the
//! double-SHA256 the signatures are made over.
//!
//! Decoding is lossless: BOLT 7 signs the bytes as sent, so a decoded message
//! re-encodes byte for byte (feature vectors keep any leading zero bytes they
//! came with, see [`crate::ln::features`]; unknown address descriptors and
//! trailing data are kept). The signing hash of a decoded message is therefore
//! the hash of the bytes received, and relaying or serving it sends those same
//! bytes.
//!
//! The query messages carry `encoded_short_ids` (and encoded TLVs) with an
//! encoding byte. Only encoding 0 (uncompressed) is supported; the deprecated
//! zlib encoding (1) is rejected with [`DecodeError::UnsupportedCompression`].

use crate::io::{self, Read, Write};
use crate::ln::features::{ChannelFeatures, NodeFeatures};
use crate::ln::msgs::{DecodeError, SocketAddress};
use crate::ln::types::{ChannelId, ShortChannelId};
use crate::ln::wire::Type;
use crate::prelude::*;
use crate::util::ser::{
    read_to_end_bounded, read_u16_len_bytes, write_u16_len_bytes, BigSize, Readable, Writeable,
};
use crate::util::tlv::TlvValue;
use bitcoin::blockdata::constants::ChainHash;
use bitcoin::hashes::{sha256d, Hash};
use bitcoin::secp256k1::{ecdsa::Signature, PublicKey};

/// Encoding byte of an uncompressed array of short channel ids or flags.
pub const ENCODING_UNCOMPRESSED: u8 = 0;
/// Encoding byte of the deprecated zlib-compressed arrays.
pub const ENCODING_ZLIB: u8 = 1;

fn signing_hash_of<T: Writeable>(unsigned: &T) -> [u8; 32] {
    sha256d::Hash::hash(&unsigned.encode()).to_byte_array()
}

/// The part of a `channel_announcement` covered by its four signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsignedChannelAnnouncement {
    /// Channel features.
    pub features: ChannelFeatures,
    /// The chain the channel is on.
    pub chain_hash: ChainHash,
    /// Where the funding output is.
    pub short_channel_id: ShortChannelId,
    /// The node with the lexicographically smaller id.
    pub node_id_1: PublicKey,
    /// The node with the larger id.
    pub node_id_2: PublicKey,
    /// `node_id_1`'s funding key.
    pub bitcoin_key_1: PublicKey,
    /// `node_id_2`'s funding key.
    pub bitcoin_key_2: PublicKey,
    /// Unknown trailing bytes, kept for signature checks and relaying.
    pub excess_data: Vec<u8>,
}

impl UnsignedChannelAnnouncement {
    /// The double-SHA256 that the four signatures sign.
    pub fn signing_hash(&self) -> [u8; 32] {
        signing_hash_of(self)
    }
}

impl Writeable for UnsignedChannelAnnouncement {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.features.write(w)?;
        self.chain_hash.write(w)?;
        self.short_channel_id.write(w)?;
        self.node_id_1.write(w)?;
        self.node_id_2.write(w)?;
        self.bitcoin_key_1.write(w)?;
        self.bitcoin_key_2.write(w)?;
        w.write_all(&self.excess_data)
    }
}

impl Readable for UnsignedChannelAnnouncement {
    /// Reads to the end of the input: whatever follows the known fields is
    /// excess data.
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(UnsignedChannelAnnouncement {
            features: Readable::read(r)?,
            chain_hash: Readable::read(r)?,
            short_channel_id: Readable::read(r)?,
            node_id_1: Readable::read(r)?,
            node_id_2: Readable::read(r)?,
            bitcoin_key_1: Readable::read(r)?,
            bitcoin_key_2: Readable::read(r)?,
            excess_data: read_to_end_bounded(r)?,
        })
    }
}

/// `channel_announcement` (type 256): proves a channel exists between two nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelAnnouncement {
    /// `node_id_1`'s signature.
    pub node_signature_1: Signature,
    /// `node_id_2`'s signature.
    pub node_signature_2: Signature,
    /// `bitcoin_key_1`'s signature.
    pub bitcoin_signature_1: Signature,
    /// `bitcoin_key_2`'s signature.
    pub bitcoin_signature_2: Signature,
    /// The signed contents.
    pub contents: UnsignedChannelAnnouncement,
}

impl Writeable for ChannelAnnouncement {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.node_signature_1.write(w)?;
        self.node_signature_2.write(w)?;
        self.bitcoin_signature_1.write(w)?;
        self.bitcoin_signature_2.write(w)?;
        self.contents.write(w)
    }
}

impl Readable for ChannelAnnouncement {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(ChannelAnnouncement {
            node_signature_1: Readable::read(r)?,
            node_signature_2: Readable::read(r)?,
            bitcoin_signature_1: Readable::read(r)?,
            bitcoin_signature_2: Readable::read(r)?,
            contents: Readable::read(r)?,
        })
    }
}

impl Type for ChannelAnnouncement {
    const TYPE: u16 = 256;
}

/// A node's alias: 32 bytes, by convention UTF-8 padded with zeros.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct NodeAlias(pub [u8; 32]);

impl NodeAlias {
    /// The alias as text up to its first zero byte, with anything that is not
    /// printable ASCII escaped (it comes from an untrusted peer).
    pub fn printable(&self) -> String {
        let end = self.0.iter().position(|b| *b == 0).unwrap_or(32);
        crate::ln::msgs::setup::printable(&self.0[..end])
    }
}

/// The part of a `node_announcement` covered by its signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsignedNodeAnnouncement {
    /// The node's features.
    pub features: NodeFeatures,
    /// When it was made; a newer one replaces an older one.
    pub timestamp: u32,
    /// The node announced.
    pub node_id: PublicKey,
    /// A colour for displays.
    pub rgb: [u8; 3],
    /// A name for displays.
    pub alias: NodeAlias,
    /// The addresses the node can be reached at, in the order sent.
    pub addresses: Vec<SocketAddress>,
    /// The address bytes from the first descriptor of unknown type on (BOLT 7:
    /// the rest cannot be parsed, but is signed and relayed).
    pub excess_address_data: Vec<u8>,
    /// Unknown trailing bytes after the addresses.
    pub excess_data: Vec<u8>,
}

impl UnsignedNodeAnnouncement {
    /// The double-SHA256 that the signature signs.
    pub fn signing_hash(&self) -> [u8; 32] {
        signing_hash_of(self)
    }
}

impl Writeable for UnsignedNodeAnnouncement {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.features.write(w)?;
        self.timestamp.write(w)?;
        self.node_id.write(w)?;
        self.rgb.write(w)?;
        self.alias.0.write(w)?;
        let mut addresses = Vec::new();
        for a in &self.addresses {
            a.write(&mut addresses)?;
        }
        addresses.extend_from_slice(&self.excess_address_data);
        write_u16_len_bytes(w, &addresses)?;
        w.write_all(&self.excess_data)
    }
}

impl Readable for UnsignedNodeAnnouncement {
    /// Reads to the end of the input (trailing bytes are excess data).
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let features = Readable::read(r)?;
        let timestamp = Readable::read(r)?;
        let node_id = Readable::read(r)?;
        let rgb = Readable::read(r)?;
        let alias = NodeAlias(Readable::read(r)?);
        let address_bytes = read_u16_len_bytes(r)?;
        let mut addresses = Vec::new();
        let mut excess_address_data = Vec::new();
        let mut rest: &[u8] = &address_bytes;
        while !rest.is_empty() {
            let before = rest;
            match SocketAddress::read_descriptor(&mut rest)? {
                Some(addr) => addresses.push(addr),
                None => {
                    excess_address_data = before.to_vec();
                    break;
                }
            }
        }
        Ok(UnsignedNodeAnnouncement {
            features,
            timestamp,
            node_id,
            rgb,
            alias,
            addresses,
            excess_address_data,
            excess_data: read_to_end_bounded(r)?,
        })
    }
}

/// `node_announcement` (type 257): a node's features, name and addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeAnnouncement {
    /// The node's signature over `contents`.
    pub signature: Signature,
    /// The signed contents.
    pub contents: UnsignedNodeAnnouncement,
}

impl Writeable for NodeAnnouncement {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.signature.write(w)?;
        self.contents.write(w)
    }
}

impl Readable for NodeAnnouncement {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(NodeAnnouncement { signature: Readable::read(r)?, contents: Readable::read(r)? })
    }
}

impl Type for NodeAnnouncement {
    const TYPE: u16 = 257;
}

/// `message_flags` bit 0: always set (it once meant "`htlc_maximum_msat` present").
pub const MESSAGE_FLAG_MUST_BE_ONE: u8 = 1 << 0;
/// `message_flags` bit 1: the update is for the channel peer only.
pub const MESSAGE_FLAG_DONT_FORWARD: u8 = 1 << 1;
/// `channel_flags` bit 0: the direction (0: from `node_id_1`).
pub const CHANNEL_FLAG_DIRECTION: u8 = 1 << 0;
/// `channel_flags` bit 1: the direction is disabled.
pub const CHANNEL_FLAG_DISABLE: u8 = 1 << 1;

/// The part of a `channel_update` covered by its signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsignedChannelUpdate {
    /// The chain the channel is on.
    pub chain_hash: ChainHash,
    /// The channel.
    pub short_channel_id: ShortChannelId,
    /// When it was made; a newer one replaces an older one.
    pub timestamp: u32,
    /// [`MESSAGE_FLAG_MUST_BE_ONE`], [`MESSAGE_FLAG_DONT_FORWARD`].
    pub message_flags: u8,
    /// [`CHANNEL_FLAG_DIRECTION`], [`CHANNEL_FLAG_DISABLE`].
    pub channel_flags: u8,
    /// Blocks the forwarding node subtracts from an incoming HTLC's expiry.
    pub cltv_expiry_delta: u16,
    /// Smallest HTLC the direction accepts.
    pub htlc_minimum_msat: u64,
    /// Fixed fee per forwarded HTLC.
    pub fee_base_msat: u32,
    /// Proportional fee, in millionths of the forwarded amount.
    pub fee_proportional_millionths: u32,
    /// Largest HTLC the direction accepts.
    pub htlc_maximum_msat: u64,
    /// Unknown trailing bytes, kept for signature checks and relaying.
    pub excess_data: Vec<u8>,
}

impl UnsignedChannelUpdate {
    /// The double-SHA256 that the signature signs.
    pub fn signing_hash(&self) -> [u8; 32] {
        signing_hash_of(self)
    }
    /// 0 if the update is from `node_id_1`, 1 if from `node_id_2`.
    pub fn direction(&self) -> u8 {
        self.channel_flags & CHANNEL_FLAG_DIRECTION
    }
    /// True if the direction is disabled.
    pub fn is_disabled(&self) -> bool {
        self.channel_flags & CHANNEL_FLAG_DISABLE != 0
    }
    /// The BOLT 7 checksum used by `reply_channel_range`'s `checksums_tlv`:
    /// CRC32C of the update without its signature and timestamp.
    pub fn checksum(&self) -> u32 {
        let mut bytes = self.encode();
        // chain_hash (32) + short_channel_id (8), then the timestamp (4).
        bytes.drain(40..44);
        crc32c(&bytes)
    }
}

/// CRC32C (Castagnoli, reflected, as in RFC 3720 appendix B.4).
pub fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in data {
        crc ^= *byte as u32;
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0x82F6_3B78 & mask);
        }
    }
    !crc
}

impl Writeable for UnsignedChannelUpdate {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.chain_hash.write(w)?;
        self.short_channel_id.write(w)?;
        self.timestamp.write(w)?;
        self.message_flags.write(w)?;
        self.channel_flags.write(w)?;
        self.cltv_expiry_delta.write(w)?;
        self.htlc_minimum_msat.write(w)?;
        self.fee_base_msat.write(w)?;
        self.fee_proportional_millionths.write(w)?;
        self.htlc_maximum_msat.write(w)?;
        w.write_all(&self.excess_data)
    }
}

impl Readable for UnsignedChannelUpdate {
    /// Reads to the end of the input (trailing bytes are excess data).
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(UnsignedChannelUpdate {
            chain_hash: Readable::read(r)?,
            short_channel_id: Readable::read(r)?,
            timestamp: Readable::read(r)?,
            message_flags: Readable::read(r)?,
            channel_flags: Readable::read(r)?,
            cltv_expiry_delta: Readable::read(r)?,
            htlc_minimum_msat: Readable::read(r)?,
            fee_base_msat: Readable::read(r)?,
            fee_proportional_millionths: Readable::read(r)?,
            htlc_maximum_msat: Readable::read(r)?,
            excess_data: read_to_end_bounded(r)?,
        })
    }
}

/// `channel_update` (type 258): one direction's forwarding policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelUpdate {
    /// The forwarding node's signature over `contents`.
    pub signature: Signature,
    /// The signed contents.
    pub contents: UnsignedChannelUpdate,
}

impl Writeable for ChannelUpdate {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.signature.write(w)?;
        self.contents.write(w)
    }
}

impl Readable for ChannelUpdate {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(ChannelUpdate { signature: Readable::read(r)?, contents: Readable::read(r)? })
    }
}

impl Type for ChannelUpdate {
    const TYPE: u16 = 258;
}

/// `announcement_signatures` (type 259): a channel peer's half of the
/// signatures for a `channel_announcement`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnnouncementSignatures {
    /// The channel.
    pub channel_id: ChannelId,
    /// Its short channel id.
    pub short_channel_id: ShortChannelId,
    /// The sender's node signature.
    pub node_signature: Signature,
    /// The sender's funding-key signature.
    pub bitcoin_signature: Signature,
}

impl Writeable for AnnouncementSignatures {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.channel_id.write(w)?;
        self.short_channel_id.write(w)?;
        self.node_signature.write(w)?;
        self.bitcoin_signature.write(w)
    }
}

impl Readable for AnnouncementSignatures {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(AnnouncementSignatures {
            channel_id: Readable::read(r)?,
            short_channel_id: Readable::read(r)?,
            node_signature: Readable::read(r)?,
            bitcoin_signature: Readable::read(r)?,
        })
    }
}

impl Type for AnnouncementSignatures {
    const TYPE: u16 = 259;
}

/// Reads the encoding byte of an encoded array and checks it is uncompressed.
fn check_encoding(byte: u8) -> Result<(), DecodeError> {
    match byte {
        ENCODING_UNCOMPRESSED => Ok(()),
        ENCODING_ZLIB => Err(DecodeError::UnsupportedCompression),
        _ => Err(DecodeError::UnknownVersion),
    }
}

/// Writes `encoded_short_ids` (u16 length, encoding byte 0, the ids).
fn write_short_ids<W: Write>(w: &mut W, ids: &[ShortChannelId]) -> Result<(), io::Error> {
    let len = ids
        .len()
        .checked_mul(8)
        .and_then(|l| l.checked_add(1))
        .and_then(|l| u16::try_from(l).ok())
        .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
    len.write(w)?;
    ENCODING_UNCOMPRESSED.write(w)?;
    for id in ids {
        id.write(w)?;
    }
    Ok(())
}

/// Reads `encoded_short_ids`: a whole number of ids after the encoding byte.
/// An empty field (length 0) is read as no ids.
fn read_short_ids<R: Read>(r: &mut R) -> Result<Vec<ShortChannelId>, DecodeError> {
    let bytes = read_u16_len_bytes(r)?;
    let Some((encoding, ids)) = bytes.split_first() else {
        return Ok(Vec::new());
    };
    check_encoding(*encoding)?;
    if ids.len() % 8 != 0 {
        return Err(DecodeError::BadLengthDescriptor);
    }
    ids.chunks_exact(8)
        .map(|c| {
            let mut buf = [0u8; 8];
            buf.copy_from_slice(c);
            Ok(ShortChannelId(u64::from_be_bytes(buf)))
        })
        .collect()
}

/// The `query_flags` TLV of `query_short_channel_ids`: one bitfield per id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncodedQueryFlags(pub Vec<u64>);

/// `query_flag` bit 0: the sender wants the `channel_announcement`.
pub const QUERY_FLAG_CHANNEL_ANNOUNCEMENT: u64 = 1 << 0;
/// `query_flag` bit 1: the sender wants node 1's `channel_update`.
pub const QUERY_FLAG_CHANNEL_UPDATE_1: u64 = 1 << 1;
/// `query_flag` bit 2: the sender wants node 2's `channel_update`.
pub const QUERY_FLAG_CHANNEL_UPDATE_2: u64 = 1 << 2;
/// `query_flag` bit 3: the sender wants node 1's `node_announcement`.
pub const QUERY_FLAG_NODE_ANNOUNCEMENT_1: u64 = 1 << 3;
/// `query_flag` bit 4: the sender wants node 2's `node_announcement`.
pub const QUERY_FLAG_NODE_ANNOUNCEMENT_2: u64 = 1 << 4;

impl TlvValue for EncodedQueryFlags {
    fn write_value<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        ENCODING_UNCOMPRESSED.write(w)?;
        self.0.iter().try_for_each(|f| BigSize(*f).write(w))
    }
    fn value_len(&self) -> usize {
        1 + self.0.iter().map(|f| BigSize::encoded_len(*f)).sum::<usize>()
    }
    fn read_value(value: &[u8]) -> Result<Self, DecodeError> {
        let (encoding, mut rest) = value.split_first().ok_or(DecodeError::BadLengthDescriptor)?;
        check_encoding(*encoding)?;
        let mut flags = Vec::new();
        while !rest.is_empty() {
            flags.push(BigSize::read(&mut rest)?.0);
        }
        Ok(EncodedQueryFlags(flags))
    }
}

/// Per-channel `channel_update` timestamps of `reply_channel_range`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncodedTimestamps(pub Vec<(u32, u32)>);

impl TlvValue for EncodedTimestamps {
    fn write_value<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        ENCODING_UNCOMPRESSED.write(w)?;
        self.0.iter().try_for_each(|p| p.write(w))
    }
    fn value_len(&self) -> usize {
        1 + 8 * self.0.len()
    }
    fn read_value(value: &[u8]) -> Result<Self, DecodeError> {
        let (encoding, rest) = value.split_first().ok_or(DecodeError::BadLengthDescriptor)?;
        check_encoding(*encoding)?;
        Ok(EncodedTimestamps(<Vec<(u32, u32)> as TlvValue>::read_value(rest)?))
    }
}

crate::tlv_stream! {
    /// The `query_short_channel_ids_tlvs` stream.
    pub struct QueryShortChannelIdsTlvs {
        /// `query_flags`: what the sender wants for each id.
        (1, query_flags: EncodedQueryFlags),
    }
}

crate::tlv_stream! {
    /// The `query_channel_range_tlvs` stream.
    pub struct QueryChannelRangeTlvs {
        /// `query_option`: bit 0 wants timestamps, bit 1 wants checksums.
        (1, query_option: BigSize),
    }
}

crate::tlv_stream! {
    /// The `reply_channel_range_tlvs` stream.
    pub struct ReplyChannelRangeTlvs {
        /// `timestamps_tlv`: the two update timestamps of each id.
        (1, timestamps: EncodedTimestamps),
        /// `checksums_tlv`: the two update checksums of each id.
        (3, checksums: Vec<(u32, u32)>),
    }
}

/// `query_option` bit 0: the sender wants timestamps.
pub const QUERY_OPTION_TIMESTAMPS: u64 = 1 << 0;
/// `query_option` bit 1: the sender wants checksums.
pub const QUERY_OPTION_CHECKSUMS: u64 = 1 << 1;

/// `query_short_channel_ids` (type 261): asks for the announcements and
/// updates of the listed channels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryShortChannelIds {
    /// The chain.
    pub chain_hash: ChainHash,
    /// The channels asked about.
    pub short_channel_ids: Vec<ShortChannelId>,
    /// Optional per-channel flags ([`QUERY_FLAG_CHANNEL_ANNOUNCEMENT`], ...).
    pub query_flags: Option<Vec<u64>>,
}

impl Writeable for QueryShortChannelIds {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.chain_hash.write(w)?;
        write_short_ids(w, &self.short_channel_ids)?;
        QueryShortChannelIdsTlvs { query_flags: self.query_flags.clone().map(EncodedQueryFlags) }.write(w)
    }
}

impl Readable for QueryShortChannelIds {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let chain_hash = Readable::read(r)?;
        let short_channel_ids = read_short_ids(r)?;
        let tlvs = QueryShortChannelIdsTlvs::read(r)?;
        Ok(QueryShortChannelIds { chain_hash, short_channel_ids, query_flags: tlvs.query_flags.map(|f| f.0) })
    }
}

impl Type for QueryShortChannelIds {
    const TYPE: u16 = 261;
}

/// `reply_short_channel_ids_end` (type 262): ends the answer to a
/// `query_short_channel_ids`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyShortChannelIdsEnd {
    /// The chain.
    pub chain_hash: ChainHash,
    /// False if the sender does not keep full information for this chain.
    pub full_information: bool,
}

impl Writeable for ReplyShortChannelIdsEnd {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.chain_hash.write(w)?;
        (self.full_information as u8).write(w)
    }
}

impl Readable for ReplyShortChannelIdsEnd {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(ReplyShortChannelIdsEnd { chain_hash: Readable::read(r)?, full_information: u8::read(r)? != 0 })
    }
}

impl Type for ReplyShortChannelIdsEnd {
    const TYPE: u16 = 262;
}

/// `query_channel_range` (type 263): asks for the ids of the channels in a
/// range of blocks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryChannelRange {
    /// The chain.
    pub chain_hash: ChainHash,
    /// First block of the range.
    pub first_blocknum: u32,
    /// Number of blocks in the range.
    pub number_of_blocks: u32,
    /// [`QUERY_OPTION_TIMESTAMPS`] / [`QUERY_OPTION_CHECKSUMS`], if sent.
    pub query_option: Option<u64>,
}

impl QueryChannelRange {
    /// The block after the range, saturating at `u32::MAX`.
    pub fn end_blocknum(&self) -> u32 {
        self.first_blocknum.saturating_add(self.number_of_blocks)
    }
}

impl Writeable for QueryChannelRange {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.chain_hash.write(w)?;
        self.first_blocknum.write(w)?;
        self.number_of_blocks.write(w)?;
        QueryChannelRangeTlvs { query_option: self.query_option.map(BigSize) }.write(w)
    }
}

impl Readable for QueryChannelRange {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let chain_hash = Readable::read(r)?;
        let first_blocknum = Readable::read(r)?;
        let number_of_blocks = Readable::read(r)?;
        let tlvs = QueryChannelRangeTlvs::read(r)?;
        Ok(QueryChannelRange {
            chain_hash,
            first_blocknum,
            number_of_blocks,
            query_option: tlvs.query_option.map(|b| b.0),
        })
    }
}

impl Type for QueryChannelRange {
    const TYPE: u16 = 263;
}

/// `reply_channel_range` (type 264): one part of the answer to a
/// `query_channel_range`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyChannelRange {
    /// The chain.
    pub chain_hash: ChainHash,
    /// First block this part covers.
    pub first_blocknum: u32,
    /// Number of blocks this part covers.
    pub number_of_blocks: u32,
    /// True on the last part.
    pub sync_complete: bool,
    /// The channels in the range, ascending.
    pub short_channel_ids: Vec<ShortChannelId>,
    /// Update timestamps per id, if asked for.
    pub timestamps: Option<Vec<(u32, u32)>>,
    /// Update checksums per id, if asked for.
    pub checksums: Option<Vec<(u32, u32)>>,
}

impl Writeable for ReplyChannelRange {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.chain_hash.write(w)?;
        self.first_blocknum.write(w)?;
        self.number_of_blocks.write(w)?;
        (self.sync_complete as u8).write(w)?;
        write_short_ids(w, &self.short_channel_ids)?;
        ReplyChannelRangeTlvs {
            timestamps: self.timestamps.clone().map(EncodedTimestamps),
            checksums: self.checksums.clone(),
        }
        .write(w)
    }
}

impl Readable for ReplyChannelRange {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let chain_hash = Readable::read(r)?;
        let first_blocknum = Readable::read(r)?;
        let number_of_blocks = Readable::read(r)?;
        let sync_complete = u8::read(r)? != 0;
        let short_channel_ids = read_short_ids(r)?;
        let tlvs = ReplyChannelRangeTlvs::read(r)?;
        Ok(ReplyChannelRange {
            chain_hash,
            first_blocknum,
            number_of_blocks,
            sync_complete,
            short_channel_ids,
            timestamps: tlvs.timestamps.map(|t| t.0),
            checksums: tlvs.checksums,
        })
    }
}

impl Type for ReplyChannelRange {
    const TYPE: u16 = 264;
}

/// `gossip_timestamp_filter` (type 265): which gossip the sender wants relayed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GossipTimestampFilter {
    /// The chain.
    pub chain_hash: ChainHash,
    /// Earliest timestamp wanted.
    pub first_timestamp: u32,
    /// Width of the wanted window, in seconds.
    pub timestamp_range: u32,
}

impl GossipTimestampFilter {
    /// True if a message with `timestamp` falls in the window.
    pub fn matches(&self, timestamp: u32) -> bool {
        timestamp >= self.first_timestamp
            && (timestamp as u64) < self.first_timestamp as u64 + self.timestamp_range as u64
    }
}

impl Writeable for GossipTimestampFilter {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.chain_hash.write(w)?;
        self.first_timestamp.write(w)?;
        self.timestamp_range.write(w)
    }
}

impl Readable for GossipTimestampFilter {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(GossipTimestampFilter {
            chain_hash: Readable::read(r)?,
            first_timestamp: Readable::read(r)?,
            timestamp_range: Readable::read(r)?,
        })
    }
}

impl Type for GossipTimestampFilter {
    const TYPE: u16 = 265;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::ser::decode_exact;
    use bitcoin::secp256k1::{Secp256k1, SecretKey};

    fn key(b: u8) -> PublicKey {
        PublicKey::from_secret_key(&Secp256k1::new(), &SecretKey::from_slice(&[b; 32]).unwrap())
    }

    fn sig() -> Signature {
        Signature::from_compact(&[1u8; 64]).unwrap()
    }

    #[test]
    fn channel_announcement_keeps_excess_data() {
        let ann = ChannelAnnouncement {
            node_signature_1: sig(),
            node_signature_2: sig(),
            bitcoin_signature_1: sig(),
            bitcoin_signature_2: sig(),
            contents: UnsignedChannelAnnouncement {
                features: ChannelFeatures::empty(),
                chain_hash: ChainHash::BITCOIN,
                short_channel_id: ShortChannelId(42),
                node_id_1: key(1),
                node_id_2: key(2),
                bitcoin_key_1: key(3),
                bitcoin_key_2: key(4),
                excess_data: vec![9, 9, 9],
            },
        };
        let enc = ann.encode();
        assert_eq!(enc.len(), 256 + 2 + 32 + 8 + 4 * 33 + 3);
        assert_eq!(decode_exact::<ChannelAnnouncement>(&enc), Ok(ann.clone()));
        // The signed part starts right after the four signatures.
        assert_eq!(&enc[256..], &ann.contents.encode()[..]);
    }

    #[test]
    fn node_announcement_keeps_unknown_addresses() {
        let contents = UnsignedNodeAnnouncement {
            features: NodeFeatures::empty(),
            timestamp: 7,
            node_id: key(1),
            rgb: [1, 2, 3],
            alias: NodeAlias([b'a'; 32]),
            addresses: vec![SocketAddress::TcpIpV4 { addr: [1, 2, 3, 4], port: 9735 }],
            excess_address_data: vec![42, 1, 2, 3],
            excess_data: vec![5],
        };
        let ann = NodeAnnouncement { signature: sig(), contents };
        assert_eq!(decode_exact::<NodeAnnouncement>(&ann.encode()), Ok(ann));
    }

    #[test]
    fn channel_update_round_trips_and_checksums_skip_timestamp() {
        let mut upd = UnsignedChannelUpdate {
            chain_hash: ChainHash::BITCOIN,
            short_channel_id: ShortChannelId(1),
            timestamp: 100,
            message_flags: 1,
            channel_flags: 3,
            cltv_expiry_delta: 40,
            htlc_minimum_msat: 1,
            fee_base_msat: 1000,
            fee_proportional_millionths: 10,
            htlc_maximum_msat: 5000,
            excess_data: vec![],
        };
        let msg = ChannelUpdate { signature: sig(), contents: upd.clone() };
        assert_eq!(decode_exact::<ChannelUpdate>(&msg.encode()), Ok(msg));
        assert_eq!(upd.direction(), 1);
        assert!(upd.is_disabled());
        let c = upd.checksum();
        upd.timestamp = 200;
        assert_eq!(upd.checksum(), c);
        upd.fee_base_msat = 1;
        assert_ne!(upd.checksum(), c);
    }

    #[test]
    fn crc32c_check_value() {
        // The standard check value of CRC-32C.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn zlib_and_unknown_encodings_are_rejected() {
        let mut bytes = ChainHash::BITCOIN.as_bytes().to_vec();
        bytes.extend_from_slice(&[0, 1, ENCODING_ZLIB]);
        assert_eq!(decode_exact::<QueryShortChannelIds>(&bytes), Err(DecodeError::UnsupportedCompression));
        let n = bytes.len();
        bytes[n - 1] = 7;
        assert_eq!(decode_exact::<QueryShortChannelIds>(&bytes), Err(DecodeError::UnknownVersion));
        bytes[n - 1] = 0;
        bytes.extend_from_slice(&[1, 1, ENCODING_ZLIB]);
        assert_eq!(decode_exact::<QueryShortChannelIds>(&bytes), Err(DecodeError::UnsupportedCompression));
    }

    #[test]
    fn partial_short_channel_id_is_rejected() {
        let mut bytes = ChainHash::BITCOIN.as_bytes().to_vec();
        bytes.extend_from_slice(&[0, 4, 0, 1, 2, 3]);
        assert_eq!(decode_exact::<QueryShortChannelIds>(&bytes), Err(DecodeError::BadLengthDescriptor));
    }

    #[test]
    fn timestamp_filter_window() {
        let f =
            GossipTimestampFilter { chain_hash: ChainHash::BITCOIN, first_timestamp: 10, timestamp_range: 5 };
        assert!(!f.matches(9) && f.matches(10) && f.matches(14) && !f.matches(15));
        let all = GossipTimestampFilter {
            chain_hash: ChainHash::BITCOIN,
            first_timestamp: 0,
            timestamp_range: u32::MAX,
        };
        assert!(all.matches(u32::MAX - 1));
    }
}

/// Any BOLT 7 gossip message other than `announcement_signatures` (which is
/// between channel peers): what the gossip handler receives and sends.
// Announcements are a few hundred bytes; events are short-lived.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GossipMessage {
    /// `channel_announcement`.
    ChannelAnnouncement(ChannelAnnouncement),
    /// `node_announcement`.
    NodeAnnouncement(NodeAnnouncement),
    /// `channel_update`.
    ChannelUpdate(ChannelUpdate),
    /// `query_short_channel_ids`.
    QueryShortChannelIds(QueryShortChannelIds),
    /// `reply_short_channel_ids_end`.
    ReplyShortChannelIdsEnd(ReplyShortChannelIdsEnd),
    /// `query_channel_range`.
    QueryChannelRange(QueryChannelRange),
    /// `reply_channel_range`.
    ReplyChannelRange(ReplyChannelRange),
    /// `gossip_timestamp_filter`.
    GossipTimestampFilter(GossipTimestampFilter),
}

impl GossipMessage {
    /// The gossip message inside a decoded wire message, or the message back
    /// if it is not gossip.
    // The message is moved either way; boxing it would only add an allocation.
    #[allow(clippy::result_large_err)]
    pub fn from_wire<C>(message: crate::ln::wire::Message<C>) -> Result<Self, crate::ln::wire::Message<C>> {
        use crate::ln::wire::Message;
        Ok(match message {
            Message::ChannelAnnouncement(m) => GossipMessage::ChannelAnnouncement(m),
            Message::NodeAnnouncement(m) => GossipMessage::NodeAnnouncement(m),
            Message::ChannelUpdate(m) => GossipMessage::ChannelUpdate(m),
            Message::QueryShortChannelIds(m) => GossipMessage::QueryShortChannelIds(m),
            Message::ReplyShortChannelIdsEnd(m) => GossipMessage::ReplyShortChannelIdsEnd(m),
            Message::QueryChannelRange(m) => GossipMessage::QueryChannelRange(m),
            Message::ReplyChannelRange(m) => GossipMessage::ReplyChannelRange(m),
            Message::GossipTimestampFilter(m) => GossipMessage::GossipTimestampFilter(m),
            other => return Err(other),
        })
    }

    /// The message with its type prefix, ready to encrypt and send.
    pub fn encode_with_type(&self) -> Vec<u8> {
        use crate::ln::wire::encode;
        match self {
            GossipMessage::ChannelAnnouncement(m) => encode(m),
            GossipMessage::NodeAnnouncement(m) => encode(m),
            GossipMessage::ChannelUpdate(m) => encode(m),
            GossipMessage::QueryShortChannelIds(m) => encode(m),
            GossipMessage::ReplyShortChannelIdsEnd(m) => encode(m),
            GossipMessage::QueryChannelRange(m) => encode(m),
            GossipMessage::ReplyChannelRange(m) => encode(m),
            GossipMessage::GossipTimestampFilter(m) => encode(m),
        }
    }
}
