//! Why stored state could not be read back.

use core::fmt;

use lightning_core::chain::channelmonitor::MonitorUpdateError;
use lightning_core::ln::msgs::DecodeError;
use lightning_core::ln::types::ChannelId;

use crate::codec::{CodecError, ValueLocation};

/// A stored value that could not be read, or a monitor whose stored updates do
/// not replay. Every variant names the value (its location, which is also its
/// path relative to a `FilesystemStore`'s directory).
#[derive(Debug)]
pub enum ReadError {
    /// The store failed, or the value's envelope is damaged (truncated, bad
    /// checksum, unknown version...), or it holds a value of another kind
    /// (`FormatError::WrongKind`: a network graph under a monitor's key...).
    Codec(CodecError),
    /// The envelope is intact but its body is not a valid encoding of the
    /// expected type (or has bytes left over after it).
    Decode {
        /// The value.
        location: ValueLocation,
        /// What the decoder found wrong.
        error: DecodeError,
    },
    /// A key in the monitors namespace is not a monitor name (`TXID_INDEX`).
    InvalidMonitorKey {
        /// The value.
        location: ValueLocation,
    },
    /// The monitor stored under a name is not the monitor of the channel that
    /// name denotes.
    MonitorNameMismatch {
        /// The value.
        location: ValueLocation,
        /// The name the monitor should have been stored under.
        expected_name: String,
    },
    /// A key among a monitor's updates is not an update id (a decimal number
    /// without leading zeros).
    InvalidUpdateKey {
        /// The value.
        location: ValueLocation,
    },
    /// An update is missing from the middle of the sequence: `location` names
    /// the missing key.
    MissingUpdate {
        /// The key that should exist.
        location: ValueLocation,
        /// The next update id actually stored.
        next_stored_update_id: u64,
    },
    /// The update stored under an id holds a different id (an older update,
    /// or a value moved by hand).
    UpdateIdMismatch {
        /// The value.
        location: ValueLocation,
        /// The id inside the value.
        stored_update_id: u64,
    },
    /// The update belongs to another channel than the monitor it is stored
    /// under.
    UpdateForOtherChannel {
        /// The value.
        location: ValueLocation,
        /// The update's channel.
        found_channel_id: ChannelId,
    },
    /// The monitor refused to apply the update.
    UpdateRefused {
        /// The value.
        location: ValueLocation,
        /// The monitor's reason.
        error: MonitorUpdateError,
    },
}

impl ReadError {
    /// The value the error is about.
    pub fn location(&self) -> &ValueLocation {
        match self {
            ReadError::Codec(e) => e.location(),
            ReadError::Decode { location, .. }
            | ReadError::InvalidMonitorKey { location }
            | ReadError::MonitorNameMismatch { location, .. }
            | ReadError::InvalidUpdateKey { location }
            | ReadError::MissingUpdate { location, .. }
            | ReadError::UpdateIdMismatch { location, .. }
            | ReadError::UpdateForOtherChannel { location, .. }
            | ReadError::UpdateRefused { location, .. } => location,
        }
    }
}

impl From<CodecError> for ReadError {
    fn from(e: CodecError) -> Self {
        ReadError::Codec(e)
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Codec(e) => write!(f, "{e}"),
            ReadError::Decode { location, error } => write!(f, "value {location}: cannot decode: {error}"),
            ReadError::InvalidMonitorKey { location } => {
                write!(f, "value {location}: key is not a monitor name (TXID_INDEX)")
            }
            ReadError::MonitorNameMismatch { location, expected_name } => write!(
                f,
                "value {location}: holds the monitor of another channel (it belongs under {expected_name})"
            ),
            ReadError::InvalidUpdateKey { location } => {
                write!(f, "value {location}: key is not a monitor update id")
            }
            ReadError::MissingUpdate { location, next_stored_update_id } => write!(
                f,
                "value {location}: missing from the update sequence (the next stored update is {next_stored_update_id})"
            ),
            ReadError::UpdateIdMismatch { location, stored_update_id } => write!(
                f,
                "value {location}: holds update {stored_update_id}, not the update its key names"
            ),
            ReadError::UpdateForOtherChannel { location, found_channel_id } => {
                write!(f, "value {location}: update for another channel, {found_channel_id}")
            }
            ReadError::UpdateRefused { location, error } => {
                write!(f, "value {location}: the monitor refused the update: {error}")
            }
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Codec(e) => Some(e),
            ReadError::Decode { error, .. } => Some(error),
            _ => None,
        }
    }
}
