//! Checking that an announced channel's funding output exists on chain, is
//! unspent, and is the 2-of-2 P2WSH of the two announced funding keys.
//!
//! A [`UtxoLookup`] answers either at once ([`UtxoResult::Sync`]) or later
//! ([`UtxoResult::Async`] with a [`UtxoFuture`] that the lookup resolves when its
//! chain source answers, by calling [`UtxoFuture::resolve`]).

use crate::ln::types::ShortChannelId;
use crate::prelude::*;
use crate::routing::gossip::NetworkGraph;
use crate::sync::Mutex;
use alloc::sync::Arc;
use bitcoin::blockdata::constants::ChainHash;
use bitcoin::secp256k1::PublicKey;
use bitcoin::{ScriptBuf, TxOut};

/// Why a funding output could not be found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UtxoLookupError {
    /// The lookup does not serve this chain.
    UnknownChain,
    /// No such transaction or output, or it is already spent.
    UnknownTx,
}

/// The answer of a [`UtxoLookup`].
#[derive(Debug)]
pub enum UtxoResult {
    /// The answer, available now.
    Sync(Result<TxOut, UtxoLookupError>),
    /// The answer will come later through this future.
    Async(UtxoFuture),
}

/// Looks up the output a short channel id points to.
pub trait UtxoLookup {
    /// Returns the unspent output at `short_channel_id` on `chain_hash`, now or
    /// later.
    fn get_utxo(&self, chain_hash: &ChainHash, short_channel_id: ShortChannelId) -> UtxoResult;
}

impl<T: UtxoLookup + ?Sized> UtxoLookup for &T {
    fn get_utxo(&self, chain_hash: &ChainHash, short_channel_id: ShortChannelId) -> UtxoResult {
        (**self).get_utxo(chain_hash, short_channel_id)
    }
}

impl<T: UtxoLookup + ?Sized> UtxoLookup for Arc<T> {
    fn get_utxo(&self, chain_hash: &ChainHash, short_channel_id: ShortChannelId) -> UtxoResult {
        (**self).get_utxo(chain_hash, short_channel_id)
    }
}

impl<T: UtxoLookup + ?Sized> UtxoLookup for Box<T> {
    fn get_utxo(&self, chain_hash: &ChainHash, short_channel_id: ShortChannelId) -> UtxoResult {
        (**self).get_utxo(chain_hash, short_channel_id)
    }
}

/// The lookup type of a node that checks no funding outputs (it cannot be
/// built; use `None::<NoUtxoLookup>`).
#[derive(Clone, Copy, Debug)]
pub enum NoUtxoLookup {}

impl UtxoLookup for NoUtxoLookup {
    fn get_utxo(&self, _: &ChainHash, _: ShortChannelId) -> UtxoResult {
        match *self {}
    }
}

/// A lookup answer that will arrive later. Clones share the same state.
#[derive(Clone, Debug, Default)]
pub struct UtxoFuture {
    state: Arc<Mutex<Option<Result<TxOut, UtxoLookupError>>>>,
}

impl UtxoFuture {
    /// A future with no answer yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Delivers the answer and lets `graph` finish every announcement that was
    /// waiting for it, applying the `channel_update`s held for it (accepted
    /// ones are queued for broadcast, see
    /// [`NetworkGraph::take_pending_broadcasts`]).
    pub fn resolve(&self, graph: &NetworkGraph, result: Result<TxOut, UtxoLookupError>) {
        *self.state.lock() = Some(result);
        graph.process_resolved_utxo_checks();
    }

    /// The answer, if it has arrived.
    pub fn result(&self) -> Option<Result<TxOut, UtxoLookupError>> {
        self.state.lock().clone()
    }

    /// True when the answer has not arrived and nobody but the holder of
    /// this clone can still give it (the lookup dropped its clone without
    /// answering): such a wait would last for ever.
    pub fn is_abandoned(&self) -> bool {
        Arc::strong_count(&self.state) == 1 && self.state.lock().is_none()
    }

    /// True if `self` and `other` share one state.
    pub fn same_as(&self, other: &UtxoFuture) -> bool {
        Arc::ptr_eq(&self.state, &other.state)
    }
}

/// The BOLT 3 funding witness script (the 2-of-2 of the two keys, sorted).
pub use crate::ln::chan_utils::make_funding_redeemscript as funding_redeemscript;

/// The P2WSH output script of the funding output of a channel with these keys.
pub fn funding_script_pubkey(bitcoin_key_1: &PublicKey, bitcoin_key_2: &PublicKey) -> ScriptBuf {
    ScriptBuf::new_p2wsh(&funding_redeemscript(bitcoin_key_1, bitcoin_key_2).wscript_hash())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::secp256k1::{Secp256k1, SecretKey};

    #[test]
    fn funding_script_sorts_keys_and_matches_bolt3() {
        // BOLT 3 appendix B funding keys and witness script.
        let k1 = PublicKey::from_slice(&hex_decode(
            "023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb",
        ))
        .unwrap();
        let k2 = PublicKey::from_slice(&hex_decode(
            "030e9f7b623d2ccc7c9bd44d66d5ce21ce504c0acf6385a132cec6d3c39fa711c1",
        ))
        .unwrap();
        let expected = "5221023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb21030e9f7b623d2ccc7c9bd44d66d5ce21ce504c0acf6385a132cec6d3c39fa711c152ae";
        assert_eq!(funding_redeemscript(&k1, &k2).to_hex_string(), expected);
        assert_eq!(funding_redeemscript(&k2, &k1).to_hex_string(), expected);
        assert!(funding_script_pubkey(&k1, &k2).is_p2wsh());
        let other = PublicKey::from_secret_key(&Secp256k1::new(), &SecretKey::from_slice(&[5; 32]).unwrap());
        assert_ne!(funding_script_pubkey(&k1, &other), funding_script_pubkey(&k1, &k2));
    }

    fn hex_decode(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn future_clones_share_state() {
        let f = UtxoFuture::new();
        let g = f.clone();
        assert!(f.same_as(&g) && g.result().is_none());
        *f.state.lock() = Some(Err(UtxoLookupError::UnknownTx));
        assert_eq!(g.result(), Some(Err(UtxoLookupError::UnknownTx)));
    }
}
