//! The minimal I/O abstraction the wire format is written against.
//!
//! This is `bitcoin::io` (the `bitcoin-io` crate): `Read` and `Write` traits that work
//! the same with and without `std`, implemented for byte slices, `Vec<u8>` and
//! `Cursor`. With `std`, `from_std` bridges any `std::io` reader or writer.

pub use bitcoin::io::*;
