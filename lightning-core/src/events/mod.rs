//! What the state machines hand back to their caller: messages to send to peers
//! ([`MessageSendEvent`], collected by the `PeerManager`) and user-facing
//! [`Event`]s (funding to build, payments received and sent, channels opened
//! and closed), handed out by [`EventsProvider::process_pending_events`].

use crate::io::{self, Read, Write};
use crate::ln::msgs::gossip::GossipMessage;
use crate::ln::msgs::{self, DecodeError, ErrorAction};
use crate::ln::types::{ChannelId, PaymentHash, PaymentId, PaymentPreimage, PaymentSecret};
use crate::prelude::*;
use crate::util::ser::{read_u16_len_bytes, write_u16_len_bytes, Readable, Writeable};
use bitcoin::secp256k1::PublicKey;
use bitcoin::{OutPoint, ScriptBuf, Transaction, Txid};

/// A message (or an error action) a handler wants sent to a peer. The
/// `PeerManager` collects these in `process_events`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageSendEvent {
    /// Act on an error with a peer: disconnect, or send it an `error` or
    /// `warning`.
    HandleError {
        /// The peer.
        node_id: PublicKey,
        /// What to do.
        action: ErrorAction,
    },
    /// Send `open_channel`.
    SendOpenChannel {
        /// The peer.
        node_id: PublicKey,
        /// The message.
        msg: msgs::OpenChannel,
    },
    /// Send `accept_channel`.
    SendAcceptChannel {
        /// The peer.
        node_id: PublicKey,
        /// The message.
        msg: msgs::AcceptChannel,
    },
    /// Send `funding_created`.
    SendFundingCreated {
        /// The peer.
        node_id: PublicKey,
        /// The message.
        msg: msgs::FundingCreated,
    },
    /// Send `funding_signed`.
    SendFundingSigned {
        /// The peer.
        node_id: PublicKey,
        /// The message.
        msg: msgs::FundingSigned,
    },
    /// Send `channel_ready`.
    SendChannelReady {
        /// The peer.
        node_id: PublicKey,
        /// The message.
        msg: msgs::ChannelReady,
    },
    /// Send `shutdown`.
    SendShutdown {
        /// The peer.
        node_id: PublicKey,
        /// The message.
        msg: msgs::Shutdown,
    },
    /// Send `closing_signed`.
    SendClosingSigned {
        /// The peer.
        node_id: PublicKey,
        /// The message.
        msg: msgs::ClosingSigned,
    },
    /// Send HTLC updates, then the `commitment_signed` covering them, in
    /// the order of [`msgs::CommitmentUpdate`].
    UpdateHTLCs {
        /// The peer.
        node_id: PublicKey,
        /// The channel.
        channel_id: ChannelId,
        /// The messages.
        updates: msgs::CommitmentUpdate,
    },
    /// Send `revoke_and_ack`.
    SendRevokeAndACK {
        /// The peer.
        node_id: PublicKey,
        /// The message.
        msg: msgs::RevokeAndACK,
    },
    /// Send `channel_reestablish`.
    SendChannelReestablish {
        /// The peer.
        node_id: PublicKey,
        /// The message.
        msg: msgs::ChannelReestablish,
    },
    /// Send a gossip message (a query, a reply, or gossip it asked for) to one
    /// peer.
    SendGossip {
        /// The peer.
        node_id: PublicKey,
        /// The message.
        msg: GossipMessage,
    },
    /// Relay fresh gossip to every peer that wants it, except the one it came
    /// from. Dropped first for peers whose send queue is full.
    BroadcastGossip {
        /// The announcement or update.
        msg: GossipMessage,
        /// The peer it came from, if any.
        except_node_id: Option<PublicKey>,
        /// True for gossip we generated ourselves: sent to every peer whatever
        /// its `gossip_timestamp_filter` (BOLT 7: "SHOULD send gossip messages
        /// as it generates them regardless of `timestamp`").
        ours: bool,
    },
}

impl MessageSendEvent {
    /// The peer the event is for (`None` for a broadcast).
    pub fn node_id(&self) -> Option<&PublicKey> {
        match self {
            MessageSendEvent::HandleError { node_id, .. }
            | MessageSendEvent::SendOpenChannel { node_id, .. }
            | MessageSendEvent::SendAcceptChannel { node_id, .. }
            | MessageSendEvent::SendFundingCreated { node_id, .. }
            | MessageSendEvent::SendFundingSigned { node_id, .. }
            | MessageSendEvent::SendChannelReady { node_id, .. }
            | MessageSendEvent::SendShutdown { node_id, .. }
            | MessageSendEvent::SendClosingSigned { node_id, .. }
            | MessageSendEvent::UpdateHTLCs { node_id, .. }
            | MessageSendEvent::SendRevokeAndACK { node_id, .. }
            | MessageSendEvent::SendChannelReestablish { node_id, .. }
            | MessageSendEvent::SendGossip { node_id, .. } => Some(node_id),
            MessageSendEvent::BroadcastGossip { .. } => None,
        }
    }
}

/// Something that queues [`MessageSendEvent`]s.
pub trait MessageSendEventsProvider {
    /// Takes every queued event, leaving the queue empty.
    fn get_and_clear_pending_msg_events(&self) -> Vec<MessageSendEvent>;
}

/// Why a channel closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClosureReason {
    /// The counterparty force-closed (sent an `error`, or its commitment
    /// confirmed).
    CounterpartyForceClosed {
        /// The counterparty's message, made printable.
        peer_msg: String,
    },
    /// We force-closed at the user's request.
    HolderForceClosed,
    /// A cooperative close completed (the closing transaction was
    /// broadcast).
    CooperativeClosure,
    /// A commitment transaction confirmed on chain.
    CommitmentTxConfirmed,
    /// The funding transaction never confirmed, or could not be built.
    FundingTimedOut,
    /// We closed because of a protocol violation or an internal error; the
    /// text says which.
    ProcessingError {
        /// What went wrong.
        err: String,
    },
    /// The peer disconnected before the channel was funded.
    DisconnectedPeer,
    /// Persisting the channel monitor failed irrecoverably.
    MonitorPersistenceFailed,
    /// The funding transaction given did not pay the channel as agreed.
    FundingBatchClosure,
}

impl core::fmt::Display for ClosureReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ClosureReason::CounterpartyForceClosed { peer_msg } => {
                write!(f, "counterparty force-closed: {peer_msg}")
            }
            ClosureReason::HolderForceClosed => f.write_str("we force-closed"),
            ClosureReason::CooperativeClosure => f.write_str("cooperative close"),
            ClosureReason::CommitmentTxConfirmed => f.write_str("a commitment transaction confirmed"),
            ClosureReason::FundingTimedOut => f.write_str("funding timed out"),
            ClosureReason::ProcessingError { err } => write!(f, "error: {err}"),
            ClosureReason::DisconnectedPeer => f.write_str("peer disconnected before funding"),
            ClosureReason::MonitorPersistenceFailed => f.write_str("monitor persistence failed"),
            ClosureReason::FundingBatchClosure => f.write_str("funding transaction refused"),
        }
    }
}

/// How an inbound payment can be claimed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentPurpose {
    /// A payment to an invoice from `create_inbound_payment`: the preimage
    /// was re-derived from the payment secret.
    InvoicePayment {
        /// The preimage, if we derived it.
        payment_preimage: Option<PaymentPreimage>,
        /// The invoice's payment secret.
        payment_secret: PaymentSecret,
    },
}

impl PaymentPurpose {
    /// The preimage, if known.
    pub fn preimage(&self) -> Option<PaymentPreimage> {
        match self {
            PaymentPurpose::InvoicePayment { payment_preimage, .. } => *payment_preimage,
        }
    }
}

/// Why a payment failed as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentFailureReason {
    /// The recipient refused it (a final-node failure).
    RecipientRejected,
    /// The user abandoned it.
    UserAbandoned,
    /// No usable channel or route.
    RouteNotFound,
    /// A hop failed and no retry was attempted.
    RetriesExhausted,
    /// Something else (a failure we could not attribute).
    UnexpectedError,
}

/// A user-facing event. Handle each with
/// [`EventsProvider::process_pending_events`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Build and sign a funding transaction paying `channel_value_satoshis`
    /// to `output_script`, then call `funding_transaction_generated`.
    FundingGenerationReady {
        /// The temporary channel id.
        temporary_channel_id: ChannelId,
        /// The peer.
        counterparty_node_id: PublicKey,
        /// The amount of the funding output.
        channel_value_satoshis: u64,
        /// The funding output's script (P2WSH of the 2-of-2).
        output_script: ScriptBuf,
        /// The id the user gave `create_channel`.
        user_channel_id: u128,
    },
    /// A peer wants to open a channel and manual acceptance is on: call
    /// `accept_inbound_channel` (or let it time out).
    OpenChannelRequest {
        /// The temporary channel id.
        temporary_channel_id: ChannelId,
        /// The peer.
        counterparty_node_id: PublicKey,
        /// The channel's value.
        funding_satoshis: u64,
        /// What the peer pushes to us.
        push_msat: u64,
        /// The proposed channel type.
        channel_type: crate::ln::features::ChannelTypeFeatures,
    },
    /// The funding transaction is signed by both sides and can be broadcast
    /// (the funder broadcasts it now); waiting for confirmations.
    ChannelPending {
        /// The channel.
        channel_id: ChannelId,
        /// The user's id for it.
        user_channel_id: u128,
        /// The peer.
        counterparty_node_id: PublicKey,
        /// The funding output.
        funding_txo: OutPoint,
    },
    /// Both sides sent `channel_ready`: the channel can be used.
    ChannelReady {
        /// The channel.
        channel_id: ChannelId,
        /// The user's id for it.
        user_channel_id: u128,
        /// The peer.
        counterparty_node_id: PublicKey,
    },
    /// A payment to us arrived and is irrevocably committed: claim it with
    /// `claim_funds` or fail it with `fail_htlc_backwards`.
    PaymentClaimable {
        /// The payment hash.
        payment_hash: PaymentHash,
        /// The amount we received.
        amount_msat: u64,
        /// How to claim it.
        purpose: PaymentPurpose,
        /// The channel it came in on.
        via_channel_id: ChannelId,
        /// The height by which it must be claimed.
        claim_deadline: u32,
    },
    /// We claimed a payment.
    PaymentClaimed {
        /// The payment hash.
        payment_hash: PaymentHash,
        /// The amount claimed.
        amount_msat: u64,
        /// How it was claimed.
        purpose: PaymentPurpose,
    },
    /// A payment we sent succeeded.
    PaymentSent {
        /// The payment's id.
        payment_id: PaymentId,
        /// Its preimage (proof of payment).
        payment_preimage: PaymentPreimage,
        /// Its hash.
        payment_hash: PaymentHash,
        /// Fees paid to intermediate hops.
        fee_paid_msat: Option<u64>,
    },
    /// One path (HTLC) of a payment failed.
    PaymentPathFailed {
        /// The payment's id.
        payment_id: PaymentId,
        /// Its hash.
        payment_hash: PaymentHash,
        /// True if the recipient refused it (no point retrying).
        payment_failed_permanently: bool,
        /// The failure code, if it could be read.
        failure_code: Option<u16>,
    },
    /// A payment failed for good: no HTLC of it is left in flight.
    PaymentFailed {
        /// The payment's id.
        payment_id: PaymentId,
        /// Its hash.
        payment_hash: PaymentHash,
        /// Why.
        reason: PaymentFailureReason,
    },
    /// A channel closed (or a channel being opened was given up).
    ChannelClosed {
        /// The channel.
        channel_id: ChannelId,
        /// The user's id for it.
        user_channel_id: u128,
        /// Why.
        reason: ClosureReason,
        /// The peer.
        counterparty_node_id: Option<PublicKey>,
        /// What we had in the channel when it closed.
        channel_capacity_sats: Option<u64>,
    },
    /// A funding transaction will never be used: its inputs can be spent
    /// elsewhere.
    DiscardFunding {
        /// The channel.
        channel_id: ChannelId,
        /// The funding transaction.
        funding_txid: Txid,
        /// The transaction, if we still have it.
        transaction: Option<Transaction>,
    },
}

/// Something that queues [`Event`]s for the user.
pub trait EventsProvider {
    /// Hands every pending event to `handler`, in order, and forgets them.
    fn process_pending_events<H: EventHandler>(&self, handler: H);
}

/// Handles one [`Event`].
pub trait EventHandler {
    /// Handles `event`.
    fn handle_event(&self, event: Event);
}

impl<F: Fn(Event)> EventHandler for F {
    fn handle_event(&self, event: Event) {
        self(event)
    }
}

impl Writeable for ClosureReason {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        match self {
            ClosureReason::CounterpartyForceClosed { peer_msg } => {
                0u8.write(w)?;
                write_u16_len_bytes(w, peer_msg.as_bytes())
            }
            ClosureReason::HolderForceClosed => 1u8.write(w),
            ClosureReason::CooperativeClosure => 2u8.write(w),
            ClosureReason::CommitmentTxConfirmed => 3u8.write(w),
            ClosureReason::FundingTimedOut => 4u8.write(w),
            ClosureReason::ProcessingError { err } => {
                5u8.write(w)?;
                write_u16_len_bytes(w, err.as_bytes())
            }
            ClosureReason::DisconnectedPeer => 6u8.write(w),
            ClosureReason::MonitorPersistenceFailed => 7u8.write(w),
            ClosureReason::FundingBatchClosure => 8u8.write(w),
        }
    }
}

impl Readable for ClosureReason {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let text = |r: &mut R| -> Result<String, DecodeError> {
            String::from_utf8(read_u16_len_bytes(r)?).map_err(|_| DecodeError::InvalidValue)
        };
        Ok(match u8::read(r)? {
            0 => ClosureReason::CounterpartyForceClosed { peer_msg: text(r)? },
            1 => ClosureReason::HolderForceClosed,
            2 => ClosureReason::CooperativeClosure,
            3 => ClosureReason::CommitmentTxConfirmed,
            4 => ClosureReason::FundingTimedOut,
            5 => ClosureReason::ProcessingError { err: text(r)? },
            6 => ClosureReason::DisconnectedPeer,
            7 => ClosureReason::MonitorPersistenceFailed,
            8 => ClosureReason::FundingBatchClosure,
            _ => return Err(DecodeError::UnknownVersion),
        })
    }
}
