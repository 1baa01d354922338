//! Y-axis ticks (a 1-2-5 step), number labels, XML escaping, coordinates with one decimal
//! and the checks every chart runs on its input.

use super::*;

/// Y-axis ticks: `k × step` for k in `first..=last`, where `step = mantissa × 10^exponent`
/// and the mantissa is 1, 2 or 5. The axis runs from the first tick to the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticks {
    pub mantissa: i32,
    pub exponent: i32,
    pub first: i32,
    pub last: i32,
}

impl Ticks {
    pub fn step(&self) -> f64 {
        f64::from(self.mantissa) * 10f64.powi(self.exponent)
    }

    pub fn values(&self) -> Vec<f64> {
        (self.first..=self.last).map(|k| f64::from(k) * self.step()).collect()
    }

    pub(super) fn lo(&self) -> f64 {
        f64::from(self.first) * self.step()
    }

    pub(super) fn hi(&self) -> f64 {
        f64::from(self.last) * self.step()
    }

    /// The labels: thousands separators below 10,000, then k, M and B, with as many decimals
    /// as the step needs, the same for every tick.
    pub fn labels(&self) -> Vec<String> {
        let biggest = f64::from(self.first.abs().max(self.last.abs())) * self.step();
        let unit = Unit::for_magnitude(biggest);
        let decimals = usize::try_from(unit.exponent() - self.exponent).unwrap_or(0);
        let scale = 10f64.powi(self.exponent - unit.exponent());
        (self.first..=self.last)
            .map(|k| {
                if k == 0 {
                    return "0".to_owned();
                }
                let v = f64::from(k) * f64::from(self.mantissa) * scale;
                format!("{}{}", group_thousands(&format!("{v:.decimals$}")), unit.suffix())
            })
            .collect()
    }
}

/// Ticks with a 1-2-5 step covering `lo..=hi` and zero, with 4 to 8 intervals.
pub fn nice_ticks(lo: f64, hi: f64) -> Ticks {
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    let (lo, hi) = if hi - lo > 0.0 && (hi - lo).is_finite() { (lo, hi) } else { (0.0, 1.0) };
    // Dividing with a little slack keeps 0.3 / 0.1 = 2.9999999999999996 from adding a tick.
    let fit = |mantissa: i32, exponent: i32| {
        let step = f64::from(mantissa) * 10f64.powi(exponent);
        let first = to_i32((lo / step + 1e-9).floor());
        let last = to_i32((hi / step - 1e-9).ceil());
        Ticks { mantissa, exponent, first, last }
    };
    let exponent0 = to_i32(((hi - lo) / f64::from(MAX_INTERVALS)).log10().floor());
    for exponent in exponent0..=exponent0 + 1 {
        for mantissa in [1, 2, 5] {
            let t = fit(mantissa, exponent);
            if t.last - t.first <= MAX_INTERVALS {
                return t;
            }
        }
    }
    // A step of 10^(e+2) ≥ 12.5 × range / 8 leaves at most two intervals.
    fit(1, exponent0 + 2)
}

/// Rounds a float known to be small (a tick index, a decimal exponent) to an `i32`.
#[allow(clippy::cast_possible_truncation)]
pub(super) fn to_i32(x: f64) -> i32 {
    // Rust's float-to-int `as` saturates at the bounds and maps NaN to 0, so it cannot wrap.
    x.round() as i32
}

/// An index as a float for positioning (charts never have 2^32 points; saturate if so).
pub(super) fn idx(i: usize) -> f64 {
    f64::from(u32::try_from(i).unwrap_or(u32::MAX))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unit {
    One,
    Thousand,
    Million,
    Billion,
}

impl Unit {
    pub(super) fn for_magnitude(v: f64) -> Self {
        let v = v.abs();
        if v >= 1e9 {
            Self::Billion
        } else if v >= 1e6 {
            Self::Million
        } else if v >= 1e4 {
            Self::Thousand
        } else {
            Self::One
        }
    }

    pub(super) fn exponent(self) -> i32 {
        match self {
            Self::One => 0,
            Self::Thousand => 3,
            Self::Million => 6,
            Self::Billion => 9,
        }
    }

    pub(super) fn suffix(self) -> &'static str {
        match self {
            Self::One => "",
            Self::Thousand => "k",
            Self::Million => "M",
            Self::Billion => "B",
        }
    }
}

/// `-1234567.50` → `-1,234,567.50`.
pub(super) fn group_thousands(s: &str) -> String {
    let (sign, rest) = s.strip_prefix('-').map_or(("", s), |r| ("-", r));
    let (int, frac) = rest.split_once('.').map_or((rest, None), |(i, f)| (i, Some(f)));
    let mut out = String::from(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// A value for people to read (legend, tooltips, descriptions): at most two decimals below
/// 1,000, none from 1,000 to 9,999, else k, M or B with at most two decimals; trailing zeros
/// are dropped.
pub fn human(v: f64) -> String {
    let unit = Unit::for_magnitude(v);
    let text = match unit {
        Unit::One if v.abs() >= 1000.0 => format!("{v:.0}"),
        Unit::One => format!("{v:.2}"),
        _ => format!("{:.2}", v / 10f64.powi(unit.exponent())),
    };
    let text = if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.') } else { &text };
    let text = if text == "-0" { "0" } else { text };
    format!("{}{}", group_thousands(text), unit.suffix())
}

/// Escapes text for XML content and attribute values; characters XML 1.0 forbids become U+FFFD.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if u32::from(c) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A coordinate with one decimal (never `-0.0`), so output is byte-for-byte stable.
pub(super) fn n(v: f64) -> String {
    let s = format!("{v:.1}");
    if s == "-0.0" { "0.0".to_owned() } else { s }
}

/// Estimated width of a text in pixels (DejaVu Sans averages about 0.6 em per character).
pub(super) fn text_width(s: &str, size: f64) -> f64 {
    idx(s.chars().count()) * size * 0.6
}

pub(super) fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

pub(super) fn check_finite(what: &str, values: &[f64]) -> Result<(), ChartError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(ChartError::NotFinite { what: what.to_owned(), index }),
        None => Ok(()),
    }
}

pub(super) fn check_length(what: &str, expected: usize, actual: usize) -> Result<(), ChartError> {
    if expected == actual { Ok(()) } else { Err(ChartError::Length { what: what.to_owned(), expected, actual }) }
}
