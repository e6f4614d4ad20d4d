//! The tagged fields of the data part: their types, how each is read (with the
//! BOLT 11 reader rules) and how each is written.

use crate::encoding::{
    fes_len_for_bytes, fes_to_array, fes_to_bytes, fes_to_u64, minimal_fes_len, push_bytes_as_fes,
    push_u64_fixed,
};
use crate::Bolt11Error;
use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::PublicKey;
use bitcoin::{Address, Network, PubkeyHash, ScriptHash, WitnessProgram, WitnessVersion};
use lightning_core::ln::features::Bolt11InvoiceFeatures;
use lightning_core::ln::types::{PaymentHash, PaymentSecret, ShortChannelId};

/// Tag numbers (5-bit values) of the fields BOLT 11 defines.
pub(crate) mod tag {
    pub const PAYMENT_HASH: u8 = 1; // p
    pub const ROUTE_HINT: u8 = 3; // r
    pub const FEATURES: u8 = 5; // 9
    pub const EXPIRY: u8 = 6; // x
    pub const FALLBACK: u8 = 9; // f
    pub const DESCRIPTION: u8 = 13; // d
    pub const PAYMENT_SECRET: u8 = 16; // s
    pub const PAYEE_PUB_KEY: u8 = 19; // n
    pub const DESCRIPTION_HASH: u8 = 23; // h
    pub const MIN_FINAL_CLTV_EXPIRY_DELTA: u8 = 24; // c
    pub const PAYMENT_METADATA: u8 = 27; // m
}

/// The largest `data_length` (10 bits).
pub(crate) const MAX_FIELD_FES: usize = 1023;
/// The most bytes one field can carry (1023 × 5 bits).
pub const MAX_FIELD_BYTES: usize = MAX_FIELD_FES * 5 / 8;
/// Bytes of one route hint hop: pubkey, short_channel_id, two fees and the
/// CLTV delta.
const HOP_LEN: usize = 33 + 8 + 4 + 4 + 2;

/// The bech32 letter of a tag number, for error messages.
pub(crate) fn tag_char(tag: u8) -> char {
    const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    CHARSET[usize::from(tag & 31)] as char
}

/// What the invoice says its payment is for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Bolt11InvoiceDescription {
    /// The description itself (`d` field), at most 639 bytes of UTF-8.
    Direct(String),
    /// The SHA-256 of a description given out of band (`h` field).
    Hash(sha256::Hash),
}

/// An on-chain address the payer may use if the Lightning payment fails (`f`
/// field).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Fallback {
    /// A segwit output, versions 0 to 16: P2WPKH, P2WSH, P2TR or a later
    /// version.
    SegWit(WitnessProgram),
    /// A P2PKH output (`f` version 17).
    PubKeyHash(PubkeyHash),
    /// A P2SH output (`f` version 18).
    ScriptHash(ScriptHash),
}

impl Fallback {
    /// The `f` field's version: the witness version, 17 for P2PKH, 18 for P2SH.
    pub fn version(&self) -> u8 {
        match self {
            Fallback::SegWit(program) => program.version().to_num(),
            Fallback::PubKeyHash(_) => 17,
            Fallback::ScriptHash(_) => 18,
        }
    }

    /// The address on `network`.
    pub fn to_address(&self, network: Network) -> Address {
        match self {
            Fallback::SegWit(program) => Address::from_witness_program(*program, network),
            Fallback::PubKeyHash(hash) => Address::p2pkh(*hash, network),
            Fallback::ScriptHash(hash) => Address::p2sh_from_hash(*hash, network),
        }
    }

    /// The fallback paying to `address`; `None` for an address kind BOLT 11
    /// cannot carry.
    pub fn from_address(address: &Address) -> Option<Fallback> {
        if let Some(hash) = address.pubkey_hash() {
            Some(Fallback::PubKeyHash(hash))
        } else if let Some(hash) = address.script_hash() {
            Some(Fallback::ScriptHash(hash))
        } else {
            address.witness_program().map(Fallback::SegWit)
        }
    }
}

/// One channel of a private route to the payee (`r` field entry): the channel
/// from `src_node_id` towards the next hop (or the payee), with the fees and
/// CLTV delta `src_node_id` charges for it (BOLT 7 `channel_update` fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RouteHintHop {
    /// The node at the start of the channel.
    pub src_node_id: PublicKey,
    /// The channel.
    pub short_channel_id: ShortChannelId,
    /// Base fee in millisatoshis.
    pub fee_base_msat: u32,
    /// Proportional fee in millionths of the amount forwarded.
    pub fee_proportional_millionths: u32,
    /// Blocks `src_node_id` subtracts from the HTLC's CLTV expiry.
    pub cltv_expiry_delta: u16,
}

/// A private route to the payee: the hops of one `r` field, in forward order,
/// from a public node to the payee. Never empty, at most
/// [`RouteHint::MAX_HOPS`] hops.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RouteHint(Vec<RouteHintHop>);

impl RouteHint {
    /// The most hops one `r` field can carry (639 bytes / 51 bytes per hop).
    pub const MAX_HOPS: usize = MAX_FIELD_BYTES / HOP_LEN;

    /// A route hint of `hops`; fails if there are none or too many.
    pub fn new(hops: Vec<RouteHintHop>) -> Result<Self, Bolt11Error> {
        if hops.is_empty() {
            return Err(Bolt11Error::EmptyRouteHint);
        }
        if hops.len() > Self::MAX_HOPS {
            return Err(Bolt11Error::RouteHintTooLong);
        }
        Ok(RouteHint(hops))
    }

    /// The hops, in forward order.
    pub fn hops(&self) -> &[RouteHintHop] {
        &self.0
    }

    /// Takes the hops out.
    pub fn into_hops(self) -> Vec<RouteHintHop> {
        self.0
    }
}

/// The fields of a data part, as read. Where a field appears more than once
/// and only one is meaningful, the first is kept (BOLT 11: "use the first `p`
/// field"); fallbacks and route hints keep every occurrence, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TaggedFields {
    pub payment_hash: Option<PaymentHash>,
    pub payment_secret: Option<PaymentSecret>,
    pub description: Option<String>,
    pub description_hash: Option<sha256::Hash>,
    pub payee_pub_key: Option<PublicKey>,
    pub expiry_secs: Option<u64>,
    pub min_final_cltv_expiry_delta: Option<u32>,
    pub fallbacks: Vec<Fallback>,
    pub route_hints: Vec<RouteHint>,
    pub features: Option<Bolt11InvoiceFeatures>,
    pub payment_metadata: Option<Vec<u8>>,
    /// Fields skipped as the spec says: unknown tags and unknown `f` versions.
    pub skipped: usize,
}

/// Reads every tagged field of `data` (the data part after the timestamp and
/// without the signature).
pub(crate) fn parse_fields(data: &[u8]) -> Result<TaggedFields, Bolt11Error> {
    let mut fields = TaggedFields::default();
    let mut rest = data;
    while let Some(&field_tag) = rest.first() {
        let (Some(&hi), Some(&lo)) = (rest.get(1), rest.get(2)) else {
            return Err(Bolt11Error::FieldOverrun(tag_char(field_tag)));
        };
        let len = (usize::from(hi) << 5) | usize::from(lo);
        let value = rest.get(3..3 + len).ok_or(Bolt11Error::FieldOverrun(tag_char(field_tag)))?;
        parse_field(field_tag, value, &mut fields)?;
        rest = &rest[3 + len..];
    }
    Ok(fields)
}

fn fixed_len(field_tag: u8, value: &[u8], expected: usize) -> Result<(), Bolt11Error> {
    if value.len() != expected {
        return Err(Bolt11Error::WrongFieldLength {
            tag: tag_char(field_tag),
            data_length: value.len(),
            expected,
        });
    }
    Ok(())
}

fn bytes32(field_tag: u8, value: &[u8]) -> Result<[u8; 32], Bolt11Error> {
    fixed_len(field_tag, value, 52)?;
    fes_to_array(value).ok_or(Bolt11Error::InvalidPadding(tag_char(field_tag)))
}

fn bytes(field_tag: u8, value: &[u8]) -> Result<Vec<u8>, Bolt11Error> {
    fes_to_bytes(value).ok_or(Bolt11Error::InvalidPadding(tag_char(field_tag)))
}

fn minimal_u64(field_tag: u8, value: &[u8]) -> Result<u64, Bolt11Error> {
    if value.first() == Some(&0) {
        return Err(Bolt11Error::NonMinimalField(tag_char(field_tag)));
    }
    fes_to_u64(value).ok_or(Bolt11Error::IntegerOverflow(tag_char(field_tag)))
}

fn parse_field(field_tag: u8, value: &[u8], fields: &mut TaggedFields) -> Result<(), Bolt11Error> {
    match field_tag {
        tag::PAYMENT_HASH => {
            let hash = PaymentHash(bytes32(field_tag, value)?);
            fields.payment_hash.get_or_insert(hash);
        }
        tag::PAYMENT_SECRET => {
            let secret = PaymentSecret(bytes32(field_tag, value)?);
            fields.payment_secret.get_or_insert(secret);
        }
        tag::DESCRIPTION_HASH => {
            let hash = sha256::Hash::from_byte_array(bytes32(field_tag, value)?);
            fields.description_hash.get_or_insert(hash);
        }
        tag::PAYEE_PUB_KEY => {
            fixed_len(field_tag, value, 53)?;
            let key: [u8; 33] = fes_to_array(value).ok_or(Bolt11Error::InvalidPadding('n'))?;
            let key = PublicKey::from_slice(&key).map_err(|_| Bolt11Error::InvalidPubKey('n'))?;
            fields.payee_pub_key.get_or_insert(key);
        }
        tag::DESCRIPTION => {
            let text =
                String::from_utf8(bytes(field_tag, value)?).map_err(|_| Bolt11Error::InvalidDescription)?;
            fields.description.get_or_insert(text);
        }
        tag::PAYMENT_METADATA => {
            let metadata = bytes(field_tag, value)?;
            fields.payment_metadata.get_or_insert(metadata);
        }
        tag::EXPIRY => {
            let secs = minimal_u64(field_tag, value)?;
            fields.expiry_secs.get_or_insert(secs);
        }
        tag::MIN_FINAL_CLTV_EXPIRY_DELTA => {
            // A CLTV expiry is 32 bits on the wire; a larger delta can never be met.
            let delta = u32::try_from(minimal_u64(field_tag, value)?)
                .map_err(|_| Bolt11Error::IntegerOverflow('c'))?;
            fields.min_final_cltv_expiry_delta.get_or_insert(delta);
        }
        tag::FEATURES => {
            if value.first() == Some(&0) {
                return Err(Bolt11Error::NonMinimalField('9'));
            }
            let features = features_from_fes(value);
            fields.features.get_or_insert(features);
        }
        tag::FALLBACK => match parse_fallback(value)? {
            Some(fallback) => fields.fallbacks.push(fallback),
            None => fields.skipped += 1,
        },
        tag::ROUTE_HINT => fields.route_hints.push(parse_route_hint(value)?),
        _ => fields.skipped += 1,
    }
    Ok(())
}

/// Reads an `f` field; `None` for a version the spec says to skip (19 to 31).
fn parse_fallback(value: &[u8]) -> Result<Option<Fallback>, Bolt11Error> {
    let (&version, program) = value.split_first().ok_or(Bolt11Error::InvalidFallback)?;
    let program = fes_to_bytes(program).ok_or(Bolt11Error::InvalidFallback)?;
    let fallback = match version {
        0..=16 => {
            let version = WitnessVersion::try_from(version).map_err(|_| Bolt11Error::InvalidFallback)?;
            let program = WitnessProgram::new(version, &program).map_err(|_| Bolt11Error::InvalidFallback)?;
            Fallback::SegWit(program)
        }
        17 => {
            let hash: [u8; 20] = program.try_into().map_err(|_| Bolt11Error::InvalidFallback)?;
            Fallback::PubKeyHash(PubkeyHash::from_byte_array(hash))
        }
        18 => {
            let hash: [u8; 20] = program.try_into().map_err(|_| Bolt11Error::InvalidFallback)?;
            Fallback::ScriptHash(ScriptHash::from_byte_array(hash))
        }
        _ => return Ok(None),
    };
    Ok(Some(fallback))
}

fn parse_route_hint(value: &[u8]) -> Result<RouteHint, Bolt11Error> {
    let raw = bytes(tag::ROUTE_HINT, value)?;
    if raw.is_empty() || raw.len() % HOP_LEN != 0 {
        return Err(Bolt11Error::InvalidRouteHintLength);
    }
    let mut hops = Vec::with_capacity(raw.len() / HOP_LEN);
    for hop in raw.chunks_exact(HOP_LEN) {
        let be = |range: core::ops::Range<usize>| {
            hop[range].iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
        };
        hops.push(RouteHintHop {
            src_node_id: PublicKey::from_slice(&hop[..33]).map_err(|_| Bolt11Error::InvalidPubKey('r'))?,
            short_channel_id: ShortChannelId(be(33..41)),
            fee_base_msat: be(41..45) as u32,
            fee_proportional_millionths: be(45..49) as u32,
            cltv_expiry_delta: be(49..51) as u16,
        });
    }
    Ok(RouteHint(hops))
}

/// The feature vector of a `9` field: big-endian, bit 0 the lowest bit of the
/// last 5-bit value.
fn features_from_fes(value: &[u8]) -> Bolt11InvoiceFeatures {
    let mut le = vec![0u8; (value.len() * 5).div_ceil(8)];
    for (group, v) in value.iter().rev().enumerate() {
        for b in 0..5 {
            if v & (1 << b) != 0 {
                let bit = group * 5 + b;
                le[bit / 8] |= 1 << (bit % 8);
            }
        }
    }
    Bolt11InvoiceFeatures::from_le_bytes(le)
}

/// The 5-bit values of a `9` field for `features`: minimal, empty if no bit is
/// set.
pub(crate) fn features_to_fes(features: &Bolt11InvoiceFeatures) -> Vec<u8> {
    let top = features.set_bits().last().map_or(0, |b| b + 1);
    let groups = top.div_ceil(5);
    (0..groups)
        .rev()
        .map(|group| (0..5).fold(0u8, |acc, b| acc | (u8::from(features.is_set(group * 5 + b)) << b)))
        .collect()
}

/// Appends one field: tag, 10-bit `data_length`, data. The caller keeps
/// `value` within [`MAX_FIELD_FES`].
fn push_field(field_tag: u8, value: &[u8], out: &mut Vec<u8>) {
    debug_assert!(value.len() <= MAX_FIELD_FES);
    out.push(field_tag);
    out.push(((value.len() >> 5) & 31) as u8);
    out.push((value.len() & 31) as u8);
    out.extend_from_slice(value);
}

/// Appends a field holding `bytes`; `too_long` if they do not fit.
pub(crate) fn push_bytes_field(
    field_tag: u8, bytes: &[u8], too_long: Bolt11Error, out: &mut Vec<u8>,
) -> Result<(), Bolt11Error> {
    if fes_len_for_bytes(bytes.len()) > MAX_FIELD_FES {
        return Err(too_long);
    }
    let mut value = Vec::with_capacity(fes_len_for_bytes(bytes.len()));
    push_bytes_as_fes(bytes, &mut value);
    push_field(field_tag, &value, out);
    Ok(())
}

/// Appends a field holding a hash or a key (32 or 33 bytes: always fits).
pub(crate) fn push_fixed_field(field_tag: u8, bytes: &[u8], out: &mut Vec<u8>) {
    let mut value = Vec::with_capacity(fes_len_for_bytes(bytes.len()));
    push_bytes_as_fes(bytes, &mut value);
    push_field(field_tag, &value, out);
}

/// Appends an integer field in its minimal form.
pub(crate) fn push_int_field(field_tag: u8, value: u64, out: &mut Vec<u8>) {
    let mut fes = Vec::with_capacity(13);
    push_u64_fixed(value, minimal_fes_len(value), &mut fes);
    push_field(field_tag, &fes, out);
}

/// Appends a `9` field, or nothing if no feature bit is set.
pub(crate) fn push_features_field(
    features: &Bolt11InvoiceFeatures, out: &mut Vec<u8>,
) -> Result<(), Bolt11Error> {
    let fes = features_to_fes(features);
    if fes.len() > MAX_FIELD_FES {
        return Err(Bolt11Error::FeaturesTooLong);
    }
    if !fes.is_empty() {
        push_field(tag::FEATURES, &fes, out);
    }
    Ok(())
}

/// Appends an `f` field.
pub(crate) fn push_fallback_field(fallback: &Fallback, out: &mut Vec<u8>) {
    let mut fes = vec![fallback.version()];
    match fallback {
        Fallback::SegWit(program) => push_bytes_as_fes(program.program().as_bytes(), &mut fes),
        Fallback::PubKeyHash(hash) => push_bytes_as_fes(hash.as_byte_array(), &mut fes),
        Fallback::ScriptHash(hash) => push_bytes_as_fes(hash.as_byte_array(), &mut fes),
    }
    push_field(tag::FALLBACK, &fes, out);
}

/// Appends an `r` field.
pub(crate) fn push_route_hint_field(hint: &RouteHint, out: &mut Vec<u8>) {
    let mut raw = Vec::with_capacity(hint.0.len() * HOP_LEN);
    for hop in &hint.0 {
        raw.extend_from_slice(&hop.src_node_id.serialize());
        raw.extend_from_slice(&hop.short_channel_id.0.to_be_bytes());
        raw.extend_from_slice(&hop.fee_base_msat.to_be_bytes());
        raw.extend_from_slice(&hop.fee_proportional_millionths.to_be_bytes());
        raw.extend_from_slice(&hop.cltv_expiry_delta.to_be_bytes());
    }
    let mut fes = Vec::with_capacity(fes_len_for_bytes(raw.len()));
    push_bytes_as_fes(&raw, &mut fes);
    push_field(tag::ROUTE_HINT, &fes, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_groups_are_big_endian() {
        // "sgq" from the spec: b100000100000000 = bits 8 and 14.
        let f = features_from_fes(&[16, 8, 0]);
        assert_eq!(f.set_bits().collect::<Vec<_>>(), vec![8, 14]);
        assert_eq!(features_to_fes(&f), vec![16, 8, 0]);
        assert!(features_to_fes(&Bolt11InvoiceFeatures::empty()).is_empty());
    }

    #[test]
    fn field_readers_apply_the_reader_rules() {
        let mut f = TaggedFields::default();
        assert_eq!(
            parse_field(tag::PAYMENT_HASH, &[0; 51], &mut f),
            Err(Bolt11Error::WrongFieldLength { tag: 'p', data_length: 51, expected: 52 })
        );
        assert_eq!(
            parse_field(tag::PAYEE_PUB_KEY, &[0; 54], &mut f),
            Err(Bolt11Error::WrongFieldLength { tag: 'n', data_length: 54, expected: 53 })
        );
        assert_eq!(parse_field(tag::PAYEE_PUB_KEY, &[0; 53], &mut f), Err(Bolt11Error::InvalidPubKey('n')));
        assert_eq!(parse_field(tag::EXPIRY, &[0, 1], &mut f), Err(Bolt11Error::NonMinimalField('x')));
        assert_eq!(parse_field(tag::FEATURES, &[0, 1], &mut f), Err(Bolt11Error::NonMinimalField('9')));
        assert_eq!(
            parse_field(tag::MIN_FINAL_CLTV_EXPIRY_DELTA, &[1, 0, 0, 0, 0, 0, 0, 0], &mut f),
            Err(Bolt11Error::IntegerOverflow('c'))
        );
        assert_eq!(parse_field(tag::FALLBACK, &[], &mut f), Err(Bolt11Error::InvalidFallback));
        assert_eq!(parse_field(tag::FALLBACK, &[0; 10], &mut f), Err(Bolt11Error::InvalidFallback));
        assert_eq!(parse_field(tag::ROUTE_HINT, &[], &mut f), Err(Bolt11Error::InvalidRouteHintLength));
        assert_eq!(
            parse_field(tag::DESCRIPTION, &[0, 0, 0, 1], &mut f),
            Err(Bolt11Error::InvalidPadding('d'))
        );
        // Unknown fallback versions and tags are skipped.
        assert_eq!(parse_field(tag::FALLBACK, &[19; 33], &mut f), Ok(()));
        assert_eq!(parse_field(2, &[0; 3], &mut f), Ok(()));
        assert_eq!(f.skipped, 2);
        assert_eq!(f.fallbacks, vec![]);
        // An empty integer field is the minimal encoding of zero.
        assert_eq!(parse_field(tag::EXPIRY, &[], &mut f), Ok(()));
        assert_eq!(f.expiry_secs, Some(0));
    }

    #[test]
    fn truncated_field_is_an_overrun() {
        assert_eq!(parse_fields(&[tag::PAYMENT_HASH, 1]), Err(Bolt11Error::FieldOverrun('p')));
        assert_eq!(parse_fields(&[tag::DESCRIPTION, 0, 5, 1, 2]), Err(Bolt11Error::FieldOverrun('d')));
        assert_eq!(parse_fields(&[]), Ok(TaggedFields::default()));
    }
}
