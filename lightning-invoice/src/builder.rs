//! [`InvoiceBuilder`]: makes and signs invoices. Its type parameters hold the
//! four fields every invoice needs, so one that forgets any of them does not
//! compile:
//!
//! ```
//! use lightning_invoice::{Currency, InvoiceBuilder};
//! use lightning_core::ln::types::{PaymentHash, PaymentSecret};
//! use lightning_core::sign::{KeysManager, Recipient};
//!
//! let keys = KeysManager::new(&[42; 32], 0, 0);
//! let invoice = InvoiceBuilder::new(Currency::Regtest)
//!     .amount_msat(10_000)
//!     .description("coffee".into())
//!     .payment_hash(PaymentHash([1; 32]))
//!     .payment_secret(PaymentSecret([2; 32]))
//!     .timestamp_secs(1_700_000_000)
//!     .min_final_cltv_expiry_delta(144)
//!     .build_signed_by(&keys, Recipient::Node)
//!     .unwrap();
//! assert!(invoice.to_string().starts_with("lnbcrt100n1"));
//! assert_eq!(invoice, invoice.to_string().parse().unwrap());
//! ```
//!
//! ```compile_fail
//! # use lightning_invoice::{Currency, InvoiceBuilder};
//! # use lightning_core::ln::types::PaymentHash;
//! # use lightning_core::sign::{KeysManager, Recipient};
//! # let keys = KeysManager::new(&[42; 32], 0, 0);
//! // No payment secret and no timestamp: `build_signed_by` does not exist.
//! InvoiceBuilder::new(Currency::Bitcoin)
//!     .description("coffee".into())
//!     .payment_hash(PaymentHash([1; 32]))
//!     .build_signed_by(&keys, Recipient::Node);
//! ```

use crate::currency::{format_hrp, Currency};
use crate::encoding::{push_bytes_as_fes, push_u64_fixed};
use crate::fields::{
    push_bytes_field, push_fallback_field, push_features_field, push_fixed_field, push_int_field,
    push_route_hint_field, tag, Bolt11InvoiceDescription, Fallback, RouteHint,
};
use crate::raw::{SignedRawBolt11Invoice, TIMESTAMP_FES};
use crate::{Bolt11Error, Bolt11Invoice};
use bitcoin::hashes::sha256;
use bitcoin::secp256k1::ecdsa::RecoverableSignature;
use bitcoin::secp256k1::{Message, PublicKey};
use lightning_core::ln::features::Bolt11InvoiceFeatures;
use lightning_core::ln::types::{PaymentHash, PaymentSecret};
use lightning_core::sign::{bolt11_signing_hash, NodeSigner, Recipient};

/// Marks a required field the builder has not been given yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unset;

/// The largest timestamp the 35-bit field holds.
pub const MAX_TIMESTAMP_SECS: u64 = (1 << 35) - 1;

/// Builds and signs a [`Bolt11Invoice`]. `D`, `H`, `T` and `S` are the
/// description, payment hash, timestamp and payment secret: [`Unset`] until
/// given, so the signing methods exist only once all four are.
#[derive(Clone, Debug)]
pub struct InvoiceBuilder<D, H, T, S> {
    currency: Currency,
    amount_msat: Option<u64>,
    description: D,
    payment_hash: H,
    timestamp_secs: T,
    payment_secret: S,
    payee_pub_key: Option<PublicKey>,
    expiry_time_secs: Option<u64>,
    min_final_cltv_expiry_delta: Option<u32>,
    fallbacks: Vec<Fallback>,
    route_hints: Vec<RouteHint>,
    features: Bolt11InvoiceFeatures,
    payment_metadata: Option<Vec<u8>>,
}

/// A builder that has every required field and can sign.
pub type CompleteInvoiceBuilder = InvoiceBuilder<Bolt11InvoiceDescription, PaymentHash, u64, PaymentSecret>;

impl InvoiceBuilder<Unset, Unset, Unset, Unset> {
    /// Starts an invoice for `currency`, with no amount (the payer chooses)
    /// and no feature.
    pub fn new(currency: Currency) -> Self {
        InvoiceBuilder {
            currency,
            amount_msat: None,
            description: Unset,
            payment_hash: Unset,
            timestamp_secs: Unset,
            payment_secret: Unset,
            payee_pub_key: None,
            expiry_time_secs: None,
            min_final_cltv_expiry_delta: None,
            fallbacks: Vec::new(),
            route_hints: Vec::new(),
            features: Bolt11InvoiceFeatures::empty(),
            payment_metadata: None,
        }
    }
}

impl<D, H, T, S> InvoiceBuilder<D, H, T, S> {
    /// Moves every field into a builder of another type state, the four
    /// required ones through `f`.
    fn with<D2, H2, T2, S2>(
        self, f: impl FnOnce(D, H, T, S) -> (D2, H2, T2, S2),
    ) -> InvoiceBuilder<D2, H2, T2, S2> {
        let InvoiceBuilder {
            currency,
            amount_msat,
            description,
            payment_hash,
            timestamp_secs,
            payment_secret,
            payee_pub_key,
            expiry_time_secs,
            min_final_cltv_expiry_delta,
            fallbacks,
            route_hints,
            features,
            payment_metadata,
        } = self;
        let (description, payment_hash, timestamp_secs, payment_secret) =
            f(description, payment_hash, timestamp_secs, payment_secret);
        InvoiceBuilder {
            currency,
            amount_msat,
            description,
            payment_hash,
            timestamp_secs,
            payment_secret,
            payee_pub_key,
            expiry_time_secs,
            min_final_cltv_expiry_delta,
            fallbacks,
            route_hints,
            features,
            payment_metadata,
        }
    }

    /// The amount to request, in millisatoshis (must be positive).
    pub fn amount_msat(mut self, amount_msat: u64) -> Self {
        self.amount_msat = Some(amount_msat);
        self
    }

    /// Adds an `n` field with the payee's node id. Readers then verify the
    /// signature against it instead of recovering the key; it must be the key
    /// that signs.
    pub fn payee_pub_key(mut self, payee_pub_key: PublicKey) -> Self {
        self.payee_pub_key = Some(payee_pub_key);
        self
    }

    /// Seconds after the timestamp the invoice stays payable (readers assume
    /// 3600 without it).
    pub fn expiry_time_secs(mut self, expiry_time_secs: u64) -> Self {
        self.expiry_time_secs = Some(expiry_time_secs);
        self
    }

    /// The smallest CLTV delta the payee accepts on the final HTLC (readers
    /// assume 18 without it; BOLT 11 says a writer should include it).
    pub fn min_final_cltv_expiry_delta(mut self, delta: u32) -> Self {
        self.min_final_cltv_expiry_delta = Some(delta);
        self
    }

    /// Adds an on-chain fallback; the first added is the most preferred.
    pub fn fallback(mut self, fallback: Fallback) -> Self {
        self.fallbacks.push(fallback);
        self
    }

    /// Adds a private route to the payee; the first added is the most
    /// preferred.
    pub fn route_hint(mut self, hint: RouteHint) -> Self {
        self.route_hints.push(hint);
        self
    }

    /// Offers basic multi-part payment (sets `basic_mpp` optional).
    pub fn basic_mpp(mut self) -> Self {
        self.features.set_basic_mpp_optional();
        self
    }

    /// Adds the bits of `features` to the invoice's features.
    pub fn features(mut self, features: &Bolt11InvoiceFeatures) -> Self {
        self.features = self.features.union(features);
        self
    }

    /// Adds an `m` field the payer must echo in the final onion payload, and
    /// requires `option_payment_metadata`.
    pub fn payment_metadata(mut self, metadata: Vec<u8>) -> Self {
        self.payment_metadata = Some(metadata);
        self.features.set_payment_metadata_required();
        self
    }
}

impl<H, T, S> InvoiceBuilder<Unset, H, T, S> {
    /// The description (`d` field), at most 639 bytes of UTF-8.
    pub fn description(self, description: String) -> InvoiceBuilder<Bolt11InvoiceDescription, H, T, S> {
        self.with(|_, h, t, s| (Bolt11InvoiceDescription::Direct(description), h, t, s))
    }

    /// The SHA-256 of a description given out of band (`h` field).
    pub fn description_hash(self, hash: sha256::Hash) -> InvoiceBuilder<Bolt11InvoiceDescription, H, T, S> {
        self.with(|_, h, t, s| (Bolt11InvoiceDescription::Hash(hash), h, t, s))
    }
}

impl<D, T, S> InvoiceBuilder<D, Unset, T, S> {
    /// The payment hash (`p` field).
    pub fn payment_hash(self, payment_hash: PaymentHash) -> InvoiceBuilder<D, PaymentHash, T, S> {
        self.with(|d, _, t, s| (d, payment_hash, t, s))
    }
}

impl<D, H, S> InvoiceBuilder<D, H, Unset, S> {
    /// The creation time, seconds since the Unix epoch (at most 35 bits).
    pub fn timestamp_secs(self, timestamp_secs: u64) -> InvoiceBuilder<D, H, u64, S> {
        self.with(|d, h, _, s| (d, h, timestamp_secs, s))
    }

    /// The creation time set to now, from the system clock.
    pub fn current_timestamp(self) -> InvoiceBuilder<D, H, u64, S> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.timestamp_secs(now)
    }
}

impl<D, H, T> InvoiceBuilder<D, H, T, Unset> {
    /// The payment secret (`s` field). Also requires `var_onion_optin` and
    /// `payment_secret` in the features, as every invoice now does.
    pub fn payment_secret(mut self, payment_secret: PaymentSecret) -> InvoiceBuilder<D, H, T, PaymentSecret> {
        self.features.set_variable_length_onion_required();
        self.features.set_payment_secret_required();
        self.with(|d, h, t, _| (d, h, t, payment_secret))
    }
}

impl CompleteInvoiceBuilder {
    /// The human-readable part and the data part (5-bit values, without the
    /// signature) that will be signed.
    pub fn unsigned_parts(&self) -> Result<(String, Vec<u8>), Bolt11Error> {
        if self.amount_msat == Some(0) {
            return Err(Bolt11Error::InvalidAmount);
        }
        if self.timestamp_secs > MAX_TIMESTAMP_SECS {
            return Err(Bolt11Error::TimestampOutOfRange);
        }
        let hrp = format_hrp(self.currency, self.amount_msat);
        let mut data = Vec::with_capacity(256);
        push_u64_fixed(self.timestamp_secs, TIMESTAMP_FES, &mut data);
        // The field order of the current spec examples: s, p, d or h, then the
        // optional ones.
        push_fixed_field(tag::PAYMENT_SECRET, &self.payment_secret.0, &mut data);
        push_fixed_field(tag::PAYMENT_HASH, &self.payment_hash.0, &mut data);
        match &self.description {
            Bolt11InvoiceDescription::Direct(text) => {
                push_bytes_field(
                    tag::DESCRIPTION,
                    text.as_bytes(),
                    Bolt11Error::DescriptionTooLong,
                    &mut data,
                )?;
            }
            Bolt11InvoiceDescription::Hash(hash) => {
                push_fixed_field(tag::DESCRIPTION_HASH, hash.as_ref(), &mut data)
            }
        }
        if let Some(key) = &self.payee_pub_key {
            push_fixed_field(tag::PAYEE_PUB_KEY, &key.serialize(), &mut data);
        }
        if let Some(secs) = self.expiry_time_secs {
            push_int_field(tag::EXPIRY, secs, &mut data);
        }
        if let Some(delta) = self.min_final_cltv_expiry_delta {
            push_int_field(tag::MIN_FINAL_CLTV_EXPIRY_DELTA, u64::from(delta), &mut data);
        }
        for fallback in &self.fallbacks {
            push_fallback_field(fallback, &mut data);
        }
        for hint in &self.route_hints {
            push_route_hint_field(hint, &mut data);
        }
        push_features_field(&self.features, &mut data)?;
        if let Some(metadata) = &self.payment_metadata {
            push_bytes_field(tag::PAYMENT_METADATA, metadata, Bolt11Error::MetadataTooLong, &mut data)?;
        }
        Ok((hrp, data))
    }

    /// Signs with `sign`, which gets the digest to sign (SHA-256 of the hrp
    /// and the packed data part) and returns a recoverable signature by the
    /// payee's node key. The result is read back with every reader rule, so a
    /// wrong signature or an invoice readers would refuse is an error here.
    pub fn build_signed<F>(self, sign: F) -> Result<Bolt11Invoice, Bolt11Error>
    where
        F: FnOnce(&Message) -> RecoverableSignature,
    {
        let (hrp, data) = self.unsigned_parts()?;
        let hash = bolt11_signing_hash(&hrp, &data).ok_or(Bolt11Error::BadSignature)?;
        let signature = sign(&Message::from_digest(hash));
        finish(hrp, data, &signature)
    }

    /// Signs through `signer` (`NodeSigner::sign_bolt11_invoice`) as
    /// `recipient`; see [`Self::build_signed`].
    pub fn build_signed_by<N: NodeSigner + ?Sized>(
        self, signer: &N, recipient: Recipient,
    ) -> Result<Bolt11Invoice, Bolt11Error> {
        let (hrp, data) = self.unsigned_parts()?;
        let signature = signer.sign_bolt11_invoice(&hrp, &data, recipient).map_err(Bolt11Error::Signing)?;
        finish(hrp, data, &signature)
    }
}

/// Appends the signature and reads the whole invoice back.
fn finish(
    hrp: String, mut data: Vec<u8>, signature: &RecoverableSignature,
) -> Result<Bolt11Invoice, Bolt11Error> {
    let (recovery_id, rs) = signature.serialize_compact();
    let mut sig = [0u8; 65];
    sig[..64].copy_from_slice(&rs);
    sig[64] = recovery_id.to_i32() as u8;
    push_bytes_as_fes(&sig, &mut data);
    Bolt11Invoice::from_signed(SignedRawBolt11Invoice::from_parts(hrp, data)?)
}
