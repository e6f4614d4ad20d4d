//! Helpers for the routing tests: signed gossip built from test keys, a UTXO
//! set, and hand-built graphs through the trusted path.
#![allow(dead_code)]

use lightning_core::bitcoin::blockdata::constants::ChainHash;
use lightning_core::bitcoin::hashes::{sha256d, Hash};
use lightning_core::bitcoin::secp256k1::{ecdsa::Signature, Message, PublicKey, Secp256k1, SecretKey};
use lightning_core::bitcoin::{Amount, TxOut};
use lightning_core::ln::features::{ChannelFeatures, NodeFeatures};
use lightning_core::ln::msgs::{
    ChannelAnnouncement, ChannelUpdate, NodeAlias, NodeAnnouncement, SocketAddress,
    UnsignedChannelAnnouncement, UnsignedChannelUpdate, UnsignedNodeAnnouncement,
};
use lightning_core::ln::types::ShortChannelId;
use lightning_core::routing::gossip::{NetworkGraph, NodeId};
use lightning_core::routing::utxo::{
    funding_script_pubkey, UtxoFuture, UtxoLookup, UtxoLookupError, UtxoResult,
};
use std::collections::HashMap;
use std::sync::Mutex;

/// A test node: node key and funding key derived from one byte.
#[derive(Clone, Copy)]
pub struct TestNode {
    pub node_secret: SecretKey,
    pub funding_secret: SecretKey,
}

impl TestNode {
    pub fn new(seed: u8) -> Self {
        TestNode {
            node_secret: SecretKey::from_slice(&[seed; 32]).unwrap(),
            funding_secret: {
                let mut k = [seed; 32];
                k[0] = 1;
                SecretKey::from_slice(&k).unwrap()
            },
        }
    }
    pub fn pubkey(&self) -> PublicKey {
        PublicKey::from_secret_key(&Secp256k1::new(), &self.node_secret)
    }
    pub fn node_id(&self) -> NodeId {
        NodeId::from_pubkey(&self.pubkey())
    }
    pub fn funding_pubkey(&self) -> PublicKey {
        PublicKey::from_secret_key(&Secp256k1::new(), &self.funding_secret)
    }
}

pub fn sign(hash: [u8; 32], key: &SecretKey) -> Signature {
    Secp256k1::new().sign_ecdsa(&Message::from_digest(hash), key)
}

/// The two nodes in BOLT 7 order (smaller id first).
pub fn ordered(a: TestNode, b: TestNode) -> (TestNode, TestNode) {
    if a.pubkey().serialize() < b.pubkey().serialize() {
        (a, b)
    } else {
        (b, a)
    }
}

pub fn channel_announcement(
    a: TestNode, b: TestNode, scid: u64, chain_hash: ChainHash,
) -> ChannelAnnouncement {
    let (one, two) = ordered(a, b);
    let contents = UnsignedChannelAnnouncement {
        features: ChannelFeatures::empty(),
        chain_hash,
        short_channel_id: ShortChannelId(scid),
        node_id_1: one.pubkey(),
        node_id_2: two.pubkey(),
        bitcoin_key_1: one.funding_pubkey(),
        bitcoin_key_2: two.funding_pubkey(),
        excess_data: Vec::new(),
    };
    let hash = contents.signing_hash();
    ChannelAnnouncement {
        node_signature_1: sign(hash, &one.node_secret),
        node_signature_2: sign(hash, &two.node_secret),
        bitcoin_signature_1: sign(hash, &one.funding_secret),
        bitcoin_signature_2: sign(hash, &two.funding_secret),
        contents,
    }
}

/// Fields of a channel update other than channel and direction.
#[derive(Clone, Copy)]
pub struct Policy {
    pub timestamp: u32,
    pub fee_base_msat: u32,
    pub fee_ppm: u32,
    pub cltv_expiry_delta: u16,
    pub htlc_minimum_msat: u64,
    pub htlc_maximum_msat: u64,
    pub disabled: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            timestamp: 1000,
            fee_base_msat: 1000,
            fee_ppm: 100,
            cltv_expiry_delta: 40,
            htlc_minimum_msat: 1,
            htlc_maximum_msat: 1_000_000_000,
            disabled: false,
        }
    }
}

pub fn unsigned_update(
    from: TestNode, to: TestNode, scid: u64, policy: Policy, chain_hash: ChainHash,
) -> UnsignedChannelUpdate {
    let direction = if from.pubkey().serialize() < to.pubkey().serialize() { 0 } else { 1 };
    UnsignedChannelUpdate {
        chain_hash,
        short_channel_id: ShortChannelId(scid),
        timestamp: policy.timestamp,
        message_flags: 1,
        channel_flags: direction | if policy.disabled { 2 } else { 0 },
        cltv_expiry_delta: policy.cltv_expiry_delta,
        htlc_minimum_msat: policy.htlc_minimum_msat,
        fee_base_msat: policy.fee_base_msat,
        fee_proportional_millionths: policy.fee_ppm,
        htlc_maximum_msat: policy.htlc_maximum_msat,
        excess_data: Vec::new(),
    }
}

/// An update of the `from -> to` direction, signed by `from`.
pub fn channel_update(
    from: TestNode, to: TestNode, scid: u64, policy: Policy, chain_hash: ChainHash,
) -> ChannelUpdate {
    let contents = unsigned_update(from, to, scid, policy, chain_hash);
    ChannelUpdate { signature: sign(contents.signing_hash(), &from.node_secret), contents }
}

pub fn node_announcement(node: TestNode, timestamp: u32) -> NodeAnnouncement {
    let contents = UnsignedNodeAnnouncement {
        features: NodeFeatures::empty(),
        timestamp,
        node_id: node.pubkey(),
        rgb: [1, 2, 3],
        alias: NodeAlias([b'n'; 32]),
        addresses: vec![SocketAddress::TcpIpV4 { addr: [127, 0, 0, 1], port: 9735 }],
        excess_address_data: Vec::new(),
        excess_data: Vec::new(),
    };
    NodeAnnouncement { signature: sign(contents.signing_hash(), &node.node_secret), contents }
}

/// A chain's UTXO set for the tests: scid -> output, or a pending future.
#[derive(Default)]
pub struct TestUtxos {
    pub outputs: Mutex<HashMap<u64, TxOut>>,
    pub pending: Mutex<HashMap<u64, UtxoFuture>>,
}

impl TestUtxos {
    /// Adds the correct funding output of the channel `a`-`b`.
    pub fn add_funding(&self, a: TestNode, b: TestNode, scid: u64, sats: u64) {
        let script = funding_script_pubkey(&a.funding_pubkey(), &b.funding_pubkey());
        self.outputs
            .lock()
            .unwrap()
            .insert(scid, TxOut { value: Amount::from_sat(sats), script_pubkey: script });
    }
}

impl UtxoLookup for TestUtxos {
    fn get_utxo(&self, _chain: &ChainHash, scid: ShortChannelId) -> UtxoResult {
        if let Some(f) = self.pending.lock().unwrap().get(&scid.0) {
            return UtxoResult::Async(f.clone());
        }
        UtxoResult::Sync(self.outputs.lock().unwrap().get(&scid.0).cloned().ok_or(UtxoLookupError::UnknownTx))
    }
}

/// Adds a channel `a`-`b` through the trusted path with a policy per direction
/// (`None`: no update for that direction).
pub fn add_trusted_channel(
    graph: &NetworkGraph, a: TestNode, b: TestNode, scid: u64, capacity_sats: u64, a_to_b: Option<Policy>,
    b_to_a: Option<Policy>,
) {
    let (one, two) = ordered(a, b);
    graph
        .add_channel_from_partial_announcement(
            scid,
            0,
            ChannelFeatures::empty(),
            one.node_id(),
            two.node_id(),
            Some(capacity_sats),
        )
        .unwrap();
    if let Some(p) = a_to_b {
        graph.update_channel_unsigned(&unsigned_update(a, b, scid, p, graph.chain_hash())).unwrap();
    }
    if let Some(p) = b_to_a {
        graph.update_channel_unsigned(&unsigned_update(b, a, scid, p, graph.chain_hash())).unwrap();
    }
}

pub fn dsha(bytes: &[u8]) -> [u8; 32] {
    sha256d::Hash::hash(bytes).to_byte_array()
}
