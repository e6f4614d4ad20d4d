//! Crash-safe persistence for `lightning-core` on a plain filesystem.
//!
//! - [`fs_store::FilesystemStore`] implements the core's
//!   [`KVStore`](lightning_core::util::persist::KVStore) with one file per key:
//!   each write goes to a temporary file that is flushed, renamed over the key's
//!   file, and made durable by flushing the directory, so a crash leaves the old
//!   value or the new one, never a torn one. Concurrent writes of one key are
//!   versioned so the last call wins.
//! - [`codec`] wraps every stored value in an envelope with a magic, a format
//!   version and a CRC-32, around one `serde` record encoded with `bincode` 2.x:
//!   the value's [`codec::ValueKind`] and its body, either a `serde` value
//!   ([`codec::write_value`], [`codec::read_value`]) or the core's `Writeable`
//!   encoding ([`codec::write_writeable`], [`codec::read_record`]). A value
//!   that fails a check, or is of another kind than its key's, is a
//!   [`codec::CodecError`] naming its key.
//! - [`monitor`] persists channel monitors as a full snapshot plus a numbered
//!   tail of updates: [`monitor::MonitorUpdatingPersister`] is a
//!   `chainmonitor::Persist` over any `KVStore` that writes each
//!   `ChannelMonitorUpdate` as its own small value and folds them into a new
//!   full monitor every N updates (default 100);
//!   [`monitor::AsyncMonitorPersister`] does the same writes on background
//!   tasks of the caller's runtime and answers `InProgress`, reporting
//!   completion to the `ChainMonitor` in order. Reading
//!   ([`monitor::read_channel_monitors_with_updates`]) replays each monitor's
//!   tail; a gap, a damaged or foreign update is a [`monitor::ReadError`]
//!   naming its key.
//! - [`node_state`] keeps the `ChannelManager`, the `NetworkGraph` and the
//!   scorer in the same store, and
//!   [`node_state::read_channel_manager_and_monitors`] brings a node back in
//!   the safe order: monitors first, then the manager reconciled against them,
//!   then the monitors handed to the `ChainMonitor` and given the monitor
//!   updates the manager recorded in flight that they lack.
//!
//! ```
//! use lightning_core::util::persist::KVStore;
//! use lightning_persister::codec::{read_record, read_value, write_value, FormatError, ValueKind};
//! use lightning_persister::fs_store::FilesystemStore;
//!
//! # let dir = tempfile::tempdir().unwrap();
//! let store = FilesystemStore::new(dir.path().join("node"))?;
//! write_value(&store, "app", "", "fee_targets", &vec![1u32, 2, 3])?;
//! let targets: Vec<u32> = read_value(&store, "app", "", "fee_targets")?;
//! assert_eq!(targets, [1, 2, 3]);
//! assert_eq!(store.list("app", "")?, ["fee_targets"]);
//! // A serde value is not a channel manager, whatever key it is under.
//! let err = read_record(&store, "app", "", "fee_targets", ValueKind::ChannelManager).unwrap_err();
//! assert!(matches!(err.format_error(), Some(FormatError::WrongKind { .. })));
//! assert_eq!(err.to_string(), "value app/fee_targets: holds a serde value where a channel manager was expected");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # A node's persistence, end to end
//!
//! 1. At start-up, build the `ChainMonitor` with a persister over the store,
//!    then call [`node_state::read_channel_manager_and_monitors`] with the
//!    manager's `ChannelManagerReadArgs` (its `chain_monitor` an
//!    `Arc<ChainMonitor>`). `Ok(None)` means a first start: create a new
//!    manager.
//! 2. While running, the `ChainMonitor` writes monitors through the persister
//!    by itself; call [`node_state::persist_manager`] whenever the manager
//!    changed, and [`node_state::persist_graph`] /
//!    [`node_state::persist_scorer`] now and then.
//! 3. With [`monitor::AsyncMonitorPersister`] the manager may be saved at any
//!    time, from any thread: it writes the monitor updates still being
//!    persisted with itself, and start-up hands the monitors any of them a
//!    crash kept off the disk (through the `ChainMonitor`, so they are
//!    written again) before the channels resume. Only a monitor behind the
//!    manager by updates recorded nowhere refuses to start
//!    ([`node_state::StartupError::MonitorBehindManager`]): that is lost data.
//!    [`monitor::AsyncMonitorPersister::wait_for_pending_writes`] is still
//!    the way to flush before a clean shutdown.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod codec;
pub mod fs_store;
pub mod monitor;
pub mod node_state;
