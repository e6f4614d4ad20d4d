//! Plain data of the graph: node ids, fees, the public views of channels and
//! nodes, and the reasons gossip is refused.

use crate::io::{self, Read, Write};
use crate::ln::features::{ChannelFeatures, NodeFeatures};
use crate::ln::msgs::{
    ChannelAnnouncement, ChannelUpdate, DecodeError, NodeAlias, NodeAnnouncement, SocketAddress,
};
use crate::prelude::*;
use crate::routing::utxo::UtxoLookupError;
use crate::util::ser::{Readable, Writeable};
use bitcoin::secp256k1::{self, PublicKey};
use core::fmt;

/// A node id as its 33-byte compressed encoding.
///
/// Cheaper to store, compare and hash than a parsed [`PublicKey`] (which is
/// 64 bytes and costs a point decompression to build); the graph only parses
/// the key when it checks a signature.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId([u8; 33]);

impl NodeId {
    /// The id of `pubkey`.
    pub fn from_pubkey(pubkey: &PublicKey) -> Self {
        NodeId(pubkey.serialize())
    }
    /// Wraps 33 bytes without checking that they are a valid point.
    pub const fn from_array(bytes: [u8; 33]) -> Self {
        NodeId(bytes)
    }
    /// Wraps a 33-byte slice without checking that it is a valid point.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, DecodeError> {
        Ok(NodeId(bytes.try_into().map_err(|_| DecodeError::BadLengthDescriptor)?))
    }
    /// The compressed encoding.
    pub fn as_slice(&self) -> &[u8; 33] {
        &self.0
    }
    /// Parses the key (fails if the bytes are not a point on the curve).
    pub fn as_pubkey(&self) -> Result<PublicKey, secp256k1::Error> {
        PublicKey::from_slice(&self.0)
    }
}

impl From<PublicKey> for NodeId {
    fn from(pubkey: PublicKey) -> Self {
        NodeId::from_pubkey(&pubkey)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({self})")
    }
}

impl Writeable for NodeId {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        w.write_all(&self.0)
    }
    fn serialized_length(&self) -> usize {
        33
    }
}

impl Readable for NodeId {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(NodeId(Readable::read(r)?))
    }
}

/// A forwarding fee schedule (BOLT 7): `fee_base_msat +
/// amount_msat * fee_proportional_millionths / 1_000_000`, rounded down.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RoutingFees {
    /// Fixed part, in msat.
    pub base_msat: u32,
    /// Proportional part, in millionths of the forwarded amount.
    pub proportional_millionths: u32,
}

impl RoutingFees {
    /// The fee for forwarding `amount_msat`, or `None` if it overflows `u64`.
    #[inline]
    pub fn fee_msat(&self, amount_msat: u64) -> Option<u64> {
        let proportional = match amount_msat.checked_mul(self.proportional_millionths as u64) {
            Some(product) => product / 1_000_000,
            None => u64::try_from((amount_msat as u128 * self.proportional_millionths as u128) / 1_000_000)
                .ok()?,
        };
        proportional.checked_add(self.base_msat as u64)
    }
}

/// The latest policy of one direction of a channel, as the public view gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelUpdateInfo {
    /// `timestamp` of the update.
    pub last_update: u32,
    /// False if the update set the `disable` bit.
    pub enabled: bool,
    /// Blocks the forwarding node subtracts from the HTLC expiry.
    pub cltv_expiry_delta: u16,
    /// Smallest HTLC forwarded.
    pub htlc_minimum_msat: u64,
    /// Largest HTLC forwarded.
    pub htlc_maximum_msat: u64,
    /// Fees charged.
    pub fees: RoutingFees,
    /// The signed update, if it came from gossip (for relaying).
    pub last_update_message: Option<ChannelUpdate>,
}

/// A public channel, as the public view gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelInfo {
    /// Where the funding output is.
    pub short_channel_id: u64,
    /// Channel features.
    pub features: ChannelFeatures,
    /// The node with the smaller id.
    pub node_one: NodeId,
    /// The node with the larger id.
    pub node_two: NodeId,
    /// Funding amount, if known (from a UTXO lookup or a snapshot).
    pub capacity_sats: Option<u64>,
    /// `node_one`'s policy (forwarding from `node_one` to `node_two`).
    pub one_to_two: Option<ChannelUpdateInfo>,
    /// `node_two`'s policy.
    pub two_to_one: Option<ChannelUpdateInfo>,
    /// When the announcement was accepted, in the caller's seconds (0: not known).
    pub announcement_received_time: u64,
    /// The signed announcement, if it came from gossip.
    pub announcement_message: Option<ChannelAnnouncement>,
}

/// What a `node_announcement` said about a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeAnnouncementInfo {
    /// The node's features.
    pub features: NodeFeatures,
    /// `timestamp` of the announcement.
    pub last_update: u32,
    /// Display colour.
    pub rgb: [u8; 3],
    /// Display name.
    pub alias: NodeAlias,
    /// Where to reach the node.
    pub addresses: Vec<SocketAddress>,
    /// The signed announcement, if it came from gossip (for relaying).
    pub announcement_message: Option<NodeAnnouncement>,
}

/// A node, as the public view gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    /// The node.
    pub node_id: NodeId,
    /// Short channel ids of its public channels.
    pub channels: Vec<u64>,
    /// Its latest announcement, if any.
    pub announcement_info: Option<NodeAnnouncementInfo>,
}

/// Why a gossip message was not applied to the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GossipError {
    /// A signature does not verify (the peer misbehaved).
    InvalidSignature,
    /// A node id or funding key in the message is not a valid point.
    InvalidKey,
    /// The message is for another chain.
    WrongChain,
    /// `node_id_1` is not lexicographically below `node_id_2`.
    InvalidNodeOrder,
    /// The channel requires features we do not know.
    UnknownRequiredFeature,
    /// The channel is already known with this announcement.
    DuplicateChannel,
    /// The update or announcement has the same timestamp as the one we have.
    DuplicateUpdate,
    /// The update or announcement is older than the one we have.
    OlderUpdate,
    /// An update for a channel we do not know.
    UnknownChannel,
    /// A node announcement for a node with no known channel.
    UnknownNode,
    /// The funding output could not be found.
    UtxoLookupFailed(UtxoLookupError),
    /// The funding output is not the 2-of-2 P2WSH of the announced keys.
    UtxoScriptMismatch,
    /// The UTXO lookup answers later; the announcement (or the update for a
    /// channel whose announcement waits) is held until then.
    UtxoLookupPending,
    /// The channel's funding output was spent; it is closed.
    FundingSpent,
    /// `htlc_maximum_msat` is above the channel capacity.
    HtlcMaximumAboveCapacity,
    /// A `dont_forward` update: private to the channel peers, not gossip.
    DontForward,
    /// A query of a kind we are still answering for this peer (BOLT 7: the
    /// peer must wait for the whole answer); ignored.
    QueryInProgress,
    /// A `channel_update` older than
    /// [`STALE_CHANNEL_UPDATE_AGE_LIMIT_SECS`](crate::routing::gossip::STALE_CHANNEL_UPDATE_AGE_LIMIT_SECS)
    /// before the latest time the caller passed in (it would be pruned).
    StaleUpdate,
}

impl GossipError {
    /// True if the peer that sent the message misbehaved (BOLT 7 says to send a
    /// `warning` and may close the connection); otherwise the message is just
    /// ignored.
    pub fn is_peer_misbehaving(&self) -> bool {
        matches!(
            self,
            GossipError::InvalidSignature | GossipError::InvalidKey | GossipError::InvalidNodeOrder
        )
    }
}

impl fmt::Display for GossipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            GossipError::InvalidSignature => "invalid signature",
            GossipError::InvalidKey => "invalid public key",
            GossipError::WrongChain => "message for another chain",
            GossipError::InvalidNodeOrder => "node ids not in ascending order",
            GossipError::UnknownRequiredFeature => "channel requires unknown features",
            GossipError::DuplicateChannel => "channel already known",
            GossipError::DuplicateUpdate => "same timestamp as the latest one",
            GossipError::OlderUpdate => "older than the latest one",
            GossipError::UnknownChannel => "unknown channel",
            GossipError::UnknownNode => "node has no known channel",
            GossipError::UtxoLookupFailed(_) => "funding output not found",
            GossipError::UtxoScriptMismatch => "funding output script does not match the keys",
            GossipError::UtxoLookupPending => "funding output lookup pending",
            GossipError::FundingSpent => "funding output spent",
            GossipError::HtlcMaximumAboveCapacity => "htlc_maximum_msat above capacity",
            GossipError::DontForward => "dont_forward update",
            GossipError::QueryInProgress => "query while the previous one is being answered",
            GossipError::StaleUpdate => "update older than the pruning limit",
        };
        f.write_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_follow_bolt7_and_round_down() {
        let fees = RoutingFees { base_msat: 200, proportional_millionths: 2000 };
        // BOLT 7 routing example: B charges 200 + 4999999 * 2000 / 1e6 = 10199.
        assert_eq!(fees.fee_msat(4_999_999), Some(10_199));
        assert_eq!(RoutingFees { base_msat: 0, proportional_millionths: 1 }.fee_msat(999_999), Some(0));
        assert_eq!(RoutingFees { base_msat: 1, proportional_millionths: u32::MAX }.fee_msat(u64::MAX), None);
    }
}
