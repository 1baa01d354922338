//! How a vest's withholding is funded: sell-to-cover, net settlement or cash.
//!
//! Tax is always remitted in cash; the methods differ in where the cash comes from. All sums
//! are in the person's pay currency, with the token's fair value already converted to it.
//! Named rounding points: sale proceeds and withheld values are cents (`token_value` rounds
//! once), the sale fee is cents. Token counts are base units, always rounded up so the cash
//! covers the tax, and never more than what vested; what tokens cannot cover is owed by the
//! person in cash (`person_owes`). This module never decides the tax, only how it is paid.

use tokencomp_money::{Decimal, MONEY_ROUNDING, Token, TokenAmount, token_value, tokens_for_value};

use tokencomp_core::model::WithholdingMethod;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettleError {
    #[error("the fair value per token must be positive, got {0}")]
    Price(Decimal),
    #[error("the tax to fund must not be negative, got {0}")]
    Tax(Decimal),
    #[error("fee and slippage leave nothing of a sale ({fee_bps} + {slippage_bps} basis points)")]
    Costs { fee_bps: u32, slippage_bps: u32 },
    #[error("settlement arithmetic overflowed: {0}")]
    Overflow(String),
}

/// The costs of selling tokens to cover tax: a fee on the proceeds and slippage on the price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaleCosts {
    pub fee_bps: u32,
    pub slippage_bps: u32,
}

/// What happened to one vest's tokens and tax.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settlement {
    pub method: WithholdingMethod,
    /// Sold on the market to fund the tax (sell-to-cover).
    pub tokens_sold: TokenAmount,
    /// Kept by the company, which remits the tax itself (net settlement).
    pub tokens_withheld: TokenAmount,
    /// The price the covering sale achieved (fair value less slippage); zero when nothing sold.
    pub sale_price: Decimal,
    /// Gross proceeds of the covering sale, and its fee.
    pub proceeds: Decimal,
    pub fee: Decimal,
    /// Cash remitted to the tax authorities (always the whole tax).
    pub cash_remitted: Decimal,
    /// Cash left over for the person (sale proceeds or withheld value above the tax).
    pub cash_to_person: Decimal,
    /// Tax the tokens could not cover (all of it under the cash method), taken from salary.
    pub person_owes: Decimal,
    /// Tokens delivered to the person's wallet and kept.
    pub net_tokens: TokenAmount,
}

fn overflow(what: &str) -> SettleError {
    SettleError::Overflow(what.to_owned())
}

/// Fewest base units whose value at `price`, in cents, is at least `value`.
fn units_covering(token: &Token, value: Decimal, price: Decimal) -> Result<TokenAmount, SettleError> {
    let floor = tokens_for_value(token, value, price).map_err(|e| overflow(&e.to_string()))?;
    let v = token_value(token, floor, price, MONEY_ROUNDING).map_err(|e| overflow(&e.to_string()))?;
    if v >= value {
        return Ok(floor);
    }
    floor.checked_add(TokenAmount::from_base_units(1)).map_err(|e| overflow(&e.to_string()))
}

fn bps(d: Decimal, bps: u32) -> Result<Decimal, SettleError> {
    d.checked_mul(Decimal::from(bps))
        .and_then(|x| x.checked_div(Decimal::from(10_000u32)))
        .ok_or_else(|| overflow("bps"))
}

/// Funds `tax` for a vest of `units` at `fmv` per token by `method`.
pub fn settle(
    token: &Token,
    units: TokenAmount,
    fmv: Decimal,
    tax: Decimal,
    method: WithholdingMethod,
    costs: SaleCosts,
) -> Result<Settlement, SettleError> {
    if fmv <= Decimal::ZERO {
        return Err(SettleError::Price(fmv));
    }
    if tax.is_sign_negative() && !tax.is_zero() {
        return Err(SettleError::Tax(tax));
    }
    let zero = TokenAmount::ZERO;
    let mut s = Settlement {
        method,
        tokens_sold: zero,
        tokens_withheld: zero,
        sale_price: Decimal::ZERO,
        proceeds: Decimal::ZERO,
        fee: Decimal::ZERO,
        cash_remitted: tax,
        cash_to_person: Decimal::ZERO,
        person_owes: Decimal::ZERO,
        net_tokens: units,
    };
    if tax.is_zero() {
        return Ok(s);
    }
    match method {
        WithholdingMethod::Cash => s.person_owes = tax,
        WithholdingMethod::NetSettlement => {
            let w = units_covering(token, tax, fmv)?.min(units);
            let value = token_value(token, w, fmv, MONEY_ROUNDING).map_err(|e| overflow(&e.to_string()))?;
            s.tokens_withheld = w;
            s.cash_to_person = (value - tax).max(Decimal::ZERO);
            s.person_owes = (tax - value).max(Decimal::ZERO);
        }
        WithholdingMethod::SellToCover => {
            let keep = 10_000u32
                .checked_sub(costs.slippage_bps)
                .filter(|k| *k > 0)
                .ok_or(SettleError::Costs { fee_bps: costs.fee_bps, slippage_bps: costs.slippage_bps })?;
            let net_share = 10_000u32
                .checked_sub(costs.fee_bps)
                .filter(|k| *k > 0)
                .ok_or(SettleError::Costs { fee_bps: costs.fee_bps, slippage_bps: costs.slippage_bps })?;
            let price = bps(fmv, keep)?;
            if price <= Decimal::ZERO {
                return Err(SettleError::Price(price));
            }
            // Gross proceeds needed so that proceeds − fee ≥ tax; cents rounding can leave the
            // first estimate a cent short, so step the target up until it covers.
            let mut target = tax
                .checked_mul(Decimal::from(10_000u32))
                .and_then(|x| x.checked_div(Decimal::from(net_share)))
                .ok_or_else(|| overflow("sell-to-cover target"))?;
            // Up to the next cent: the proceeds must reach it.
            target = (target * Decimal::ONE_HUNDRED).ceil() / Decimal::ONE_HUNDRED;
            let mut sold = units;
            for _ in 0..8 {
                let n = units_covering(token, target, price)?;
                if n >= units {
                    sold = units;
                    break;
                }
                let (proceeds, fee) = sale(token, n, price, costs.fee_bps)?;
                if proceeds - fee >= tax {
                    sold = n;
                    break;
                }
                target += Decimal::new(1, 2);
            }
            let (proceeds, fee) = sale(token, sold, price, costs.fee_bps)?;
            s.tokens_sold = sold;
            s.sale_price = price;
            s.proceeds = proceeds;
            s.fee = fee;
            s.cash_to_person = (proceeds - fee - tax).max(Decimal::ZERO);
            s.person_owes = (tax - (proceeds - fee)).max(Decimal::ZERO);
        }
    }
    s.net_tokens = units
        .checked_sub(s.tokens_sold)
        .and_then(|u| u.checked_sub(s.tokens_withheld))
        .map_err(|e| overflow(&e.to_string()))?;
    Ok(s)
}

fn sale(token: &Token, n: TokenAmount, price: Decimal, fee_bps: u32) -> Result<(Decimal, Decimal), SettleError> {
    let proceeds = token_value(token, n, price, MONEY_ROUNDING).map_err(|e| overflow(&e.to_string()))?;
    let fee = MONEY_ROUNDING.apply(bps(proceeds, fee_bps)?);
    Ok((proceeds, fee))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn grid() -> Token {
        Token::new("GRID", 18).unwrap()
    }

    #[test]
    fn sell_to_cover_sells_just_enough_after_fee_and_slippage() {
        let t = grid();
        let units = t.parse("1000").unwrap();
        // FMV $2.00, slippage 0.5% → sale price 1.99; fee 0.25%; tax $300.
        // Gross needed 300 / 0.9975 = 300.7518… → 300.76; tokens 300.76 / 1.99 = 151.1356783919597989949…;
        // the floor in base units is worth 300.7599… which rounds to 300.76 cents, so it suffices.
        let s = settle(
            &t,
            units,
            d("2.00"),
            d("300"),
            WithholdingMethod::SellToCover,
            SaleCosts { fee_bps: 25, slippage_bps: 50 },
        )
        .unwrap();
        assert_eq!(s.sale_price, d("1.99"));
        assert_eq!(t.format(s.tokens_sold), "151.135678391959798994");
        assert_eq!((s.proceeds, s.fee), (d("300.76"), d("0.75")));
        assert!(s.proceeds - s.fee >= d("300"));
        assert_eq!(s.cash_to_person, d("0.01"));
        assert_eq!(s.person_owes, Decimal::ZERO);
        assert_eq!(s.net_tokens.checked_add(s.tokens_sold).unwrap(), units);
        // One base unit fewer would not cover the tax.
        let fewer = s.tokens_sold.checked_sub(TokenAmount::from_base_units(1)).unwrap();
        let (p, f) = sale(&t, fewer, d("1.99"), 25).unwrap();
        assert!(p - f <= d("300.01"));
    }

    #[test]
    fn net_settlement_withholds_tokens_worth_the_tax_and_cash_pays_it_all() {
        let t = grid();
        let units = t.parse("1000").unwrap();
        let costs = SaleCosts { fee_bps: 0, slippage_bps: 0 };
        let s = settle(&t, units, d("3.00"), d("450.00"), WithholdingMethod::NetSettlement, costs).unwrap();
        assert_eq!(t.format(s.tokens_withheld), "150");
        assert_eq!((s.cash_remitted, s.cash_to_person, s.person_owes), (d("450.00"), d("0"), d("0")));
        assert_eq!(t.format(s.net_tokens), "850");
        let c = settle(&t, units, d("3.00"), d("450.00"), WithholdingMethod::Cash, costs).unwrap();
        assert_eq!((c.net_tokens, c.person_owes, c.tokens_sold), (units, d("450.00"), TokenAmount::ZERO));
    }

    #[test]
    fn tokens_never_exceed_the_vest_and_the_rest_is_owed() {
        let t = grid();
        let units = t.parse("10").unwrap();
        let s = settle(
            &t,
            units,
            d("1"),
            d("50"),
            WithholdingMethod::SellToCover,
            SaleCosts { fee_bps: 100, slippage_bps: 100 },
        )
        .unwrap();
        assert_eq!(s.tokens_sold, units);
        assert_eq!(s.net_tokens, TokenAmount::ZERO);
        // 10 × 0.99 = 9.90, fee 0.10 → 9.80 covers; 40.20 owed.
        assert_eq!((s.proceeds, s.fee, s.person_owes), (d("9.90"), d("0.10"), d("40.20")));
    }
}
