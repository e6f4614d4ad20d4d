//! [`Bolt11Invoice`]: an invoice that passed every BOLT 11 reader rule.

use crate::currency::Currency;
use crate::fields::{Bolt11InvoiceDescription, Fallback, RouteHint};
use crate::raw::SignedRawBolt11Invoice;
use crate::Bolt11Error;
use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::ecdsa::RecoverableSignature;
use bitcoin::secp256k1::PublicKey;
use bitcoin::{Address, Network};
use core::fmt;
use core::str::FromStr;
use lightning_core::ln::features::{bits, Bolt11InvoiceContext, Bolt11InvoiceFeatures, Features};
use lightning_core::ln::types::{PaymentHash, PaymentSecret};

/// Even feature bits outside the BOLT 9 invoice context that a parsed invoice
/// may still set, because invoices other implementations actually wrote carry
/// them and they mean nothing to a payer: `gossip_queries_ex` (10), set as
/// required by older eclair invoices. Any other even bit the invoice context
/// does not define fails the invoice (BOLT 11). See docs/DECISIONS.md.
pub const TOLERATED_FOREIGN_REQUIRED_BITS: &[usize] = &[bits::GOSSIP_QUERIES_EX];

/// The expiry when the invoice has no `x` field: one hour.
pub const DEFAULT_EXPIRY_TIME_SECS: u64 = 3600;
/// The `min_final_cltv_expiry_delta` when the invoice has no `c` field.
pub const DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA: u32 = 18;

/// A BOLT 11 invoice that passed every reader rule: valid encoding and
/// signature, a payment hash, a payment secret, exactly one of a description
/// and a description hash, and no feature it requires that we do not know.
///
/// Parse one with [`str::parse`]; make one with
/// [`InvoiceBuilder`](crate::InvoiceBuilder). [`Display`](fmt::Display) gives
/// the invoice string in lower case, exactly as signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bolt11Invoice {
    raw: SignedRawBolt11Invoice,
    payment_hash: PaymentHash,
    payment_secret: PaymentSecret,
    description: Bolt11InvoiceDescription,
}

impl Bolt11Invoice {
    /// Applies the rules on the invoice as a whole to a signed raw invoice.
    pub fn from_signed(raw: SignedRawBolt11Invoice) -> Result<Self, Bolt11Error> {
        let payment_hash = *raw.payment_hash().ok_or(Bolt11Error::MissingPaymentHash)?;
        let description = match (raw.description(), raw.description_hash()) {
            (Some(_), Some(_)) => return Err(Bolt11Error::BothDescriptionAndHash),
            (None, None) => return Err(Bolt11Error::MissingDescription),
            (Some(text), None) => Bolt11InvoiceDescription::Direct(text.to_owned()),
            (None, Some(hash)) => Bolt11InvoiceDescription::Hash(*hash),
        };
        let payment_secret = *raw.payment_secret().ok_or(Bolt11Error::MissingPaymentSecret)?;
        if let Some(features) = raw.features() {
            // BOLT 11: an even bit the invoice (`9`) context does not define
            // fails the invoice, save the few listed in
            // `TOLERATED_FOREIGN_REQUIRED_BITS`.
            if let Some(bit) =
                features.unknown_required_bits().find(|bit| !TOLERATED_FOREIGN_REQUIRED_BITS.contains(bit))
            {
                return Err(Bolt11Error::UnknownRequiredFeature(bit));
            }
            // Dependencies among the features an invoice may carry (unknown odd
            // bits are ignored, as BOLT 9 says).
            features
                .to_context::<Bolt11InvoiceContext>()
                .check_dependencies()
                .map_err(Bolt11Error::MissingFeatureDependency)?;
        }
        Ok(Bolt11Invoice { raw, payment_hash, payment_secret, description })
    }

    /// The signed raw invoice underneath.
    pub fn raw(&self) -> &SignedRawBolt11Invoice {
        &self.raw
    }

    /// Takes the signed raw invoice out.
    pub fn into_raw(self) -> SignedRawBolt11Invoice {
        self.raw
    }

    /// The currency (chain) the invoice is for.
    pub fn currency(&self) -> Currency {
        self.raw.currency()
    }

    /// The network whose addresses the fallbacks are; `None` for simnet (see
    /// [`Currency::network`]).
    pub fn network(&self) -> Option<Network> {
        self.raw.currency().network()
    }

    /// The amount requested in millisatoshis; `None` lets the payer choose.
    pub fn amount_msat(&self) -> Option<u64> {
        self.raw.amount_msat()
    }

    /// Creation time, seconds since the Unix epoch.
    pub fn timestamp_secs(&self) -> u64 {
        self.raw.timestamp_secs()
    }

    /// The hash whose preimage pays the invoice.
    pub fn payment_hash(&self) -> &PaymentHash {
        &self.payment_hash
    }

    /// The secret the payer puts in the final onion payload.
    pub fn payment_secret(&self) -> &PaymentSecret {
        &self.payment_secret
    }

    /// What the payment is for: the text or its hash.
    pub fn description(&self) -> &Bolt11InvoiceDescription {
        &self.description
    }

    /// True if `description` is the invoice's description: equal to the `d`
    /// field, or hashing to the `h` field (BOLT 11: the payer must check the
    /// description it was given out of band against `h`).
    pub fn description_matches(&self, description: &str) -> bool {
        match &self.description {
            Bolt11InvoiceDescription::Direct(text) => text == description,
            Bolt11InvoiceDescription::Hash(hash) => sha256::Hash::hash(description.as_bytes()) == *hash,
        }
    }

    /// The payee's node id (from `n`, or recovered from the signature).
    pub fn payee_pub_key(&self) -> &PublicKey {
        self.raw.payee_pub_key()
    }

    /// True if the payee came from an `n` field, false if it was recovered.
    pub fn payee_pub_key_from_n_field(&self) -> bool {
        self.raw.payee_pub_key_from_n_field()
    }

    /// Seconds after the timestamp the invoice stays payable (default 3600).
    pub fn expiry_time_secs(&self) -> u64 {
        self.raw.expiry_time_secs().unwrap_or(DEFAULT_EXPIRY_TIME_SECS)
    }

    /// The time the invoice expires, seconds since the Unix epoch (saturating:
    /// an expiry too large to add means never).
    pub fn expires_at_secs(&self) -> u64 {
        self.timestamp_secs().saturating_add(self.expiry_time_secs())
    }

    /// True if the invoice has expired at `now_secs` (seconds since the Unix
    /// epoch): a payer should not pay it then.
    pub fn is_expired_at(&self, now_secs: u64) -> bool {
        now_secs > self.expires_at_secs()
    }

    /// The CLTV delta the final HTLC needs at least (default 18).
    pub fn min_final_cltv_expiry_delta(&self) -> u32 {
        self.raw.min_final_cltv_expiry_delta().unwrap_or(DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA)
    }

    /// The on-chain fallbacks, in preference order.
    pub fn fallbacks(&self) -> &[Fallback] {
        self.raw.fallbacks()
    }

    /// The on-chain fallbacks as addresses of the invoice's network, or
    /// `None` for simnet, whose addresses `bitcoin::Address` cannot show (the
    /// fallbacks themselves are in [`Bolt11Invoice::fallbacks`]).
    pub fn fallback_addresses(&self) -> Option<Vec<Address>> {
        let network = self.network()?;
        Some(self.fallbacks().iter().map(|f| f.to_address(network)).collect())
    }

    /// Private routes to the payee, in preference order.
    pub fn route_hints(&self) -> &[RouteHint] {
        self.raw.route_hints()
    }

    /// The invoice's features (`9` field), if any.
    pub fn features(&self) -> Option<&Bolt11InvoiceFeatures> {
        self.raw.features()
    }

    /// True if the invoice offers basic multi-part payment: only then may the
    /// payer split it (BOLT 11).
    pub fn supports_basic_mpp(&self) -> bool {
        self.features().is_some_and(Features::supports_basic_mpp)
    }

    /// The payment metadata the payer must put in the final onion payload.
    pub fn payment_metadata(&self) -> Option<&[u8]> {
        self.raw.payment_metadata()
    }

    /// The signature as it appears in the invoice.
    pub fn signature(&self) -> &RecoverableSignature {
        self.raw.signature()
    }
}

impl FromStr for Bolt11Invoice {
    type Err = Bolt11Error;

    /// Parses an invoice and applies every BOLT 11 reader rule. Upper-case
    /// invoices (as in QR codes) are accepted; mixed case is not. A
    /// `lightning:` URI prefix is not stripped: that is the caller's job.
    fn from_str(s: &str) -> Result<Self, Bolt11Error> {
        Bolt11Invoice::from_signed(s.parse()?)
    }
}

impl fmt::Display for Bolt11Invoice {
    /// The invoice string in lower case, exactly as signed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.raw.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Currency, InvoiceBuilder};
    use bitcoin::secp256k1::{Secp256k1, SecretKey};

    fn invoice() -> Bolt11Invoice {
        let secp = Secp256k1::new();
        let key = SecretKey::from_slice(&[1; 32]).unwrap();
        InvoiceBuilder::new(Currency::Bitcoin)
            .description("d".into())
            .payment_hash(PaymentHash([2; 32]))
            .payment_secret(PaymentSecret([3; 32]))
            .timestamp_secs(1_000)
            .expiry_time_secs(u64::MAX)
            .build_signed(|m| secp.sign_ecdsa_recoverable(m, &key))
            .unwrap()
    }

    #[test]
    fn whole_invoice_rules() {
        let mut raw = invoice().into_raw();
        let mut mpp_only = Bolt11InvoiceFeatures::empty();
        mpp_only.set_basic_mpp_optional();
        // basic_mpp depends on payment_secret, which BOLT 9 marks ASSUMED
        // (and the `s` field is mandatory): its bit may be left unset.
        raw.fields.features = Some(mpp_only);
        assert!(Bolt11Invoice::from_signed(raw.clone()).is_ok());
        // An odd bit of a feature defined for another context only is ignored;
        // so is gossip_queries_ex's even bit (older eclair invoices set it).
        let mut other_context = Bolt11InvoiceFeatures::empty();
        other_context.set_bit(10);
        other_context.set_bit(23);
        raw.fields.features = Some(other_context);
        assert!(Bolt11Invoice::from_signed(raw.clone()).is_ok());
        // Any other even bit outside the invoice context fails the invoice,
        // even one BOLT 9 defines elsewhere (option_anchors, init/node only).
        for bit in [22, 6, 100] {
            let mut foreign = Bolt11InvoiceFeatures::empty();
            foreign.set_bit(bit);
            raw.fields.features = Some(foreign);
            assert_eq!(
                Bolt11Invoice::from_signed(raw.clone()),
                Err(Bolt11Error::UnknownRequiredFeature(bit)),
                "bit {bit}"
            );
        }

        raw.fields.features = None;
        raw.fields.description_hash = Some(sha256::Hash::hash(b"d"));
        assert_eq!(Bolt11Invoice::from_signed(raw.clone()), Err(Bolt11Error::BothDescriptionAndHash));
        raw.fields.description = None;
        raw.fields.description_hash = None;
        assert_eq!(Bolt11Invoice::from_signed(raw.clone()), Err(Bolt11Error::MissingDescription));
        raw.fields.payment_hash = None;
        assert_eq!(Bolt11Invoice::from_signed(raw), Err(Bolt11Error::MissingPaymentHash));
    }

    #[test]
    fn expiry_saturates() {
        let inv = invoice();
        assert_eq!(inv.expiry_time_secs(), u64::MAX);
        assert_eq!(inv.expires_at_secs(), u64::MAX);
        assert!(!inv.is_expired_at(u64::MAX - 1));
        assert!(inv.description_matches("d"));
        assert!(!inv.description_matches("e"));
    }
}
