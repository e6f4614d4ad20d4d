//! [`SignedRawBolt11Invoice`]: an invoice whose encoding, fields and signature
//! are valid, before the rules on the invoice as a whole (required fields,
//! features) are applied.

use crate::currency::{parse_hrp, Currency};
use crate::encoding::{self, fes_to_array, fes_to_u64, push_bytes_as_fes};
use crate::fields::{parse_fields, Fallback, RouteHint, TaggedFields};
use crate::Bolt11Error;
use bitcoin::hashes::sha256;
use bitcoin::secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
use bitcoin::secp256k1::{Message, PublicKey, Secp256k1, VerifyOnly};
use core::fmt;
use core::str::FromStr;
use lightning_core::ln::features::Bolt11InvoiceFeatures;
use lightning_core::ln::types::{PaymentHash, PaymentSecret};
use lightning_core::sign::bolt11_signing_hash;
use std::sync::OnceLock;

/// 5-bit values of the timestamp (35 bits).
pub(crate) const TIMESTAMP_FES: usize = 7;
/// 5-bit values of the signature (64 bytes R || S and the recovery id: 520 bits).
pub(crate) const SIGNATURE_FES: usize = 104;

/// The verification context every parse shares: one per process, made on first
/// use.
pub(crate) fn secp_ctx() -> &'static Secp256k1<VerifyOnly> {
    static CTX: OnceLock<Secp256k1<VerifyOnly>> = OnceLock::new();
    CTX.get_or_init(Secp256k1::verification_only)
}

/// An invoice whose bech32 encoding, human-readable part, every field and
/// signature are valid per BOLT 11, and whose payee is known (from the `n`
/// field or recovered from the signature). The rules on the invoice as a whole
/// (a payment hash, a payment secret, exactly one of `d`/`h`, no unknown
/// required feature) are not applied: use [`Bolt11Invoice`] for an invoice that
/// may be paid. This type is for looking into invoices that may not be, such as
/// pre-2020 invoices without a payment secret.
///
/// [`Bolt11Invoice`]: crate::Bolt11Invoice
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedRawBolt11Invoice {
    hrp: String,
    currency: Currency,
    amount_msat: Option<u64>,
    timestamp_secs: u64,
    /// Timestamp and tagged fields, one 5-bit value per byte, as signed.
    data: Vec<u8>,
    signing_hash: [u8; 32],
    signature: RecoverableSignature,
    payee_pub_key: PublicKey,
    payee_pub_key_from_n_field: bool,
    pub(crate) fields: TaggedFields,
}

impl SignedRawBolt11Invoice {
    /// Reads an invoice from its lower-case human-readable part and its data
    /// part (5-bit values, checksum removed, signature included).
    pub(crate) fn from_parts(hrp: String, mut data: Vec<u8>) -> Result<Self, Bolt11Error> {
        let (currency, amount_msat) = parse_hrp(&hrp)?;
        if data.len() < TIMESTAMP_FES + SIGNATURE_FES {
            return Err(Bolt11Error::TooShort);
        }
        let signature_start = data.len() - SIGNATURE_FES;
        // 104 values are exactly 65 bytes: this cannot fail.
        let sig: [u8; 65] = fes_to_array(&data[signature_start..]).ok_or(Bolt11Error::BadSignature)?;
        data.truncate(signature_start);
        let timestamp_secs = fes_to_u64(&data[..TIMESTAMP_FES]).ok_or(Bolt11Error::TooShort)?;
        let fields = parse_fields(&data[TIMESTAMP_FES..])?;

        let signing_hash = bolt11_signing_hash(&hrp, &data).ok_or(Bolt11Error::BadSignature)?;
        let msg = Message::from_digest(signing_hash);
        if sig[64] > 3 {
            return Err(Bolt11Error::InvalidRecoveryId(sig[64]));
        }
        let recovery_id =
            RecoveryId::from_i32(i32::from(sig[64])).map_err(|_| Bolt11Error::InvalidRecoveryId(sig[64]))?;
        let secp = secp_ctx();
        let (signature, payee_pub_key, from_n) = match fields.payee_pub_key {
            Some(payee) => {
                // BOLT 11: with `n`, verify against it, and fail a high-S signature.
                let signature = RecoverableSignature::from_compact(&sig[..64], recovery_id)
                    .map_err(|_| Bolt11Error::BadSignature)?;
                let standard = signature.to_standard();
                let mut low_s = standard;
                low_s.normalize_s();
                if low_s != standard {
                    return Err(Bolt11Error::HighSWithPayeeKey);
                }
                secp.verify_ecdsa(&msg, &standard, &payee).map_err(|_| Bolt11Error::BadSignature)?;
                (signature, payee, true)
            }
            None => {
                // BOLT 11: without `n`, recover the key, accepting high and low S
                // alike (recovery as libsecp256k1 does it, without normalising S).
                let signature = RecoverableSignature::from_compact(&sig[..64], recovery_id)
                    .map_err(|_| Bolt11Error::UnrecoverableSignature)?;
                let payee =
                    secp.recover_ecdsa(&msg, &signature).map_err(|_| Bolt11Error::UnrecoverableSignature)?;
                (signature, payee, false)
            }
        };
        Ok(SignedRawBolt11Invoice {
            hrp,
            currency,
            amount_msat,
            timestamp_secs,
            data,
            signing_hash,
            signature,
            payee_pub_key,
            payee_pub_key_from_n_field: from_n,
            fields,
        })
    }

    /// The human-readable part, in lower case (e.g. `lnbc2500u`).
    pub fn hrp(&self) -> &str {
        &self.hrp
    }

    /// The currency (chain) from the human-readable part.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The amount requested in millisatoshis; `None` lets the payer choose.
    pub fn amount_msat(&self) -> Option<u64> {
        self.amount_msat
    }

    /// Creation time, seconds since the Unix epoch.
    pub fn timestamp_secs(&self) -> u64 {
        self.timestamp_secs
    }

    /// The data part as signed (timestamp and tagged fields, without the
    /// signature), one 5-bit value per byte.
    pub fn data_5bit(&self) -> &[u8] {
        &self.data
    }

    /// The SHA-256 digest the signature covers (hrp bytes, then the data part
    /// packed to bytes).
    pub fn signing_hash(&self) -> [u8; 32] {
        self.signing_hash
    }

    /// The signature as it appears in the invoice (S is not normalised).
    pub fn signature(&self) -> &RecoverableSignature {
        &self.signature
    }

    /// The payee's node id: the `n` field, or the key recovered from the
    /// signature.
    pub fn payee_pub_key(&self) -> &PublicKey {
        &self.payee_pub_key
    }

    /// True if the payee came from an `n` field, false if it was recovered.
    pub fn payee_pub_key_from_n_field(&self) -> bool {
        self.payee_pub_key_from_n_field
    }

    /// The first valid `p` field.
    pub fn payment_hash(&self) -> Option<&PaymentHash> {
        self.fields.payment_hash.as_ref()
    }

    /// The first valid `s` field.
    pub fn payment_secret(&self) -> Option<&PaymentSecret> {
        self.fields.payment_secret.as_ref()
    }

    /// The first `d` field.
    pub fn description(&self) -> Option<&str> {
        self.fields.description.as_deref()
    }

    /// The first `h` field.
    pub fn description_hash(&self) -> Option<&sha256::Hash> {
        self.fields.description_hash.as_ref()
    }

    /// The `x` field, if present (the default of 3600 s is not applied).
    pub fn expiry_time_secs(&self) -> Option<u64> {
        self.fields.expiry_secs
    }

    /// The `c` field, if present (the default of 18 is not applied).
    pub fn min_final_cltv_expiry_delta(&self) -> Option<u32> {
        self.fields.min_final_cltv_expiry_delta
    }

    /// Every `f` field of a known version, in preference order.
    pub fn fallbacks(&self) -> &[Fallback] {
        &self.fields.fallbacks
    }

    /// Every `r` field, in preference order.
    pub fn route_hints(&self) -> &[RouteHint] {
        &self.fields.route_hints
    }

    /// The `9` field, if present.
    pub fn features(&self) -> Option<&Bolt11InvoiceFeatures> {
        self.fields.features.as_ref()
    }

    /// The `m` field, if present.
    pub fn payment_metadata(&self) -> Option<&[u8]> {
        self.fields.payment_metadata.as_deref()
    }

    /// How many fields were skipped as the spec requires (unknown tags and `f`
    /// fields of an unknown version).
    pub fn skipped_field_count(&self) -> usize {
        self.fields.skipped
    }
}

impl FromStr for SignedRawBolt11Invoice {
    type Err = Bolt11Error;

    /// Parses and checks encoding, fields and signature (see the type's docs
    /// for what is left to [`Bolt11Invoice`](crate::Bolt11Invoice)).
    fn from_str(s: &str) -> Result<Self, Bolt11Error> {
        let (hrp, data) = encoding::decode(s)?;
        SignedRawBolt11Invoice::from_parts(hrp, data)
    }
}

impl fmt::Display for SignedRawBolt11Invoice {
    /// The invoice string in lower case, exactly as signed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (recovery_id, rs) = self.signature.serialize_compact();
        let mut sig = [0u8; 65];
        sig[..64].copy_from_slice(&rs);
        sig[64] = recovery_id.to_i32() as u8;
        let mut data = Vec::with_capacity(self.data.len() + SIGNATURE_FES);
        data.extend_from_slice(&self.data);
        push_bytes_as_fes(&sig, &mut data);
        encoding::encode(f, &self.hrp, &data)
    }
}
