//! BOLT 3 key derivation: per-commitment points, the per-commitment keys
//! derived from each side's basepoints, and the revocation key.
//!
//! Naming follows the two roles a commitment transaction has: the
//! *broadcaster* (whose transaction it is, "local" in BOLT 3) and the
//! *countersignatory* (the other side, "remote"). Which of them is the
//! *holder* (us) or the *counterparty* depends on whose commitment is built.

use bitcoin::hashes::{sha256, Hash, HashEngine};
use bitcoin::secp256k1::{PublicKey, Scalar, Secp256k1, SecretKey, Signing, Verification};

/// The tweak `SHA256(a || b)` of two compressed points, as a scalar.
fn tweak_of(a: &PublicKey, b: &PublicKey) -> [u8; 32] {
    let mut engine = sha256::Hash::engine();
    engine.input(&a.serialize());
    engine.input(&b.serialize());
    sha256::Hash::from_engine(engine).to_byte_array()
}

fn scalar_of(bytes: [u8; 32]) -> Scalar {
    Scalar::from_be_bytes(bytes)
        .expect("a SHA-256 output is below the curve order except with probability 2^-128")
}

/// The per-commitment point `per_commitment_secret * G`. Fails if the 32 bytes
/// are not a valid secret key (zero or not below the curve order), which a
/// peer could send.
pub fn per_commitment_point_from_secret<C: Signing>(
    secp_ctx: &Secp256k1<C>, per_commitment_secret: &[u8; 32],
) -> Result<PublicKey, InvalidSecret> {
    let key = SecretKey::from_slice(per_commitment_secret).map_err(|_| InvalidSecret)?;
    Ok(PublicKey::from_secret_key(secp_ctx, &key))
}

/// 32 bytes that are not a valid secp256k1 secret key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidSecret;

impl core::fmt::Display for InvalidSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("not a valid secp256k1 secret key")
    }
}

/// `basepoint + SHA256(per_commitment_point || basepoint) * G`: the
/// `localpubkey`, `local_htlcpubkey`, `remote_htlcpubkey`,
/// `local_delayedpubkey` and `remote_delayedpubkey` of BOLT 3.
pub fn derive_public_key<C: Verification>(
    secp_ctx: &Secp256k1<C>, per_commitment_point: &PublicKey, basepoint: &PublicKey,
) -> PublicKey {
    let tweak = scalar_of(tweak_of(per_commitment_point, basepoint));
    basepoint
        .add_exp_tweak(secp_ctx, &tweak)
        .expect("the sum is infinity only if the tweak, a hash of the basepoint, is its negated discrete log")
}

/// `basepoint_secret + SHA256(per_commitment_point || basepoint)`: the private
/// key of [`derive_public_key`].
pub fn derive_private_key<C: Signing>(
    secp_ctx: &Secp256k1<C>, per_commitment_point: &PublicKey, basepoint_secret: &SecretKey,
) -> SecretKey {
    let basepoint = PublicKey::from_secret_key(secp_ctx, basepoint_secret);
    derive_private_key_with_basepoint(per_commitment_point, basepoint_secret, &basepoint)
}

/// [`derive_private_key`] for a caller that already knows `basepoint`, the
/// public key of `basepoint_secret` (a signer keeps its basepoints): saves
/// the elliptic-curve multiplication that recomputes it. Given another
/// point, the result is not the key of [`derive_public_key`].
pub fn derive_private_key_with_basepoint(
    per_commitment_point: &PublicKey, basepoint_secret: &SecretKey, basepoint: &PublicKey,
) -> SecretKey {
    let tweak = scalar_of(tweak_of(per_commitment_point, basepoint));
    basepoint_secret
        .add_tweak(&tweak)
        .expect("the sum is zero only if the tweak, a hash of the basepoint, is its negated secret")
}

/// The `revocationpubkey`:
/// `revocation_basepoint * SHA256(revocation_basepoint || per_commitment_point)
/// + per_commitment_point * SHA256(per_commitment_point || revocation_basepoint)`.
pub fn derive_public_revocation_key<C: Verification>(
    secp_ctx: &Secp256k1<C>, per_commitment_point: &PublicKey,
    countersignatory_revocation_basepoint: &PublicKey,
) -> PublicKey {
    let base = countersignatory_revocation_basepoint;
    let base_part = base
        .mul_tweak(secp_ctx, &scalar_of(tweak_of(base, per_commitment_point)))
        .expect("a hash is a non-zero scalar except with probability 2^-256");
    let point_part = per_commitment_point
        .mul_tweak(secp_ctx, &scalar_of(tweak_of(per_commitment_point, base)))
        .expect("a hash is a non-zero scalar except with probability 2^-256");
    base_part
        .combine(&point_part)
        .expect("the sum is infinity only if the two hashed terms cancel, which no one can arrange")
}

/// The `revocationprivkey`, computable once the broadcaster revealed its
/// `per_commitment_secret`:
/// `revocation_basepoint_secret * SHA256(revocation_basepoint || per_commitment_point)
/// + per_commitment_secret * SHA256(per_commitment_point || revocation_basepoint)`.
pub fn derive_private_revocation_key<C: Signing>(
    secp_ctx: &Secp256k1<C>, per_commitment_secret: &SecretKey,
    countersignatory_revocation_base_secret: &SecretKey,
) -> SecretKey {
    let base = PublicKey::from_secret_key(secp_ctx, countersignatory_revocation_base_secret);
    let point = PublicKey::from_secret_key(secp_ctx, per_commitment_secret);
    let base_part = countersignatory_revocation_base_secret
        .mul_tweak(&scalar_of(tweak_of(&base, &point)))
        .expect("a hash is a non-zero scalar except with probability 2^-256");
    let point_part = per_commitment_secret
        .mul_tweak(&scalar_of(tweak_of(&point, &base)))
        .expect("a hash is a non-zero scalar except with probability 2^-256");
    base_part
        .add_tweak(&Scalar::from(point_part))
        .expect("the sum is zero only if the two hashed terms cancel, which no one can arrange")
}

/// One side's public channel keys, as sent in `open_channel` /
/// `accept_channel`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChannelPublicKeys {
    /// The key of this side in the 2-of-2 funding output.
    pub funding_pubkey: PublicKey,
    /// The base from which the *other* side's revocation keys are derived for
    /// the other side's commitments.
    pub revocation_basepoint: PublicKey,
    /// This side's `payment_basepoint`: with `option_static_remotekey` the key
    /// that receives this side's balance on the other side's commitment.
    pub payment_point: PublicKey,
    /// The base of the delayed key of this side's `to_local` and HTLC-tx outputs.
    pub delayed_payment_basepoint: PublicKey,
    /// The base of this side's HTLC keys.
    pub htlc_basepoint: PublicKey,
}

/// The keys one commitment transaction (and its HTLC transactions) uses,
/// derived from the broadcaster's per-commitment point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TxCreationKeys {
    /// The broadcaster's per-commitment point for this commitment.
    pub per_commitment_point: PublicKey,
    /// The `revocationpubkey`: spendable by the countersignatory once the
    /// broadcaster revoked this commitment.
    pub revocation_key: PublicKey,
    /// The broadcaster's HTLC key (`local_htlcpubkey`).
    pub broadcaster_htlc_key: PublicKey,
    /// The countersignatory's HTLC key (`remote_htlcpubkey`).
    pub countersignatory_htlc_key: PublicKey,
    /// The broadcaster's delayed payment key (`local_delayedpubkey`).
    pub broadcaster_delayed_payment_key: PublicKey,
}

impl TxCreationKeys {
    /// Derives the keys of the commitment that `broadcaster` would publish,
    /// from its `per_commitment_point`.
    pub fn derive_new<C: Verification>(
        secp_ctx: &Secp256k1<C>, per_commitment_point: &PublicKey, broadcaster: &ChannelPublicKeys,
        countersignatory: &ChannelPublicKeys,
    ) -> Self {
        TxCreationKeys {
            per_commitment_point: *per_commitment_point,
            revocation_key: derive_public_revocation_key(
                secp_ctx,
                per_commitment_point,
                &countersignatory.revocation_basepoint,
            ),
            broadcaster_htlc_key: derive_public_key(
                secp_ctx,
                per_commitment_point,
                &broadcaster.htlc_basepoint,
            ),
            countersignatory_htlc_key: derive_public_key(
                secp_ctx,
                per_commitment_point,
                &countersignatory.htlc_basepoint,
            ),
            broadcaster_delayed_payment_key: derive_public_key(
                secp_ctx,
                per_commitment_point,
                &broadcaster.delayed_payment_basepoint,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_keys_match_public_derivation() {
        let secp = Secp256k1::new();
        let base_secret = SecretKey::from_slice(&[0x11; 32]).unwrap();
        let per_commitment_secret = SecretKey::from_slice(&[0x22; 32]).unwrap();
        let point = PublicKey::from_secret_key(&secp, &per_commitment_secret);
        let base = PublicKey::from_secret_key(&secp, &base_secret);
        let private = derive_private_key(&secp, &point, &base_secret);
        assert_eq!(PublicKey::from_secret_key(&secp, &private), derive_public_key(&secp, &point, &base));
        assert_eq!(derive_private_key_with_basepoint(&point, &base_secret, &base), private);
        let revocation = derive_private_revocation_key(&secp, &per_commitment_secret, &base_secret);
        assert_eq!(
            PublicKey::from_secret_key(&secp, &revocation),
            derive_public_revocation_key(&secp, &point, &base)
        );
        assert_eq!(per_commitment_point_from_secret(&secp, &[0; 32]), Err(InvalidSecret));
        assert_eq!(per_commitment_point_from_secret(&secp, &[0x22; 32]), Ok(point));
    }
}
