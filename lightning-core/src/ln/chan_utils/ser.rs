//! Serialization of the channel transaction types, for channels and monitors
//! to persist. Fixed-width big-endian fields; no version byte (the persister
//! adds one).

use bitcoin::secp256k1::PublicKey;
use bitcoin::{OutPoint, Txid};

use super::{
    ChannelPublicKeys, ChannelSideParameters, ChannelTransactionParameters, HTLCOutputInCommitment,
    HtlcDirection,
};
use crate::io;
use crate::ln::features::ChannelTypeFeatures;
use crate::ln::msgs::DecodeError;
use crate::ln::types::PaymentHash;
use crate::util::ser::{Readable, Writeable};

impl Writeable for ChannelPublicKeys {
    fn write<W: io::Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.funding_pubkey.write(w)?;
        self.revocation_basepoint.write(w)?;
        self.payment_point.write(w)?;
        self.delayed_payment_basepoint.write(w)?;
        self.htlc_basepoint.write(w)
    }
}

impl Readable for ChannelPublicKeys {
    fn read<R: io::Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(ChannelPublicKeys {
            funding_pubkey: PublicKey::read(r)?,
            revocation_basepoint: PublicKey::read(r)?,
            payment_point: PublicKey::read(r)?,
            delayed_payment_basepoint: PublicKey::read(r)?,
            htlc_basepoint: PublicKey::read(r)?,
        })
    }
}

impl Writeable for ChannelSideParameters {
    fn write<W: io::Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.pubkeys.write(w)?;
        self.selected_contest_delay.write(w)
    }
}

impl Readable for ChannelSideParameters {
    fn read<R: io::Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(ChannelSideParameters { pubkeys: Readable::read(r)?, selected_contest_delay: Readable::read(r)? })
    }
}

impl Writeable for ChannelTransactionParameters {
    fn write<W: io::Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.holder.write(w)?;
        self.counterparty.write(w)?;
        self.holder_is_funder.write(w)?;
        self.funding_outpoint.txid.write(w)?;
        self.funding_outpoint.vout.write(w)?;
        self.channel_value_satoshis.write(w)?;
        self.channel_type_features.write(w)
    }
}

impl Readable for ChannelTransactionParameters {
    fn read<R: io::Read>(r: &mut R) -> Result<Self, DecodeError> {
        let holder = Readable::read(r)?;
        let counterparty = Readable::read(r)?;
        let holder_is_funder = Readable::read(r)?;
        let funding_outpoint = OutPoint { txid: Txid::read(r)?, vout: Readable::read(r)? };
        let channel_value_satoshis = Readable::read(r)?;
        let channel_type = ChannelTypeFeatures::read(r)?;
        ChannelTransactionParameters::new(
            holder,
            counterparty,
            holder_is_funder,
            funding_outpoint,
            channel_value_satoshis,
            channel_type,
        )
        .map_err(|_| DecodeError::InvalidValue)
    }
}

impl Writeable for HTLCOutputInCommitment {
    fn write<W: io::Write>(&self, w: &mut W) -> Result<(), io::Error> {
        let offered = matches!(self.direction, HtlcDirection::Offered);
        offered.write(w)?;
        self.amount_msat.write(w)?;
        self.cltv_expiry.write(w)?;
        self.payment_hash.write(w)?;
        match self.transaction_output_index {
            Some(index) => {
                true.write(w)?;
                index.write(w)
            }
            None => false.write(w),
        }
    }
}

impl Readable for HTLCOutputInCommitment {
    fn read<R: io::Read>(r: &mut R) -> Result<Self, DecodeError> {
        let direction = if bool::read(r)? { HtlcDirection::Offered } else { HtlcDirection::Received };
        let amount_msat = Readable::read(r)?;
        let cltv_expiry = Readable::read(r)?;
        let payment_hash = PaymentHash::read(r)?;
        let transaction_output_index = if bool::read(r)? { Some(Readable::read(r)?) } else { None };
        Ok(HTLCOutputInCommitment {
            direction,
            amount_msat,
            cltv_expiry,
            payment_hash,
            transaction_output_index,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::ser::decode_exact;
    use bitcoin::hashes::Hash;
    use bitcoin::secp256k1::{Secp256k1, SecretKey};

    #[test]
    fn parameters_and_htlcs_round_trip() {
        let secp = Secp256k1::new();
        let key = |i: u8| PublicKey::from_secret_key(&secp, &SecretKey::from_slice(&[i; 32]).unwrap());
        let keys = |b: u8| ChannelPublicKeys {
            funding_pubkey: key(b),
            revocation_basepoint: key(b + 1),
            payment_point: key(b + 2),
            delayed_payment_basepoint: key(b + 3),
            htlc_basepoint: key(b + 4),
        };
        let mut channel_type = ChannelTypeFeatures::empty();
        channel_type.set_static_remote_key_required();
        channel_type.set_anchors_zero_fee_htlc_tx_required();
        let params = ChannelTransactionParameters::new(
            ChannelSideParameters { pubkeys: keys(1), selected_contest_delay: 144 },
            ChannelSideParameters { pubkeys: keys(10), selected_contest_delay: 2016 },
            false,
            OutPoint { txid: Txid::from_byte_array([9; 32]), vout: 7 },
            1_000_000,
            channel_type,
        )
        .unwrap();
        assert_eq!(decode_exact::<ChannelTransactionParameters>(&params.encode()), Ok(params));
        for (direction, index) in [(HtlcDirection::Offered, Some(3)), (HtlcDirection::Received, None)] {
            let htlc = HTLCOutputInCommitment {
                direction,
                amount_msat: 123_456,
                cltv_expiry: 800_000,
                payment_hash: PaymentHash([4; 32]),
                transaction_output_index: index,
            };
            assert_eq!(decode_exact::<HTLCOutputInCommitment>(&htlc.encode()), Ok(htlc));
        }
    }
}
