//! The human-readable part: `ln`, a currency prefix and an optional amount with
//! a multiplier.

use crate::Bolt11Error;
use bitcoin::Network;
use core::fmt;

/// The chain an invoice asks to be paid on, from its currency prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Currency {
    /// Bitcoin mainnet, `lnbc`.
    Bitcoin,
    /// Bitcoin testnet (testnet3 and testnet4 share it), `lntb`.
    BitcoinTestnet,
    /// Bitcoin signet, `lntbs`.
    Signet,
    /// Bitcoin regtest, `lnbcrt`.
    Regtest,
    /// btcd's simnet, `lnsb`.
    Simnet,
}

impl Currency {
    /// Every currency, longest prefix first (the order the parser tries them in,
    /// so `bcrt` is not read as `bc` followed by an amount).
    pub const ALL: [Currency; 5] =
        [Currency::Regtest, Currency::Signet, Currency::Bitcoin, Currency::BitcoinTestnet, Currency::Simnet];

    /// The BIP 173 prefix that follows `ln` in the human-readable part.
    pub fn prefix(&self) -> &'static str {
        match self {
            Currency::Bitcoin => "bc",
            Currency::BitcoinTestnet => "tb",
            Currency::Signet => "tbs",
            Currency::Regtest => "bcrt",
            Currency::Simnet => "sb",
        }
    }

    /// The network whose addresses the fallback fields encode. `None` for
    /// simnet: it has address prefixes of its own (btcd's `sb`, `S...`) that
    /// no `bitcoin::Network` produces, and showing its fallbacks as regtest
    /// addresses would name addresses the invoice does not contain.
    pub fn network(&self) -> Option<Network> {
        match self {
            Currency::Bitcoin => Some(Network::Bitcoin),
            Currency::BitcoinTestnet => Some(Network::Testnet),
            Currency::Signet => Some(Network::Signet),
            Currency::Regtest => Some(Network::Regtest),
            Currency::Simnet => None,
        }
    }

    /// The currency of invoices for `network`.
    pub fn from_network(network: Network) -> Currency {
        match network {
            Network::Bitcoin => Currency::Bitcoin,
            Network::Signet => Currency::Signet,
            Network::Regtest => Currency::Regtest,
            _ => Currency::BitcoinTestnet,
        }
    }
}

impl fmt::Display for Currency {
    /// The prefix, e.g. `bc`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix())
    }
}

/// Millisatoshis per bitcoin.
const MSAT_PER_BTC: u64 = 100_000_000_000;

/// Reads a lower-case human-readable part into its currency and amount.
pub(crate) fn parse_hrp(hrp: &str) -> Result<(Currency, Option<u64>), Bolt11Error> {
    let rest = hrp.strip_prefix("ln").ok_or(Bolt11Error::NotLightning)?;
    let (currency, amount) = Currency::ALL
        .iter()
        .find_map(|c| rest.strip_prefix(c.prefix()).map(|amount| (*c, amount)))
        .ok_or_else(|| Bolt11Error::UnknownCurrency(rest.to_owned()))?;
    Ok((currency, parse_amount(amount)?))
}

/// Reads the amount of the human-readable part into millisatoshis; `None` for
/// an empty amount (any amount may be paid).
fn parse_amount(amount: &str) -> Result<Option<u64>, Bolt11Error> {
    let Some(last) = amount.chars().last() else {
        return Ok(None);
    };
    let (digits, multiplier) = if last.is_ascii_digit() {
        (amount, None)
    } else {
        (&amount[..amount.len() - last.len_utf8()], Some(last))
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return Err(Bolt11Error::InvalidAmount);
    }
    // u128: a pico amount is ten times its millisatoshis and may not fit a u64.
    let value: u128 = digits.parse().map_err(|_| Bolt11Error::InvalidAmount)?;
    let msat = match multiplier {
        None => value.checked_mul(MSAT_PER_BTC.into()),
        Some('m') => value.checked_mul((MSAT_PER_BTC / 1_000).into()),
        Some('u') => value.checked_mul((MSAT_PER_BTC / 1_000_000).into()),
        Some('n') => value.checked_mul((MSAT_PER_BTC / 1_000_000_000).into()),
        Some('p') => {
            if value % 10 != 0 {
                return Err(Bolt11Error::SubMillisatoshiAmount);
            }
            Some(value / 10)
        }
        Some(other) => return Err(Bolt11Error::InvalidMultiplier(other)),
    };
    let msat = msat.and_then(|m| u64::try_from(m).ok());
    msat.map(Some).ok_or(Bolt11Error::InvalidAmount)
}

/// The human-readable part for `currency` and `amount_msat`, with the amount in
/// its shortest form (the largest multiplier that represents it exactly).
pub(crate) fn format_hrp(currency: Currency, amount_msat: Option<u64>) -> String {
    let mut hrp = format!("ln{}", currency.prefix());
    if let Some(msat) = amount_msat {
        let units: [(u64, &str); 4] =
            [(MSAT_PER_BTC, ""), (MSAT_PER_BTC / 1_000, "m"), (MSAT_PER_BTC / 1_000_000, "u"), (100, "n")];
        match units.iter().find(|(per_unit, _)| msat % per_unit == 0) {
            Some((per_unit, suffix)) => hrp.push_str(&format!("{}{suffix}", msat / per_unit)),
            // Pico-bitcoin: ten per millisatoshi (u128: msat * 10 may not fit u64).
            None => hrp.push_str(&format!("{}p", u128::from(msat) * 10)),
        }
    }
    hrp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_multipliers() {
        let ok = |s: &str| parse_hrp(s).map(|(_, a)| a);
        assert_eq!(ok("lnbc"), Ok(None));
        assert_eq!(ok("lnbc1"), Ok(Some(100_000_000_000)));
        assert_eq!(ok("lnbc2500u"), Ok(Some(250_000_000)));
        assert_eq!(ok("lnbc20m"), Ok(Some(2_000_000_000)));
        assert_eq!(ok("lnbc10n"), Ok(Some(1_000)));
        assert_eq!(ok("lnbc9678785340p"), Ok(Some(967_878_534)));
        assert_eq!(ok("lnbc10p"), Ok(Some(1)));
        assert_eq!(ok("lnbc2500000001p"), Err(Bolt11Error::SubMillisatoshiAmount));
        assert_eq!(ok("lnbc2500x"), Err(Bolt11Error::InvalidMultiplier('x')));
        assert_eq!(ok("lnbc0"), Err(Bolt11Error::InvalidAmount));
        assert_eq!(ok("lnbc025m"), Err(Bolt11Error::InvalidAmount));
        assert_eq!(ok("lnbcm"), Err(Bolt11Error::InvalidAmount));
        assert_eq!(ok("lnbc2x5m"), Err(Bolt11Error::InvalidAmount));
        assert_eq!(ok("lnbc1000000000000m"), Err(Bolt11Error::InvalidAmount));
        assert_eq!(ok("lnbc999999999999999999999990p"), Err(Bolt11Error::InvalidAmount));
        assert_eq!(ok("lnbc184467440737095516150p"), Ok(Some(u64::MAX)));
    }

    #[test]
    fn currency_prefixes() {
        let cur = |s: &str| parse_hrp(s).map(|(c, _)| c);
        assert_eq!(cur("lnbc"), Ok(Currency::Bitcoin));
        assert_eq!(cur("lntb1m"), Ok(Currency::BitcoinTestnet));
        assert_eq!(cur("lntbs1m"), Ok(Currency::Signet));
        assert_eq!(cur("lnbcrt10n"), Ok(Currency::Regtest));
        assert_eq!(cur("lnsb"), Ok(Currency::Simnet));
        assert_eq!(cur("lnxy34m"), Err(Bolt11Error::UnknownCurrency("xy34m".into())));
        assert_eq!(cur("ln"), Err(Bolt11Error::UnknownCurrency(String::new())));
        assert_eq!(cur("llts"), Err(Bolt11Error::NotLightning));
    }

    #[test]
    fn shortest_amount_form_round_trips() {
        assert_eq!(format_hrp(Currency::Bitcoin, None), "lnbc");
        assert_eq!(format_hrp(Currency::Bitcoin, Some(250_000_000)), "lnbc2500u");
        assert_eq!(format_hrp(Currency::Bitcoin, Some(2_000_000_000)), "lnbc20m");
        assert_eq!(format_hrp(Currency::Bitcoin, Some(100_000_000_000)), "lnbc1");
        assert_eq!(format_hrp(Currency::Regtest, Some(1_000)), "lnbcrt10n");
        assert_eq!(format_hrp(Currency::Bitcoin, Some(967_878_534)), "lnbc9678785340p");
        for msat in [1u64, 9, 10, 100, 12_345, 1_000_000_000, u64::MAX, u64::MAX / 10 * 10] {
            let hrp = format_hrp(Currency::Signet, Some(msat));
            assert_eq!(parse_hrp(&hrp), Ok((Currency::Signet, Some(msat))), "{hrp}");
        }
    }
}
