//! How the node follows the chain: traits for feeding it blocks and
//! transactions ([`Listen`], [`Confirm`]), for asking the chain source to watch
//! outputs ([`Filter`]), and for handing channel monitors to whoever persists
//! and watches them ([`Watch`], implemented by `chainmonitor::ChainMonitor`).
//! Time comes only from blocks: everything height- or time-dependent is
//! driven from here.

pub mod chaininterface;
pub mod chainmonitor;
pub mod channelmonitor;
#[cfg(any(test, feature = "_test_utils"))]
pub mod test_utils;

use crate::prelude::*;
use bitcoin::block::Header;
use bitcoin::{BlockHash, OutPoint, ScriptBuf, Transaction, Txid};

/// The tip of the chain as the node last saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BestBlock {
    /// The tip's hash.
    pub block_hash: BlockHash,
    /// The tip's height.
    pub height: u32,
}

impl BestBlock {
    /// A tip at `height` with hash `block_hash`.
    pub fn new(block_hash: BlockHash, height: u32) -> Self {
        BestBlock { block_hash, height }
    }
}

/// Transactions of a block that matter to the listener, each with its index in
/// the block.
pub type TransactionData<'a> = [(usize, &'a Transaction)];

/// Follows the chain block by block, in order (for users that see every
/// block).
pub trait Listen {
    /// The block at `height` with `header` was connected; `txdata` holds its
    /// relevant (or all) transactions.
    fn filtered_block_connected(&self, header: &Header, txdata: &TransactionData, height: u32);
    /// The block at `height` was disconnected (a reorg); the new tip is at
    /// `height - 1`.
    fn block_disconnected(&self, header: &Header, height: u32);
}

/// Follows the chain by transaction confirmations (for users of an Electrum or
/// Esplora-like source that do not see every block).
pub trait Confirm {
    /// `txdata` confirmed in the block at `height` with `header`.
    fn transactions_confirmed(&self, header: &Header, txdata: &TransactionData, height: u32);
    /// A transaction previously reported confirmed is no longer in the chain.
    fn transaction_unconfirmed(&self, txid: &Txid);
    /// The best block is now at `height` with `header`.
    fn best_block_updated(&self, header: &Header, height: u32);
    /// Transactions whose confirmation the listener relies on, to re-check on
    /// reorgs: `(txid, height, block hash)`.
    fn get_relevant_txids(&self) -> Vec<(Txid, u32, Option<BlockHash>)>;
}

/// An output the chain source should watch for spends.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WatchedOutput {
    /// The block the output confirmed in, if known.
    pub block_hash: Option<BlockHash>,
    /// The output.
    pub outpoint: OutPoint,
    /// Its script.
    pub script_pubkey: ScriptBuf,
}

/// Lets the node tell a filtering chain source what it cares about.
pub trait Filter {
    /// Report transactions with this txid or paying to this script.
    fn register_tx(&self, txid: &Txid, script_pubkey: &ScriptBuf);
    /// Report transactions spending this output.
    fn register_output(&self, output: WatchedOutput);
}

impl<F: Filter + ?Sized> Filter for &F {
    fn register_tx(&self, txid: &Txid, script_pubkey: &ScriptBuf) {
        (**self).register_tx(txid, script_pubkey)
    }
    fn register_output(&self, output: WatchedOutput) {
        (**self).register_output(output)
    }
}

impl<F: Filter + ?Sized> Filter for alloc::sync::Arc<F> {
    fn register_tx(&self, txid: &Txid, script_pubkey: &ScriptBuf) {
        (**self).register_tx(txid, script_pubkey)
    }
    fn register_output(&self, output: WatchedOutput) {
        (**self).register_output(output)
    }
}

/// The result of handing a monitor or an update to a [`Watch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelMonitorUpdateStatus {
    /// Persisted: the channel may move on.
    Completed,
    /// Being persisted: the channel pauses (sends nothing that depends on the
    /// update) until `ChainMonitor::channel_monitor_updated` reports it done.
    InProgress,
    /// Persisting failed and will not succeed: the channel is force-closed.
    UnrecoverableError,
}

/// Receives new channel monitors and their updates, persists them and watches
/// the chain for them. `ChainMonitor` is the usual implementation.
pub trait Watch<ChannelSigner: crate::sign::EcdsaChannelSigner> {
    /// A new channel's monitor. `Err(())` if a monitor for the channel exists.
    fn watch_channel(
        &self, channel_id: crate::ln::types::ChannelId,
        monitor: channelmonitor::ChannelMonitor<ChannelSigner>,
    ) -> Result<ChannelMonitorUpdateStatus, ()>;
    /// An update to an existing channel's monitor, to apply and persist.
    fn update_channel(
        &self, channel_id: crate::ln::types::ChannelId, update: &channelmonitor::ChannelMonitorUpdate,
    ) -> ChannelMonitorUpdateStatus;
    /// Events the monitors produced since the last call (completed
    /// persistence, HTLCs resolved on chain, commitment broadcast, ...).
    fn release_pending_monitor_events(&self) -> Vec<channelmonitor::MonitorEventBatch>;
}

impl<S: crate::sign::EcdsaChannelSigner, W: Watch<S> + ?Sized> Watch<S> for &W {
    fn watch_channel(
        &self, channel_id: crate::ln::types::ChannelId, monitor: channelmonitor::ChannelMonitor<S>,
    ) -> Result<ChannelMonitorUpdateStatus, ()> {
        (**self).watch_channel(channel_id, monitor)
    }
    fn update_channel(
        &self, channel_id: crate::ln::types::ChannelId, update: &channelmonitor::ChannelMonitorUpdate,
    ) -> ChannelMonitorUpdateStatus {
        (**self).update_channel(channel_id, update)
    }
    fn release_pending_monitor_events(&self) -> Vec<channelmonitor::MonitorEventBatch> {
        (**self).release_pending_monitor_events()
    }
}

impl<S: crate::sign::EcdsaChannelSigner, W: Watch<S> + ?Sized> Watch<S> for alloc::sync::Arc<W> {
    fn watch_channel(
        &self, channel_id: crate::ln::types::ChannelId, monitor: channelmonitor::ChannelMonitor<S>,
    ) -> Result<ChannelMonitorUpdateStatus, ()> {
        (**self).watch_channel(channel_id, monitor)
    }
    fn update_channel(
        &self, channel_id: crate::ln::types::ChannelId, update: &channelmonitor::ChannelMonitorUpdate,
    ) -> ChannelMonitorUpdateStatus {
        (**self).update_channel(channel_id, update)
    }
    fn release_pending_monitor_events(&self) -> Vec<channelmonitor::MonitorEventBatch> {
        (**self).release_pending_monitor_events()
    }
}
