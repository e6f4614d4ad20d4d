//! Identifiers used across the protocol: channel ids and short channel ids.

use crate::io::{self, Read, Write};
use crate::ln::msgs::DecodeError;
use crate::util::ser::{Readable, Writeable};
use bitcoin::hashes::Hash;
use bitcoin::Txid;
use core::fmt;

/// A 32-byte channel identifier (BOLT 2 "Definition of `channel_id`").
///
/// For a v1 channel it is the funding txid XORed with the funding output index
/// in its last two bytes; before that is known, a random temporary id is used.
/// The all-zero id means "all channels" in `error` and `warning`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ChannelId(pub [u8; 32]);

impl ChannelId {
    /// The all-zero id, which refers to every channel with a peer.
    pub const ALL_CHANNELS: ChannelId = ChannelId([0; 32]);

    /// The v1 channel id of the channel funded by output `output_index` of `txid`:
    /// the txid in wire byte order with the index XORed into the last two bytes.
    pub fn v1_from_funding_outpoint(txid: Txid, output_index: u16) -> Self {
        let mut id = txid.to_byte_array();
        id[30] ^= (output_index >> 8) as u8;
        id[31] ^= (output_index & 0xff) as u8;
        ChannelId(id)
    }

    /// True for the all-zero id.
    pub fn is_all_channels(&self) -> bool {
        self.0 == [0; 32]
    }
}

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl Writeable for ChannelId {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        w.write_all(&self.0)
    }
    fn serialized_length(&self) -> usize {
        32
    }
}

impl Readable for ChannelId {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(ChannelId(Readable::read(r)?))
    }
}

/// A short channel id (BOLT 7): the funding output's position in the chain,
/// packed as 3 bytes block height, 3 bytes transaction index, 2 bytes output
/// index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ShortChannelId(pub u64);

/// Why a [`ShortChannelId`] could not be built from its parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShortChannelIdError {
    /// The block height does not fit in 24 bits.
    BlockHeightOverflow,
    /// The transaction index does not fit in 24 bits.
    TxIndexOverflow,
}

impl ShortChannelId {
    /// Packs a block height, transaction index and output index.
    pub fn new(block_height: u32, tx_index: u32, output_index: u16) -> Result<Self, ShortChannelIdError> {
        if block_height > 0x00ff_ffff {
            return Err(ShortChannelIdError::BlockHeightOverflow);
        }
        if tx_index > 0x00ff_ffff {
            return Err(ShortChannelIdError::TxIndexOverflow);
        }
        Ok(ShortChannelId(((block_height as u64) << 40) | ((tx_index as u64) << 16) | output_index as u64))
    }
    /// Height of the block holding the funding transaction.
    pub fn block_height(&self) -> u32 {
        (self.0 >> 40) as u32
    }
    /// Index of the funding transaction in its block.
    pub fn tx_index(&self) -> u32 {
        ((self.0 >> 16) & 0x00ff_ffff) as u32
    }
    /// Index of the funding output in its transaction.
    pub fn output_index(&self) -> u16 {
        (self.0 & 0xffff) as u16
    }
}

impl fmt::Display for ShortChannelId {
    /// The common `BLOCKxTXxOUTPUT` form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}x{}", self.block_height(), self.tx_index(), self.output_index())
    }
}

impl Writeable for ShortChannelId {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.0.write(w)
    }
    fn serialized_length(&self) -> usize {
        8
    }
}

impl Readable for ShortChannelId {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(ShortChannelId(u64::read(r)?))
    }
}

crate::impl_tlv_value_fixed!(ChannelId, ShortChannelId);

macro_rules! payment_bytes_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub [u8; 32]);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
        }

        impl Writeable for $name {
            fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
                w.write_all(&self.0)
            }
            fn serialized_length(&self) -> usize {
                32
            }
        }

        impl Readable for $name {
            fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
                Ok($name(Readable::read(r)?))
            }
        }

        crate::impl_tlv_value_fixed!($name);
    };
}

payment_bytes_newtype!(
    /// The SHA-256 hash that locks an HTLC; its preimage releases it.
    PaymentHash
);
payment_bytes_newtype!(
    /// The 32-byte secret whose SHA-256 is a [`PaymentHash`]; revealing it claims
    /// the payment.
    PaymentPreimage
);
payment_bytes_newtype!(
    /// The caller's idempotency key for an outbound payment: sending twice with
    /// the same id pays once.
    PaymentId
);
payment_bytes_newtype!(
    /// The secret from an invoice that the payer puts in the final onion payload,
    /// so intermediate nodes cannot probe or steal a payment (BOLT 4/11).
    PaymentSecret
);

impl PaymentPreimage {
    /// The hash this preimage unlocks.
    pub fn payment_hash(&self) -> PaymentHash {
        PaymentHash(bitcoin::hashes::sha256::Hash::hash(&self.0).to_byte_array())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::prelude::*;

    #[test]
    fn scid_packs_and_unpacks() {
        let scid = ShortChannelId::new(539268, 845, 1).unwrap();
        assert_eq!(scid.0, 0x083a_8400_034d_0001);
        assert_eq!((scid.block_height(), scid.tx_index(), scid.output_index()), (539268, 845, 1));
        assert_eq!(scid.to_string(), "539268x845x1");
        assert_eq!(ShortChannelId::new(1 << 24, 0, 0), Err(ShortChannelIdError::BlockHeightOverflow));
    }

    #[test]
    fn channel_id_xors_output_index() {
        let txid = Txid::from_byte_array([0xff; 32]);
        let id = ChannelId::v1_from_funding_outpoint(txid, 0x0102);
        assert_eq!(id.0[30], 0xfe);
        assert_eq!(id.0[31], 0xfd);
        assert_eq!(id.0[..30], [0xff; 30]);
    }
}
