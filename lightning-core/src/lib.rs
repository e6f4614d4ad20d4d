//! `lightning-core` is the bottom of the stack: the runtime-free state machines of a
//! Lightning Network node. It holds the BOLT wire format, the encrypted transport, the
//! peer manager, channels and their monitors, gossip and routing, and the signer
//! traits. It never spawns a thread, reads a clock or opens a socket: callers (or the
//! sibling adapter crates `lightning-net-tokio`, `lightning-persister`,
//! `lightning-chain`, ...) feed it bytes, blocks and timer ticks, and take back
//! messages, events and transactions. It builds as `#![no_std]` + `alloc` with
//! `--no-default-features`; the default `std` feature only adds conveniences.

#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub use bitcoin;

pub mod chain;
pub mod events;
pub mod io;
pub mod ln;
pub mod routing;
pub mod sign;
pub mod sync;
pub mod util;

mod prelude;
