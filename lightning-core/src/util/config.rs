//! User configuration of channels: what we propose when opening
//! ([`ChannelHandshakeConfig`]), what we accept from a peer's proposal
//! ([`ChannelHandshakeLimits`]), and how a running channel behaves
//! ([`ChannelConfig`]), bundled in [`UserConfig`]. With the `serde` feature
//! every type here is (de)serializable.

/// What we propose in `open_channel` / `accept_channel`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct ChannelHandshakeConfig {
    /// Confirmations we wait for before `channel_ready` (as fundee we send it
    /// in `accept_channel`'s `minimum_depth`).
    pub minimum_depth: u32,
    /// The `to_self_delay` we impose on the counterparty's outputs.
    pub our_to_self_delay: u16,
    /// The smallest HTLC we accept.
    pub our_htlc_minimum_msat: u64,
    /// The most we let be in flight towards us, in percent of the channel
    /// value (clamped to 1..=100).
    pub max_inbound_htlc_value_in_flight_percent_of_channel: u8,
    /// The reserve we ask the counterparty to keep, in millionths of the
    /// channel value (at least 1000 sat and our dust limit are enforced).
    pub their_channel_reserve_proportional_millionths: u32,
    /// The most HTLCs we accept at once (at most 483).
    pub our_max_accepted_htlcs: u16,
    /// Our dust limit.
    pub our_dust_limit_satoshis: u64,
    /// Propose `option_anchors` (zero-fee HTLC transactions) when the peer
    /// supports it.
    pub negotiate_anchors_zero_fee_htlc_tx: bool,
    /// Announce the channel to the network (channel_flags bit 0).
    pub announce_for_forwarding: bool,
}

impl Default for ChannelHandshakeConfig {
    fn default() -> Self {
        ChannelHandshakeConfig {
            minimum_depth: 6,
            our_to_self_delay: 144,
            our_htlc_minimum_msat: 1,
            max_inbound_htlc_value_in_flight_percent_of_channel: 100,
            their_channel_reserve_proportional_millionths: 10_000,
            our_max_accepted_htlcs: 50,
            our_dust_limit_satoshis: 546,
            negotiate_anchors_zero_fee_htlc_tx: false,
            announce_for_forwarding: false,
        }
    }
}

/// Bounds on the counterparty's proposal: a peer outside them is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct ChannelHandshakeLimits {
    /// The smallest channel we accept as fundee.
    pub min_funding_satoshis: u64,
    /// The largest channel we accept as fundee.
    pub max_funding_satoshis: u64,
    /// The largest `htlc_minimum_msat` we accept.
    pub max_htlc_minimum_msat: u64,
    /// The smallest `max_htlc_value_in_flight_msat` we accept.
    pub min_max_htlc_value_in_flight_msat: u64,
    /// The largest reserve (of ours) we accept.
    pub max_channel_reserve_satoshis: u64,
    /// The smallest `max_accepted_htlcs` we accept.
    pub min_max_accepted_htlcs: u16,
    /// The largest `minimum_depth` we accept as funder.
    pub max_minimum_depth: u32,
    /// The largest `to_self_delay` the counterparty may impose on us.
    pub their_to_self_delay: u16,
    /// The largest dust limit we accept from the counterparty.
    pub max_dust_limit_satoshis: u64,
}

impl Default for ChannelHandshakeLimits {
    fn default() -> Self {
        ChannelHandshakeLimits {
            min_funding_satoshis: 1000,
            max_funding_satoshis: 21_000_000 * 100_000_000,
            max_htlc_minimum_msat: u64::MAX,
            min_max_htlc_value_in_flight_msat: 0,
            max_channel_reserve_satoshis: u64::MAX,
            min_max_accepted_htlcs: 0,
            max_minimum_depth: 144,
            their_to_self_delay: 2016,
            max_dust_limit_satoshis: 20_000,
        }
    }
}

/// How a running channel behaves (can change after open).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct ChannelConfig {
    /// Proportional forwarding fee, in millionths.
    pub forwarding_fee_proportional_millionths: u32,
    /// Base forwarding fee.
    pub forwarding_fee_base_msat: u32,
    /// Our `cltv_expiry_delta` for forwards.
    pub cltv_expiry_delta: u16,
    /// The most value of dust HTLCs (trimmed on either commitment) we let be
    /// in flight: above it new HTLCs are refused (they would be lost to fees
    /// on a force-close).
    pub max_dust_htlc_exposure_msat: u64,
    /// The feerate a counterparty's `update_fee` may be below our minimum
    /// estimate before we close: we refuse feerates under
    /// `min_estimate * (100 - this) / 100`.
    pub max_feerate_undershoot_percent: u8,
    /// How far above our maximum estimate (times this factor) a
    /// counterparty's feerate may be.
    pub max_feerate_overshoot_multiplier: u32,
}

impl Default for ChannelConfig {
    fn default() -> Self {
        ChannelConfig {
            forwarding_fee_proportional_millionths: 0,
            forwarding_fee_base_msat: 1000,
            cltv_expiry_delta: 72,
            max_dust_htlc_exposure_msat: 5_000_000,
            max_feerate_undershoot_percent: 50,
            max_feerate_overshoot_multiplier: 10,
        }
    }
}

/// Everything a `ChannelManager` is configured with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct UserConfig {
    /// What we propose.
    pub channel_handshake_config: ChannelHandshakeConfig,
    /// What we accept.
    pub channel_handshake_limits: ChannelHandshakeLimits,
    /// How channels behave.
    pub channel_config: ChannelConfig,
    /// Hold inbound channel requests until the user calls
    /// `accept_inbound_channel` (an `OpenChannelRequest` event is raised).
    pub manual_accept_inbound_channels: bool,
}
