//! [`FilesystemStore`]: a crash-safe [`KVStore`] keeping one file per key.
//!
//! # Layout
//!
//! A value lives at `data_dir/primary_namespace/secondary_namespace/key`; empty
//! namespaces are left out of the path, so the top-level keys (the manager, the
//! network graph, the scorer) sit directly in `data_dir`. The naming rules of
//! [`lightning_core::util::persist`] guarantee every component is a plain file
//! name (no `/`, no `.`, no `..`). A key and a namespace at the same level must not
//! share a name: the library's own names never do, and the store reports an error
//! rather than mixing them up.
//!
//! # Writing
//!
//! [`KVStore::write`] writes the value to a temporary file in the key's own
//! directory, named `key.VERSION.tmp` (the `.` makes it impossible to mistake for
//! a key), `fsync`s it, renames it over the key's file and `fsync`s the directory.
//! A crash at any point leaves the old value or the new one, never a torn file;
//! once `write` returns, the new value survives a power loss too (on Unix; other
//! platforms get the atomic rename but no directory flush). A leftover temporary
//! file is never listed as a key and is deleted when the store is next opened.
//!
//! # Ordering of concurrent calls
//!
//! Every `write` and `remove` takes a version number from one counter when it is
//! called. The slow part of a write (writing and flushing its temporary file) runs
//! outside any lock, so writers of the same key flush in parallel; the rename is
//! then made under the key's lock, and only if no call with a higher version has
//! already been applied to the key. A write overtaken that way deletes its
//! temporary file and reports success, as the later value it lost to is already
//! durable. So concurrent writers of one key end with one whole value, and a later
//! call is never undone by an earlier one that finished after it.
//!
//! The per-key lock and version live in memory only while a call on that key is
//! in flight: the table holds one entry per key being written or removed right
//! now, never one per key ever touched.
//!
//! # Ownership of the directory
//!
//! One `FilesystemStore` in one process owns a data directory. Two stores over the
//! same directory would not see each other's versions (and opening one deletes the
//! other's temporary files), so the ordering promise above would not hold.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lightning_core::io;
use lightning_core::sync::Mutex;
use lightning_core::util::persist::{is_valid_kvstore_str, validate_key, validate_namespace, KVStore};

/// The largest value a [`FilesystemStore`] reads or writes unless told otherwise
/// (256 MiB): enough for a mainnet network graph, small enough that a stray huge
/// file cannot exhaust memory.
pub const DEFAULT_MAX_VALUE_LEN: usize = 256 * 1024 * 1024;

/// The suffix of the temporary files a write goes through (`key.VERSION.tmp`).
pub const TEMP_FILE_SUFFIX: &str = ".tmp";

/// A [`KVStore`] keeping one file per key under a data directory, with atomic,
/// durable writes and removals. See the [module documentation](self).
pub struct FilesystemStore {
    data_dir: PathBuf,
    max_value_len: usize,
    versions: Mutex<VersionTable>,
    /// Serializes creating namespace directories, so no write can use a directory
    /// another thread has created but not yet made durable.
    dir_creation: Mutex<()>,
}

/// The version counter and the per-key state of the calls in flight.
struct VersionTable {
    next_version: u64,
    keys: HashMap<PathBuf, KeyEntry>,
}

struct KeyEntry {
    state: Arc<Mutex<KeyState>>,
    /// Calls on this key that have taken a version and not yet finished.
    in_flight: usize,
}

#[derive(Default)]
struct KeyState {
    /// The version of the last write or removal applied to the key's file.
    last_applied_version: u64,
    /// Whether the directory entry of the last applied call is known durable
    /// (its directory `fsync` succeeded). A call overtaken by a later one reports
    /// success only once this holds: otherwise a failed `fsync` of the later
    /// call would leave the earlier caller told its value was safe.
    last_applied_durable: bool,
}

impl KeyState {
    /// Called by a call that a later one overtook: makes sure what was
    /// applied is durable (retrying the directory `fsync` the later call may
    /// have failed) before the overtaken call reports success.
    fn ensure_durable(&mut self, path: &Path) -> Result<(), io::Error> {
        if self.last_applied_durable {
            return Ok(());
        }
        if let Some(dir) = path.parent() {
            fsync_dir(dir)?;
        }
        self.last_applied_durable = true;
        Ok(())
    }

    /// Records that the call of `version` was applied, and whether its
    /// directory entry is durable yet.
    fn record_applied(&mut self, version: u64, durable: bool) {
        self.last_applied_version = version;
        self.last_applied_durable = durable;
    }
}

/// One write or removal in flight: its version and its key's state. Dropping it
/// forgets the key's entry once no other call on the key is in flight.
struct KeyOp<'a> {
    store: &'a FilesystemStore,
    path: PathBuf,
    version: u64,
    state: Arc<Mutex<KeyState>>,
}

impl Drop for KeyOp<'_> {
    fn drop(&mut self) {
        let mut table = self.store.versions.lock();
        if let Some(entry) = table.keys.get_mut(&self.path) {
            entry.in_flight -= 1;
            if entry.in_flight == 0 {
                table.keys.remove(&self.path);
            }
        }
    }
}

/// Turns a filesystem error into an I/O error that names the operation and path.
fn fs_error(operation: &str, path: &Path, e: std::io::Error) -> io::Error {
    std::io::Error::new(e.kind(), format!("{operation} {}: {e}", path.display())).into()
}

/// Makes a directory's entries (a rename, a creation, a removal) durable.
#[cfg(unix)]
fn fsync_dir(dir: &Path) -> Result<(), io::Error> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| fs_error("fsync directory", dir, e))
}

/// Directories cannot be opened and flushed portably outside Unix; the rename is
/// still atomic there.
#[cfg(not(unix))]
fn fsync_dir(_dir: &Path) -> Result<(), io::Error> {
    Ok(())
}

/// Whether `name` is a temporary file of this store: `key.DIGITS.tmp`.
fn is_temp_file_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(TEMP_FILE_SUFFIX) else { return false };
    let Some((key, version)) = stem.split_once('.') else { return false };
    !key.is_empty()
        && is_valid_kvstore_str(key)
        && !version.is_empty()
        && version.bytes().all(|b| b.is_ascii_digit())
}

impl FilesystemStore {
    /// Opens (creating it if needed) a store in `data_dir`, and deletes the
    /// temporary files a crash may have left there and empty secondary
    /// namespace directories.
    pub fn new(data_dir: impl Into<PathBuf>) -> Result<Self, io::Error> {
        let data_dir = data_dir.into();
        if !data_dir.is_dir() {
            // Every directory `create_dir_all` makes must reach the disk: fsync
            // the parent of each, from the top one down.
            let created: Vec<PathBuf> = data_dir
                .ancestors()
                .take_while(|dir| !dir.as_os_str().is_empty() && !dir.exists())
                .map(Path::to_path_buf)
                .collect();
            fs::create_dir_all(&data_dir).map_err(|e| fs_error("create data directory", &data_dir, e))?;
            for dir in created.iter().rev() {
                if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                    fsync_dir(parent)?;
                }
            }
        }
        let store = FilesystemStore {
            data_dir,
            max_value_len: DEFAULT_MAX_VALUE_LEN,
            versions: Mutex::new(VersionTable { next_version: 1, keys: HashMap::new() }),
            dir_creation: Mutex::new(()),
        };
        store.remove_stale_temp_files(&store.data_dir, 0)?;
        Ok(store)
    }

    /// Sets the largest value, in bytes, this store reads or writes; larger ones
    /// are refused with an error naming the file.
    pub fn with_max_value_len(mut self, max_value_len: usize) -> Self {
        self.max_value_len = max_value_len;
        self
    }

    /// The directory this store keeps its files in.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The file that holds (or would hold) a key, after checking the names.
    pub fn key_path(
        &self, primary_namespace: &str, secondary_namespace: &str, key: &str,
    ) -> Result<PathBuf, io::Error> {
        validate_key(primary_namespace, secondary_namespace, key)?;
        let mut path = self.namespace_dir(primary_namespace, secondary_namespace);
        path.push(key);
        Ok(path)
    }

    /// The number of keys with a write or removal in flight (the size of the
    /// in-memory version table).
    pub fn keys_in_flight(&self) -> usize {
        self.versions.lock().keys.len()
    }

    fn namespace_dir(&self, primary_namespace: &str, secondary_namespace: &str) -> PathBuf {
        let mut dir = self.data_dir.clone();
        if !primary_namespace.is_empty() {
            dir.push(primary_namespace);
            if !secondary_namespace.is_empty() {
                dir.push(secondary_namespace);
            }
        }
        dir
    }

    /// Deletes `key.VERSION.tmp` files in `dir` and in the namespace directories
    /// below it (two levels), and the secondary namespace directories left empty.
    fn remove_stale_temp_files(&self, dir: &Path, depth: usize) -> Result<(), io::Error> {
        let entries = fs::read_dir(dir).map_err(|e| fs_error("list", dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| fs_error("list", dir, e))?;
            let file_type = entry.file_type().map_err(|e| fs_error("inspect", &entry.path(), e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if file_type.is_dir() && depth < 2 && is_valid_kvstore_str(name) {
                let path = entry.path();
                self.remove_stale_temp_files(&path, depth + 1)?;
                if depth == 1 {
                    // An empty secondary namespace (the update directory of a
                    // channel whose updates were all compacted or removed) is
                    // dropped, so closed channels leave no directories behind.
                    let empty = fs::read_dir(&path).map_err(|e| fs_error("list", &path, e))?.next().is_none();
                    if empty {
                        fs::remove_dir(&path).map_err(|e| fs_error("remove empty namespace", &path, e))?;
                    }
                }
            } else if file_type.is_file() && is_temp_file_name(name) {
                let path = entry.path();
                fs::remove_file(&path).map_err(|e| fs_error("remove stale temporary file", &path, e))?;
            }
        }
        Ok(())
    }

    /// Creates the namespace directories of a key if they are missing, making
    /// each creation durable before any file is written into it.
    fn ensure_namespace_dir(
        &self, primary_namespace: &str, secondary_namespace: &str,
    ) -> Result<PathBuf, io::Error> {
        let _guard = self.dir_creation.lock();
        let mut dir = self.data_dir.clone();
        for component in [primary_namespace, secondary_namespace] {
            if component.is_empty() {
                break;
            }
            let parent = dir.clone();
            dir.push(component);
            match fs::metadata(&dir) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("{} is a key, cannot use it as a namespace", dir.display()),
                    ))
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    fs::create_dir(&dir).map_err(|e| fs_error("create namespace directory", &dir, e))?;
                    fsync_dir(&parent)?;
                }
                Err(e) => return Err(fs_error("inspect", &dir, e)),
            }
        }
        Ok(dir)
    }

    /// Registers a write or removal of the key at `path` and gives it the next
    /// version. Taking the version and registering happen under one lock, so a
    /// key's entry can only be forgotten when no call holding an older version is
    /// still in flight.
    fn begin_op(&self, path: PathBuf) -> KeyOp<'_> {
        let mut table = self.versions.lock();
        let version = table.next_version;
        // 2^64 calls cannot happen; should they, versions stop growing rather
        // than wrap, and equal versions keep the first applied value.
        table.next_version = table.next_version.saturating_add(1);
        let entry = table
            .keys
            .entry(path.clone())
            .or_insert_with(|| KeyEntry { state: Arc::new(Mutex::new(KeyState::default())), in_flight: 0 });
        entry.in_flight += 1;
        let state = Arc::clone(&entry.state);
        KeyOp { store: self, path, version, state }
    }

    /// Writes `buf` to the temporary file of version `op.version` and flushes it.
    fn write_temp_file(&self, dir: &Path, key: &str, version: u64, buf: &[u8]) -> Result<PathBuf, io::Error> {
        let tmp_path = dir.join(format!("{key}.{version}{TEMP_FILE_SUFFIX}"));
        let result = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp_path).and_then(
            |mut file| {
                file.write_all(buf)?;
                file.sync_all()
            },
        );
        match result {
            Ok(()) => Ok(tmp_path),
            Err(e) => {
                let _ = fs::remove_file(&tmp_path);
                Err(fs_error("write temporary file", &tmp_path, e))
            }
        }
    }

    /// Renames a flushed temporary file over the key's file, unless a later call
    /// has already been applied to the key, and makes the rename durable.
    fn commit_temp_file(&self, op: &KeyOp<'_>, tmp_path: &Path) -> Result<(), io::Error> {
        let mut state = op.state.lock();
        if op.version <= state.last_applied_version {
            // Overtaken by a later write or removal: done once that is durable.
            let _ = fs::remove_file(tmp_path);
            return state.ensure_durable(&op.path);
        }
        if let Err(e) = fs::rename(tmp_path, &op.path) {
            let _ = fs::remove_file(tmp_path);
            return Err(fs_error("rename temporary file over", &op.path, e));
        }
        state.record_applied(op.version, false);
        state.ensure_durable(&op.path)
    }

    /// Removes the key's file, unless a later call has already been applied to
    /// the key, and (unless `lazy`) makes the removal durable.
    fn apply_removal(&self, op: &KeyOp<'_>, lazy: bool) -> Result<(), io::Error> {
        let mut state = op.state.lock();
        if op.version <= state.last_applied_version {
            // A later write or removal was already applied: done once that is
            // durable (a lazy removal promises no durability).
            return if lazy { Ok(()) } else { state.ensure_durable(&op.path) };
        }
        match fs::remove_file(&op.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Nothing changed on disk by this call; whatever was applied
                // before must still be durable for a non-lazy removal.
                state.last_applied_version = op.version;
                return if lazy { Ok(()) } else { state.ensure_durable(&op.path) };
            }
            Err(e) => return Err(fs_error("remove", &op.path, e)),
        }
        state.record_applied(op.version, false);
        if lazy {
            Ok(())
        } else {
            state.ensure_durable(&op.path)
        }
    }
}

impl KVStore for FilesystemStore {
    fn read(
        &self, primary_namespace: &str, secondary_namespace: &str, key: &str,
    ) -> Result<Vec<u8>, io::Error> {
        let path = self.key_path(primary_namespace, secondary_namespace, key)?;
        let file = File::open(&path).map_err(|e| fs_error("open", &path, e))?;
        let meta = file.metadata().map_err(|e| fs_error("inspect", &path, e))?;
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} is a namespace directory, not a key", path.display()),
            ));
        }
        let too_large = |len: u64| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} holds {len} bytes, more than the store's limit of {}",
                    path.display(),
                    self.max_value_len
                ),
            )
        };
        let limit = u64::try_from(self.max_value_len).unwrap_or(u64::MAX);
        if meta.len() > limit {
            return Err(too_large(meta.len()));
        }
        let mut buf = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        // The file is only ever replaced by a rename, never grown in place; the
        // limit still holds should something else append to it.
        file.take(limit.saturating_add(1)).read_to_end(&mut buf).map_err(|e| fs_error("read", &path, e))?;
        if buf.len() > self.max_value_len {
            return Err(too_large(buf.len() as u64));
        }
        Ok(buf)
    }

    fn write(
        &self, primary_namespace: &str, secondary_namespace: &str, key: &str, buf: &[u8],
    ) -> Result<(), io::Error> {
        let path = self.key_path(primary_namespace, secondary_namespace, key)?;
        if buf.len() > self.max_value_len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "refusing to write {} bytes to {}, more than the store's limit of {}",
                    buf.len(),
                    path.display(),
                    self.max_value_len
                ),
            ));
        }
        let op = self.begin_op(path);
        let dir = self.ensure_namespace_dir(primary_namespace, secondary_namespace)?;
        let tmp_path = self.write_temp_file(&dir, key, op.version, buf)?;
        self.commit_temp_file(&op, &tmp_path)
    }

    fn remove(
        &self, primary_namespace: &str, secondary_namespace: &str, key: &str, lazy: bool,
    ) -> Result<(), io::Error> {
        let path = self.key_path(primary_namespace, secondary_namespace, key)?;
        let op = self.begin_op(path);
        self.apply_removal(&op, lazy)
    }

    fn list(&self, primary_namespace: &str, secondary_namespace: &str) -> Result<Vec<String>, io::Error> {
        validate_namespace(primary_namespace, secondary_namespace)?;
        let dir = self.namespace_dir(primary_namespace, secondary_namespace);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            // A namespace nothing was written to, or whose name is taken by a key.
            Err(_) if !dir.is_dir() => return Ok(Vec::new()),
            Err(e) => return Err(fs_error("list", &dir, e)),
        };
        let mut keys = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| fs_error("list", &dir, e))?;
            let file_type = entry.file_type().map_err(|e| fs_error("inspect", &entry.path(), e))?;
            if !file_type.is_file() {
                // Secondary namespaces (and anything else that is not a file).
                continue;
            }
            let name = entry.file_name();
            // Temporary files hold a `.`, so they never pass as keys; neither do
            // files some other program left here.
            if let Some(name) = name.to_str().filter(|n| !n.is_empty() && is_valid_kvstore_str(n)) {
                keys.push(name.to_owned());
            }
        }
        keys.sort_unstable();
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, FilesystemStore) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = FilesystemStore::new(dir.path().join("data")).expect("open store");
        (dir, store)
    }

    #[test]
    fn write_read_list_remove_round_trip() {
        let (_dir, store) = store();
        assert_eq!(store.read("", "", "manager").map_err(|e| e.kind()), Err(io::ErrorKind::NotFound));
        store.write("", "", "manager", b"m1").expect("write");
        store.write("monitors", "", "chan_b", b"mon b").expect("write");
        store.write("monitors", "", "chan_a", b"mon a").expect("write");
        store.write("monitor_updates", "chan_a", "7", b"upd 7").expect("write");
        store.write("", "", "manager", b"m2").expect("overwrite");

        assert_eq!(store.read("", "", "manager").expect("read"), b"m2");
        assert_eq!(store.read("monitors", "", "chan_a").expect("read"), b"mon a");
        assert_eq!(store.read("monitor_updates", "chan_a", "7").expect("read"), b"upd 7");
        assert_eq!(
            fs::read(store.data_dir().join("monitor_updates").join("chan_a").join("7")).expect("file"),
            b"upd 7"
        );

        // Namespace directories are not keys.
        assert_eq!(store.list("", "").expect("list"), vec!["manager"]);
        assert_eq!(store.list("monitors", "").expect("list"), vec!["chan_a", "chan_b"]);
        assert_eq!(store.list("monitor_updates", "").expect("list"), Vec::<String>::new());
        assert_eq!(store.list("monitor_updates", "chan_a").expect("list"), vec!["7"]);
        assert_eq!(store.list("nothing", "here").expect("list"), Vec::<String>::new());

        store.remove("monitors", "", "chan_a", false).expect("remove");
        store.remove("monitors", "", "chan_a", false).expect("removing a missing key succeeds");
        store.remove("monitor_updates", "chan_a", "7", true).expect("lazy remove");
        assert_eq!(store.list("monitors", "").expect("list"), vec!["chan_b"]);
        assert_eq!(store.list("monitor_updates", "chan_a").expect("list"), Vec::<String>::new());
        assert_eq!(store.read("monitors", "", "chan_a").map_err(|e| e.kind()), Err(io::ErrorKind::NotFound));
        assert_eq!(store.keys_in_flight(), 0);
    }

    #[test]
    fn reopening_drops_empty_secondary_namespaces_and_creates_nested_data_dirs() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let data_dir = dir.path().join("a").join("b").join("data");
        let store = FilesystemStore::new(&data_dir).expect("open store, creating three levels");
        store.write("monitor_updates", "closed", "1", b"u1").expect("write");
        store.write("monitor_updates", "open", "2", b"u2").expect("write");
        store.remove("monitor_updates", "closed", "1", true).expect("lazy remove");
        assert!(data_dir.join("monitor_updates").join("closed").is_dir());
        drop(store);

        let store = FilesystemStore::new(&data_dir).expect("reopen");
        assert!(!data_dir.join("monitor_updates").join("closed").exists(), "empty namespace left behind");
        assert_eq!(store.read("monitor_updates", "open", "2").expect("read"), b"u2");
        assert_eq!(store.list("monitor_updates", "closed").expect("list"), Vec::<String>::new());
        // The namespace comes back on the next write.
        store.write("monitor_updates", "closed", "3", b"u3").expect("write");
        assert_eq!(store.list("monitor_updates", "closed").expect("list"), vec!["3"]);
    }

    #[test]
    fn empty_values_round_trip() {
        let (_dir, store) = store();
        store.write("p", "", "empty", b"").expect("write");
        assert_eq!(store.read("p", "", "empty").expect("read"), b"");
        assert_eq!(store.list("p", "").expect("list"), vec!["empty"]);
    }

    #[test]
    fn every_method_rejects_invalid_names_without_touching_the_disk() {
        let (_dir, store) = store();
        let bad: &[(&str, &str, &str)] = &[
            ("", "", ""),
            ("", "", ".."),
            ("", "", "."),
            ("..", "", "k"),
            ("p", "..", "k"),
            ("", "", "../escape"),
            ("", "", "a/b"),
            ("", "s", "k"),
            ("p", "", "k.tmp"),
            ("p", "", "k.1.tmp"),
        ];
        let long = "k".repeat(121);
        let long_cases = [(long.as_str(), "", "k"), ("p", long.as_str(), "k"), ("p", "s", long.as_str())];
        for &(p, s, k) in bad.iter().chain(long_cases.iter()) {
            let what = format!("({p:?}, {s:?}, {k:?})");
            assert_eq!(
                store.write(p, s, k, b"x").map_err(|e| e.kind()),
                Err(io::ErrorKind::InvalidInput),
                "{what}"
            );
            assert_eq!(store.read(p, s, k).map_err(|e| e.kind()), Err(io::ErrorKind::InvalidInput), "{what}");
            assert_eq!(
                store.remove(p, s, k, false).map_err(|e| e.kind()),
                Err(io::ErrorKind::InvalidInput),
                "{what}"
            );
            assert_eq!(
                store.key_path(p, s, k).map_err(|e| e.kind()),
                Err(io::ErrorKind::InvalidInput),
                "{what}"
            );
        }
        for (p, s) in [("..", ""), ("p", ".."), ("", "s"), ("a/b", ""), (long.as_str(), "")] {
            assert_eq!(
                store.list(p, s).map_err(|e| e.kind()),
                Err(io::ErrorKind::InvalidInput),
                "({p:?}, {s:?})"
            );
        }
        // Nothing was created, inside or beside the data directory.
        assert_eq!(fs::read_dir(store.data_dir()).expect("data dir").count(), 0);
        let parent = store.data_dir().parent().expect("parent");
        assert_eq!(fs::read_dir(parent).expect("parent").count(), 1);
    }

    #[test]
    fn temporary_files_are_not_keys_and_are_removed_on_open() {
        let (dir, store) = store();
        store.write("p", "s", "k", b"value").expect("write");
        store.write("", "", "top", b"value").expect("write");
        let ns_dir = store.data_dir().join("p").join("s");
        // What a crash between creating and renaming a temporary file leaves.
        fs::write(ns_dir.join("k.17.tmp"), b"torn").expect("plant");
        fs::write(ns_dir.join("new.3.tmp"), b"torn").expect("plant");
        fs::write(store.data_dir().join("top.9.tmp"), b"torn").expect("plant");
        // Files that are neither keys nor ours.
        fs::write(ns_dir.join("README.txt"), b"foreign").expect("plant");
        fs::write(ns_dir.join("notes.tmp"), b"foreign").expect("plant");
        assert_eq!(store.list("p", "s").expect("list"), vec!["k"]);
        assert_eq!(store.list("", "").expect("list"), vec!["top"]);
        drop(store);

        let store = FilesystemStore::new(dir.path().join("data")).expect("reopen");
        let mut left: Vec<String> = fs::read_dir(&ns_dir)
            .expect("namespace dir")
            .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
            .collect();
        left.sort();
        assert_eq!(left, vec!["README.txt", "k", "notes.tmp"]);
        assert!(!store.data_dir().join("top.9.tmp").exists());
        assert_eq!(store.read("p", "s", "k").expect("read"), b"value");
    }

    #[test]
    fn temp_file_names_are_recognised_strictly() {
        assert!(is_temp_file_name("k.1.tmp"));
        assert!(is_temp_file_name("chan_a-1.18446744073709551615.tmp"));
        assert!(!is_temp_file_name("k.tmp"));
        assert!(!is_temp_file_name(".1.tmp"));
        assert!(!is_temp_file_name("k..tmp"));
        assert!(!is_temp_file_name("k.1x.tmp"));
        assert!(!is_temp_file_name("k/x.1.tmp"));
        assert!(!is_temp_file_name("k.1.tmpx"));
    }

    #[test]
    fn key_and_namespace_of_the_same_name_are_kept_apart() {
        let (_dir, store) = store();
        store.write("clash", "", "k", b"in namespace").expect("write");
        // A top-level key named like an existing namespace directory.
        let err = store.write("", "", "clash", b"x").expect_err("directory in the way");
        assert!(err.to_string().contains("clash"), "{err}");
        assert_eq!(store.read("", "", "clash").map_err(|e| e.kind()), Err(io::ErrorKind::NotFound));
        // A namespace named like an existing key.
        store.write("", "", "key1", b"x").expect("write");
        let err = store.write("key1", "", "k", b"x").expect_err("file in the way");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(store.list("key1", "").expect("list"), Vec::<String>::new());
        assert_eq!(store.read("clash", "", "k").expect("read"), b"in namespace");
        assert_eq!(store.read("", "", "key1").expect("read"), b"x");
        assert_eq!(store.keys_in_flight(), 0);
    }

    #[test]
    fn values_over_the_limit_are_refused_naming_the_file() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = FilesystemStore::new(dir.path()).expect("open").with_max_value_len(16);
        store.write("p", "", "k", &[7u8; 16]).expect("at the limit");
        let err = store.write("p", "", "k", &[7u8; 17]).expect_err("over the limit");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(store.read("p", "", "k").expect("old value kept"), [7u8; 16]);
        fs::write(dir.path().join("p").join("k"), [1u8; 40]).expect("grow behind the store's back");
        let err = store.read("p", "", "k").expect_err("over the limit");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains(&dir.path().join("p").join("k").display().to_string()), "{err}");
        assert!(err.to_string().contains("40 bytes"), "{err}");
    }

    #[test]
    fn an_overtaken_write_is_discarded() {
        let (_dir, store) = store();
        let dir = store.ensure_namespace_dir("p", "").expect("dir");
        let path = store.key_path("p", "", "k").expect("path");
        // Two writes of one key take versions in call order...
        let earlier = store.begin_op(path.clone());
        let later = store.begin_op(path.clone());
        assert!(earlier.version < later.version);
        assert_eq!(store.keys_in_flight(), 1);
        let earlier_tmp = store.write_temp_file(&dir, "k", earlier.version, b"earlier").expect("tmp");
        let later_tmp = store.write_temp_file(&dir, "k", later.version, b"later").expect("tmp");
        // ...but the later one reaches the rename first.
        store.commit_temp_file(&later, &later_tmp).expect("commit later");
        store.commit_temp_file(&earlier, &earlier_tmp).expect("overtaken commit reports success");
        assert_eq!(store.read("p", "", "k").expect("read"), b"later");
        assert!(!earlier_tmp.exists(), "the overtaken temporary file is deleted");
        drop(earlier);
        assert_eq!(store.keys_in_flight(), 1, "still one call in flight");
        drop(later);
        assert_eq!(store.keys_in_flight(), 0, "the entry is forgotten once idle");
    }

    #[test]
    fn an_overtaken_write_does_not_undo_a_later_removal() {
        let (_dir, store) = store();
        store.write("p", "", "k", b"old").expect("write");
        let dir = store.ensure_namespace_dir("p", "").expect("dir");
        let path = store.key_path("p", "", "k").expect("path");
        let write = store.begin_op(path);
        let tmp = store.write_temp_file(&dir, "k", write.version, b"stale").expect("tmp");
        // A removal called after the write started, applied before it commits.
        store.remove("p", "", "k", false).expect("remove");
        store.commit_temp_file(&write, &tmp).expect("overtaken");
        drop(write);
        assert_eq!(store.read("p", "", "k").map_err(|e| e.kind()), Err(io::ErrorKind::NotFound));
        assert_eq!(store.list("p", "").expect("list"), Vec::<String>::new());
    }

    #[test]
    fn an_overtaken_removal_does_not_delete_a_later_write() {
        let (_dir, store) = store();
        store.write("p", "", "k", b"old").expect("write");
        let path = store.key_path("p", "", "k").expect("path");
        let removal = store.begin_op(path);
        store.write("p", "", "k", b"new").expect("later write");
        store.apply_removal(&removal, false).expect("overtaken removal reports success");
        drop(removal);
        assert_eq!(store.read("p", "", "k").expect("read"), b"new");
    }
}
