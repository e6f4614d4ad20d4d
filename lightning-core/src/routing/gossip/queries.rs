//! Answers to a peer's gossip queries, built one message at a time as the
//! peer's send buffer drains.
//!
//! A `query_channel_range` over the whole chain answers with every public
//! channel (about 1.4 MB for 60,000 channels with timestamps and checksums),
//! and a `query_short_channel_ids` with up to ~8,000 channels' announcements
//! and updates. Building those answers whole, for each query a peer packs
//! into one read, would let a peer make us hold memory without bound. Instead
//! [`P2PGossipSync`](super::P2PGossipSync) keeps at most one answer of each
//! kind in progress per peer (BOLT 7: a peer must not send another query of a
//! kind before the previous one is answered) as a cursor (`RangeReply`,
//! `ScidReply`), and the peer manager asks for the next message only when
//! the peer's queue has room.

use crate::ln::msgs::gossip::{
    GossipMessage, QUERY_FLAG_CHANNEL_ANNOUNCEMENT, QUERY_FLAG_CHANNEL_UPDATE_1, QUERY_FLAG_CHANNEL_UPDATE_2,
    QUERY_FLAG_NODE_ANNOUNCEMENT_1, QUERY_FLAG_NODE_ANNOUNCEMENT_2, QUERY_OPTION_CHECKSUMS,
    QUERY_OPTION_TIMESTAMPS,
};
use crate::ln::msgs::{QueryChannelRange, QueryShortChannelIds, ReplyChannelRange, ReplyShortChannelIdsEnd};
use crate::ln::types::ShortChannelId;
use crate::prelude::*;
use crate::routing::gossip::graph::GraphData;
use bitcoin::blockdata::constants::ChainHash;
use core::ops::Bound;

/// Short channel ids per `reply_channel_range` without TLVs (8 bytes each,
/// within the 65535-byte message limit).
pub const MAX_SCIDS_PER_REPLY: usize = 8000;
/// Short channel ids per `reply_channel_range` carrying timestamps and
/// checksums (24 bytes each).
pub const MAX_SCIDS_PER_REPLY_WITH_TLVS: usize = 2600;

/// Block heights have 24 bits in a short channel id.
const MAX_BLOCK: u32 = 1 << 24;

/// The answer to one `query_channel_range`, in progress.
///
/// Replies hold at most [`MAX_SCIDS_PER_REPLY`] (or
/// [`MAX_SCIDS_PER_REPLY_WITH_TLVS`]) ids. A reply ends at a block boundary
/// when it can; a block with more channels than fit in one reply is split
/// across replies (BOLT 7: "MAY split block contents across multiple
/// `reply_channel_range`"), the next reply then starting at that same block.
#[derive(Debug)]
pub(crate) struct RangeReply {
    /// The query's chain (echoed in every reply).
    chain_hash: ChainHash,
    /// The query is for another chain or for no blocks: one empty reply
    /// with `sync_complete` false.
    refused: bool,
    /// `first_blocknum + number_of_blocks` of the query (saturating).
    end_blocknum: u32,
    /// The query's `number_of_blocks` (for a refusal).
    number_of_blocks: u32,
    want_timestamps: bool,
    want_checksums: bool,
    /// The next short channel id to consider.
    next_scid: u64,
    /// `first_blocknum` of the next reply.
    next_first_blocknum: u32,
    /// The query starts past every possible short channel id.
    past_all_ids: bool,
}

impl RangeReply {
    /// Starts answering `query` on a graph of chain `ours`.
    pub(crate) fn new(query: &QueryChannelRange, ours: ChainHash) -> Self {
        let option = query.query_option.unwrap_or(0);
        RangeReply {
            chain_hash: query.chain_hash,
            refused: query.chain_hash != ours || query.number_of_blocks == 0,
            end_blocknum: query.end_blocknum(),
            number_of_blocks: query.number_of_blocks,
            want_timestamps: option & QUERY_OPTION_TIMESTAMPS != 0,
            want_checksums: option & QUERY_OPTION_CHECKSUMS != 0,
            // No short channel id has a block at or past 2^24: such a query
            // starts past the last one (and `2^24 << 40` would wrap to 0).
            next_scid: if query.first_blocknum >= MAX_BLOCK {
                u64::MAX
            } else {
                (query.first_blocknum as u64) << 40
            },
            past_all_ids: query.first_blocknum >= MAX_BLOCK,
            next_first_blocknum: query.first_blocknum,
        }
    }

    /// The next reply, and whether it is the last one.
    pub(crate) fn next_reply(&mut self, data: &GraphData) -> (ReplyChannelRange, bool) {
        if self.refused {
            let reply = ReplyChannelRange {
                chain_hash: self.chain_hash,
                first_blocknum: self.next_first_blocknum,
                number_of_blocks: self.number_of_blocks,
                sync_complete: false,
                short_channel_ids: Vec::new(),
                timestamps: None,
                checksums: None,
            };
            return (reply, true);
        }
        let (want_ts, want_cs) = (self.want_timestamps, self.want_checksums);
        let per_reply = if want_ts || want_cs { MAX_SCIDS_PER_REPLY_WITH_TLVS } else { MAX_SCIDS_PER_REPLY };
        let end = if self.end_blocknum >= MAX_BLOCK {
            Bound::Unbounded
        } else {
            Bound::Excluded((self.end_blocknum as u64) << 40)
        };
        let mut ids: Vec<ShortChannelId> = Vec::new();
        let mut timestamps = Vec::new();
        let mut checksums = Vec::new();
        // The first id not in this reply, if any is left in the range.
        let mut rest = None;
        let ids_left = if self.past_all_ids {
            None
        } else {
            Some(data.channel_lookup.range((Bound::Included(self.next_scid), end)))
        };
        for (scid, idx) in ids_left.into_iter().flatten() {
            if ids.len() >= per_reply {
                rest = Some(*scid);
                break;
            }
            ids.push(ShortChannelId(*scid));
            let hot = &data.channels[*idx as usize];
            if want_ts {
                timestamps.push((hot.dirs[0].last_update, hot.dirs[1].last_update));
            }
            if want_cs {
                let cold = &data.cold[*idx as usize];
                let cs = |d: usize| cold.updates[d].as_ref().map_or(0, |u| u.contents.checksum());
                checksums.push((cs(0), cs(1)));
            }
        }
        let first_blocknum = self.next_first_blocknum;
        let (Some(mut next), Some(last)) = (rest, ids.last().copied()) else {
            // Everything left fits: the final reply covers the rest of the range.
            let reply = ReplyChannelRange {
                chain_hash: self.chain_hash,
                first_blocknum,
                number_of_blocks: self.end_blocknum.saturating_sub(first_blocknum),
                sync_complete: true,
                short_channel_ids: ids,
                timestamps: want_ts.then_some(timestamps),
                checksums: want_cs.then_some(checksums),
            };
            return (reply, true);
        };
        // End at a block boundary if the reply holds more than one block.
        if ShortChannelId(next).block_height() == last.block_height() {
            let cut = ids.iter().position(|s| s.block_height() == last.block_height()).unwrap_or(0);
            if cut > 0 {
                next = ids[cut].0;
                ids.truncate(cut);
                timestamps.truncate(cut.min(timestamps.len()));
                checksums.truncate(cut.min(checksums.len()));
            }
        }
        let last_block = ids.last().map_or(first_blocknum, |s| s.block_height());
        let reply_end = last_block.saturating_add(1);
        // A block split across replies is covered by both.
        let next_block = ShortChannelId(next).block_height();
        self.next_first_blocknum = if next_block > last_block { reply_end } else { last_block };
        self.next_scid = next;
        let reply = ReplyChannelRange {
            chain_hash: self.chain_hash,
            first_blocknum,
            number_of_blocks: reply_end.saturating_sub(first_blocknum),
            sync_complete: false,
            short_channel_ids: ids,
            timestamps: want_ts.then_some(timestamps),
            checksums: want_cs.then_some(checksums),
        };
        (reply, false)
    }
}

/// The answer to one `query_short_channel_ids`, in progress: for each known
/// channel, the announcement, the updates and the two node announcements
/// (each node once per query), as the query flags ask (everything without
/// flags), then `reply_short_channel_ids_end`.
#[derive(Debug)]
pub(crate) struct ScidReply {
    /// The query's chain (echoed in the end message).
    chain_hash: ChainHash,
    /// The ids left to answer are `query.short_channel_ids[next..]`.
    query: QueryShortChannelIds,
    next: usize,
    /// False for a query we do not answer (another chain, flags that do not
    /// match the ids): only the end is sent, with `full_information` false.
    answerable: bool,
    /// Node slots whose announcement this answer already carried. (A slot
    /// freed and reused while the answer is in progress may skip a node; the
    /// peer can ask again.)
    sent_nodes: BTreeSet<u32>,
}

impl ScidReply {
    /// Starts answering `query` on a graph of chain `ours`.
    pub(crate) fn new(query: QueryShortChannelIds, ours: ChainHash) -> Self {
        let flags_match =
            query.query_flags.as_ref().map_or(true, |f| f.len() == query.short_channel_ids.len());
        ScidReply {
            chain_hash: query.chain_hash,
            answerable: query.chain_hash == ours && flags_match,
            query,
            next: 0,
            sent_nodes: BTreeSet::new(),
        }
    }

    /// The next messages of the answer (those for the next known channel, or
    /// the end), and whether the answer is complete.
    pub(crate) fn next_messages(&mut self, data: &GraphData) -> (Vec<GossipMessage>, bool) {
        let all = QUERY_FLAG_CHANNEL_ANNOUNCEMENT
            | QUERY_FLAG_CHANNEL_UPDATE_1
            | QUERY_FLAG_CHANNEL_UPDATE_2
            | QUERY_FLAG_NODE_ANNOUNCEMENT_1
            | QUERY_FLAG_NODE_ANNOUNCEMENT_2;
        let mut out = Vec::new();
        while self.answerable && out.is_empty() && self.next < self.query.short_channel_ids.len() {
            let i = self.next;
            self.next += 1;
            let scid = self.query.short_channel_ids[i];
            let flags = self.query.query_flags.as_ref().and_then(|f| f.get(i).copied()).unwrap_or(all);
            let Some(idx) = data.channel_lookup.get(&scid.0) else { continue };
            let hot = &data.channels[*idx as usize];
            let cold = &data.cold[*idx as usize];
            if flags & QUERY_FLAG_CHANNEL_ANNOUNCEMENT != 0 {
                if let Some(ann) = &cold.announcement {
                    out.push(GossipMessage::ChannelAnnouncement((**ann).clone()));
                }
            }
            for (dir, bit) in [(0, QUERY_FLAG_CHANNEL_UPDATE_1), (1, QUERY_FLAG_CHANNEL_UPDATE_2)] {
                if flags & bit != 0 {
                    if let Some(upd) = &cold.updates[dir] {
                        out.push(GossipMessage::ChannelUpdate((**upd).clone()));
                    }
                }
            }
            for (dir, bit) in [(0, QUERY_FLAG_NODE_ANNOUNCEMENT_1), (1, QUERY_FLAG_NODE_ANNOUNCEMENT_2)] {
                let Some(node) = data.nodes.get(hot.nodes[dir] as usize) else { continue };
                if flags & bit != 0 && self.sent_nodes.insert(hot.nodes[dir]) {
                    if let Some(ann) =
                        node.announcement.as_ref().and_then(|a| a.announcement_message.as_ref())
                    {
                        out.push(GossipMessage::NodeAnnouncement(ann.clone()));
                    }
                }
            }
        }
        let done = !self.answerable || self.next >= self.query.short_channel_ids.len();
        if done {
            out.push(GossipMessage::ReplyShortChannelIdsEnd(ReplyShortChannelIdsEnd {
                chain_hash: self.chain_hash,
                full_information: self.answerable,
            }));
        }
        (out, done)
    }
}
