//! BOLT 7 address descriptors, used by `node_announcement` and by the
//! `remote_addr` TLV of `init`.

use crate::io::{self, Read, Write};
use crate::ln::msgs::DecodeError;
use crate::prelude::*;
use crate::util::ser::{read_array, read_bytes, Readable, Writeable};
use core::fmt;

/// A DNS hostname: 1 to 255 ASCII bytes, no whitespace or control characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hostname(String);

impl Hostname {
    /// Validates and wraps a hostname.
    pub fn new(name: &str) -> Result<Self, DecodeError> {
        let ok = !name.is_empty() && name.len() <= 255 && name.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Hostname(name.to_owned()))
        } else {
            Err(DecodeError::InvalidValue)
        }
    }
    /// The hostname as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One address descriptor (BOLT 7 `node_announcement`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SocketAddress {
    /// Type 1: an IPv4 address and port.
    TcpIpV4 {
        /// The address, in network byte order.
        addr: [u8; 4],
        /// The TCP port.
        port: u16,
    },
    /// Type 2: an IPv6 address and port.
    TcpIpV6 {
        /// The address, in network byte order.
        addr: [u8; 16],
        /// The TCP port.
        port: u16,
    },
    /// Type 3: a Tor v2 onion address, deprecated; kept so it can be skipped
    /// and re-encoded.
    OnionV2([u8; 12]),
    /// Type 4: a Tor v3 onion service.
    OnionV3 {
        /// The ed25519 public key of the service.
        ed25519_pubkey: [u8; 32],
        /// The address checksum.
        checksum: u16,
        /// The onion address version (3).
        version: u8,
        /// The TCP port.
        port: u16,
    },
    /// Type 5: a DNS hostname and port.
    Hostname {
        /// The hostname.
        hostname: Hostname,
        /// The TCP port.
        port: u16,
    },
}

impl SocketAddress {
    /// The descriptor type byte.
    pub fn descriptor_type(&self) -> u8 {
        match self {
            SocketAddress::TcpIpV4 { .. } => 1,
            SocketAddress::TcpIpV6 { .. } => 2,
            SocketAddress::OnionV2(_) => 3,
            SocketAddress::OnionV3 { .. } => 4,
            SocketAddress::Hostname { .. } => 5,
        }
    }

    /// Reads one descriptor. `Ok(None)` means an unknown descriptor type: its
    /// length is unknown, so the reader cannot continue past it (BOLT 7: ignore
    /// it and whatever follows).
    pub fn read_descriptor<R: Read>(r: &mut R) -> Result<Option<Self>, DecodeError> {
        let addr = match u8::read(r)? {
            1 => SocketAddress::TcpIpV4 { addr: read_array(r)?, port: u16::read(r)? },
            2 => SocketAddress::TcpIpV6 { addr: read_array(r)?, port: u16::read(r)? },
            3 => SocketAddress::OnionV2(read_array(r)?),
            4 => SocketAddress::OnionV3 {
                ed25519_pubkey: read_array(r)?,
                checksum: u16::read(r)?,
                version: u8::read(r)?,
                port: u16::read(r)?,
            },
            5 => {
                let len = u8::read(r)? as usize;
                let bytes = read_bytes(r, len)?;
                let name = core::str::from_utf8(&bytes).map_err(|_| DecodeError::InvalidValue)?;
                SocketAddress::Hostname { hostname: Hostname::new(name)?, port: u16::read(r)? }
            }
            _ => return Ok(None),
        };
        Ok(Some(addr))
    }
}

impl Writeable for SocketAddress {
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        self.descriptor_type().write(w)?;
        match self {
            SocketAddress::TcpIpV4 { addr, port } => {
                addr.write(w)?;
                port.write(w)
            }
            SocketAddress::TcpIpV6 { addr, port } => {
                addr.write(w)?;
                port.write(w)
            }
            SocketAddress::OnionV2(bytes) => bytes.write(w),
            SocketAddress::OnionV3 { ed25519_pubkey, checksum, version, port } => {
                ed25519_pubkey.write(w)?;
                checksum.write(w)?;
                version.write(w)?;
                port.write(w)
            }
            SocketAddress::Hostname { hostname, port } => {
                (hostname.0.len() as u8).write(w)?;
                w.write_all(hostname.0.as_bytes())?;
                port.write(w)
            }
        }
    }
}

impl Readable for SocketAddress {
    /// Reads one descriptor; an unknown type is [`DecodeError::UnknownVersion`].
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Self::read_descriptor(r)?.ok_or(DecodeError::UnknownVersion)
    }
}

impl fmt::Display for SocketAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SocketAddress::TcpIpV4 { addr, port } => {
                write!(f, "{}.{}.{}.{}:{port}", addr[0], addr[1], addr[2], addr[3])
            }
            SocketAddress::TcpIpV6 { addr, port } => {
                write!(f, "[")?;
                for (i, pair) in addr.chunks(2).enumerate() {
                    if i > 0 {
                        write!(f, ":")?;
                    }
                    write!(f, "{:x}", u16::from_be_bytes([pair[0], pair[1]]))?;
                }
                write!(f, "]:{port}")
            }
            SocketAddress::OnionV2(bytes) => {
                write!(f, "onionv2:")?;
                bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
            SocketAddress::OnionV3 { ed25519_pubkey, port, .. } => {
                write!(f, "onionv3:")?;
                ed25519_pubkey.iter().try_for_each(|b| write!(f, "{b:02x}"))?;
                write!(f, ":{port}")
            }
            SocketAddress::Hostname { hostname, port } => write!(f, "{}:{port}", hostname.0),
        }
    }
}

#[cfg(feature = "std")]
impl From<std::net::SocketAddr> for SocketAddress {
    fn from(addr: std::net::SocketAddr) -> Self {
        match addr {
            std::net::SocketAddr::V4(a) => SocketAddress::TcpIpV4 { addr: a.ip().octets(), port: a.port() },
            std::net::SocketAddr::V6(a) => SocketAddress::TcpIpV6 { addr: a.ip().octets(), port: a.port() },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::ser::decode_exact;

    #[test]
    fn descriptors_round_trip() {
        let addrs = [
            SocketAddress::TcpIpV4 { addr: [127, 0, 0, 1], port: 9735 },
            SocketAddress::TcpIpV6 { addr: [0xfe; 16], port: 1 },
            SocketAddress::OnionV3 { ed25519_pubkey: [7; 32], checksum: 0x1234, version: 3, port: 9735 },
            SocketAddress::Hostname { hostname: Hostname::new("node.example.com").unwrap(), port: 9735 },
        ];
        for a in addrs {
            assert_eq!(decode_exact::<SocketAddress>(&a.encode()), Ok(a));
        }
        assert_eq!(
            SocketAddress::TcpIpV4 { addr: [127, 0, 0, 1], port: 9735 }.encode(),
            vec![1, 127, 0, 0, 1, 0x26, 0x07]
        );
    }

    #[test]
    fn bad_hostnames_are_rejected() {
        assert!(Hostname::new("").is_err());
        assert!(Hostname::new("a b").is_err());
        assert!(Hostname::new("é").is_err());
        assert_eq!(decode_exact::<SocketAddress>(&[5, 1, 0xff, 0, 1]), Err(DecodeError::InvalidValue));
        assert_eq!(decode_exact::<SocketAddress>(&[9]), Err(DecodeError::UnknownVersion));
    }
}
