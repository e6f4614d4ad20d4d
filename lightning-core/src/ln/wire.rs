//! Message framing by type (BOLT 1 "Lightning Message Format"): a 2-byte
//! big-endian type, then the payload.
//!
//! [`read`] dispatches on the type: a known type decodes into its struct, a
//! custom type goes to a [`CustomMessageReader`], an unknown odd type becomes
//! [`Message::UnknownOdd`] (to be ignored) and an unknown even type is
//! [`DecodeError::UnknownRequiredMessage`] (the connection must close).

use crate::io::{self, Read, Write};
use crate::ln::msgs::{self, DecodeError};
use crate::prelude::*;
use crate::util::ser::{Readable, Writeable};
use core::fmt::Debug;

/// A message struct with a fixed type number.
pub trait Type {
    /// The message type number.
    const TYPE: u16;
}

/// A message defined outside this library (custom types, usually `>= 32768`).
pub trait CustomMessage: Writeable + Debug {
    /// The message type number.
    fn type_id(&self) -> u16;
}

/// Decodes custom messages for [`read`].
pub trait CustomMessageReader {
    /// The custom message type produced.
    type CustomMessage: CustomMessage;
    /// Decodes a message of `message_type` from `buffer` (the payload), or
    /// returns `Ok(None)` if the type is not one this reader knows.
    fn read<R: Read>(
        &self, message_type: u16, buffer: &mut R,
    ) -> Result<Option<Self::CustomMessage>, DecodeError>;
}

/// The custom-message type of a node that has none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoCustomMessage {}

impl Writeable for NoCustomMessage {
    fn write<W: Write>(&self, _: &mut W) -> Result<(), io::Error> {
        match *self {}
    }
}

impl CustomMessage for NoCustomMessage {
    fn type_id(&self) -> u16 {
        match *self {}
    }
}

/// A [`CustomMessageReader`] that knows no custom message.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoCustomMessages;

impl CustomMessageReader for NoCustomMessages {
    type CustomMessage = NoCustomMessage;
    fn read<R: Read>(&self, _: u16, _: &mut R) -> Result<Option<NoCustomMessage>, DecodeError> {
        Ok(None)
    }
}

macro_rules! messages {
    ($( $(#[$doc:meta])* $variant:ident($ty:ty) ),* $(,)?) => {
        /// Any message this library can receive, by type.
        // Gossip announcements are a few hundred bytes; messages are short-lived,
        // so boxing them would cost an allocation each for nothing.
        #[allow(clippy::large_enum_variant)]
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum Message<C> {
            $( $(#[$doc])* $variant($ty), )*
            /// A message of unknown odd type: BOLT 1 says to ignore it.
            UnknownOdd(u16),
            /// A custom message decoded by a [`CustomMessageReader`].
            Custom(C),
        }

        impl<C: CustomMessage> Message<C> {
            /// The message type number.
            pub fn type_id(&self) -> u16 {
                match self {
                    $( Message::$variant(_) => <$ty as Type>::TYPE, )*
                    Message::UnknownOdd(t) => *t,
                    Message::Custom(c) => c.type_id(),
                }
            }
        }

        fn read_known<R: Read, C>(message_type: u16, buffer: &mut R) -> Result<Option<Message<C>>, DecodeError> {
            Ok(Some(match message_type {
                $( <$ty as Type>::TYPE => Message::$variant(<$ty as Readable>::read(buffer)?), )*
                _ => return Ok(None),
            }))
        }

        fn write_known<C: CustomMessage, W: Write>(message: &Message<C>, w: &mut W) -> Result<(), io::Error> {
            match message {
                $( Message::$variant(m) => m.write(w), )*
                Message::UnknownOdd(_) => Err(io::Error::from(io::ErrorKind::InvalidInput)),
                Message::Custom(c) => c.write(w),
            }
        }
    };
}

messages! {
    /// `init` (16).
    Init(msgs::Init),
    /// `error` (17).
    Error(msgs::ErrorMessage),
    /// `warning` (1).
    Warning(msgs::WarningMessage),
    /// `ping` (18).
    Ping(msgs::Ping),
    /// `pong` (19).
    Pong(msgs::Pong),
    /// `open_channel` (32).
    OpenChannel(msgs::OpenChannel),
    /// `accept_channel` (33).
    AcceptChannel(msgs::AcceptChannel),
    /// `funding_created` (34).
    FundingCreated(msgs::FundingCreated),
    /// `funding_signed` (35).
    FundingSigned(msgs::FundingSigned),
    /// `channel_ready` (36).
    ChannelReady(msgs::ChannelReady),
    /// `shutdown` (38).
    Shutdown(msgs::Shutdown),
    /// `closing_signed` (39).
    ClosingSigned(msgs::ClosingSigned),
    /// `update_add_htlc` (128).
    UpdateAddHTLC(msgs::UpdateAddHTLC),
    /// `update_fulfill_htlc` (130).
    UpdateFulfillHTLC(msgs::UpdateFulfillHTLC),
    /// `update_fail_htlc` (131).
    UpdateFailHTLC(msgs::UpdateFailHTLC),
    /// `commitment_signed` (132).
    CommitmentSigned(msgs::CommitmentSigned),
    /// `revoke_and_ack` (133).
    RevokeAndACK(msgs::RevokeAndACK),
    /// `update_fee` (134).
    UpdateFee(msgs::UpdateFee),
    /// `update_fail_malformed_htlc` (135).
    UpdateFailMalformedHTLC(msgs::UpdateFailMalformedHTLC),
    /// `channel_reestablish` (136).
    ChannelReestablish(msgs::ChannelReestablish),
    /// `channel_announcement` (256).
    ChannelAnnouncement(msgs::ChannelAnnouncement),
    /// `node_announcement` (257).
    NodeAnnouncement(msgs::NodeAnnouncement),
    /// `channel_update` (258).
    ChannelUpdate(msgs::ChannelUpdate),
    /// `announcement_signatures` (259).
    AnnouncementSignatures(msgs::AnnouncementSignatures),
    /// `query_short_channel_ids` (261).
    QueryShortChannelIds(msgs::QueryShortChannelIds),
    /// `reply_short_channel_ids_end` (262).
    ReplyShortChannelIdsEnd(msgs::ReplyShortChannelIdsEnd),
    /// `query_channel_range` (263).
    QueryChannelRange(msgs::QueryChannelRange),
    /// `reply_channel_range` (264).
    ReplyChannelRange(msgs::ReplyChannelRange),
    /// `gossip_timestamp_filter` (265).
    GossipTimestampFilter(msgs::GossipTimestampFilter),
}

/// Reads one whole message (type and payload) from `buffer`.
pub fn read<R: Read, H: CustomMessageReader>(
    buffer: &mut R, custom_reader: &H,
) -> Result<Message<H::CustomMessage>, DecodeError> {
    let message_type = u16::read(buffer)?;
    if let Some(message) = read_known(message_type, buffer)? {
        return Ok(message);
    }
    if let Some(custom) = custom_reader.read(message_type, buffer)? {
        return Ok(Message::Custom(custom));
    }
    if message_type % 2 == 0 {
        Err(DecodeError::UnknownRequiredMessage(message_type))
    } else {
        Ok(Message::UnknownOdd(message_type))
    }
}

/// Reads one message with no custom types.
pub fn read_message(bytes: &[u8]) -> Result<Message<NoCustomMessage>, DecodeError> {
    read(&mut &bytes[..], &NoCustomMessages)
}

/// Writes `message` with its type prefix.
pub fn write<M: Type + Writeable, W: Write>(message: &M, w: &mut W) -> Result<(), io::Error> {
    M::TYPE.write(w)?;
    message.write(w)
}

/// Encodes `message` with its type prefix, or fails if it cannot be written
/// (for example a field longer than its length prefix allows).
pub fn try_encode<M: Type + Writeable>(message: &M) -> Result<Vec<u8>, io::Error> {
    let mut out = Vec::with_capacity(2 + message.serialized_length());
    write(message, &mut out)?;
    Ok(out)
}

/// Encodes `message` with its type prefix.
///
/// For a message that cannot be written (a bug in whoever built it) this
/// panics in debug builds and returns an empty vector in release builds,
/// never a truncated message; the `PeerManager` drops empty messages. Use
/// [`try_encode`] to handle the error.
pub fn encode<M: Type + Writeable>(message: &M) -> Vec<u8> {
    match try_encode(message) {
        Ok(out) => out,
        Err(e) => {
            debug_assert!(false, "message of type {} cannot be encoded: {e:?}", M::TYPE);
            Vec::new()
        }
    }
}

impl<C: CustomMessage> Writeable for Message<C> {
    /// Writes the type prefix and payload. An [`Message::UnknownOdd`] has no
    /// payload to write and fails.
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.type_id().write(w)?;
        write_known(self, w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_odd_is_ignored_and_unknown_even_is_an_error() {
        assert_eq!(read_message(&[0x80, 0x01, 1, 2, 3]), Ok(Message::UnknownOdd(0x8001)));
        assert_eq!(read_message(&[0x80, 0x02]), Err(DecodeError::UnknownRequiredMessage(0x8002)));
        assert_eq!(read_message(&[0x00]), Err(DecodeError::ShortRead));
    }

    #[test]
    fn ping_round_trips_with_its_type() {
        let ping = msgs::Ping { num_pong_bytes: 10, byteslen: 3 };
        let enc = encode(&ping);
        assert_eq!(enc, vec![0, 18, 0, 10, 0, 3, 0, 0, 0]);
        assert_eq!(read_message(&enc), Ok(Message::Ping(ping)));
    }

    #[derive(Debug, PartialEq)]
    struct Hello(u8);
    impl Writeable for Hello {
        fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
            self.0.write(w)
        }
    }
    impl CustomMessage for Hello {
        fn type_id(&self) -> u16 {
            32768
        }
    }
    struct HelloReader;
    impl CustomMessageReader for HelloReader {
        type CustomMessage = Hello;
        fn read<R: Read>(&self, t: u16, b: &mut R) -> Result<Option<Hello>, DecodeError> {
            Ok(if t == 32768 { Some(Hello(u8::read(b)?)) } else { None })
        }
    }

    #[test]
    fn custom_messages_go_to_the_custom_reader() {
        let msg = read(&mut &[0x80, 0x00, 7][..], &HelloReader).unwrap();
        assert_eq!(msg, Message::Custom(Hello(7)));
        assert_eq!(msg.encode(), vec![0x80, 0x00, 7]);
    }
}
