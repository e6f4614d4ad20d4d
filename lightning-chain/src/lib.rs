//! `lightning-chain` connects `lightning-core` to the Bitcoin chain: it will
//! hold a block-source client for a Bitcoin Core node (REST and JSON-RPC),
//! header-chain tracking with reorg handling that drives the core's
//! `chain::Listen` / `chain::Confirm`, and fee estimation and broadcasting
//! through the node.
#![forbid(unsafe_code)]
