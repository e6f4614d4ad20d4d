//! `lightning-net-tokio` sits between the operating system's TCP sockets and
//! `lightning-core`'s `PeerManager`: it will own the tokio sockets, feed received
//! bytes to `PeerManager::read_event`, write what the peer manager hands back
//! with back-pressure, and offer `setup_inbound`, `setup_outbound` and
//! `connect_outbound`. It depends only on `lightning-core` and `tokio`.
#![forbid(unsafe_code)]
