//! Per-commitment secrets (BOLT 3 "Per-commitment Secret Requirements" and
//! "Efficient Per-commitment Secret Storage").
//!
//! Secrets are indexed the BOLT 3 way: the first commitment uses index
//! `2^48 - 1` ([`INITIAL_COMMITMENT_SECRET_INDEX`]) and each next one the index
//! below it. [`commitment_secret_index`] converts a commitment number (0, 1,
//! 2, ... as counted in `channel_reestablish`) to that index.

use bitcoin::hashes::{sha256, Hash};

use crate::io;
use crate::ln::msgs::DecodeError;
use crate::util::ser::{Readable, Writeable};

/// Index of the per-commitment secret of commitment number 0: `2^48 - 1`.
pub const INITIAL_COMMITMENT_SECRET_INDEX: u64 = (1 << 48) - 1;

/// The largest commitment number a channel can reach (`2^48 - 1`).
pub const MAX_COMMITMENT_NUMBER: u64 = INITIAL_COMMITMENT_SECRET_INDEX;

/// The shachain index of the secret of `commitment_number`, or `None` past the
/// 48-bit space.
pub fn commitment_secret_index(commitment_number: u64) -> Option<u64> {
    INITIAL_COMMITMENT_SECRET_INDEX.checked_sub(commitment_number)
}

/// Hashes `value` down from bit `bits - 1` to 0 for every bit set in `index`
/// (BOLT 3 `derive_secret`).
fn derive_secret(mut value: [u8; 32], bits: u32, index: u64) -> [u8; 32] {
    for bit in (0..bits).rev() {
        if index & (1 << bit) != 0 {
            value[(bit / 8) as usize] ^= 1 << (bit % 8);
            value = sha256::Hash::hash(&value).to_byte_array();
        }
    }
    value
}

/// The secret at shachain `index` (only its lower 48 bits count) generated from
/// `seed` (BOLT 3 `generate_from_seed`).
pub fn build_commitment_secret(seed: &[u8; 32], index: u64) -> [u8; 32] {
    derive_secret(*seed, 48, index & INITIAL_COMMITMENT_SECRET_INDEX)
}

/// Why [`CounterpartyCommitmentSecrets::provide_secret`] refused a secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretStorageError {
    /// The secret does not derive the secrets stored before it: it was not
    /// generated from the same seed (the peer is lying or broken).
    DoesNotDeriveKnownSecrets,
    /// The index is not the one after the last stored secret (secrets must
    /// arrive in order, from `2^48 - 1` down).
    OutOfOrder,
}

impl core::fmt::Display for SecretStorageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SecretStorageError::DoesNotDeriveKnownSecrets => {
                f.write_str("per-commitment secret does not derive the earlier ones")
            }
            SecretStorageError::OutOfOrder => f.write_str("per-commitment secret received out of order"),
        }
    }
}

/// The counterparty's revealed per-commitment secrets in 49 (secret, index)
/// slots: any secret received so far can be re-derived from them.
#[derive(Clone, PartialEq, Eq)]
pub struct CounterpartyCommitmentSecrets {
    old_secrets: [([u8; 32], u64); 49],
}

impl core::fmt::Debug for CounterpartyCommitmentSecrets {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Secrets are not printed.
        f.debug_struct("CounterpartyCommitmentSecrets")
            .field("min_seen_secret", &self.get_min_seen_secret())
            .finish()
    }
}

impl Default for CounterpartyCommitmentSecrets {
    fn default() -> Self {
        Self::new()
    }
}

impl CounterpartyCommitmentSecrets {
    /// Empty storage.
    pub fn new() -> Self {
        CounterpartyCommitmentSecrets { old_secrets: [([0; 32], 1 << 48); 49] }
    }

    /// The slot of `index`: its number of trailing zeros (48 for index 0).
    fn place_secret(index: u64) -> u8 {
        for bit in 0..48u8 {
            if index & (1 << bit) == 1 << bit {
                return bit;
            }
        }
        48
    }

    /// The lowest index stored so far (`2^48` when empty): the next expected
    /// secret has the index below it.
    pub fn get_min_seen_secret(&self) -> u64 {
        let mut min = 1 << 48;
        for &(_, index) in self.old_secrets.iter() {
            if index < min {
                min = index;
            }
        }
        min
    }

    /// Stores the secret of `index` after checking that it derives every
    /// secret it should (BOLT 3 `insert_secret`). The index must be the one
    /// right after the last stored secret.
    pub fn provide_secret(&mut self, index: u64, secret: [u8; 32]) -> Result<(), SecretStorageError> {
        if index >= 1 << 48 || index.checked_add(1) != Some(self.get_min_seen_secret()) {
            return Err(SecretStorageError::OutOfOrder);
        }
        let pos = Self::place_secret(index);
        for i in 0..pos {
            let (old_secret, old_index) = self.old_secrets[i as usize];
            if derive_secret(secret, pos as u32, old_index) != old_secret {
                return Err(SecretStorageError::DoesNotDeriveKnownSecrets);
            }
        }
        self.old_secrets[pos as usize] = (secret, index);
        Ok(())
    }

    /// The secret of `index`, if it was received (directly or derivably).
    pub fn get_secret(&self, index: u64) -> Option<[u8; 32]> {
        for pos in 0..49u32 {
            let (secret, known_index) = self.old_secrets[pos as usize];
            if known_index >= 1 << 48 {
                continue;
            }
            let mask = if pos == 48 { 0 } else { !((1u64 << pos) - 1) };
            if index & mask == known_index {
                return Some(derive_secret(secret, pos, index));
            }
        }
        None
    }
}

impl Writeable for CounterpartyCommitmentSecrets {
    fn write<W: io::Write>(&self, w: &mut W) -> Result<(), io::Error> {
        for (secret, index) in self.old_secrets.iter() {
            w.write_all(secret)?;
            w.write_all(&index.to_be_bytes())?;
        }
        Ok(())
    }
}

impl Readable for CounterpartyCommitmentSecrets {
    fn read<R: io::Read>(r: &mut R) -> Result<Self, DecodeError> {
        let mut old_secrets = [([0; 32], 1 << 48); 49];
        for slot in old_secrets.iter_mut() {
            let secret: [u8; 32] = Readable::read(r)?;
            let index: u64 = Readable::read(r)?;
            if index > 1 << 48 {
                return Err(DecodeError::InvalidValue);
            }
            *slot = (secret, index);
        }
        Ok(CounterpartyCommitmentSecrets { old_secrets })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::ser::decode_exact;

    #[test]
    fn stores_and_rederives_a_long_run() {
        let seed = [0x5a; 32];
        let mut store = CounterpartyCommitmentSecrets::new();
        assert_eq!(store.get_secret(INITIAL_COMMITMENT_SECRET_INDEX), None);
        for n in 0..300u64 {
            let index = commitment_secret_index(n).unwrap();
            store.provide_secret(index, build_commitment_secret(&seed, index)).unwrap();
        }
        for n in 0..300u64 {
            let index = commitment_secret_index(n).unwrap();
            assert_eq!(store.get_secret(index), Some(build_commitment_secret(&seed, index)));
        }
        let next = commitment_secret_index(300).unwrap();
        assert_eq!(store.get_secret(next), None);
        assert_eq!(store.get_min_seen_secret(), next + 1);
        // Skipping an index or repeating one is refused.
        assert_eq!(
            store.provide_secret(next - 1, build_commitment_secret(&seed, next - 1)),
            Err(SecretStorageError::OutOfOrder)
        );
        assert_eq!(
            store.provide_secret(next + 1, build_commitment_secret(&seed, next + 1)),
            Err(SecretStorageError::OutOfOrder)
        );
        let bytes = store.encode();
        assert_eq!(bytes.len(), 49 * 40);
        assert_eq!(decode_exact::<CounterpartyCommitmentSecrets>(&bytes).unwrap(), store);
    }
}
