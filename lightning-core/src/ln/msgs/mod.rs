//! Every Lightning message as a struct with its wire encoding, and the errors of
//! decoding them.
//!
//! Messages are grouped by BOLT: [`setup`] (BOLT 1: `init`, `error`, `warning`,
//! `ping`, `pong`), [`channel`] (BOLT 2), [`address`] (the BOLT 7 address
//! descriptors) and [`gossip`] (the BOLT 7 announcements, updates and gossip
//! queries). Dispatch by message type is in [`crate::ln::wire`].

pub mod address;
pub mod channel;
pub mod gossip;
pub mod handlers;
pub mod setup;

pub use address::{Hostname, SocketAddress};
pub use channel::{
    AcceptChannel, ChannelReady, ChannelReestablish, ClosingSigned, ClosingSignedFeeRange, CommitmentSigned,
    CommitmentUpdate, FundingCreated, FundingSigned, OpenChannel, RevokeAndACK, Shutdown, UpdateAddHTLC,
    UpdateFailHTLC, UpdateFailMalformedHTLC, UpdateFee, UpdateFulfillHTLC,
};
pub use gossip::{
    AnnouncementSignatures, ChannelAnnouncement, ChannelUpdate, GossipTimestampFilter, NodeAlias,
    NodeAnnouncement, QueryChannelRange, QueryShortChannelIds, ReplyChannelRange, ReplyShortChannelIdsEnd,
    UnsignedChannelAnnouncement, UnsignedChannelUpdate, UnsignedNodeAnnouncement,
};
pub use handlers::{
    BaseMessageHandler, ChannelMessageHandler, CustomMessageHandler, ErroringMessageHandler,
    IgnoringMessageHandler, RoutingMessageHandler, MAX_PENDING_CHANNEL_REFUSALS,
};
pub use setup::{ErrorMessage, Init, InitTlvs, Ping, Pong, WarningMessage, MAX_ERROR_TEXT_LEN};

use crate::io;
use crate::prelude::*;
use crate::util::logger::Level;
use core::fmt;

/// What was wrong with bytes that failed to decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// A version byte or descriptor type we do not know.
    UnknownVersion,
    /// A feature vector requires a feature we do not know.
    UnknownRequiredFeature,
    /// A TLV stream holds an unknown even type (BOLT 1: fail the stream).
    UnknownRequiredTlv(u64),
    /// A message of unknown even type (BOLT 1: close the connection).
    UnknownRequiredMessage(u16),
    /// A value that is structurally complete but invalid (a point off the curve,
    /// a boolean that is neither 0 nor 1, ...).
    InvalidValue,
    /// The input ended before the value did.
    ShortRead,
    /// A length does not match what its type needs.
    BadLengthDescriptor,
    /// A `bigsize` was not minimally encoded.
    NonCanonicalBigSize,
    /// A truncated integer (`tu16`/`tu32`/`tu64`) had leading zero bytes.
    NonMinimalInteger,
    /// TLV types not strictly increasing: this type came after a larger one.
    TlvTypeOutOfOrder(u64),
    /// The same TLV type appeared twice.
    DuplicateTlvType(u64),
    /// A compressed encoding we do not accept (zlib in gossip queries).
    UnsupportedCompression,
    /// The underlying reader failed.
    Io(io::ErrorKind),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownVersion => f.write_str("unknown version or descriptor type"),
            Self::UnknownRequiredFeature => f.write_str("unknown required feature"),
            Self::UnknownRequiredTlv(t) => write!(f, "unknown even TLV type {t}"),
            Self::UnknownRequiredMessage(t) => write!(f, "unknown even message type {t}"),
            Self::InvalidValue => f.write_str("invalid value"),
            Self::ShortRead => f.write_str("input too short"),
            Self::BadLengthDescriptor => f.write_str("length does not match the type"),
            Self::NonCanonicalBigSize => f.write_str("bigsize is not minimally encoded"),
            Self::NonMinimalInteger => f.write_str("truncated integer has leading zeros"),
            Self::TlvTypeOutOfOrder(t) => write!(f, "TLV type {t} out of order"),
            Self::DuplicateTlvType(t) => write!(f, "duplicate TLV type {t}"),
            Self::UnsupportedCompression => f.write_str("unsupported compression"),
            Self::Io(kind) => write!(f, "I/O error: {kind:?}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for DecodeError {}

impl From<io::Error> for DecodeError {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::UnexpectedEof => DecodeError::ShortRead,
            kind => DecodeError::Io(kind),
        }
    }
}

/// What to do about an error with a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorAction {
    /// Disconnect, sending `msg` first if there is one.
    DisconnectPeer {
        /// The `error` to send before disconnecting.
        msg: Option<ErrorMessage>,
    },
    /// Disconnect after sending a `warning`.
    DisconnectPeerWithWarning {
        /// The warning.
        msg: WarningMessage,
    },
    /// Do nothing.
    IgnoreError,
    /// Do nothing but log at `0`.
    IgnoreAndLog(Level),
    /// Send an `error` and stay connected.
    SendErrorMessage {
        /// The error.
        msg: ErrorMessage,
    },
    /// Send a `warning` and stay connected, logging at `log_level`.
    SendWarningMessage {
        /// The warning.
        msg: WarningMessage,
        /// How to log it locally.
        log_level: Level,
    },
}

/// An error a message handler returns: what went wrong and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LightningError {
    /// Human-readable explanation, for logs.
    pub err: String,
    /// The action to take with the peer.
    pub action: ErrorAction,
}
