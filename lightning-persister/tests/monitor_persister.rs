//! `MonitorUpdatingPersister` over a real `FilesystemStore`, driven through a
//! real `ChainMonitor`: the layout on disk, compaction, closed channels,
//! chain-driven re-writes, reading back with replay, and every way a stored
//! update can be wrong, each refused with an error naming its file.

mod common;

use std::fs;
use std::sync::Arc;

use common::monitors::{encoded, Chan, Env};
use common::test_dir;
use lightning_core::chain::chainmonitor::{ChainMonitor, MonitorName, Persist};
use lightning_core::chain::channelmonitor::{
    ChannelMonitor, ChannelMonitorUpdate, ChannelMonitorUpdateStep, CLOSED_CHANNEL_UPDATE_ID,
};
use lightning_core::chain::test_utils::TestLogger;
use lightning_core::chain::{ChannelMonitorUpdateStatus, Watch};
use lightning_core::ln::msgs::DecodeError;
use lightning_core::sign::{InMemorySigner, KeysManager};
use lightning_core::util::logger::Level;
use lightning_core::util::persist::{
    KVStore, CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE,
    CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE,
};
use lightning_core::util::ser::{ReadableArgs, Writeable};
use lightning_persister::codec::{
    decode_record, encode_envelope, encode_record, encode_writeable, read_record, CodecError, FormatError,
    ValueKind, ValueLocation, ENVELOPE_HEADER_LEN,
};
use lightning_persister::fs_store::FilesystemStore;
use lightning_persister::monitor::{MonitorUpdatingPersister, ReadError, DEFAULT_MAXIMUM_PENDING_UPDATES};

const MONITORS: &str = CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE;
const UPDATES: &str = CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE;

type Persister = MonitorUpdatingPersister<FilesystemStore, Arc<TestLogger>>;
type TestChainMonitor<'a> = ChainMonitor<
    InMemorySigner,
    &'a lightning_core::chain::test_utils::TestFilter,
    &'a lightning_core::chain::test_utils::TestBroadcaster,
    &'a lightning_core::chain::test_utils::TestFeeEstimator,
    &'a TestLogger,
    &'a Persister,
>;

struct Fixture {
    dir: tempfile::TempDir,
    env: Env,
    persister: Persister,
    persister_logger: Arc<TestLogger>,
}

impl Fixture {
    fn new(maximum_pending_updates: u64) -> Fixture {
        let dir = test_dir("monitor_persister");
        let store = FilesystemStore::new(dir.path()).expect("open store");
        let persister_logger = Arc::new(TestLogger::default());
        let persister = MonitorUpdatingPersister::new(store, Arc::clone(&persister_logger))
            .with_maximum_pending_updates(maximum_pending_updates);
        Fixture { dir, env: Env::default(), persister, persister_logger }
    }

    fn chain_monitor(&self) -> TestChainMonitor<'_> {
        ChainMonitor::new(None, &self.env.broadcaster, &self.env.logger, &self.env.fees, &self.persister)
    }

    fn store(&self) -> &FilesystemStore {
        self.persister.kv_store()
    }

    /// The stored update ids of `name`, sorted.
    fn update_ids(&self, name: MonitorName) -> Vec<u64> {
        let mut ids: Vec<u64> = self
            .store()
            .list(UPDATES, &name.to_string())
            .expect("list")
            .iter()
            .map(|k| k.parse().expect("numeric key"))
            .collect();
        ids.sort_unstable();
        ids
    }

    /// The full monitor on disk, without replaying updates.
    fn stored_full_monitor(&self, name: MonitorName, keys: &KeysManager) -> ChannelMonitor<InMemorySigner> {
        let payload = read_record(self.store(), MONITORS, "", &name.to_string(), ValueKind::ChannelMonitor)
            .expect("full monitor stored");
        ChannelMonitor::read(&mut &payload[..], keys).expect("decodes")
    }

    fn read_all(&self, keys: &KeysManager) -> Result<Vec<ChannelMonitor<InMemorySigner>>, ReadError> {
        self.persister.read_all_channel_monitors_with_updates(
            keys,
            &self.env.broadcaster,
            &self.env.fees,
            &self.env.logger,
        )
    }

    fn file(&self, primary: &str, secondary: &str, key: &str) -> std::path::PathBuf {
        self.store().key_path(primary, secondary, key).expect("valid key")
    }
}

#[test]
fn new_monitor_then_each_update_under_its_own_key() {
    let f = Fixture::new(DEFAULT_MAXIMUM_PENDING_UPDATES);
    let cm = f.chain_monitor();
    let (mut chan, monitor) = Chan::numbered(1);
    let (id, name) = (chan.chan.channel_id, chan.name());
    assert_eq!(cm.watch_channel(id, monitor), Ok(ChannelMonitorUpdateStatus::Completed));
    assert_eq!(f.store().list(MONITORS, "").expect("list"), vec![name.to_string()]);
    assert!(f.update_ids(name).is_empty());

    for _ in 0..7 {
        let update = chan.next_update(2);
        assert_eq!(cm.update_channel(id, &update), ChannelMonitorUpdateStatus::Completed);
        // The update is stored byte for byte, in an envelope.
        let stored = read_record(
            f.store(),
            UPDATES,
            &name.to_string(),
            &update.update_id.to_string(),
            ValueKind::ChannelMonitorUpdate,
        )
        .expect("update stored");
        assert_eq!(stored, update.encode());
    }
    assert_eq!(f.update_ids(name), (1..=7).collect::<Vec<_>>());
    // The full monitor on disk is still the initial one.
    assert_eq!(f.stored_full_monitor(name, &chan.chan.holder_keys).latest_update_id(), 0);

    // Reading replays the seven updates: the same state as the live monitor.
    let read = f.read_all(&chan.chan.holder_keys).expect("reads back");
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].latest_update_id(), 7);
    assert_eq!(encoded(&read[0]), encoded(&cm.get_monitor(id).expect("watched")));
}

#[test]
fn compaction_keeps_fewer_than_n_updates_and_reads_the_same_monitor() {
    const N: u64 = 5;
    let f = Fixture::new(N);
    let cm = f.chain_monitor();
    let (mut chan, monitor) = Chan::numbered(2);
    let (id, name) = (chan.chan.channel_id, chan.name());
    cm.watch_channel(id, monitor).expect("watched");
    for k in 1..=23u64 {
        assert_eq!(cm.update_channel(id, &chan.next_update(1)), ChannelMonitorUpdateStatus::Completed);
        let full = f.stored_full_monitor(name, &chan.chan.holder_keys);
        let compacted_at = k - k % N;
        assert_eq!(full.latest_update_id(), compacted_at, "after update {k}");
        let ids = f.update_ids(name);
        assert_eq!(ids, (compacted_at + 1..=k).collect::<Vec<_>>(), "after update {k}");
        assert!((ids.len() as u64) < N);
        let read = f.read_all(&chan.chan.holder_keys).expect("reads back");
        assert_eq!(encoded(&read[0]), encoded(&cm.get_monitor(id).expect("watched")), "after update {k}");
    }
}

#[test]
fn closed_channel_updates_and_chain_rewrites_write_the_full_monitor() {
    let f = Fixture::new(DEFAULT_MAXIMUM_PENDING_UPDATES);
    let cm = f.chain_monitor();
    let (mut chan, monitor) = Chan::numbered(3);
    let (id, name) = (chan.chan.channel_id, chan.name());
    cm.watch_channel(id, monitor).expect("watched");
    for _ in 0..4 {
        cm.update_channel(id, &chan.next_update(0));
    }
    assert_eq!(f.update_ids(name), vec![1, 2, 3, 4]);

    // A re-write the chain asks for (update None) is a full monitor, and the
    // updates it covers go.
    let live = cm.get_monitor(id).expect("watched");
    assert_eq!(
        f.persister.update_persisted_channel(name, None, &*live),
        ChannelMonitorUpdateStatus::Completed
    );
    drop(live);
    assert_eq!(f.stored_full_monitor(name, &chan.chan.holder_keys).latest_update_id(), 4);
    assert!(f.update_ids(name).is_empty());

    cm.update_channel(id, &chan.next_update(0));
    assert_eq!(f.update_ids(name), vec![5]);

    // Force-close: the update carries CLOSED_CHANNEL_UPDATE_ID, so it cannot
    // be a numbered key; the full monitor is written and the tail removed.
    let close = ChannelMonitorUpdate {
        update_id: CLOSED_CHANNEL_UPDATE_ID,
        channel_id: id,
        updates: vec![ChannelMonitorUpdateStep::ChannelForceClosed { should_broadcast: true }],
    };
    assert_eq!(cm.update_channel(id, &close), ChannelMonitorUpdateStatus::Completed);
    assert_eq!(f.env.broadcaster.take().len(), 1, "the monitor broadcast our commitment");
    let full = f.stored_full_monitor(name, &chan.chan.holder_keys);
    assert_eq!(full.latest_update_id(), CLOSED_CHANNEL_UPDATE_ID);
    assert!(full.is_closed());
    assert!(f.update_ids(name).is_empty());
    // Every later closed-channel update shares the id: each is a full write.
    let preimage = ChannelMonitorUpdate {
        update_id: CLOSED_CHANNEL_UPDATE_ID,
        channel_id: id,
        updates: vec![ChannelMonitorUpdateStep::PaymentPreimage {
            payment_preimage: lightning_core::ln::types::PaymentPreimage([9; 32]),
        }],
    };
    assert_eq!(cm.update_channel(id, &preimage), ChannelMonitorUpdateStatus::Completed);
    assert!(f.update_ids(name).is_empty());
    let read = f.read_all(&chan.chan.holder_keys).expect("reads back");
    assert_eq!(encoded(&read[0]), encoded(&cm.get_monitor(id).expect("watched")));
}

#[test]
fn stale_updates_left_by_a_crash_are_removed_not_errors() {
    let f = Fixture::new(4);
    let cm = f.chain_monitor();
    let (mut chan, monitor) = Chan::numbered(4);
    let (id, name) = (chan.chan.channel_id, chan.name());
    cm.watch_channel(id, monitor).expect("watched");
    let mut updates = Vec::new();
    for _ in 0..6 {
        let update = chan.next_update(1);
        cm.update_channel(id, &update);
        updates.push(update);
    }
    assert_eq!(f.update_ids(name), vec![5, 6]);
    // A crash between writing the full monitor at 4 and removing 1..=4
    // leaves them behind (the removal is lazy).
    for update in &updates[..4] {
        let bytes = encode_writeable(ValueKind::ChannelMonitorUpdate, update).expect("encodes");
        f.store().write(UPDATES, &name.to_string(), &update.update_id.to_string(), &bytes).expect("write");
    }
    let read = f.read_all(&chan.chan.holder_keys).expect("stale updates are not errors");
    assert_eq!(encoded(&read[0]), encoded(&cm.get_monitor(id).expect("watched")));
    assert_eq!(f.update_ids(name), vec![5, 6], "the stale ones were removed");
}

#[test]
fn several_monitors_read_back_each_with_its_own_updates() {
    let f = Fixture::new(3);
    let cm = f.chain_monitor();
    let mut chans = Vec::new();
    for i in 0..4u32 {
        let (chan, monitor) = Chan::numbered(100 + i);
        cm.watch_channel(chan.chan.channel_id, monitor).expect("watched");
        chans.push(chan);
    }
    for (i, chan) in chans.iter_mut().enumerate() {
        for _ in 0..(i * 2 + 1) {
            cm.update_channel(chan.chan.channel_id, &chan.next_update(i));
        }
    }
    let read = f.read_all(&chans[0].chan.holder_keys).expect("reads back");
    assert_eq!(read.len(), 4);
    for monitor in &read {
        let live = cm.get_monitor(monitor.channel_id()).expect("watched");
        assert_eq!(encoded(monitor), encoded(&live));
    }
}

/// A channel persisted with updates 1..=7 (none compacted), to damage.
struct Damaged {
    f: Fixture,
    chan: Chan,
    name: String,
}

fn with_seven_updates() -> Damaged {
    let f = Fixture::new(DEFAULT_MAXIMUM_PENDING_UPDATES);
    let (mut chan, monitor) = Chan::numbered(9);
    {
        let cm = f.chain_monitor();
        let id = chan.chan.channel_id;
        cm.watch_channel(id, monitor).expect("watched");
        for _ in 0..7 {
            assert_eq!(cm.update_channel(id, &chan.next_update(1)), ChannelMonitorUpdateStatus::Completed);
        }
    }
    let name = chan.name().to_string();
    Damaged { f, chan, name }
}

impl Damaged {
    /// Reads back, expecting an error naming `location`, whose message names
    /// the file (its path relative to the store's directory).
    fn read_err(&self, location: &ValueLocation) -> ReadError {
        let Err(err) = self.f.read_all(&self.chan.chan.holder_keys) else { panic!("damage not detected") };
        assert_eq!(err.location(), location, "{err}");
        let shown = err.to_string();
        assert!(shown.contains(&location.to_string()), "{shown}");
        let path = self.f.dir.path().join(location.to_string());
        assert!(
            path == self.f.file(&location.primary_namespace, &location.secondary_namespace, &location.key),
            "the location is the file's relative path"
        );
        err
    }

    fn update_file(&self, id: u64) -> std::path::PathBuf {
        self.f.file(UPDATES, &self.name, &id.to_string())
    }

    fn update_location(&self, id: u64) -> ValueLocation {
        ValueLocation::new(UPDATES, &self.name, &id.to_string())
    }
}

fn format_error(err: &ReadError) -> &FormatError {
    match err {
        ReadError::Codec(CodecError::Format { error, .. }) => error,
        other => panic!("not a format error: {other}"),
    }
}

#[test]
fn truncated_update_is_an_error_naming_it() {
    let d = with_seven_updates();
    let path = d.update_file(4);
    let bytes = fs::read(&path).expect("stored");
    for len in [0, 5, ENVELOPE_HEADER_LEN, bytes.len() - 1] {
        fs::write(&path, &bytes[..len]).expect("truncate");
        let err = d.read_err(&d.update_location(4));
        assert!(
            matches!(format_error(&err), FormatError::Truncated { actual_len, .. } if *actual_len == len),
            "{err}"
        );
        assert!(err.to_string().contains("truncated"), "{err}");
    }
}

#[test]
fn flipped_bytes_in_an_update_are_an_error_naming_it() {
    let d = with_seven_updates();
    let path = d.update_file(5);
    let bytes = fs::read(&path).expect("stored");
    for offset in [ENVELOPE_HEADER_LEN, ENVELOPE_HEADER_LEN + 40, bytes.len() - 1] {
        let mut damaged = bytes.clone();
        damaged[offset] ^= 0x10;
        fs::write(&path, &damaged).expect("damage");
        let err = d.read_err(&d.update_location(5));
        assert!(matches!(format_error(&err), FormatError::ChecksumMismatch { .. }), "{err}");
        assert!(err.to_string().contains("checksum mismatch"), "{err}");
    }
}

#[test]
fn unknown_version_of_an_update_is_an_error_naming_it() {
    let d = with_seven_updates();
    let path = d.update_file(2);
    let mut bytes = fs::read(&path).expect("stored");
    bytes[4] = 3;
    fs::write(&path, &bytes).expect("damage");
    let err = d.read_err(&d.update_location(2));
    assert!(matches!(format_error(&err), FormatError::UnknownVersion { version: 3 }), "{err}");
    assert!(err.to_string().contains("unknown format version 3"), "{err}");
}

#[test]
fn a_value_of_the_wrong_kind_is_an_error_naming_it_and_both_kinds() {
    let d = with_seven_updates();
    let monitor_location = ValueLocation::new(MONITORS, "", &d.name);
    let monitor_file = d.f.file(MONITORS, "", &d.name);
    let monitor_bytes = fs::read(&monitor_file).expect("stored");
    // An update where the full monitor belongs.
    fs::copy(d.update_file(1), &monitor_file).expect("copy");
    let err = d.read_err(&monitor_location);
    assert!(
        matches!(
            format_error(&err),
            FormatError::WrongKind {
                expected: ValueKind::ChannelMonitor,
                found: ValueKind::ChannelMonitorUpdate
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "value {MONITORS}/{}: holds a channel monitor update where a channel monitor was expected",
            d.name
        )
    );
    // The full monitor where an update belongs.
    fs::write(&monitor_file, &monitor_bytes).expect("restore");
    fs::write(d.update_file(2), &monitor_bytes).expect("write");
    let err = d.read_err(&d.update_location(2));
    assert!(
        matches!(
            format_error(&err),
            FormatError::WrongKind {
                expected: ValueKind::ChannelMonitorUpdate,
                found: ValueKind::ChannelMonitor
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("holds a channel monitor where a channel monitor update was expected"));
}

#[test]
fn an_update_missing_from_the_middle_is_an_error_naming_it() {
    let d = with_seven_updates();
    fs::remove_file(d.update_file(4)).expect("remove");
    let err = d.read_err(&d.update_location(4));
    assert!(matches!(err, ReadError::MissingUpdate { next_stored_update_id: 5, .. }), "{err}");
    assert!(err.to_string().contains("missing from the update sequence"), "{err}");
    // The first one missing too.
    fs::remove_file(d.update_file(1)).expect("remove");
    let err = d.read_err(&d.update_location(1));
    assert!(matches!(err, ReadError::MissingUpdate { next_stored_update_id: 2, .. }), "{err}");
}

#[test]
fn an_older_update_under_a_newer_key_is_an_error() {
    let d = with_seven_updates();
    fs::copy(d.update_file(3), d.update_file(4)).expect("copy");
    let err = d.read_err(&d.update_location(4));
    assert!(matches!(err, ReadError::UpdateIdMismatch { stored_update_id: 3, .. }), "{err}");
}

#[test]
fn an_update_for_another_channel_is_an_error() {
    let d = with_seven_updates();
    let (mut other, _) = Chan::numbered(10);
    for _ in 0..5 {
        other.next_update(0);
    }
    let foreign = other.next_update(0);
    assert_eq!(foreign.update_id, 6);
    fs::write(
        d.update_file(6),
        encode_writeable(ValueKind::ChannelMonitorUpdate, &foreign).expect("encodes"),
    )
    .expect("write");
    let err = d.read_err(&d.update_location(6));
    assert!(
        matches!(err, ReadError::UpdateForOtherChannel { found_channel_id, .. } if found_channel_id == other.chan.channel_id),
        "{err}"
    );
}

#[test]
fn an_update_the_monitor_refuses_is_an_error() {
    let d = with_seven_updates();
    // Another channel's signed commitment, relabelled for ours: the
    // signatures do not verify against our keys.
    let (mut other, _) = Chan::numbered(11);
    for _ in 0..5 {
        other.next_update(0);
    }
    let mut forged = other.next_update(0);
    forged.channel_id = d.chan.chan.channel_id;
    fs::write(d.update_file(6), encode_writeable(ValueKind::ChannelMonitorUpdate, &forged).expect("encodes"))
        .expect("write");
    let err = d.read_err(&d.update_location(6));
    assert!(matches!(err, ReadError::UpdateRefused { .. }), "{err}");
    assert!(err.to_string().contains("refused the update"), "{err}");
}

#[test]
fn a_well_enveloped_update_that_does_not_decode_is_an_error() {
    let d = with_seven_updates();
    let stored = fs::read(d.update_file(3)).expect("stored");
    let mut body = decode_record(&stored, ValueKind::ChannelMonitorUpdate).expect("an update").to_vec();
    body.push(0); // a trailing byte after a complete update
    let kind = ValueKind::ChannelMonitorUpdate;
    fs::write(d.update_file(3), encode_record(kind, &body).expect("envelope")).expect("write");
    let err = d.read_err(&d.update_location(3));
    assert!(matches!(err, ReadError::Decode { error: DecodeError::BadLengthDescriptor, .. }), "{err}");
    fs::write(d.update_file(3), encode_record(kind, &[9, 9, 9]).expect("envelope")).expect("write");
    let err = d.read_err(&d.update_location(3));
    assert!(matches!(err, ReadError::Decode { .. }), "{err}");
    // An envelope whose payload is not a record at all.
    fs::write(d.update_file(3), encode_envelope(&[9, 9, 9]).expect("envelope")).expect("write");
    let err = d.read_err(&d.update_location(3));
    assert!(matches!(format_error(&err), FormatError::Decode(_)), "{err}");
}

#[test]
fn a_key_that_is_not_an_update_id_is_an_error() {
    let d = with_seven_updates();
    d.f.store().write(UPDATES, &d.name, "007", b"x").expect("write");
    let err = d.read_err(&ValueLocation::new(UPDATES, &d.name, "007"));
    assert!(matches!(err, ReadError::InvalidUpdateKey { .. }), "{err}");
}

#[test]
fn a_damaged_full_monitor_is_an_error_naming_it() {
    let d = with_seven_updates();
    let location = ValueLocation::new(MONITORS, "", &d.name);
    let path = d.f.file(MONITORS, "", &d.name);
    let mut bytes = fs::read(&path).expect("stored");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&path, &bytes).expect("damage");
    let err = d.read_err(&location);
    assert!(matches!(format_error(&err), FormatError::ChecksumMismatch { .. }), "{err}");
}

#[test]
fn a_monitor_under_another_name_or_a_bad_name_is_an_error() {
    let d = with_seven_updates();
    let (other, _) = Chan::numbered(12);
    let other_name = other.name().to_string();
    fs::copy(d.f.file(MONITORS, "", &d.name), d.f.file(MONITORS, "", &other_name)).expect("copy");
    let err = d.read_err(&ValueLocation::new(MONITORS, "", &other_name));
    assert!(
        matches!(&err, ReadError::MonitorNameMismatch { expected_name, .. } if *expected_name == d.name),
        "{err}"
    );
    fs::remove_file(d.f.file(MONITORS, "", &other_name)).expect("remove");

    d.f.store().write(MONITORS, "", "not_a_monitor", b"x").expect("write");
    let err = d.read_err(&ValueLocation::new(MONITORS, "", "not_a_monitor"));
    assert!(matches!(err, ReadError::InvalidMonitorKey { .. }), "{err}");
}

#[test]
fn a_failing_store_makes_the_update_unrecoverable() {
    let f = Fixture::new(DEFAULT_MAXIMUM_PENDING_UPDATES);
    let cm = f.chain_monitor();
    let (mut chan, monitor) = Chan::numbered(13);
    let id = chan.chan.channel_id;
    cm.watch_channel(id, monitor).expect("watched");
    // The monitor's update namespace cannot be created: a file is in the way.
    let dir = f.dir.path().join(UPDATES);
    fs::create_dir_all(&dir).expect("dir");
    fs::write(dir.join(chan.name().to_string()), b"in the way").expect("file");
    assert_eq!(cm.update_channel(id, &chan.next_update(0)), ChannelMonitorUpdateStatus::UnrecoverableError);
    let path = format!("{UPDATES}/{}/1", chan.name());
    assert_eq!(f.persister_logger.count(Level::Error, &path), 1, "the failure is logged with the file");
}
