//! Crash-safe persistence for `lightning-core` on a plain filesystem.
//!
//! - [`fs_store::FilesystemStore`] implements the core's
//!   [`KVStore`](lightning_core::util::persist::KVStore) with one file per key:
//!   each write goes to a temporary file that is flushed, renamed over the key's
//!   file, and made durable by flushing the directory, so a crash leaves the old
//!   value or the new one, never a torn one. Concurrent writes of one key are
//!   versioned so the last call wins.
//! - [`codec`] wraps every stored value in an envelope with a magic, a format
//!   version and a CRC-32, and carries `serde` values encoded with `bincode` 2.x
//!   ([`codec::write_value`], [`codec::read_value`]) or bytes already encoded by
//!   the core's `Writeable` ([`codec::write_payload`], [`codec::read_payload`]). A
//!   value that fails a check is a [`codec::CodecError`] naming its key.
//!
//! ```
//! use lightning_core::util::persist::{KVStore, SCORER_PERSISTENCE_KEY};
//! use lightning_persister::codec::{read_value, write_value};
//! use lightning_persister::fs_store::FilesystemStore;
//!
//! # let dir = tempfile::tempdir().unwrap();
//! let store = FilesystemStore::new(dir.path().join("node"))?;
//! write_value(&store, "", "", SCORER_PERSISTENCE_KEY, &vec![1u32, 2, 3])?;
//! let scores: Vec<u32> = read_value(&store, "", "", SCORER_PERSISTENCE_KEY)?;
//! assert_eq!(scores, [1, 2, 3]);
//! assert_eq!(store.list("", "")?, ["scorer"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The monitor persister still to come
//!
//! Persisting channel monitors waits for `ChannelMonitor`, `ChannelMonitorUpdate`
//! and `ChainMonitor`'s `Persist` seam in the core. It is meant to be a
//! `MonitorUpdatingPersister<K: KVStore, ...>` in this crate, built only on what
//! is here (the store, the envelope and the core's key constants):
//!
//! - **Names.** A monitor's name is its funding outpoint, `TXID_INDEX` (64 hex
//!   digits, `_`, the output index in decimal: within the 120-byte key limit).
//!   The full monitor lives at
//!   `(CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE, "", name)`; its pending
//!   updates at `(CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE, name,
//!   update_id)` with `update_id` in decimal. `list` order is unspecified, so the
//!   update ids are parsed and sorted numerically, never compared as strings.
//! - **Encoding.** Monitors and updates are `Writeable` in the core, so they go
//!   through [`codec::write_payload`] / [`codec::read_payload`]: the same
//!   envelope, version and checksum as every other value.
//! - **`persist_new_channel`** writes the full monitor, then removes any update
//!   keys left under its name (lazily: they are older than the monitor).
//! - **`update_persisted_channel`** writes the update under its id when the
//!   update id is not a multiple of `maximum_pending_updates` (default 100);
//!   otherwise (and for updates that carry no id, such as those made by blocks
//!   connecting) it writes a full monitor and then lazily removes the updates
//!   that monitor covers. A crash between the two leaves stale updates with ids
//!   at or below the monitor's `latest_update_id`; reading skips and later
//!   deletes those, which is why the removal may be lazy.
//! - **Reading** a monitor reads the full monitor, lists its updates, keeps
//!   those above the monitor's `latest_update_id`, and applies them in order. The
//!   ids must then be consecutive: a gap, or an update that does not decode or
//!   does not apply, is an error carrying the [`codec::ValueLocation`] of the
//!   offending key, never a silent skip.
//! - **Asynchronous mode.** A `ChainMonitor` given `InProgress` waits for
//!   `channel_monitor_updated`. The persister returns `InProgress`, hands the
//!   write to the caller's runtime, and reports completion from there once
//!   `KVStore::write` returned. Because the store applies writes of one key in
//!   the order they were called, the ids it reports complete are durable in
//!   order.
//! - **Archiving** a closed channel's monitor moves it to an `archived_monitors`
//!   namespace (write there, then remove the live key and its update namespace),
//!   once the core names that namespace.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod codec;
pub mod fs_store;
pub mod monitor;
pub mod node_state;
