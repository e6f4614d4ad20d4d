//! `lightning-persister` sits beside the other adapters on top of
//! `lightning-core`: it will hold a crash-safe filesystem `KVStore` (write to a
//! temporary file, fsync, rename, fsync the directory) that persists channel
//! monitors and their updates, the channel manager, the network graph and the
//! scorer, in a versioned and checksummed envelope.
#![forbid(unsafe_code)]
