//! TLV streams (BOLT 1 "Type-Length-Value Format"), written once, generically.
//!
//! [`TlvStream`] walks the records of a stream and enforces the stream-level
//! rules: minimal `bigsize` types and lengths, strictly increasing types (which
//! also forbids duplicates) and lengths that fit in what is left. The
//! [`tlv_stream!`](crate::tlv_stream) macro declares a struct of known records
//! and decodes it with the record-level rules: a known type must decode from
//! exactly its `length` bytes (variable-length parts minimal), an unknown even
//! type fails the stream, an unknown odd type is skipped.
//!
//! Values inside records implement [`TlvValue`], which sees the whole value at
//! once; that is what lets truncated integers (`tu16`/`tu32`/`tu64`) know their
//! length.

use crate::io::{self, Write};
use crate::ln::msgs::DecodeError;
use crate::prelude::*;
use crate::util::ser::{decode_exact, BigSize, Readable, Writeable};

use bitcoin::blockdata::constants::ChainHash;
use bitcoin::hashes::sha256;
use bitcoin::secp256k1::{ecdsa::Signature, PublicKey, SecretKey};
use bitcoin::Txid;

/// One record of a TLV stream, borrowed from the stream's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlvRecord<'a> {
    /// The record's type.
    pub record_type: u64,
    /// The record's value (exactly `length` bytes).
    pub value: &'a [u8],
}

/// An iterator over the records of a TLV stream that enforces the stream-level
/// rules of BOLT 1. After the first error it yields nothing more.
#[derive(Clone, Debug)]
pub struct TlvStream<'a> {
    remaining: &'a [u8],
    last_type: Option<u64>,
    failed: bool,
}

impl<'a> TlvStream<'a> {
    /// Starts reading the stream held in `bytes` (all of it).
    pub fn new(bytes: &'a [u8]) -> Self {
        TlvStream { remaining: bytes, last_type: None, failed: false }
    }

    fn next_record(&mut self) -> Result<TlvRecord<'a>, DecodeError> {
        let record_type = BigSize::read(&mut self.remaining)?.0;
        if let Some(last) = self.last_type {
            if record_type == last {
                return Err(DecodeError::DuplicateTlvType(record_type));
            }
            if record_type < last {
                return Err(DecodeError::TlvTypeOutOfOrder(record_type));
            }
        }
        self.last_type = Some(record_type);
        let length = BigSize::read(&mut self.remaining)?.0;
        let length = usize::try_from(length).map_err(|_| DecodeError::ShortRead)?;
        if length > self.remaining.len() {
            return Err(DecodeError::ShortRead);
        }
        let (value, rest) = self.remaining.split_at(length);
        self.remaining = rest;
        Ok(TlvRecord { record_type, value })
    }
}

impl<'a> Iterator for TlvStream<'a> {
    type Item = Result<TlvRecord<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.remaining.is_empty() {
            return None;
        }
        let item = self.next_record();
        self.failed = item.is_err();
        Some(item)
    }
}

/// Checks a whole stream against the stream-level rules and the "unknown even
/// type" rule, treating every type for which `is_known` is false as unknown.
pub fn validate_stream(bytes: &[u8], is_known: impl Fn(u64) -> bool) -> Result<(), DecodeError> {
    for record in TlvStream::new(bytes) {
        let record = record?;
        if !is_known(record.record_type) && record.record_type % 2 == 0 {
            return Err(DecodeError::UnknownRequiredTlv(record.record_type));
        }
    }
    Ok(())
}

/// A value that can be the whole `value` of a TLV record.
pub trait TlvValue: Sized {
    /// Writes the value (without type or length).
    fn write_value<W: Write>(&self, w: &mut W) -> Result<(), io::Error>;
    /// Length of what [`TlvValue::write_value`] writes.
    fn value_len(&self) -> usize;
    /// Decodes the value from exactly `value`; a length that does not fit the
    /// type is [`DecodeError::BadLengthDescriptor`].
    fn read_value(value: &[u8]) -> Result<Self, DecodeError>;
}

/// Writes one record: `bigsize` type, `bigsize` length, value.
pub fn write_tlv_record<W: Write, V: TlvValue>(
    w: &mut W, record_type: u64, value: &V,
) -> Result<(), io::Error> {
    BigSize(record_type).write(w)?;
    BigSize(value.value_len() as u64).write(w)?;
    value.write_value(w)
}

/// Length of a record as [`write_tlv_record`] writes it.
pub fn tlv_record_len<V: TlvValue>(record_type: u64, value: &V) -> usize {
    let len = value.value_len();
    BigSize::encoded_len(record_type) + BigSize::encoded_len(len as u64) + len
}

/// Decodes a fixed-size value: short or long input is a bad length, not a short
/// read of the message.
fn read_fixed_value<T: Readable>(value: &[u8]) -> Result<T, DecodeError> {
    decode_exact(value).map_err(|e| match e {
        DecodeError::ShortRead => DecodeError::BadLengthDescriptor,
        other => other,
    })
}

/// Implements [`TlvValue`] for types whose encoding has a fixed shape.
#[macro_export]
macro_rules! impl_tlv_value_fixed {
    ($($ty:ty),* $(,)?) => {$(
        impl $crate::util::tlv::TlvValue for $ty {
            fn write_value<W: $crate::io::Write>(&self, w: &mut W) -> Result<(), $crate::io::Error> {
                $crate::util::ser::Writeable::write(self, w)
            }
            fn value_len(&self) -> usize {
                $crate::util::ser::Writeable::serialized_length(self)
            }
            fn read_value(value: &[u8]) -> Result<Self, $crate::ln::msgs::DecodeError> {
                $crate::util::tlv::read_fixed_value_pub(value)
            }
        }
    )*};
}

#[doc(hidden)]
pub fn read_fixed_value_pub<T: Readable>(value: &[u8]) -> Result<T, DecodeError> {
    read_fixed_value(value)
}

impl_tlv_value_fixed!(
    u8,
    u16,
    u32,
    u64,
    i8,
    i16,
    i32,
    i64,
    bool,
    PublicKey,
    SecretKey,
    Signature,
    sha256::Hash,
    Txid,
    ChainHash,
    [u8; 32],
    BigSize
);

impl<A: Readable + Writeable, B: Readable + Writeable> TlvValue for (A, B) {
    fn write_value<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.write(w)
    }
    fn value_len(&self) -> usize {
        self.serialized_length()
    }
    fn read_value(value: &[u8]) -> Result<Self, DecodeError> {
        read_fixed_value(value)
    }
}

impl<A: Readable + Writeable, B: Readable + Writeable, C: Readable + Writeable> TlvValue for (A, B, C) {
    fn write_value<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.write(w)
    }
    fn value_len(&self) -> usize {
        self.serialized_length()
    }
    fn read_value(value: &[u8]) -> Result<Self, DecodeError> {
        read_fixed_value(value)
    }
}

/// A sequence of fixed-size elements filling the whole value (`...*T` in the
/// BOLTs); a partial trailing element is a bad length.
impl<T: Readable + Writeable> TlvValue for Vec<T> {
    fn write_value<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        for item in self {
            item.write(w)?;
        }
        Ok(())
    }
    fn value_len(&self) -> usize {
        self.iter().map(|i| i.serialized_length()).sum()
    }
    fn read_value(value: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = value;
        let mut out = Vec::new();
        while !reader.is_empty() {
            out.push(T::read(&mut reader).map_err(|e| match e {
                DecodeError::ShortRead => DecodeError::BadLengthDescriptor,
                other => other,
            })?);
        }
        Ok(out)
    }
}

/// Raw bytes filling the whole value (`...*byte`), copied in one go.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RawBytes(pub Vec<u8>);

impl TlvValue for RawBytes {
    fn write_value<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        w.write_all(&self.0)
    }
    fn value_len(&self) -> usize {
        self.0.len()
    }
    fn read_value(value: &[u8]) -> Result<Self, DecodeError> {
        Ok(RawBytes(value.to_vec()))
    }
}

macro_rules! truncated_int {
    ($name:ident, $inner:ty, $doc:literal) => {
        #[doc = $doc]
        ///
        /// Only valid as the last field of a TLV value. Written without leading
        /// zero bytes (zero is the empty value); read back only from that
        /// minimal form.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub $inner);

        impl TlvValue for $name {
            fn write_value<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
                let bytes = self.0.to_be_bytes();
                w.write_all(&bytes[bytes.len() - self.value_len()..])
            }
            fn value_len(&self) -> usize {
                core::mem::size_of::<$inner>() - (self.0.leading_zeros() / 8) as usize
            }
            fn read_value(value: &[u8]) -> Result<Self, DecodeError> {
                const WIDTH: usize = core::mem::size_of::<$inner>();
                if value.len() > WIDTH {
                    return Err(DecodeError::BadLengthDescriptor);
                }
                if value.first() == Some(&0) {
                    return Err(DecodeError::NonMinimalInteger);
                }
                let mut buf = [0u8; WIDTH];
                buf[WIDTH - value.len()..].copy_from_slice(value);
                Ok($name(<$inner>::from_be_bytes(buf)))
            }
        }
    };
}
truncated_int!(Tu16, u16, "The BOLT 1 `tu16`: a 0 to 2 byte truncated unsigned integer.");
truncated_int!(Tu32, u32, "The BOLT 1 `tu32`: a 0 to 4 byte truncated unsigned integer.");
truncated_int!(Tu64, u64, "The BOLT 1 `tu64`: a 0 to 8 byte truncated unsigned integer.");

/// Declares a TLV stream: a struct with one `Option` field per known record type,
/// `Writeable` in increasing type order and `Readable` from the rest of the input
/// with every BOLT 1 rule. Record types must be listed in strictly increasing
/// order; that is checked at compile time.
///
/// ```
/// use lightning_core::tlv_stream;
/// use lightning_core::util::tlv::Tu64;
/// tlv_stream! {
///     /// Example stream.
///     pub struct ExampleTlvs {
///         /// An amount.
///         (1, amount_msat: Tu64),
///         /// A height.
///         (3, height: u32),
///     }
/// }
/// let tlvs = ExampleTlvs::decode_stream(&[1, 1, 42]).unwrap();
/// assert_eq!(tlvs.amount_msat, Some(Tu64(42)));
/// ```
#[macro_export]
macro_rules! tlv_stream {
    (
        $(#[$attr:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$fattr:meta])* ($typ:literal, $field:ident : $ty:ty) ),* $(,)?
        }
    ) => {
        $(#[$attr])*
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        $vis struct $name {
            $( $(#[$fattr])* pub $field: Option<$ty>, )*
        }

        const _: () = {
            let types: &[u64] = &[$($typ),*];
            let mut i = 1;
            while i < types.len() {
                assert!(types[i - 1] < types[i], "TLV record types must be strictly increasing");
                i += 1;
            }
        };

        impl $name {
            /// Decodes a whole TLV stream held in `bytes`.
            pub fn decode_stream(bytes: &[u8]) -> Result<Self, $crate::ln::msgs::DecodeError> {
                #[allow(unused_mut)]
                let mut out = Self::default();
                for record in $crate::util::tlv::TlvStream::new(bytes) {
                    let record = record?;
                    match record.record_type {
                        $( $typ => {
                            out.$field = Some(<$ty as $crate::util::tlv::TlvValue>::read_value(record.value)?);
                        } )*
                        t if t % 2 == 0 => {
                            return Err($crate::ln::msgs::DecodeError::UnknownRequiredTlv(t));
                        }
                        _ => {}
                    }
                }
                Ok(out)
            }

            /// True if no record is present.
            pub fn is_empty(&self) -> bool {
                true $( && self.$field.is_none() )*
            }
        }

        impl $crate::util::ser::Writeable for $name {
            #[allow(unused_variables)]
            fn write<W: $crate::io::Write>(&self, w: &mut W) -> Result<(), $crate::io::Error> {
                $( if let Some(v) = &self.$field {
                    $crate::util::tlv::write_tlv_record(w, $typ, v)?;
                } )*
                Ok(())
            }
            fn serialized_length(&self) -> usize {
                0 $( + self.$field.as_ref().map_or(0, |v| $crate::util::tlv::tlv_record_len($typ, v)) )*
            }
        }

        impl $crate::util::ser::Readable for $name {
            /// Reads the stream from everything left in `r`.
            fn read<R: $crate::io::Read>(r: &mut R) -> Result<Self, $crate::ln::msgs::DecodeError> {
                let bytes = $crate::util::ser::read_to_end_bounded(r)?;
                Self::decode_stream(&bytes)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_ints_are_minimal() {
        assert_eq!(Tu64(0).value_len(), 0);
        assert_eq!(Tu64(1).value_len(), 1);
        assert_eq!(Tu64(256).value_len(), 2);
        assert_eq!(Tu64(u64::MAX).value_len(), 8);
        assert_eq!(Tu16::read_value(&[0, 1]), Err(DecodeError::NonMinimalInteger));
        assert_eq!(Tu16::read_value(&[1, 0, 0]), Err(DecodeError::BadLengthDescriptor));
        assert_eq!(Tu32::read_value(&[]), Ok(Tu32(0)));
    }

    #[test]
    fn stream_stops_after_first_error() {
        let mut s = TlvStream::new(&[0x02, 0x00, 0x01, 0x00]);
        assert!(s.next().is_some_and(|r| r.is_ok()));
        assert_eq!(s.next(), Some(Err(DecodeError::TlvTypeOutOfOrder(1))));
        assert_eq!(s.next(), None);
    }
}
