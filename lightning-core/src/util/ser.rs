//! The BOLT 1 serialization framework: [`Writeable`] / [`Readable`] and the
//! fundamental types of the wire format.
//!
//! Every multi-byte integer is big-endian. [`BigSize`] is the variable-length
//! integer of BOLT 1 (always minimally encoded, rejected otherwise); truncated
//! integers (`tu16`/`tu32`/`tu64`) can only end a TLV record and live in
//! [`crate::util::tlv`]. Points, signatures and hashes are checked when they are
//! read, so a value that made it through [`Readable`] is well formed.

use crate::io::{self, Read, Write};
use crate::ln::msgs::DecodeError;
use crate::prelude::*;

use bitcoin::blockdata::constants::ChainHash;
use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{ecdsa::Signature, PublicKey, SecretKey};
use bitcoin::{BlockHash, Txid};

/// Largest Lightning message: the transport's 2-byte length limits every message
/// (type included) to this many bytes.
pub const MAX_MESSAGE_LEN: usize = 65535;

/// A value with a canonical wire encoding.
pub trait Writeable {
    /// Writes the wire encoding of `self` to `w`.
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error>;

    /// Returns the wire encoding of `self` as a new vector.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.serialized_length());
        // Writing into a `Vec` cannot fail.
        let _ = self.write(&mut out);
        out
    }

    /// Returns the length in bytes of the wire encoding of `self`.
    fn serialized_length(&self) -> usize {
        let mut counter = LengthCalculatingWriter(0);
        let _ = self.write(&mut counter);
        counter.0
    }
}

/// A value that can be decoded from its wire encoding without outside context.
pub trait Readable: Sized {
    /// Reads one value from `r`, consuming exactly its encoding.
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError>;
}

/// A value that needs some context (`P`) to be decoded, for example the network
/// it belongs to or a secp256k1 context.
pub trait ReadableArgs<P>: Sized {
    /// Reads one value from `r` using `args`.
    fn read<R: Read>(r: &mut R, args: P) -> Result<Self, DecodeError>;
}

/// Decodes a `T` that must fill `bytes` exactly; trailing bytes are an error.
pub fn decode_exact<T: Readable>(bytes: &[u8]) -> Result<T, DecodeError> {
    let mut reader = bytes;
    let value = T::read(&mut reader)?;
    if reader.is_empty() {
        Ok(value)
    } else {
        Err(DecodeError::BadLengthDescriptor)
    }
}

/// A `Write` that only counts the bytes written to it.
pub struct LengthCalculatingWriter(pub usize);

impl Write for LengthCalculatingWriter {
    fn write(&mut self, buf: &[u8]) -> Result<usize, io::Error> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), io::Error> {
        Ok(())
    }
}

/// Reads exactly `N` bytes into an array.
pub(crate) fn read_array<R: Read, const N: usize>(r: &mut R) -> Result<[u8; N], DecodeError> {
    let mut buf = [0u8; N];
    r.read_exact(&mut buf)?;
    Ok(buf)
}

macro_rules! impl_be_int {
    ($($ty:ty),*) => {$(
        impl Writeable for $ty {
            #[inline]
            fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
                w.write_all(&self.to_be_bytes())
            }
            #[inline]
            fn serialized_length(&self) -> usize {
                core::mem::size_of::<$ty>()
            }
        }
        impl Readable for $ty {
            #[inline]
            fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
                Ok(<$ty>::from_be_bytes(read_array(r)?))
            }
        }
    )*};
}
// Signed integers are big-endian two's complement (BOLT 1 `s8`..`s64`).
impl_be_int!(u8, u16, u32, u64, i8, i16, i32, i64);

impl Writeable for bool {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        w.write_all(&[*self as u8])
    }
}

impl Readable for bool {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        match u8::read(r)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::InvalidValue),
        }
    }
}

impl<const N: usize> Writeable for [u8; N] {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        w.write_all(self)
    }
    fn serialized_length(&self) -> usize {
        N
    }
}

impl<const N: usize> Readable for [u8; N] {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        read_array(r)
    }
}

/// The BOLT 1 `bigsize`: a big-endian variable-length integer of 1, 3, 5 or 9
/// bytes, always in its shortest form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BigSize(pub u64);

impl BigSize {
    /// Length of the encoding of `value`.
    pub const fn encoded_len(value: u64) -> usize {
        match value {
            0..=0xfc => 1,
            0xfd..=0xffff => 3,
            0x1_0000..=0xffff_ffff => 5,
            _ => 9,
        }
    }
}

impl Writeable for BigSize {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        match self.0 {
            0..=0xfc => w.write_all(&[self.0 as u8]),
            0xfd..=0xffff => {
                w.write_all(&[0xfd])?;
                w.write_all(&(self.0 as u16).to_be_bytes())
            }
            0x1_0000..=0xffff_ffff => {
                w.write_all(&[0xfe])?;
                w.write_all(&(self.0 as u32).to_be_bytes())
            }
            _ => {
                w.write_all(&[0xff])?;
                w.write_all(&self.0.to_be_bytes())
            }
        }
    }
    fn serialized_length(&self) -> usize {
        Self::encoded_len(self.0)
    }
}

impl Readable for BigSize {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let value = match u8::read(r)? {
            0xff => {
                let v = u64::read(r)?;
                if v <= 0xffff_ffff {
                    return Err(DecodeError::NonCanonicalBigSize);
                }
                v
            }
            0xfe => {
                let v = u32::read(r)? as u64;
                if v <= 0xffff {
                    return Err(DecodeError::NonCanonicalBigSize);
                }
                v
            }
            0xfd => {
                let v = u16::read(r)? as u64;
                if v < 0xfd {
                    return Err(DecodeError::NonCanonicalBigSize);
                }
                v
            }
            n => n as u64,
        };
        Ok(BigSize(value))
    }
}

/// Writes a byte string preceded by its length as a `u16`. Fails if the string
/// is longer than 65535 bytes.
pub fn write_u16_len_bytes<W: Write>(w: &mut W, bytes: &[u8]) -> Result<(), io::Error> {
    let len = u16::try_from(bytes.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    len.write(w)?;
    w.write_all(bytes)
}

/// Reads a byte string preceded by its `u16` length.
pub fn read_u16_len_bytes<R: Read>(r: &mut R) -> Result<Vec<u8>, DecodeError> {
    let len = u16::read(r)? as usize;
    read_bytes(r, len)
}

/// Writes a `u16` count then each element (the usual encoding of a list in
/// the library's own persisted formats).
pub fn write_vec<W: Write, T: Writeable>(w: &mut W, items: &[T]) -> Result<(), io::Error> {
    let len = u16::try_from(items.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    len.write(w)?;
    items.iter().try_for_each(|i| i.write(w))
}

/// Reads a `u16` count then that many elements. The vector grows as elements
/// arrive, so a lying count costs no more memory than the data sent.
pub fn read_vec<R: Read, T: Readable>(r: &mut R) -> Result<Vec<T>, DecodeError> {
    let len = u16::read(r)? as usize;
    let mut out = Vec::with_capacity(len.min(64));
    for _ in 0..len {
        out.push(T::read(r)?);
    }
    Ok(out)
}

/// Reads exactly `len` bytes. The buffer grows as data arrives rather than
/// trusting `len` up front, so a lying length costs no more memory than the
/// data actually sent.
pub fn read_bytes<R: Read>(r: &mut R, len: usize) -> Result<Vec<u8>, DecodeError> {
    const CHUNK: usize = 4096;
    let mut out = Vec::with_capacity(len.min(CHUNK));
    let mut chunk = [0u8; CHUNK];
    let mut remaining = len;
    while remaining > 0 {
        let n = remaining.min(CHUNK);
        r.read_exact(&mut chunk[..n])?;
        out.extend_from_slice(&chunk[..n]);
        remaining -= n;
    }
    Ok(out)
}

/// Reads everything left in `r`, up to [`MAX_MESSAGE_LEN`] bytes; more than that
/// is an error rather than a silent truncation.
pub fn read_to_end_bounded<R: Read>(r: &mut R) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    r.read_to_limit(&mut out, MAX_MESSAGE_LEN as u64 + 1)?;
    if out.len() > MAX_MESSAGE_LEN {
        return Err(DecodeError::BadLengthDescriptor);
    }
    Ok(out)
}

impl Writeable for PublicKey {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        w.write_all(&self.serialize())
    }
    fn serialized_length(&self) -> usize {
        33
    }
}

impl Readable for PublicKey {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let buf: [u8; 33] = read_array(r)?;
        PublicKey::from_slice(&buf).map_err(|_| DecodeError::InvalidValue)
    }
}

impl Writeable for SecretKey {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        w.write_all(&self.secret_bytes())
    }
    fn serialized_length(&self) -> usize {
        32
    }
}

impl Readable for SecretKey {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let buf: [u8; 32] = read_array(r)?;
        SecretKey::from_slice(&buf).map_err(|_| DecodeError::InvalidValue)
    }
}

impl Writeable for Signature {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        w.write_all(&self.serialize_compact())
    }
    fn serialized_length(&self) -> usize {
        64
    }
}

impl Readable for Signature {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let buf: [u8; 64] = read_array(r)?;
        Signature::from_compact(&buf).map_err(|_| DecodeError::InvalidValue)
    }
}

macro_rules! impl_hash32 {
    ($($ty:ty),*) => {$(
        impl Writeable for $ty {
            fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
                w.write_all(self.as_ref())
            }
            fn serialized_length(&self) -> usize {
                32
            }
        }
        impl Readable for $ty {
            fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
                Ok(<$ty>::from_byte_array(read_array(r)?))
            }
        }
    )*};
}
impl_hash32!(sha256::Hash, Txid, BlockHash);

impl Writeable for ChainHash {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        w.write_all(self.as_bytes())
    }
    fn serialized_length(&self) -> usize {
        32
    }
}

impl Readable for ChainHash {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(ChainHash::from(read_array::<_, 32>(r)?))
    }
}

impl<A: Writeable, B: Writeable> Writeable for (A, B) {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.0.write(w)?;
        self.1.write(w)
    }
}

impl<A: Readable, B: Readable> Readable for (A, B) {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok((A::read(r)?, B::read(r)?))
    }
}

impl<A: Writeable, B: Writeable, C: Writeable> Writeable for (A, B, C) {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.0.write(w)?;
        self.1.write(w)?;
        self.2.write(w)
    }
}

impl<A: Readable, B: Readable, C: Readable> Readable for (A, B, C) {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok((A::read(r)?, B::read(r)?, C::read(r)?))
    }
}

impl<T: Writeable + ?Sized> Writeable for &T {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        (**self).write(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bigsize_boundaries_round_trip() {
        for v in [0u64, 0xfc, 0xfd, 0xffff, 0x1_0000, 0xffff_ffff, 0x1_0000_0000, u64::MAX] {
            let enc = BigSize(v).encode();
            assert_eq!(enc.len(), BigSize::encoded_len(v));
            assert_eq!(decode_exact::<BigSize>(&enc), Ok(BigSize(v)));
        }
    }

    #[test]
    fn read_bytes_rejects_short_input_without_huge_allocation() {
        let data = [1u8, 2, 3];
        assert_eq!(read_bytes(&mut &data[..], usize::MAX), Err(DecodeError::ShortRead));
    }

    #[test]
    fn bool_rejects_values_other_than_zero_and_one() {
        assert_eq!(decode_exact::<bool>(&[2]), Err(DecodeError::InvalidValue));
        assert_eq!(decode_exact::<bool>(&[1]), Ok(true));
    }
}
