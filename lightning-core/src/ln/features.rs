//! BOLT 9 feature bits, typed by the context they appear in.
//!
//! A feature is a pair of bits: the even bit means "required", the odd bit
//! "optional". Every bit named in BOLT 9 is listed once in [`KNOWN_FEATURES`],
//! with the contexts it may appear in and the features it depends on. A
//! [`Features<T>`] carries its context `T` in its type, so a channel-type vector
//! cannot be passed where init features are expected, and the named setters only
//! exist for contexts where the feature is defined (`set_basic_mpp_optional`
//! exists on [`InitFeatures`] and [`Bolt11InvoiceFeatures`] but not on
//! [`ChannelTypeFeatures`]).
//!
//! Flags are held little-endian (bit `n` lives in byte `n / 8`); the wire form is
//! big-endian and padded to whole bytes, with the minimal length on write. A
//! vector read from the wire remembers how long it was there: a peer may send
//! leading zero bytes, and signed gossip (`channel_announcement`,
//! `node_announcement`) must re-encode byte for byte for its signature to check
//! and for it to be relayed as it came. Changing a bit drops that padding.

use crate::io::{self, Read, Write};
use crate::ln::msgs::DecodeError;
use crate::prelude::*;
use crate::util::ser::{read_u16_len_bytes, write_u16_len_bytes, Readable, Writeable};
use core::fmt;
use core::hash::{Hash, Hasher};
use core::marker::PhantomData;

/// The contexts of BOLT 9's "Context" column, as bit flags.
pub mod context_flags {
    /// `I`: the `init` message.
    pub const INIT: u8 = 1 << 0;
    /// `N`: `node_announcement`.
    pub const NODE: u8 = 1 << 1;
    /// `C`: `channel_announcement`.
    pub const CHANNEL: u8 = 1 << 2;
    /// `9`: BOLT 11 invoices.
    pub const BOLT11_INVOICE: u8 = 1 << 3;
    /// `T`: the `channel_type` of `open_channel` / `accept_channel`.
    pub const CHANNEL_TYPE: u8 = 1 << 4;
    /// `B`: `allowed_features` of a blinded path.
    pub const BLINDED_HOP: u8 = 1 << 5;
}
use context_flags::*;

/// One named feature of BOLT 9.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeatureInfo {
    /// The spec name, e.g. `option_static_remotekey`.
    pub name: &'static str,
    /// The even ("required") bit; the optional bit is `even_bit + 1`.
    pub even_bit: usize,
    /// Where the feature may be presented ([`context_flags`]).
    pub contexts: u8,
    /// Even bits of the features this one depends on.
    pub depends_on: &'static [usize],
    /// True for features the spec now marks `ASSUMED`: every node has them, and
    /// they stay set for older peers.
    pub assumed: bool,
}

macro_rules! features_table {
    ($( $(#[$doc:meta])* $const_name:ident = ($bit:expr, $name:literal, $ctx:expr, [$($dep:expr),*], $assumed:expr) ),* $(,)?) => {
        /// Even bit numbers of every named feature.
        pub mod bits {
            $( $(#[$doc])* pub const $const_name: usize = $bit; )*
        }
        /// Every feature named in BOLT 9, in bit order.
        pub const KNOWN_FEATURES: &[FeatureInfo] = &[
            $( FeatureInfo { name: $name, even_bit: $bit, contexts: $ctx, depends_on: &[$($dep),*], assumed: $assumed }, )*
        ];
    };
}

features_table! {
    /// `option_data_loss_protect` (0/1).
    DATA_LOSS_PROTECT = (0, "option_data_loss_protect", INIT | NODE, [], true),
    /// `option_upfront_shutdown_script` (4/5).
    UPFRONT_SHUTDOWN_SCRIPT = (4, "option_upfront_shutdown_script", INIT | NODE, [], false),
    /// `gossip_queries` (6/7).
    GOSSIP_QUERIES = (6, "gossip_queries", INIT | NODE, [], true),
    /// `var_onion_optin` (8/9).
    VAR_ONION_OPTIN = (8, "var_onion_optin", INIT | NODE | BOLT11_INVOICE, [], true),
    /// `gossip_queries_ex` (10/11).
    GOSSIP_QUERIES_EX = (10, "gossip_queries_ex", INIT | NODE, [], false),
    /// `option_static_remotekey` (12/13).
    STATIC_REMOTE_KEY = (12, "option_static_remotekey", INIT | NODE | CHANNEL_TYPE, [], true),
    /// `payment_secret` (14/15).
    PAYMENT_SECRET = (14, "payment_secret", INIT | NODE | BOLT11_INVOICE, [], true),
    /// `basic_mpp` (16/17).
    BASIC_MPP = (16, "basic_mpp", INIT | NODE | BOLT11_INVOICE, [14], false),
    /// `option_support_large_channel` (18/19).
    SUPPORT_LARGE_CHANNEL = (18, "option_support_large_channel", INIT | NODE, [], false),
    /// `option_anchors` (22/23): anchor outputs with zero-fee HTLC transactions.
    ANCHORS_ZERO_FEE_HTLC_TX = (22, "option_anchors", INIT | NODE | CHANNEL_TYPE, [], false),
    /// `option_route_blinding` (24/25).
    ROUTE_BLINDING = (24, "option_route_blinding", INIT | NODE | BOLT11_INVOICE, [], false),
    /// `option_shutdown_anysegwit` (26/27).
    SHUTDOWN_ANYSEGWIT = (26, "option_shutdown_anysegwit", INIT | NODE, [], false),
    /// `option_dual_fund` (28/29).
    DUAL_FUND = (28, "option_dual_fund", INIT | NODE, [], false),
    /// `option_quiesce` (34/35).
    QUIESCE = (34, "option_quiesce", INIT | NODE, [], false),
    /// `option_attribution_data` (36/37).
    ATTRIBUTION_DATA = (36, "option_attribution_data", INIT | NODE | BOLT11_INVOICE, [], false),
    /// `option_onion_messages` (38/39).
    ONION_MESSAGES = (38, "option_onion_messages", INIT | NODE, [], false),
    /// `option_provide_storage` (42/43).
    PROVIDE_STORAGE = (42, "option_provide_storage", INIT | NODE, [], false),
    /// `option_channel_type` (44/45).
    CHANNEL_TYPE_FEATURE = (44, "option_channel_type", INIT | NODE, [], true),
    /// `option_scid_alias` (46/47).
    SCID_ALIAS = (46, "option_scid_alias", INIT | NODE | CHANNEL_TYPE, [], false),
    /// `option_payment_metadata` (48/49).
    PAYMENT_METADATA = (48, "option_payment_metadata", BOLT11_INVOICE, [], false),
    /// `option_zeroconf` (50/51).
    ZERO_CONF = (50, "option_zeroconf", INIT | NODE | CHANNEL_TYPE, [46], false),
    /// `option_simple_close` (60/61).
    SIMPLE_CLOSE = (60, "option_simple_close", INIT | NODE, [26], false),
    /// `option_splice` (62/63).
    SPLICE = (62, "option_splice", INIT | NODE, [], false),
}

/// Looks up the named feature that owns `bit` (either of its two bits).
pub fn feature_info(bit: usize) -> Option<&'static FeatureInfo> {
    KNOWN_FEATURES.iter().find(|f| f.even_bit == bit & !1)
}

const fn known_mask(ctx: u8) -> [u8; 8] {
    let mut mask = [0u8; 8];
    let mut i = 0;
    while i < KNOWN_FEATURES.len() {
        let f = &KNOWN_FEATURES[i];
        if f.contexts & ctx != 0 {
            mask[f.even_bit / 8] |= 0b11 << (f.even_bit % 8);
        }
        i += 1;
    }
    mask
}

/// The contexts feature vectors are typed by. Sealed: only this module defines
/// contexts.
pub trait Context: sealed::Sealed + 'static {
    /// Human-readable name of the context.
    const NAME: &'static str;
    /// The context's flag in [`context_flags`].
    const FLAG: u8;
    /// Bits (both of each pair) of the features defined in this context,
    /// little-endian.
    const KNOWN_MASK: [u8; 8] = known_mask(Self::FLAG);
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! define_context {
    ($(#[$doc:meta])* $ctx:ident, $alias:ident, $flag:expr, $name:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $ctx {}
        impl sealed::Sealed for $ctx {}
        impl Context for $ctx {
            const NAME: &'static str = $name;
            const FLAG: u8 = $flag;
        }
        $(#[$doc])*
        pub type $alias = Features<$ctx>;
    };
}

define_context!(
    /// Features of the `init` message.
    InitContext, InitFeatures, INIT, "init"
);
define_context!(
    /// Features of `node_announcement`.
    NodeContext, NodeFeatures, NODE, "node"
);
define_context!(
    /// Features of `channel_announcement` (none are defined today).
    ChannelContext, ChannelFeatures, CHANNEL, "channel"
);
define_context!(
    /// Features of BOLT 11 invoices.
    Bolt11InvoiceContext, Bolt11InvoiceFeatures, BOLT11_INVOICE, "bolt11_invoice"
);
define_context!(
    /// The `channel_type` of a channel (BOLT 2).
    ChannelTypeContext, ChannelTypeFeatures, CHANNEL_TYPE, "channel_type"
);
define_context!(
    /// `allowed_features` of a blinded path (none are defined today).
    BlindedHopContext, BlindedHopFeatures, BLINDED_HOP, "blinded_hop"
);

/// A feature vector in context `T`.
pub struct Features<T: Context> {
    /// Little-endian flags: bit `n` is `flags[n / 8] & (1 << (n % 8))`.
    flags: Vec<u8>,
    /// Length of the wire form this vector was read from (0 if built
    /// locally): written back with leading zero bytes up to this length.
    wire_len: u16,
    mark: PhantomData<T>,
}

impl<T: Context> Clone for Features<T> {
    fn clone(&self) -> Self {
        Features { flags: self.flags.clone(), wire_len: self.wire_len, mark: PhantomData }
    }
}

impl<T: Context> PartialEq for Features<T> {
    /// Equal if the same bits are set, whatever the padding.
    fn eq(&self, other: &Self) -> bool {
        let len = self.flags.len().max(other.flags.len());
        (0..len).all(|i| self.flags.get(i).unwrap_or(&0) == other.flags.get(i).unwrap_or(&0))
    }
}
impl<T: Context> Eq for Features<T> {}

impl<T: Context> Hash for Features<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let len = self.flags.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
        self.flags[..len].hash(state);
    }
}

impl<T: Context> Default for Features<T> {
    fn default() -> Self {
        Self::empty()
    }
}

impl<T: Context> fmt::Debug for Features<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Features<{}>[", T::NAME)?;
        for (i, bit) in self.set_bits().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            match feature_info(bit) {
                Some(info) => {
                    write!(f, "{}({})", info.name, if bit % 2 == 0 { "required" } else { "optional" })?
                }
                None => write!(f, "unknown_{bit}")?,
            }
        }
        write!(f, "]")
    }
}

/// A feature vector that leaves out a dependency BOLT 9 requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MissingDependency {
    /// The feature that is set.
    pub feature: &'static str,
    /// The feature it needs, which is not set.
    pub missing: &'static str,
}

impl fmt::Display for MissingDependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "feature {} is set without its dependency {}", self.feature, self.missing)
    }
}

impl<T: Context> Features<T> {
    /// A vector with no bit set.
    pub fn empty() -> Self {
        Features { flags: Vec::new(), wire_len: 0, mark: PhantomData }
    }

    /// Builds from little-endian flags (bit `n` in byte `n / 8`).
    pub fn from_le_bytes(flags: Vec<u8>) -> Self {
        let mut f = Features { flags, wire_len: 0, mark: PhantomData };
        f.trim();
        f
    }

    /// Builds from the big-endian wire form.
    pub fn from_be_bytes(mut flags: Vec<u8>) -> Self {
        flags.reverse();
        Self::from_le_bytes(flags)
    }

    /// The little-endian flags, without trailing zero bytes.
    pub fn le_flags(&self) -> &[u8] {
        &self.flags
    }

    /// Number of leading zero bytes written before the flags: what a vector
    /// read from the wire had beyond its minimal length (0 once changed).
    pub fn wire_padding_len(&self) -> usize {
        (self.wire_len as usize).saturating_sub(self.flags.len())
    }

    /// The big-endian wire form, minimal length.
    pub fn to_be_bytes(&self) -> Vec<u8> {
        let mut out = self.flags.clone();
        out.reverse();
        out
    }

    fn trim(&mut self) {
        while self.flags.last() == Some(&0) {
            self.flags.pop();
        }
    }

    /// True if `bit` is set.
    pub fn is_set(&self, bit: usize) -> bool {
        self.flags.get(bit / 8).is_some_and(|b| b & (1 << (bit % 8)) != 0)
    }

    /// Sets `bit`. Setting a bit outside what is defined for this context is the
    /// caller's responsibility (use the named setters to stay within BOLT 9).
    pub fn set_bit(&mut self, bit: usize) {
        self.wire_len = 0;
        if self.flags.len() <= bit / 8 {
            self.flags.resize(bit / 8 + 1, 0);
        }
        self.flags[bit / 8] |= 1 << (bit % 8);
    }

    /// Clears `bit`.
    pub fn clear_bit(&mut self, bit: usize) {
        self.wire_len = 0;
        if let Some(b) = self.flags.get_mut(bit / 8) {
            *b &= !(1 << (bit % 8));
        }
        self.trim();
    }

    /// Iterates over the set bits in increasing order.
    pub fn set_bits(&self) -> impl Iterator<Item = usize> + '_ {
        self.flags
            .iter()
            .enumerate()
            .flat_map(|(i, b)| (0..8).filter(move |j| b & (1 << j) != 0).map(move |j| i * 8 + j))
    }

    /// True if the feature whose even bit is `even_bit` is set, required or
    /// optional.
    pub fn supports(&self, even_bit: usize) -> bool {
        self.is_set(even_bit) || self.is_set(even_bit + 1)
    }

    /// True if the feature whose even bit is `even_bit` is set as required (the
    /// even bit; BOLT 9: both bits set means required).
    pub fn requires(&self, even_bit: usize) -> bool {
        self.is_set(even_bit)
    }

    /// Sets the feature as optional (odd bit), clearing the required bit.
    pub fn set_optional(&mut self, even_bit: usize) {
        self.clear_bit(even_bit);
        self.set_bit(even_bit + 1);
    }

    /// Sets the feature as required (even bit), clearing the optional bit.
    pub fn set_required(&mut self, even_bit: usize) {
        self.clear_bit(even_bit + 1);
        self.set_bit(even_bit);
    }

    /// True if `bit` (either of a pair) belongs to a feature defined in this
    /// context.
    pub fn is_known_bit(bit: usize) -> bool {
        T::KNOWN_MASK.get(bit / 8).is_some_and(|m| m & (1 << (bit % 8)) != 0)
    }

    /// True if an even bit is set that this context does not define: a peer
    /// sending such a vector requires something we cannot do.
    pub fn requires_unknown_bits(&self) -> bool {
        self.unknown_required_bits().next().is_some()
    }

    /// The even bits set that this context does not define.
    pub fn unknown_required_bits(&self) -> impl Iterator<Item = usize> + '_ {
        self.set_bits().filter(|bit| bit % 2 == 0 && !Self::is_known_bit(*bit))
    }

    /// True if any bit is set that this context does not define.
    pub fn supports_unknown_bits(&self) -> bool {
        self.set_bits().any(|bit| !Self::is_known_bit(bit))
    }

    /// Checks the BOLT 9 dependency rules: every feature set has all of its
    /// dependencies set (as optional or required). A dependency on an
    /// `ASSUMED` feature is always satisfied: BOLT 9 lets peers leave those
    /// bits unset (e.g. `basic_mpp` without `payment_secret`).
    pub fn check_dependencies(&self) -> Result<(), MissingDependency> {
        for info in KNOWN_FEATURES {
            if !self.supports(info.even_bit) {
                continue;
            }
            for dep in info.depends_on {
                let assumed = feature_info(*dep).is_some_and(|d| d.assumed);
                if !assumed && !self.supports(*dep) {
                    let missing = feature_info(*dep).map_or("unknown", |d| d.name);
                    return Err(MissingDependency { feature: info.name, missing });
                }
            }
        }
        Ok(())
    }

    /// The bitwise OR of two vectors.
    pub fn union(&self, other: &Self) -> Self {
        let len = self.flags.len().max(other.flags.len());
        let flags =
            (0..len).map(|i| self.flags.get(i).unwrap_or(&0) | other.flags.get(i).unwrap_or(&0)).collect();
        Self::from_le_bytes(flags)
    }

    /// The bits of `self` that are defined in context `U`, as a vector of `U`.
    pub fn to_context<U: Context>(&self) -> Features<U> {
        let flags = self
            .flags
            .iter()
            .enumerate()
            .map(|(i, b)| b & U::KNOWN_MASK.get(i).copied().unwrap_or(0))
            .collect();
        Features::from_le_bytes(flags)
    }
}

impl<T: Context> Writeable for Features<T> {
    /// `u16` length followed by the big-endian flags, after the leading zero
    /// bytes the vector was read with, if any.
    fn write<W: Write>(&self, w: &mut W) -> Result<(), io::Error> {
        let padding = self.wire_padding_len();
        if padding == 0 {
            return write_u16_len_bytes(w, &self.to_be_bytes());
        }
        let mut bytes = vec![0u8; padding];
        bytes.extend(self.flags.iter().rev());
        write_u16_len_bytes(w, &bytes)
    }
    fn serialized_length(&self) -> usize {
        2 + self.flags.len().max(self.wire_len as usize)
    }
}

impl<T: Context> Readable for Features<T> {
    /// Keeps the length read (see the [module docs](self)).
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let bytes = read_u16_len_bytes(r)?;
        // The length came in a u16 prefix, so it fits.
        let wire_len = u16::try_from(bytes.len()).map_err(|_| DecodeError::BadLengthDescriptor)?;
        let mut features = Self::from_be_bytes(bytes);
        features.wire_len = wire_len;
        Ok(features)
    }
}

/// Generates typed accessors for one feature, available only in the contexts
/// where BOLT 9 defines it.
macro_rules! feature_methods {
    ($bit:path, $trait_name:ident, [$($ctx:ident),*], $supports:ident, $requires:ident, $set_opt:ident, $set_req:ident) => {
        #[doc = concat!("Contexts in which `", stringify!($supports), "` is defined.")]
        pub trait $trait_name: Context {}
        $( impl $trait_name for $ctx {} )*
        impl<T: $trait_name> Features<T> {
            /// True if the feature is set, required or optional.
            pub fn $supports(&self) -> bool { self.supports($bit) }
            /// True if the feature is set as required.
            pub fn $requires(&self) -> bool { self.requires($bit) }
            /// Sets the feature as optional.
            pub fn $set_opt(&mut self) { self.set_optional($bit) }
            /// Sets the feature as required.
            pub fn $set_req(&mut self) { self.set_required($bit) }
        }
    };
}

/// Marker traits naming, for each feature, the contexts that define it.
pub mod markers {
    use super::*;
    feature_methods!(
        bits::DATA_LOSS_PROTECT,
        DataLossProtect,
        [InitContext, NodeContext],
        supports_data_loss_protect,
        requires_data_loss_protect,
        set_data_loss_protect_optional,
        set_data_loss_protect_required
    );
    feature_methods!(
        bits::UPFRONT_SHUTDOWN_SCRIPT,
        UpfrontShutdownScript,
        [InitContext, NodeContext],
        supports_upfront_shutdown_script,
        requires_upfront_shutdown_script,
        set_upfront_shutdown_script_optional,
        set_upfront_shutdown_script_required
    );
    feature_methods!(
        bits::GOSSIP_QUERIES,
        GossipQueries,
        [InitContext, NodeContext],
        supports_gossip_queries,
        requires_gossip_queries,
        set_gossip_queries_optional,
        set_gossip_queries_required
    );
    feature_methods!(
        bits::VAR_ONION_OPTIN,
        VariableLengthOnion,
        [InitContext, NodeContext, Bolt11InvoiceContext],
        supports_variable_length_onion,
        requires_variable_length_onion,
        set_variable_length_onion_optional,
        set_variable_length_onion_required
    );
    feature_methods!(
        bits::GOSSIP_QUERIES_EX,
        GossipQueriesEx,
        [InitContext, NodeContext],
        supports_gossip_queries_ex,
        requires_gossip_queries_ex,
        set_gossip_queries_ex_optional,
        set_gossip_queries_ex_required
    );
    feature_methods!(
        bits::STATIC_REMOTE_KEY,
        StaticRemoteKey,
        [InitContext, NodeContext, ChannelTypeContext],
        supports_static_remote_key,
        requires_static_remote_key,
        set_static_remote_key_optional,
        set_static_remote_key_required
    );
    feature_methods!(
        bits::PAYMENT_SECRET,
        PaymentSecret,
        [InitContext, NodeContext, Bolt11InvoiceContext],
        supports_payment_secret,
        requires_payment_secret,
        set_payment_secret_optional,
        set_payment_secret_required
    );
    feature_methods!(
        bits::BASIC_MPP,
        BasicMpp,
        [InitContext, NodeContext, Bolt11InvoiceContext],
        supports_basic_mpp,
        requires_basic_mpp,
        set_basic_mpp_optional,
        set_basic_mpp_required
    );
    feature_methods!(
        bits::SUPPORT_LARGE_CHANNEL,
        SupportLargeChannel,
        [InitContext, NodeContext],
        supports_large_channel,
        requires_large_channel,
        set_large_channel_optional,
        set_large_channel_required
    );
    feature_methods!(
        bits::ANCHORS_ZERO_FEE_HTLC_TX,
        AnchorsZeroFeeHtlcTx,
        [InitContext, NodeContext, ChannelTypeContext],
        supports_anchors_zero_fee_htlc_tx,
        requires_anchors_zero_fee_htlc_tx,
        set_anchors_zero_fee_htlc_tx_optional,
        set_anchors_zero_fee_htlc_tx_required
    );
    feature_methods!(
        bits::ROUTE_BLINDING,
        RouteBlinding,
        [InitContext, NodeContext, Bolt11InvoiceContext],
        supports_route_blinding,
        requires_route_blinding,
        set_route_blinding_optional,
        set_route_blinding_required
    );
    feature_methods!(
        bits::SHUTDOWN_ANYSEGWIT,
        ShutdownAnySegwit,
        [InitContext, NodeContext],
        supports_shutdown_anysegwit,
        requires_shutdown_anysegwit,
        set_shutdown_anysegwit_optional,
        set_shutdown_anysegwit_required
    );
    feature_methods!(
        bits::DUAL_FUND,
        DualFund,
        [InitContext, NodeContext],
        supports_dual_fund,
        requires_dual_fund,
        set_dual_fund_optional,
        set_dual_fund_required
    );
    feature_methods!(
        bits::QUIESCE,
        Quiesce,
        [InitContext, NodeContext],
        supports_quiesce,
        requires_quiesce,
        set_quiesce_optional,
        set_quiesce_required
    );
    feature_methods!(
        bits::ATTRIBUTION_DATA,
        AttributionData,
        [InitContext, NodeContext, Bolt11InvoiceContext],
        supports_attribution_data,
        requires_attribution_data,
        set_attribution_data_optional,
        set_attribution_data_required
    );
    feature_methods!(
        bits::ONION_MESSAGES,
        OnionMessages,
        [InitContext, NodeContext],
        supports_onion_messages,
        requires_onion_messages,
        set_onion_messages_optional,
        set_onion_messages_required
    );
    feature_methods!(
        bits::PROVIDE_STORAGE,
        ProvideStorage,
        [InitContext, NodeContext],
        supports_provide_storage,
        requires_provide_storage,
        set_provide_storage_optional,
        set_provide_storage_required
    );
    feature_methods!(
        bits::CHANNEL_TYPE_FEATURE,
        ChannelType,
        [InitContext, NodeContext],
        supports_channel_type,
        requires_channel_type,
        set_channel_type_optional,
        set_channel_type_required
    );
    feature_methods!(
        bits::SCID_ALIAS,
        ScidAlias,
        [InitContext, NodeContext, ChannelTypeContext],
        supports_scid_alias,
        requires_scid_alias,
        set_scid_alias_optional,
        set_scid_alias_required
    );
    feature_methods!(
        bits::PAYMENT_METADATA,
        PaymentMetadata,
        [Bolt11InvoiceContext],
        supports_payment_metadata,
        requires_payment_metadata,
        set_payment_metadata_optional,
        set_payment_metadata_required
    );
    feature_methods!(
        bits::ZERO_CONF,
        ZeroConf,
        [InitContext, NodeContext, ChannelTypeContext],
        supports_zero_conf,
        requires_zero_conf,
        set_zero_conf_optional,
        set_zero_conf_required
    );
    feature_methods!(
        bits::SIMPLE_CLOSE,
        SimpleClose,
        [InitContext, NodeContext],
        supports_simple_close,
        requires_simple_close,
        set_simple_close_optional,
        set_simple_close_required
    );
    feature_methods!(
        bits::SPLICE,
        Splice,
        [InitContext, NodeContext],
        supports_splice,
        requires_splice,
        set_splice_optional,
        set_splice_required
    );
}

/// How many unknown required bits a [`FeatureNegotiationError`] reports.
pub const MAX_REPORTED_UNKNOWN_BITS: usize = 8;

/// Why a peer's feature vector cannot be accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeatureNegotiationError {
    /// The peer requires (even bit) features we do not know: the first
    /// [`MAX_REPORTED_UNKNOWN_BITS`] of them (a peer controls how many there
    /// are, up to half a million, so the error holds a bounded number).
    UnknownRequiredBits(Vec<usize>),
    /// The peer requires a known feature we do not support.
    RequiredNotSupported(&'static str),
    /// The peer's vector breaks a BOLT 9 dependency rule.
    MissingDependency(MissingDependency),
}

impl fmt::Display for FeatureNegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownRequiredBits(bits) => write!(f, "peer requires unknown feature bits {bits:?}"),
            Self::RequiredNotSupported(name) => write!(f, "peer requires {name}, which we do not support"),
            Self::MissingDependency(d) => d.fmt(f),
        }
    }
}

impl<T: Context> Features<T> {
    /// Checks a peer's vector against ours per BOLT 1 and BOLT 9: unknown even
    /// bits, known features it requires that we do not support, and missing
    /// dependencies are each a reason to close the connection; unknown odd bits
    /// are ignored.
    pub fn check_peer(&self, ours: &Self) -> Result<(), FeatureNegotiationError> {
        let unknown: Vec<usize> = self.unknown_required_bits().take(MAX_REPORTED_UNKNOWN_BITS).collect();
        if !unknown.is_empty() {
            return Err(FeatureNegotiationError::UnknownRequiredBits(unknown));
        }
        for bit in self.set_bits().filter(|b| b % 2 == 0) {
            if !ours.supports(bit) {
                let name = feature_info(bit).map_or("unknown", |i| i.name);
                return Err(FeatureNegotiationError::RequiredNotSupported(name));
            }
        }
        self.check_dependencies().map_err(FeatureNegotiationError::MissingDependency)
    }

    /// True if the feature is negotiated between `ours` and `theirs` (BOLT 1):
    /// both offered it, or one side offered it as required (and the other
    /// did not disconnect).
    pub fn negotiated(ours: &Self, theirs: &Self, even_bit: usize) -> bool {
        (ours.supports(even_bit) && theirs.supports(even_bit))
            || ours.requires(even_bit)
            || theirs.requires(even_bit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bolt9_bit_pair_is_named_once() {
        for (i, f) in KNOWN_FEATURES.iter().enumerate() {
            assert_eq!(f.even_bit % 2, 0, "{}", f.name);
            assert!(KNOWN_FEATURES[i + 1..].iter().all(|g| g.even_bit != f.even_bit));
            for dep in f.depends_on {
                assert!(feature_info(*dep).is_some(), "{} depends on unnamed bit {dep}", f.name);
            }
        }
    }

    #[test]
    fn wire_form_is_big_endian_and_minimal() {
        let mut f = InitFeatures::empty();
        f.set_static_remote_key_required();
        f.set_basic_mpp_optional();
        f.set_payment_secret_optional();
        // Bits 12, 15 and 17: little-endian [0x00, 0x90, 0x02], sent big-endian.
        let enc = f.encode();
        assert_eq!(enc, vec![0x00, 0x03, 0x02, 0x90, 0x00]);
        let back: InitFeatures = crate::util::ser::decode_exact(&enc).unwrap();
        assert_eq!(back, f);
        assert!(back.requires_static_remote_key() && back.supports_basic_mpp() && !back.requires_basic_mpp());
    }

    #[test]
    fn padding_does_not_change_equality() {
        let a = InitFeatures::from_be_bytes(vec![0, 0, 0x02]);
        let b = InitFeatures::from_be_bytes(vec![0x02]);
        assert_eq!(a, b);
        assert_eq!(a.le_flags(), &[0x02]);
    }

    #[test]
    fn read_vectors_re_encode_with_their_padding_until_changed() {
        // Two leading zero bytes before bit 1: not minimal, but it is what a
        // signature may cover.
        let wire = vec![0x00, 0x03, 0x00, 0x00, 0x02];
        let f: NodeFeatures = crate::util::ser::decode_exact(&wire).unwrap();
        assert_eq!(f.wire_padding_len(), 2);
        assert_eq!(f.encode(), wire);
        assert_eq!(f.serialized_length(), wire.len());
        assert_eq!(f.clone().encode(), wire);
        assert_eq!(f, NodeFeatures::from_le_bytes(vec![0x02]));
        // All zero bytes: no bit set, same length back.
        let zeros: NodeFeatures = crate::util::ser::decode_exact(&[0x00, 0x02, 0x00, 0x00]).unwrap();
        assert_eq!(zeros, NodeFeatures::empty());
        assert_eq!(zeros.encode(), vec![0x00, 0x02, 0x00, 0x00]);
        // A changed vector is written minimally.
        let mut changed = f.clone();
        changed.set_bit(9);
        assert_eq!(changed.encode(), vec![0x00, 0x02, 0x02, 0x02]);
        let mut cleared = f;
        cleared.clear_bit(1);
        assert_eq!(cleared.encode(), vec![0x00, 0x00]);
    }

    #[test]
    fn unknown_even_bit_is_rejected_and_unknown_odd_is_accepted() {
        let ours = {
            let mut f = InitFeatures::empty();
            f.set_static_remote_key_optional();
            f
        };
        let mut odd = InitFeatures::empty();
        odd.set_bit(101);
        assert!(!odd.requires_unknown_bits());
        assert!(odd.supports_unknown_bits());
        assert_eq!(odd.check_peer(&ours), Ok(()));

        let mut even = InitFeatures::empty();
        even.set_bit(100);
        assert!(even.requires_unknown_bits());
        assert_eq!(even.check_peer(&ours), Err(FeatureNegotiationError::UnknownRequiredBits(vec![100])));
        // A vector requiring a huge number of unknown bits gives a bounded
        // error.
        let mut many = InitFeatures::empty();
        for bit in (1000..60_000).step_by(2) {
            many.set_bit(bit);
        }
        let Err(FeatureNegotiationError::UnknownRequiredBits(bits)) = many.check_peer(&ours) else {
            panic!("refused")
        };
        assert_eq!(bits, (1000..1016).step_by(2).collect::<Vec<_>>());
    }

    #[test]
    fn bit_known_elsewhere_is_unknown_in_this_context() {
        // option_payment_metadata is defined only for invoices.
        let mut f = InitFeatures::empty();
        f.set_bit(bits::PAYMENT_METADATA);
        assert!(f.requires_unknown_bits());
        let mut inv = Bolt11InvoiceFeatures::empty();
        inv.set_payment_metadata_required();
        assert!(!inv.requires_unknown_bits());
    }

    #[test]
    fn missing_dependencies_are_rejected() {
        let ours = InitFeatures::from_le_bytes(vec![0xff; 8]);
        // basic_mpp depends on payment_secret, which is ASSUMED: a peer may
        // leave it unset (BOLT 9), so this is not a missing dependency.
        let mut f = InitFeatures::empty();
        f.set_basic_mpp_optional();
        assert_eq!(f.check_dependencies(), Ok(()));
        assert_eq!(f.check_peer(&ours), Ok(()));
        f.set_payment_secret_required();
        assert_eq!(f.check_peer(&ours), Ok(()));

        // A dependency on a feature that is not ASSUMED is still enforced.
        let mut z = InitFeatures::empty();
        z.set_zero_conf_optional();
        assert_eq!(
            z.check_peer(&ours),
            Err(FeatureNegotiationError::MissingDependency(MissingDependency {
                feature: "option_zeroconf",
                missing: "option_scid_alias"
            }))
        );

        let mut z = InitFeatures::empty();
        z.set_zero_conf_optional();
        assert!(z.check_dependencies().is_err());
        z.set_scid_alias_optional();
        assert!(z.check_dependencies().is_ok());

        let mut c = InitFeatures::empty();
        c.set_simple_close_optional();
        assert_eq!(c.check_dependencies().unwrap_err().missing, "option_shutdown_anysegwit");
    }

    #[test]
    fn required_known_feature_we_lack_is_rejected() {
        let ours = InitFeatures::empty();
        let mut theirs = InitFeatures::empty();
        theirs.set_dual_fund_required();
        assert_eq!(
            theirs.check_peer(&ours),
            Err(FeatureNegotiationError::RequiredNotSupported("option_dual_fund"))
        );
        let mut theirs_opt = InitFeatures::empty();
        theirs_opt.set_dual_fund_optional();
        assert_eq!(theirs_opt.check_peer(&ours), Ok(()));
    }

    #[test]
    fn setting_required_clears_optional() {
        let mut f = ChannelTypeFeatures::empty();
        f.set_anchors_zero_fee_htlc_tx_optional();
        f.set_anchors_zero_fee_htlc_tx_required();
        assert!(f.is_set(22) && !f.is_set(23));
    }

    #[test]
    fn context_conversion_keeps_only_defined_bits() {
        let mut init = InitFeatures::empty();
        init.set_static_remote_key_required();
        init.set_gossip_queries_optional();
        let ct: ChannelTypeFeatures = init.to_context();
        assert!(ct.requires_static_remote_key());
        assert_eq!(ct.set_bits().count(), 1);
    }
}
