//! Targets over what channels and monitors persist: per-commitment secret
//! storage, channel parameters, signer policy state and monitor updates.

use crate::input::FuzzInput;
use lightning_core::chain::channelmonitor::ChannelMonitorUpdate;
use lightning_core::ln::chan_utils::{
    build_commitment_secret, ChannelPublicKeys, ChannelSideParameters, ChannelTransactionParameters,
    CommitmentSpec, CounterpartyCommitmentSecrets, HTLCOutputInCommitment, SecretStorageError,
    INITIAL_COMMITMENT_SECRET_INDEX,
};
use lightning_core::sign::SignerPolicyState;
use lightning_core::util::ser::{decode_exact, Readable, Writeable};
use std::fmt::Debug;

/// Decodes `bytes` as a `T`; an accepted value must re-encode to bytes that
/// decode to the same value and encode the same again.
fn round_trip<T: Readable + Writeable + PartialEq + Debug>(bytes: &[u8]) -> Option<T> {
    let value = decode_exact::<T>(bytes).ok()?;
    let encoded = value.encode();
    let again = decode_exact::<T>(&encoded).expect("a re-encoded value decodes");
    assert_eq!(again, value, "value changed in a round trip");
    assert_eq!(again.encode(), encoded, "encoding is not stable");
    Some(value)
}

/// Feeds (index, secret) pairs to a `CounterpartyCommitmentSecrets`, starting
/// empty or from decoded bytes. Secrets come from one of two seeds or are
/// arbitrary, at the next index or any index. Nothing may panic; an accepted
/// secret is returned for its index and every secret accepted earlier still is
/// (each is derivable from the storage); a secret from the same seed as all
/// the earlier ones, at the next index, is always accepted.
fn commitment_secrets(input: &mut FuzzInput<'_>) {
    let mut store = if input.bool() {
        match round_trip::<CounterpartyCommitmentSecrets>(input.bytes(49 * 40)) {
            Some(store) => store,
            None => return,
        }
    } else {
        CounterpartyCommitmentSecrets::new()
    };
    let fresh = store == CounterpartyCommitmentSecrets::new();
    let seeds = [[0x5au8; 32], [0xa5u8; 32]];
    // Secrets accepted so far, and the seed they all came from, if one.
    let mut accepted: Vec<(u64, [u8; 32])> = Vec::new();
    let mut single_seed: Option<usize> = None;
    while !input.is_empty() {
        let op = input.u8();
        let next = store.get_min_seen_secret().wrapping_sub(1);
        let index = match op & 3 {
            0 => input.u64(),
            1 => next ^ (1 << (input.u8() % 48)),
            _ => next,
        };
        let (secret, seed) = match (op >> 2) & 3 {
            0 => (input.array::<32>(), None),
            1 => {
                let mut s = build_commitment_secret(&seeds[0], index);
                s[(input.u8() % 32) as usize] ^= 1;
                (s, None)
            }
            2 => (build_commitment_secret(&seeds[1], index), Some(1)),
            _ => (build_commitment_secret(&seeds[0], index), Some(0)),
        };
        let result = store.provide_secret(index, secret);
        let in_order = index < 1 << 48 && index == next;
        if !in_order {
            assert_eq!(result, Err(SecretStorageError::OutOfOrder));
        }
        let consistent = seed.is_some() && (accepted.is_empty() || single_seed == seed);
        if fresh && in_order && consistent {
            assert_eq!(result, Ok(()), "a secret from the same seed, in order, was refused");
        }
        if result.is_ok() {
            accepted.push((index, secret));
            single_seed = if accepted.len() == 1 || single_seed == seed { seed } else { None };
            if fresh {
                for (i, s) in &accepted {
                    assert_eq!(store.get_secret(*i), Some(*s), "an accepted secret is no longer derivable");
                }
            }
            assert_eq!(store.get_min_seen_secret(), index);
        }
        let _ = store.get_secret(input.u64() & INITIAL_COMMITMENT_SECRET_INDEX);
    }
    assert_eq!(decode_exact::<CounterpartyCommitmentSecrets>(&store.encode()), Ok(store));
}

/// Per-commitment secret storage fed arbitrary (index, secret) sequences (see
/// `commitment_secrets`), or the `Readable` of every serialized type of
/// `chan_utils` and `sign` on arbitrary bytes: accepted values round-trip.
pub fn chan_utils(data: &[u8]) {
    let mut input = FuzzInput::new(data);
    let kind = input.u8();
    let bytes = input.rest();
    match kind % 8 {
        0 | 1 => commitment_secrets(&mut input),
        2 => {
            round_trip::<ChannelTransactionParameters>(bytes);
        }
        3 => {
            if let Some(state) = round_trip::<SignerPolicyState>(bytes) {
                let mut secrets = state.counterparty_secrets;
                let next = secrets.get_min_seen_secret().wrapping_sub(1);
                let _ = secrets.provide_secret(next, [7; 32]);
                let _ = secrets.get_secret(next);
            }
        }
        4 => {
            round_trip::<HTLCOutputInCommitment>(bytes);
        }
        5 => {
            round_trip::<ChannelPublicKeys>(bytes);
        }
        6 => {
            round_trip::<ChannelSideParameters>(bytes);
        }
        _ => {
            round_trip::<CommitmentSpec>(bytes);
        }
    }
}

/// `ChannelMonitorUpdate` read from arbitrary bytes (as from a persisted
/// update file): an accepted update re-encodes to exactly the bytes read (the
/// format is fixed-width, so it has one encoding) and decodes the same.
pub fn monitor_update(data: &[u8]) {
    if let Some(update) = round_trip::<ChannelMonitorUpdate>(data) {
        assert_eq!(update.encode(), data, "a monitor update has two encodings");
    }
}
