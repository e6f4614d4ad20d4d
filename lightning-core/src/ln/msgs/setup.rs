//! BOLT 1 setup and control messages: `init`, `error`, `warning`, `ping`, `pong`.

use crate::io::{self, Read, Write};
use crate::ln::features::{InitContext, InitFeatures};
use crate::ln::msgs::{DecodeError, SocketAddress};
use crate::ln::types::ChannelId;
use crate::ln::wire::Type;
use crate::prelude::*;
use crate::util::ser::{read_bytes, read_u16_len_bytes, write_u16_len_bytes, Readable, Writeable};
use crate::util::tlv::RawBytes;
use bitcoin::blockdata::constants::ChainHash;

crate::tlv_stream! {
    /// The `init_tlvs` stream of `init`.
    pub struct InitTlvs {
        /// `networks`: the chains the sender gossips or opens channels for.
        (1, networks: Vec<ChainHash>),
        /// `remote_addr`: the address the sender sees us at, as an address
        /// descriptor; kept raw because the spec defines it as bytes.
        (3, remote_addr: RawBytes),
    }
}

/// `init` (type 16): the first message on every connection, with the sender's
/// features.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Init {
    /// The sender's features: `globalfeatures` and `features` ORed together.
    pub features: InitFeatures,
    /// The chains the sender is interested in, if it said.
    pub networks: Option<Vec<ChainHash>>,
    /// Our address as the sender sees it, if it sent one we can parse.
    pub remote_network_address: Option<SocketAddress>,
}

/// Feature bits a writer copies into `globalfeatures` for old readers (BOLT 1:
/// nothing above bit 13 goes there).
const GLOBAL_FEATURES_MAX_BIT: usize = 13;

impl Writeable for Init {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        // Older nodes read bits 0..=13 only from `globalfeatures`, so they are
        // repeated there; readers OR the two maps back together.
        let mut global = InitFeatures::empty();
        for bit in self.features.set_bits().take_while(|b| *b <= GLOBAL_FEATURES_MAX_BIT) {
            global.set_bit(bit);
        }
        global.write(w)?;
        self.features.write(w)?;
        let tlvs = InitTlvs {
            networks: self.networks.clone(),
            remote_addr: self.remote_network_address.as_ref().map(|a| RawBytes(a.encode())),
        };
        tlvs.write(w)
    }
}

impl Readable for Init {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let global: InitFeatures = crate::ln::features::Features::<InitContext>::read(r)?;
        let features = InitFeatures::read(r)?;
        let tlvs = InitTlvs::read(r)?;
        // `remote_addr` is opaque bytes to the spec; an address we cannot parse
        // is dropped, not a reason to refuse the peer.
        let remote_network_address =
            tlvs.remote_addr.and_then(|raw| SocketAddress::read_descriptor(&mut &raw.0[..]).ok().flatten());
        Ok(Init { features: features.union(&global), networks: tlvs.networks, remote_network_address })
    }
}

impl Type for Init {
    const TYPE: u16 = 16;
}

/// `error` (type 17): the channel (or all channels, for the zero id) is failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorMessage {
    /// The channel concerned, or [`ChannelId::ALL_CHANNELS`].
    pub channel_id: ChannelId,
    /// Free-form data, usually ASCII text. Not trusted to be printable: use
    /// [`ErrorMessage::printable_data`] to show it.
    pub data: Vec<u8>,
}

/// `warning` (type 1): something is wrong, but nothing is failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WarningMessage {
    /// The channel concerned, or [`ChannelId::ALL_CHANNELS`].
    pub channel_id: ChannelId,
    /// Free-form data, usually ASCII text (see [`ErrorMessage::data`]).
    pub data: Vec<u8>,
}

/// Renders untrusted message data for logs: printable ASCII as is, anything else
/// as `\xNN` (BOLT 1: do not print non-printable data verbatim).
pub fn printable(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len());
    for b in data {
        if (32..=126).contains(b) {
            out.push(*b as char);
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// The longest text [`ErrorMessage::new`] and [`WarningMessage::new`] put in
/// a message (the field holds up to 65,535 bytes; an explanation needs far
/// less).
pub const MAX_ERROR_TEXT_LEN: usize = 1024;

macro_rules! error_like {
    ($ty:ident, $type_id:expr) => {
        impl $ty {
            /// Builds the message with a text explanation, cut to
            /// [`MAX_ERROR_TEXT_LEN`] bytes (at a character boundary) so
            /// that text shaped by a peer always fits the message.
            pub fn new(channel_id: ChannelId, text: &str) -> Self {
                let mut end = text.len().min(MAX_ERROR_TEXT_LEN);
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                $ty { channel_id, data: text.as_bytes()[..end].to_vec() }
            }
            /// The data, safe to print.
            pub fn printable_data(&self) -> String {
                printable(&self.data)
            }
        }
        impl Writeable for $ty {
            fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
                self.channel_id.write(w)?;
                write_u16_len_bytes(w, &self.data)
            }
        }
        impl Readable for $ty {
            fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
                Ok($ty { channel_id: ChannelId::read(r)?, data: read_u16_len_bytes(r)? })
            }
        }
        impl Type for $ty {
            const TYPE: u16 = $type_id;
        }
    };
}
error_like!(ErrorMessage, 17);
error_like!(WarningMessage, 1);

/// `ping` (type 18): asks for a `pong` of `num_pong_bytes` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ping {
    /// Length of the `pong` payload asked for; 65532 or more asks for none.
    pub num_pong_bytes: u16,
    /// Length of the ignored padding this ping carries.
    pub byteslen: u16,
}

/// At or above this `num_pong_bytes`, a `ping` must not be answered.
pub const PING_NO_RESPONSE_THRESHOLD: u16 = 65532;

impl Ping {
    /// The length of the `pong` to answer with, or `None` if the ping must be
    /// ignored (BOLT 1: `num_pong_bytes >= 65532`).
    pub fn expected_pong_len(&self) -> Option<u16> {
        (self.num_pong_bytes < PING_NO_RESPONSE_THRESHOLD).then_some(self.num_pong_bytes)
    }
}

impl Writeable for Ping {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.num_pong_bytes.write(w)?;
        write_zeros(w, self.byteslen)
    }
}

impl Readable for Ping {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let num_pong_bytes = u16::read(r)?;
        let byteslen = u16::read(r)?;
        read_bytes(r, byteslen as usize)?;
        Ok(Ping { num_pong_bytes, byteslen })
    }
}

impl Type for Ping {
    const TYPE: u16 = 18;
}

/// `pong` (type 19): the answer to a `ping`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pong {
    /// Length of the ignored payload.
    pub byteslen: u16,
}

impl Writeable for Pong {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        write_zeros(w, self.byteslen)
    }
}

impl Readable for Pong {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let byteslen = u16::read(r)?;
        read_bytes(r, byteslen as usize)?;
        Ok(Pong { byteslen })
    }
}

impl Type for Pong {
    const TYPE: u16 = 19;
}

/// Writes a `u16` length and that many zero bytes (the `ignored` field).
fn write_zeros<W: Write>(w: &mut W, len: u16) -> Result<(), io::Error> {
    len.write(w)?;
    const ZEROS: [u8; 1024] = [0; 1024];
    let mut left = len as usize;
    while left > 0 {
        let n = left.min(ZEROS.len());
        w.write_all(&ZEROS[..n])?;
        left -= n;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::ser::decode_exact;

    #[test]
    fn init_repeats_low_bits_in_global_features() {
        let mut features = InitFeatures::empty();
        features.set_static_remote_key_required(); // bit 12
        features.set_basic_mpp_optional(); // bit 17
        features.set_payment_secret_optional(); // bit 15
        let init = Init { features, networks: Some(vec![ChainHash::REGTEST]), remote_network_address: None };
        let enc = init.encode();
        // globalfeatures: bit 12 only (2 bytes); features: 3 bytes.
        assert_eq!(&enc[..4], &[0, 2, 0x10, 0x00]);
        assert_eq!(&enc[4..9], &[0, 3, 0x02, 0x90, 0x00]);
        assert_eq!(decode_exact::<Init>(&enc), Ok(init));
    }

    #[test]
    fn init_ors_global_and_local_features() {
        // gflen 1 with bit 1; flen 1 with bit 3.
        let init: Init = decode_exact(&[0, 1, 0x02, 0, 1, 0x08]).unwrap();
        assert!(init.features.is_set(1) && init.features.is_set(3));
    }

    #[test]
    fn unparseable_remote_addr_is_ignored() {
        let init: Init = decode_exact(&[0, 0, 0, 0, 3, 2, 0x42, 0x00]).unwrap();
        assert_eq!(init.remote_network_address, None);
        let init: Init = decode_exact(&[0, 0, 0, 0, 3, 7, 1, 10, 0, 0, 1, 0x26, 0x07]).unwrap();
        assert_eq!(
            init.remote_network_address,
            Some(SocketAddress::TcpIpV4 { addr: [10, 0, 0, 1], port: 9735 })
        );
    }

    #[test]
    fn ping_threshold() {
        assert_eq!(Ping { num_pong_bytes: 65531, byteslen: 0 }.expected_pong_len(), Some(65531));
        assert_eq!(Ping { num_pong_bytes: 65532, byteslen: 0 }.expected_pong_len(), None);
    }

    #[test]
    fn printable_escapes_control_bytes() {
        assert_eq!(printable(b"ok\n\xff"), "ok\\x0a\\xff");
    }
}
