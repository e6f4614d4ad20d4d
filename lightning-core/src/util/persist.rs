//! The key-value store everything that must survive a restart is written through.
//!
//! [`KVStore`] is a small, synchronous interface over a two-level namespace: a value
//! lives at `(primary_namespace, secondary_namespace, key)`. The core never touches
//! a disk itself; `lightning-persister` provides a crash-safe filesystem store, and a
//! user may bring any other (a database, a remote service) as long as it keeps the
//! contract documented on the trait.
//!
//! # Names
//!
//! Namespaces and keys follow one set of rules, checked by [`validate_key`] and
//! [`validate_namespace`], which every store calls before it touches its medium:
//!
//! - only ASCII letters, digits, `-` and `_` ([`KVSTORE_NAMESPACE_KEY_ALPHABET`]): no
//!   `/`, no `.` (so never `..`), no spaces, no control or non-ASCII characters. A
//!   store may therefore map names straight onto path components, and may use `.` in
//!   names of its own (temporary files, say) knowing no key can collide with them;
//! - at most [`KVSTORE_NAMESPACE_KEY_MAX_LEN`] (120) bytes each;
//! - a key is never empty; namespaces may be empty (the empty primary namespace is
//!   the top level), but a non-empty secondary namespace requires a non-empty
//!   primary one.
//!
//! Names are case-sensitive. A store on a case-insensitive medium must not be given
//! two names that differ only in case; the names this library uses are lower-case
//! or hex, so it never does that itself.
//!
//! # The library's own keys
//!
//! The constants below name where the library keeps its state, so that every
//! persister and every start-up routine agree on them.

use crate::io;
use crate::prelude::*;

use core::fmt;

/// The characters allowed in namespaces and keys: ASCII letters, digits, `-`, `_`.
pub const KVSTORE_NAMESPACE_KEY_ALPHABET: &str =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";

/// The longest namespace or key, in bytes (all allowed characters are one byte).
pub const KVSTORE_NAMESPACE_KEY_MAX_LEN: usize = 120;

/// Primary namespace of the full channel monitors, one key per monitor.
pub const CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE: &str = "monitors";
/// Secondary namespace of the full channel monitors (none).
pub const CHANNEL_MONITOR_PERSISTENCE_SECONDARY_NAMESPACE: &str = "";

/// Primary namespace of the channel monitor updates not yet folded into a full
/// monitor. The secondary namespace is the monitor's key (its name under
/// [`CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE`]), and each update's key is its
/// update id in decimal.
pub const CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE: &str = "monitor_updates";

/// Primary namespace of the serialized `ChannelManager` (the top level).
pub const CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE: &str = "";
/// Secondary namespace of the serialized `ChannelManager` (none).
pub const CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE: &str = "";
/// Key of the serialized `ChannelManager`.
pub const CHANNEL_MANAGER_PERSISTENCE_KEY: &str = "manager";

/// Primary namespace of the serialized `NetworkGraph` (the top level).
pub const NETWORK_GRAPH_PERSISTENCE_PRIMARY_NAMESPACE: &str = "";
/// Secondary namespace of the serialized `NetworkGraph` (none).
pub const NETWORK_GRAPH_PERSISTENCE_SECONDARY_NAMESPACE: &str = "";
/// Key of the serialized `NetworkGraph`.
pub const NETWORK_GRAPH_PERSISTENCE_KEY: &str = "network_graph";

/// Primary namespace of the serialized scorer (the top level).
pub const SCORER_PERSISTENCE_PRIMARY_NAMESPACE: &str = "";
/// Secondary namespace of the serialized scorer (none).
pub const SCORER_PERSISTENCE_SECONDARY_NAMESPACE: &str = "";
/// Key of the serialized scorer.
pub const SCORER_PERSISTENCE_KEY: &str = "scorer";

/// A durable key-value store over a two-level namespace.
///
/// The contract every implementation keeps:
///
/// - every method first checks its names with [`validate_key`] or
///   [`validate_namespace`] and fails with [`io::ErrorKind::InvalidInput`] when they
///   break the rules in the [module documentation](self);
/// - [`write`](Self::write) is atomic and durable: once it returns `Ok`, a crash
///   (of the process or of the machine) leaves either that value or a later one,
///   never a mix of old and new bytes;
/// - writes and removals of one key take effect in the order they were called: a
///   call that started later is never undone by an earlier one finishing after it,
///   even when several threads write the same key at once;
/// - [`read`](Self::read) of a missing key fails with [`io::ErrorKind::NotFound`];
/// - [`remove`](Self::remove) of a missing key succeeds;
/// - [`list`](Self::list) returns the keys of one namespace pair (not the secondary
///   namespaces below a primary one), in no promised order.
pub trait KVStore {
    /// Returns the value stored under `key`, or an error of kind
    /// [`io::ErrorKind::NotFound`] if there is none.
    fn read(
        &self, primary_namespace: &str, secondary_namespace: &str, key: &str,
    ) -> Result<Vec<u8>, io::Error>;

    /// Stores `buf` under `key`, replacing any previous value, atomically and
    /// durably.
    fn write(
        &self, primary_namespace: &str, secondary_namespace: &str, key: &str, buf: &[u8],
    ) -> Result<(), io::Error>;

    /// Removes `key`. Removing a missing key succeeds.
    ///
    /// With `lazy` set the removal need not be durable when this returns: after a
    /// crash the key may still be there. Callers use it for values whose
    /// reappearance is harmless (an update already folded into a full monitor, for
    /// example), which lets the store skip a flush.
    fn remove(
        &self, primary_namespace: &str, secondary_namespace: &str, key: &str, lazy: bool,
    ) -> Result<(), io::Error>;

    /// Lists the keys stored directly in the given namespace pair. A namespace that
    /// holds nothing yields an empty list.
    fn list(&self, primary_namespace: &str, secondary_namespace: &str) -> Result<Vec<String>, io::Error>;
}

impl<K: KVStore + ?Sized> KVStore for &K {
    fn read(
        &self, primary_namespace: &str, secondary_namespace: &str, key: &str,
    ) -> Result<Vec<u8>, io::Error> {
        (**self).read(primary_namespace, secondary_namespace, key)
    }
    fn write(
        &self, primary_namespace: &str, secondary_namespace: &str, key: &str, buf: &[u8],
    ) -> Result<(), io::Error> {
        (**self).write(primary_namespace, secondary_namespace, key, buf)
    }
    fn remove(
        &self, primary_namespace: &str, secondary_namespace: &str, key: &str, lazy: bool,
    ) -> Result<(), io::Error> {
        (**self).remove(primary_namespace, secondary_namespace, key, lazy)
    }
    fn list(&self, primary_namespace: &str, secondary_namespace: &str) -> Result<Vec<String>, io::Error> {
        (**self).list(primary_namespace, secondary_namespace)
    }
}

impl<K: KVStore + ?Sized> KVStore for alloc::sync::Arc<K> {
    fn read(
        &self, primary_namespace: &str, secondary_namespace: &str, key: &str,
    ) -> Result<Vec<u8>, io::Error> {
        (**self).read(primary_namespace, secondary_namespace, key)
    }
    fn write(
        &self, primary_namespace: &str, secondary_namespace: &str, key: &str, buf: &[u8],
    ) -> Result<(), io::Error> {
        (**self).write(primary_namespace, secondary_namespace, key, buf)
    }
    fn remove(
        &self, primary_namespace: &str, secondary_namespace: &str, key: &str, lazy: bool,
    ) -> Result<(), io::Error> {
        (**self).remove(primary_namespace, secondary_namespace, key, lazy)
    }
    fn list(&self, primary_namespace: &str, secondary_namespace: &str) -> Result<Vec<String>, io::Error> {
        (**self).list(primary_namespace, secondary_namespace)
    }
}

/// Which part of a `(primary_namespace, secondary_namespace, key)` triple a
/// [`KVStoreNameError`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameComponent {
    /// The primary namespace.
    PrimaryNamespace,
    /// The secondary namespace.
    SecondaryNamespace,
    /// The key.
    Key,
}

impl fmt::Display for NameComponent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameComponent::PrimaryNamespace => "primary namespace",
            NameComponent::SecondaryNamespace => "secondary namespace",
            NameComponent::Key => "key",
        })
    }
}

/// Why a namespace or key breaks the naming rules of the
/// [module documentation](self).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KVStoreNameError {
    /// The key is empty.
    EmptyKey,
    /// A secondary namespace was given without a primary one.
    SecondaryNamespaceWithoutPrimary,
    /// A name is longer than [`KVSTORE_NAMESPACE_KEY_MAX_LEN`] bytes.
    TooLong {
        /// The offending name.
        component: NameComponent,
        /// Its length in bytes.
        len: usize,
    },
    /// A name holds a character outside [`KVSTORE_NAMESPACE_KEY_ALPHABET`].
    InvalidCharacter {
        /// The offending name.
        component: NameComponent,
        /// The first character not allowed.
        character: char,
        /// Its byte offset in the name.
        byte_offset: usize,
    },
}

impl fmt::Display for KVStoreNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KVStoreNameError::EmptyKey => f.write_str("key is empty"),
            KVStoreNameError::SecondaryNamespaceWithoutPrimary => {
                f.write_str("secondary namespace given without a primary namespace")
            }
            KVStoreNameError::TooLong { component, len } => write!(
                f,
                "{component} is {len} bytes long, the limit is {KVSTORE_NAMESPACE_KEY_MAX_LEN}"
            ),
            KVStoreNameError::InvalidCharacter { component, character, byte_offset } => write!(
                f,
                "{component} holds {character:?} at byte {byte_offset}; only ASCII letters, digits, '-' and '_' are allowed"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for KVStoreNameError {}

impl From<KVStoreNameError> for io::Error {
    fn from(e: KVStoreNameError) -> io::Error {
        #[cfg(feature = "std")]
        {
            io::Error::new(io::ErrorKind::InvalidInput, e)
        }
        #[cfg(not(feature = "std"))]
        {
            io::Error::new(io::ErrorKind::InvalidInput, e.to_string())
        }
    }
}

fn is_allowed_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Checks one name against the length and alphabet rules (the empty name passes).
fn check_name(name: &str, component: NameComponent) -> Result<(), KVStoreNameError> {
    if name.len() > KVSTORE_NAMESPACE_KEY_MAX_LEN {
        return Err(KVStoreNameError::TooLong { component, len: name.len() });
    }
    match name.char_indices().find(|&(_, c)| !(c.is_ascii() && is_allowed_char(c as u8))) {
        Some((byte_offset, character)) => {
            Err(KVStoreNameError::InvalidCharacter { component, character, byte_offset })
        }
        None => Ok(()),
    }
}

/// Returns whether `name` is made only of allowed characters and is at most
/// [`KVSTORE_NAMESPACE_KEY_MAX_LEN`] bytes long. The empty string passes: use
/// [`validate_key`] for a key, which must not be empty.
pub fn is_valid_kvstore_str(name: &str) -> bool {
    name.len() <= KVSTORE_NAMESPACE_KEY_MAX_LEN && name.bytes().all(is_allowed_char)
}

/// Checks a namespace pair (as given to [`KVStore::list`]) against the rules.
pub fn validate_namespace(
    primary_namespace: &str, secondary_namespace: &str,
) -> Result<(), KVStoreNameError> {
    check_name(primary_namespace, NameComponent::PrimaryNamespace)?;
    check_name(secondary_namespace, NameComponent::SecondaryNamespace)?;
    if primary_namespace.is_empty() && !secondary_namespace.is_empty() {
        return Err(KVStoreNameError::SecondaryNamespaceWithoutPrimary);
    }
    Ok(())
}

/// Checks a full `(primary_namespace, secondary_namespace, key)` triple (as given to
/// [`KVStore::read`], [`KVStore::write`] and [`KVStore::remove`]) against the rules.
pub fn validate_key(
    primary_namespace: &str, secondary_namespace: &str, key: &str,
) -> Result<(), KVStoreNameError> {
    validate_namespace(primary_namespace, secondary_namespace)?;
    if key.is_empty() {
        return Err(KVStoreNameError::EmptyKey);
    }
    check_name(key, NameComponent::Key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphabet_constant_matches_the_check() {
        assert_eq!(KVSTORE_NAMESPACE_KEY_ALPHABET.len(), 64);
        for b in 0u8..=255 {
            let in_alphabet = KVSTORE_NAMESPACE_KEY_ALPHABET.as_bytes().contains(&b);
            assert_eq!(is_allowed_char(b), in_alphabet, "byte {b:#04x}");
        }
    }

    #[test]
    fn accepts_well_formed_names() {
        assert_eq!(validate_key("", "", "manager"), Ok(()));
        assert_eq!(validate_key("monitors", "", "abc_0"), Ok(()));
        assert_eq!(validate_key("monitor_updates", "abc-DEF_09", "18446744073709551615"), Ok(()));
        let longest = "a".repeat(KVSTORE_NAMESPACE_KEY_MAX_LEN);
        assert_eq!(validate_key(&longest, &longest, &longest), Ok(()));
        assert_eq!(validate_namespace("", ""), Ok(()));
        assert_eq!(validate_namespace("monitors", ""), Ok(()));
        assert!(is_valid_kvstore_str(""));
        assert!(is_valid_kvstore_str(KVSTORE_NAMESPACE_KEY_ALPHABET));
    }

    #[test]
    fn rejects_empty_key() {
        assert_eq!(validate_key("", "", ""), Err(KVStoreNameError::EmptyKey));
        assert_eq!(validate_key("monitors", "x", ""), Err(KVStoreNameError::EmptyKey));
    }

    #[test]
    fn rejects_secondary_without_primary() {
        assert_eq!(validate_key("", "sub", "k"), Err(KVStoreNameError::SecondaryNamespaceWithoutPrimary));
        assert_eq!(validate_namespace("", "sub"), Err(KVStoreNameError::SecondaryNamespaceWithoutPrimary));
    }

    #[test]
    fn rejects_over_long_names_in_each_position() {
        let long = "a".repeat(KVSTORE_NAMESPACE_KEY_MAX_LEN + 1);
        let too_long = |component| Err(KVStoreNameError::TooLong { component, len: long.len() });
        assert_eq!(validate_key(&long, "", "k"), too_long(NameComponent::PrimaryNamespace));
        assert_eq!(validate_key("p", &long, "k"), too_long(NameComponent::SecondaryNamespace));
        assert_eq!(validate_key("p", "s", &long), too_long(NameComponent::Key));
        assert!(!is_valid_kvstore_str(&long));
    }

    #[test]
    fn rejects_path_traversal_and_separators() {
        let cases: &[(&str, &str, &str, NameComponent, char, usize)] = &[
            ("", "", "..", NameComponent::Key, '.', 0),
            ("", "", ".", NameComponent::Key, '.', 0),
            ("..", "", "k", NameComponent::PrimaryNamespace, '.', 0),
            ("p", "..", "k", NameComponent::SecondaryNamespace, '.', 0),
            ("", "", "a/b", NameComponent::Key, '/', 1),
            ("", "", "/etc", NameComponent::Key, '/', 0),
            ("p/q", "", "k", NameComponent::PrimaryNamespace, '/', 1),
            ("", "", "a\\b", NameComponent::Key, '\\', 1),
            ("", "", "k.tmp", NameComponent::Key, '.', 1),
            ("", "", "a b", NameComponent::Key, ' ', 1),
            ("", "", "nul\0", NameComponent::Key, '\0', 3),
            ("", "", "new\nline", NameComponent::Key, '\n', 3),
            ("", "", "caf\u{e9}", NameComponent::Key, '\u{e9}', 3),
            ("p", "s", "~", NameComponent::Key, '~', 0),
            ("p", "s", "a:b", NameComponent::Key, ':', 1),
        ];
        for &(p, s, k, component, character, byte_offset) in cases {
            assert_eq!(
                validate_key(p, s, k),
                Err(KVStoreNameError::InvalidCharacter { component, character, byte_offset }),
                "({p:?}, {s:?}, {k:?})"
            );
        }
        assert!(!is_valid_kvstore_str(".."));
        assert!(!is_valid_kvstore_str("a/b"));
    }

    #[test]
    fn library_keys_are_valid() {
        for (p, s, k) in [
            (
                CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
                CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
                CHANNEL_MANAGER_PERSISTENCE_KEY,
            ),
            (
                NETWORK_GRAPH_PERSISTENCE_PRIMARY_NAMESPACE,
                NETWORK_GRAPH_PERSISTENCE_SECONDARY_NAMESPACE,
                NETWORK_GRAPH_PERSISTENCE_KEY,
            ),
            (
                SCORER_PERSISTENCE_PRIMARY_NAMESPACE,
                SCORER_PERSISTENCE_SECONDARY_NAMESPACE,
                SCORER_PERSISTENCE_KEY,
            ),
            (
                CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE,
                CHANNEL_MONITOR_PERSISTENCE_SECONDARY_NAMESPACE,
                "m",
            ),
            (CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE, "m", "1"),
        ] {
            assert_eq!(validate_key(p, s, k), Ok(()), "({p:?}, {s:?}, {k:?})");
        }
        // The top-level keys must not collide with the namespace directories a
        // path-mapping store creates beside them.
        let top_level =
            [CHANNEL_MANAGER_PERSISTENCE_KEY, NETWORK_GRAPH_PERSISTENCE_KEY, SCORER_PERSISTENCE_KEY];
        for ns in [
            CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE,
            CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE,
        ] {
            assert!(!top_level.contains(&ns));
        }
    }

    #[test]
    fn name_errors_become_invalid_input_io_errors() {
        let e: io::Error = KVStoreNameError::EmptyKey.into();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let shown = format!(
            "{}",
            KVStoreNameError::InvalidCharacter {
                component: NameComponent::Key,
                character: '/',
                byte_offset: 1,
            }
        );
        assert!(shown.contains("key holds '/' at byte 1"), "{shown}");
    }

    /// A store kept in memory, to check the blanket impls forward every call.
    struct MemStore(crate::sync::Mutex<BTreeMap<(String, String, String), Vec<u8>>>);

    impl KVStore for MemStore {
        fn read(&self, p: &str, s: &str, k: &str) -> Result<Vec<u8>, io::Error> {
            validate_key(p, s, k)?;
            self.0.lock().get(&(p.into(), s.into(), k.into())).cloned().ok_or(io::ErrorKind::NotFound.into())
        }
        fn write(&self, p: &str, s: &str, k: &str, buf: &[u8]) -> Result<(), io::Error> {
            validate_key(p, s, k)?;
            self.0.lock().insert((p.into(), s.into(), k.into()), buf.to_vec());
            Ok(())
        }
        fn remove(&self, p: &str, s: &str, k: &str, _lazy: bool) -> Result<(), io::Error> {
            validate_key(p, s, k)?;
            self.0.lock().remove(&(p.into(), s.into(), k.into()));
            Ok(())
        }
        fn list(&self, p: &str, s: &str) -> Result<Vec<String>, io::Error> {
            validate_namespace(p, s)?;
            Ok(self
                .0
                .lock()
                .keys()
                .filter(|(kp, ks, _)| kp == p && ks == s)
                .map(|(_, _, k)| k.clone())
                .collect())
        }
    }

    fn exercise<K: KVStore>(store: K) {
        store.write("p", "s", "k", b"v").expect("valid write");
        assert_eq!(store.read("p", "s", "k").expect("present"), b"v");
        assert_eq!(store.list("p", "s").expect("valid list"), vec!["k".to_string()]);
        assert_eq!(store.read("p", "s", "../k").map_err(|e| e.kind()), Err(io::ErrorKind::InvalidInput));
        store.remove("p", "s", "k", false).expect("valid remove");
        assert_eq!(store.read("p", "s", "k").map_err(|e| e.kind()), Err(io::ErrorKind::NotFound));
    }

    #[test]
    fn references_and_arcs_forward_to_the_store() {
        let store = MemStore(crate::sync::Mutex::new(BTreeMap::new()));
        exercise(&store);
        exercise(alloc::sync::Arc::new(store));
    }
}
