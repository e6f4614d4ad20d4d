//! [`Bolt11Error`]: everything that can be wrong with an invoice string, or with
//! the parts handed to the builder.

use core::fmt;
use lightning_core::ln::features::MissingDependency;
use lightning_core::sign::SignError;

/// What is wrong with a BOLT 11 invoice. Parsing returns the first problem found,
/// in the order: bech32 layer, human-readable part, data part, signature, then
/// the rules on the fields as a whole (required fields, features).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bolt11Error {
    // ---- bech32 layer ----
    /// The string has no `1` separating the human-readable part from the data.
    NoSeparator,
    /// The string mixes upper and lower case letters (BIP 173 forbids it).
    MixedCase,
    /// A character outside the bech32 alphabet appears in the data part.
    InvalidChar(char),
    /// The human-readable part is empty, longer than 83 characters or holds a
    /// character bech32 does not allow.
    InvalidHrp,
    /// The bech32 checksum does not match the string.
    BadChecksum,

    // ---- human-readable part ----
    /// The human-readable part does not start with `ln`.
    NotLightning,
    /// The currency prefix after `ln` is not one we know (`bc`, `tb`, `tbs`,
    /// `bcrt`, `sb`); the text is what followed `ln`.
    UnknownCurrency(String),
    /// The amount is not a positive decimal number without leading zeros, or it
    /// overflows a `u64` of millisatoshis.
    InvalidAmount,
    /// The amount ends with a letter that is not a multiplier (`m`, `u`, `n`,
    /// `p`).
    InvalidMultiplier(char),
    /// A pico-bitcoin amount whose last digit is not 0: it would be a fraction
    /// of a millisatoshi.
    SubMillisatoshiAmount,

    // ---- data part ----
    /// The data part is too short to hold a timestamp and a signature.
    TooShort,
    /// A tagged field's `data_length` runs past the end of the data part; the
    /// char is the field's tag.
    FieldOverrun(char),
    /// A fixed-length field (`p`, `h`, `s`, `n`) does not have its required
    /// `data_length`.
    WrongFieldLength {
        /// The field's tag letter.
        tag: char,
        /// The `data_length` found, in 5-bit units.
        data_length: usize,
        /// The `data_length` the spec requires.
        expected: usize,
    },
    /// A field's data does not convert to whole bytes: five or more padding
    /// bits, or padding bits that are not zero.
    InvalidPadding(char),
    /// An `x`, `c` or `9` field starts with a zero 5-bit group (BOLT 11: the
    /// writer must use the minimal `data_length`; the reader should reject).
    NonMinimalField(char),
    /// An integer field is too large: `x` beyond `u64` seconds, `c` beyond
    /// `u32` blocks.
    IntegerOverflow(char),
    /// The `d` field is not valid UTF-8.
    InvalidDescription,
    /// A public key (in `n` or a route hint) is not a valid secp256k1 point; the
    /// char is the field's tag.
    InvalidPubKey(char),
    /// An `r` field is empty or not a whole number of 51-byte hops.
    InvalidRouteHintLength,
    /// An `f` field of a known version (0 to 18) whose program or hash has the
    /// wrong length (or an empty `f` field).
    InvalidFallback,

    // ---- signature ----
    /// The recovery id after the signature is not 0, 1, 2 or 3.
    InvalidRecoveryId(u8),
    /// No public key can be recovered from the signature.
    UnrecoverableSignature,
    /// The signature is malformed or does not verify against the `n` field.
    BadSignature,
    /// The invoice has an `n` field and its signature is not low-S (BOLT 11:
    /// the reader must fail the payment).
    HighSWithPayeeKey,

    // ---- the invoice as a whole ----
    /// There is no valid `p` (payment hash) field.
    MissingPaymentHash,
    /// There is no valid `s` (payment secret) field.
    MissingPaymentSecret,
    /// There is neither a `d` (description) nor an `h` (description hash)
    /// field.
    MissingDescription,
    /// Both a `d` and an `h` field are present.
    BothDescriptionAndHash,
    /// The `9` field sets an even (required) feature bit this implementation
    /// does not know; the number is the lowest such bit.
    UnknownRequiredFeature(usize),
    /// The `9` field sets a feature without one it depends on (BOLT 9).
    MissingFeatureDependency(MissingDependency),

    // ---- building ----
    /// The description is longer than the 639 bytes a `d` field can hold.
    DescriptionTooLong,
    /// The payment metadata is longer than the 639 bytes an `m` field can hold.
    MetadataTooLong,
    /// A route hint has more hops than the 12 one `r` field can hold.
    RouteHintTooLong,
    /// A route hint has no hop.
    EmptyRouteHint,
    /// The feature vector needs more than the 1023 5-bit groups a `9` field
    /// can hold.
    FeaturesTooLong,
    /// The timestamp does not fit the 35 bits of the data part.
    TimestampOutOfRange,
    /// The signer refused or failed.
    Signing(SignError),
}

impl fmt::Display for Bolt11Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Bolt11Error::*;
        match self {
            NoSeparator => f.write_str("malformed bech32 string: no '1' separator"),
            MixedCase => f.write_str("malformed bech32 string: mixed upper and lower case"),
            InvalidChar(c) => write!(f, "malformed bech32 string: invalid character {c:?}"),
            InvalidHrp => f.write_str("malformed bech32 string: invalid human-readable part"),
            BadChecksum => f.write_str("bech32 checksum is invalid"),
            NotLightning => f.write_str("human-readable part does not start with 'ln'"),
            UnknownCurrency(c) => write!(f, "unknown currency prefix {c:?}"),
            InvalidAmount => f.write_str("invalid amount"),
            InvalidMultiplier(c) => write!(f, "invalid amount multiplier {c:?}"),
            SubMillisatoshiAmount => f.write_str("amount has sub-millisatoshi precision"),
            TooShort => f.write_str("data part too short for a timestamp and a signature"),
            FieldOverrun(t) => write!(f, "field '{t}' runs past the end of the data"),
            WrongFieldLength { tag, data_length, expected } => {
                write!(f, "field '{tag}' has data_length {data_length}, must be {expected}")
            }
            InvalidPadding(t) => write!(f, "field '{t}' has invalid padding bits"),
            NonMinimalField(t) => write!(f, "field '{t}' is not minimally encoded"),
            IntegerOverflow(t) => write!(f, "field '{t}' holds a value too large"),
            InvalidDescription => f.write_str("description is not valid UTF-8"),
            InvalidPubKey(t) => write!(f, "field '{t}' holds an invalid public key"),
            InvalidRouteHintLength => f.write_str("route hint field is empty or not a whole number of hops"),
            InvalidFallback => f.write_str("fallback address field is invalid for its version"),
            InvalidRecoveryId(id) => write!(f, "signature recovery id {id} is not in 0..=3"),
            UnrecoverableSignature => f.write_str("signature is not recoverable"),
            BadSignature => f.write_str("signature is invalid"),
            HighSWithPayeeKey => f.write_str("non-canonical (high-S) signature with an 'n' field"),
            MissingPaymentHash => f.write_str("missing required payment hash ('p' field)"),
            MissingPaymentSecret => f.write_str("missing required payment secret ('s' field)"),
            MissingDescription => f.write_str("missing description ('d' or 'h' field)"),
            BothDescriptionAndHash => f.write_str("both a description and a description hash"),
            UnknownRequiredFeature(bit) => write!(f, "unknown required feature bit {bit}"),
            MissingFeatureDependency(m) => write!(f, "{m}"),
            DescriptionTooLong => f.write_str("description longer than 639 bytes"),
            MetadataTooLong => f.write_str("payment metadata longer than 639 bytes"),
            RouteHintTooLong => f.write_str("route hint longer than 12 hops"),
            EmptyRouteHint => f.write_str("route hint without any hop"),
            FeaturesTooLong => f.write_str("feature vector too long for a '9' field"),
            TimestampOutOfRange => f.write_str("timestamp does not fit in 35 bits"),
            Signing(e) => write!(f, "signing failed: {e}"),
        }
    }
}

impl std::error::Error for Bolt11Error {}
