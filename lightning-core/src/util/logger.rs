//! Logging without a logging framework: the core hands [`Record`]s to a
//! user-supplied [`Logger`], with the peer and channel they concern.

use crate::ln::types::ChannelId;
use bitcoin::secp256k1::PublicKey;
use core::fmt;

/// How important a record is, from most verbose to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Every gossip message (very verbose).
    Gossip,
    /// Step-by-step detail.
    Trace,
    /// Detail useful when debugging.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected that was handled.
    Warn,
    /// Something failed.
    Error,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Gossip => "GOSSIP",
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        })
    }
}

/// One log record.
#[derive(Clone, Debug)]
pub struct Record<'a> {
    /// Severity.
    pub level: Level,
    /// The peer the record concerns, if any.
    pub peer_id: Option<PublicKey>,
    /// The channel the record concerns, if any.
    pub channel_id: Option<ChannelId>,
    /// The message.
    pub args: fmt::Arguments<'a>,
    /// The module that logged it.
    pub module_path: &'static str,
    /// Source line.
    pub line: u32,
}

/// Receives the core's log records.
pub trait Logger {
    /// Handles one record.
    fn log(&self, record: Record<'_>);
}

impl<L: Logger + ?Sized> Logger for &L {
    fn log(&self, record: Record<'_>) {
        (**self).log(record)
    }
}

impl<L: Logger + ?Sized> Logger for alloc::sync::Arc<L> {
    fn log(&self, record: Record<'_>) {
        (**self).log(record)
    }
}

/// A logger that drops everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NullLogger;

impl Logger for NullLogger {
    fn log(&self, _: Record<'_>) {}
}

/// Logs through `$logger` at `$level`, with optional `peer = ...` and
/// `channel = ...` context.
#[macro_export]
macro_rules! log_at {
    ($logger:expr, $level:expr, peer = $peer:expr, $($arg:tt)+) => {
        $crate::util::logger::Logger::log(&$logger, $crate::util::logger::Record {
            level: $level, peer_id: $peer, channel_id: None,
            args: format_args!($($arg)+), module_path: module_path!(), line: line!(),
        })
    };
    ($logger:expr, $level:expr, channel = $chan:expr, $($arg:tt)+) => {
        $crate::util::logger::Logger::log(&$logger, $crate::util::logger::Record {
            level: $level, peer_id: None, channel_id: $chan,
            args: format_args!($($arg)+), module_path: module_path!(), line: line!(),
        })
    };
    ($logger:expr, $level:expr, $($arg:tt)+) => {
        $crate::util::logger::Logger::log(&$logger, $crate::util::logger::Record {
            level: $level, peer_id: None, channel_id: None,
            args: format_args!($($arg)+), module_path: module_path!(), line: line!(),
        })
    };
}

/// Logs at [`Level::Error`].
#[macro_export]
macro_rules! log_error { ($logger:expr, $($arg:tt)+) => { $crate::log_at!($logger, $crate::util::logger::Level::Error, $($arg)+) }; }
/// Logs at [`Level::Warn`].
#[macro_export]
macro_rules! log_warn { ($logger:expr, $($arg:tt)+) => { $crate::log_at!($logger, $crate::util::logger::Level::Warn, $($arg)+) }; }
/// Logs at [`Level::Info`].
#[macro_export]
macro_rules! log_info { ($logger:expr, $($arg:tt)+) => { $crate::log_at!($logger, $crate::util::logger::Level::Info, $($arg)+) }; }
/// Logs at [`Level::Debug`].
#[macro_export]
macro_rules! log_debug { ($logger:expr, $($arg:tt)+) => { $crate::log_at!($logger, $crate::util::logger::Level::Debug, $($arg)+) }; }
/// Logs at [`Level::Trace`].
#[macro_export]
macro_rules! log_trace { ($logger:expr, $($arg:tt)+) => { $crate::log_at!($logger, $crate::util::logger::Level::Trace, $($arg)+) }; }
/// Logs at [`Level::Gossip`].
#[macro_export]
macro_rules! log_gossip { ($logger:expr, $($arg:tt)+) => { $crate::log_at!($logger, $crate::util::logger::Level::Gossip, $($arg)+) }; }
