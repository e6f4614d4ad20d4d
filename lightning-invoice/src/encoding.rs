//! The bech32 layer of BOLT 11 (BIP 173 without its 90-character limit) and the
//! conversions between 5-bit groups, bytes and integers that the fields use.
//!
//! Data is held as one 5-bit value per `u8` (the form
//! [`NodeSigner::sign_bolt11_invoice`] takes).
//!
//! [`NodeSigner::sign_bolt11_invoice`]: lightning_core::sign::NodeSigner::sign_bolt11_invoice

use crate::Bolt11Error;
use bitcoin::bech32::primitives::checksum::Checksum;
use bitcoin::bech32::primitives::decode::{
    CharError, ChecksumError, UncheckedHrpstring, UncheckedHrpstringError,
};
use bitcoin::bech32::primitives::encode::Encoder;
use bitcoin::bech32::{Fe32, Hrp};
use core::fmt;

/// The bech32 checksum (BIP 173 constants) with no limit on the string length:
/// BOLT 11 invoices routinely exceed the 90 characters of BIP 173.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bolt11Bech32 {}

impl Checksum for Bolt11Bech32 {
    const CODE_LENGTH: usize = usize::MAX;
    type MidstateRepr = u32;
    const CHECKSUM_LENGTH: usize = 6;
    const GENERATOR_SH: [u32; 5] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3];
    const TARGET_RESIDUE: u32 = 1;
}

/// Splits a bech32 string into its lower-case human-readable part and its data
/// (5-bit values, checksum removed), checking characters, case and checksum.
pub(crate) fn decode(s: &str) -> Result<(String, Vec<u8>), Bolt11Error> {
    let unchecked = UncheckedHrpstring::new(s).map_err(|e| match e {
        UncheckedHrpstringError::Char(CharError::MissingSeparator) => Bolt11Error::NoSeparator,
        UncheckedHrpstringError::Char(CharError::MixedCase) => Bolt11Error::MixedCase,
        UncheckedHrpstringError::Char(CharError::InvalidChar(c)) => Bolt11Error::InvalidChar(c),
        UncheckedHrpstringError::Char(_) => Bolt11Error::TooShort,
        _ => Bolt11Error::InvalidHrp,
    })?;
    let checked = unchecked.validate_and_remove_checksum::<Bolt11Bech32>().map_err(|e| match e {
        ChecksumError::InvalidLength => Bolt11Error::TooShort,
        _ => Bolt11Error::BadChecksum,
    })?;
    let hrp = checked.hrp().to_lowercase();
    let data =
        checked.data_part_ascii_no_checksum().iter().map(|c| Fe32::from_char_unchecked(*c).to_u8()).collect();
    Ok((hrp, data))
}

/// Writes `hrp`, the separator, `data` and the checksum, in lower case.
pub(crate) fn encode(f: &mut fmt::Formatter<'_>, hrp: &str, data: &[u8]) -> fmt::Result {
    // Both are guaranteed by construction (the hrp was parsed or built from a
    // currency and an amount, the data holds 5-bit values); a failure here is a
    // bug, reported as a formatting error rather than a panic.
    let hrp = Hrp::parse(hrp).map_err(|_| fmt::Error)?;
    if data.iter().any(|v| *v > 31) {
        return Err(fmt::Error);
    }
    let fes = data.iter().map(|v| Fe32::try_from(*v).unwrap_or(Fe32::Q));
    for c in Encoder::<_, Bolt11Bech32>::new(fes, &hrp).chars() {
        fmt::Write::write_char(f, c)?;
    }
    Ok(())
}

/// Packs 5-bit values into bytes. The bits left over at the end must be fewer
/// than five and all zero (BIP 173's conversion without padding); otherwise
/// `None`.
pub(crate) fn fes_to_bytes(fes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(fes.len() * 5 / 8);
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    for &v in fes {
        acc = (acc << 5) | u32::from(v & 31);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if bits >= 5 || acc != 0 {
        return None;
    }
    Some(out)
}

/// Packs exactly `N` bytes out of 5-bit values (see [`fes_to_bytes`]).
pub(crate) fn fes_to_array<const N: usize>(fes: &[u8]) -> Option<[u8; N]> {
    fes_to_bytes(fes)?.try_into().ok()
}

/// Appends `bytes` as 5-bit values, the last one zero-padded.
pub(crate) fn push_bytes_as_fes(bytes: &[u8], out: &mut Vec<u8>) {
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(((acc >> bits) & 31) as u8);
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(((acc << (5 - bits)) & 31) as u8);
    }
}

/// The number of 5-bit values [`push_bytes_as_fes`] writes for `len` bytes.
pub(crate) fn fes_len_for_bytes(len: usize) -> usize {
    (len * 8).div_ceil(5)
}

/// Reads a big-endian integer from 5-bit values; `None` if it overflows `u64`.
pub(crate) fn fes_to_u64(fes: &[u8]) -> Option<u64> {
    fes.iter().try_fold(0u64, |acc, v| acc.checked_mul(32).map(|a| a | u64::from(v & 31)))
}

/// Appends `value` as big-endian 5-bit values: exactly `len` of them.
pub(crate) fn push_u64_fixed(value: u64, len: usize, out: &mut Vec<u8>) {
    for i in (0..len).rev() {
        out.push(((value >> (5 * i)) & 31) as u8);
    }
}

/// The number of 5-bit values `value` needs with no leading zero (0 for 0).
pub(crate) fn minimal_fes_len(value: u64) -> usize {
    (64 - value.leading_zeros() as usize).div_ceil(5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_constants_are_consistent() {
        Bolt11Bech32::sanity_check();
    }

    #[test]
    fn bytes_round_trip_through_fes() {
        for len in 0..70usize {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let mut fes = Vec::new();
            push_bytes_as_fes(&bytes, &mut fes);
            assert_eq!(fes.len(), fes_len_for_bytes(len));
            assert_eq!(fes_to_bytes(&fes), Some(bytes));
        }
    }

    #[test]
    fn padding_must_be_short_and_zero() {
        // 52 groups = 260 bits: 32 bytes and 4 zero bits.
        let mut fes = vec![0u8; 52];
        assert_eq!(fes_to_bytes(&fes).map(|b| b.len()), Some(32));
        fes[51] = 1; // a padding bit set
        assert_eq!(fes_to_bytes(&fes), None);
        // One group alone is 5 bits of padding: not a whole conversion.
        assert_eq!(fes_to_bytes(&[0]), None);
        assert_eq!(fes_to_bytes(&[]), Some(vec![]));
    }

    #[test]
    fn integers() {
        assert_eq!(fes_to_u64(&[]), Some(0));
        assert_eq!(fes_to_u64(&[1, 28]), Some(60));
        let mut max = vec![31u8; 13];
        max[0] = 15;
        assert_eq!(fes_to_u64(&max), Some(u64::MAX));
        assert_eq!(fes_to_u64(&[16; 13]), None);
        assert_eq!(fes_to_u64(&[31; 12]), Some((1 << 60) - 1));
        for v in [0u64, 1, 31, 32, 60, 3600, 1 << 40, u64::MAX] {
            let mut out = Vec::new();
            push_u64_fixed(v, minimal_fes_len(v), &mut out);
            assert_eq!(fes_to_u64(&out), Some(v));
            assert!(out.first() != Some(&0));
        }
        assert_eq!(minimal_fes_len(0), 0);
        assert_eq!(minimal_fes_len(31), 1);
        assert_eq!(minimal_fes_len(32), 2);
    }
}
