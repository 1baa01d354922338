//! SVG charts for the tokenomics, simulation and fairness reports: a supply curve (lines or
//! stacked areas), an unlock calendar (stacked bars), a value fan (quantile bands) and a
//! fairness scatter (points by cohort with each cohort's median).
//!
//! Data in, `String` out: no IO, no clock, no randomness, so the web dashboard can reuse it.
//! The same input gives the same bytes (every coordinate is written with one decimal).
//! Floats here are for drawing only: this module must never compute a number that is paid,
//! withheld, booked or released. A non-finite value is refused with a [`ChartError`], never
//! drawn or silently skipped; every text is escaped for XML.

// Pixel geometry is float arithmetic by nature; nothing here is money.
#![allow(clippy::float_arithmetic)]

use std::fmt::{self, Write as _};

use jiff::civil::Date;
use tokencomp_core::calendar::{self, Day};

/// The fixed size of every chart (the `viewBox`), in pixels.
pub const WIDTH: f64 = 800.0;
pub const HEIGHT: f64 = 450.0;

/// Okabe–Ito colours (safe for the common colour-vision deficiencies), in the order series
/// take them; black is kept for axes and reference lines, and yellow comes last because it is
/// faint on white. Series past the seventh reuse the colours in order.
pub const PALETTE: [&str; 7] = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"];

const FONT: &str = "DejaVu Sans, Verdana, Helvetica, Arial, sans-serif";
const TICK_FONT: f64 = 11.0;
const LEGEND_FONT: f64 = 12.0;
/// At most this many intervals between y ticks (so at least 4: see `nice_ticks`).
const MAX_INTERVALS: i32 = 8;
const GRID: &str = "#DDDDDD";
const AXIS: &str = "#333333";
const REFERENCE: &str = "#000000";

/// Why a chart could not be drawn.
#[derive(Debug, Clone, PartialEq)]
pub enum ChartError {
    /// A value is NaN or infinite (`what` names the series or field, `index` the position).
    NotFinite { what: String, index: usize },
    /// A series has another number of values than the x axis has labels.
    Length { what: String, expected: usize, actual: usize },
    /// A fan chart's quantiles at `index` are not in order p5 ≤ p25 ≤ p50 ≤ p75 ≤ p95.
    Quantiles { index: usize },
    /// The values are finite but their range (or a stack's sum) is not.
    Range,
}

impl fmt::Display for ChartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFinite { what, index } => write!(f, "{what}: value {index} is not a finite number"),
            Self::Length { what, expected, actual } => {
                write!(f, "{what}: {actual} values for {expected} x labels")
            }
            Self::Quantiles { index } => write!(f, "quantiles at {index} are not in order p5 ≤ p25 ≤ p50 ≤ p75 ≤ p95"),
            Self::Range => f.write_str("the values' range is too large to draw"),
        }
    }
}

impl std::error::Error for ChartError {}

/// How a series of a [`LineChart`] is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesKind {
    /// A line, on the same scale as the stack, not stacked.
    Line,
    /// A filled area stacked on the areas before it (in order, from the x axis up).
    Area,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    /// One value per x label.
    pub values: Vec<f64>,
    pub kind: SeriesKind,
}

/// Values over equally spaced x labels (months, say): a supply curve with the circulating
/// supply as a line and the buckets as stacked areas.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// The x labels, already formatted (e.g. `2026-01`); thinned when they would overlap.
    pub x: Vec<String>,
    pub series: Vec<Series>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BarSeries {
    pub name: String,
    /// One value per x label; zero draws nothing, negative values stack below the axis.
    pub values: Vec<f64>,
}

/// Bars stacked per x label: an unlock calendar with one series per allocation bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct StackedBars {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x: Vec<String>,
    pub series: Vec<BarSeries>,
}

/// One time point's distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantiles {
    pub p5: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p95: f64,
}

/// A horizontal line across a chart, such as a floor.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    pub name: String,
    pub value: f64,
}

/// A distribution over time: the P5–P95 and P25–P75 bands and the median line.
#[derive(Debug, Clone, PartialEq)]
pub struct FanChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x: Vec<String>,
    /// One entry per x label.
    pub bands: Vec<Quantiles>,
    pub reference: Option<Reference>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub date: Date,
    pub value: f64,
    /// Shown as the point's tooltip (a person's name, say); may be empty.
    pub label: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub name: String,
    pub points: Vec<Point>,
    /// Drawn as a dashed line across the group's dates when given.
    pub median: Option<f64>,
}

/// Points by date and value, one colour per group: the fairness plot (x = hire date,
/// y = value, one group per hire cohort).
#[derive(Debug, Clone, PartialEq)]
pub struct Scatter {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub groups: Vec<Group>,
}

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

    fn lo(&self) -> f64 {
        f64::from(self.first) * self.step()
    }

    fn hi(&self) -> f64 {
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
fn to_i32(x: f64) -> i32 {
    // Rust's float-to-int `as` saturates at the bounds and maps NaN to 0, so it cannot wrap.
    x.round() as i32
}

/// An index as a float for positioning (charts never have 2^32 points; saturate if so).
fn idx(i: usize) -> f64 {
    f64::from(u32::try_from(i).unwrap_or(u32::MAX))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    One,
    Thousand,
    Million,
    Billion,
}

impl Unit {
    fn for_magnitude(v: f64) -> Self {
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

    fn exponent(self) -> i32 {
        match self {
            Self::One => 0,
            Self::Thousand => 3,
            Self::Million => 6,
            Self::Billion => 9,
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Self::One => "",
            Self::Thousand => "k",
            Self::Million => "M",
            Self::Billion => "B",
        }
    }
}

/// `-1234567.50` → `-1,234,567.50`.
fn group_thousands(s: &str) -> String {
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
fn n(v: f64) -> String {
    let s = format!("{v:.1}");
    if s == "-0.0" { "0.0".to_owned() } else { s }
}

/// Estimated width of a text in pixels (DejaVu Sans averages about 0.6 em per character).
fn text_width(s: &str, size: f64) -> f64 {
    idx(s.chars().count()) * size * 0.6
}

fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

fn check_finite(what: &str, values: &[f64]) -> Result<(), ChartError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(ChartError::NotFinite { what: what.to_owned(), index }),
        None => Ok(()),
    }
}

fn check_length(what: &str, expected: usize, actual: usize) -> Result<(), ChartError> {
    if expected == actual { Ok(()) } else { Err(ChartError::Length { what: what.to_owned(), expected, actual }) }
}

/// Writes one line into the output; writing into a `String` cannot fail.
macro_rules! put {
    ($out:expr, $($arg:tt)*) => {{
        let _ = writeln!($out, $($arg)*);
    }};
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Swatch {
    Fill,
    Line,
    Dashed,
    Dot,
}

struct LegendItem {
    name: String,
    colour: &'static str,
    swatch: Swatch,
    opacity: f64,
}

/// The drawing area, once the title, legend and axis labels have taken their room.
struct Plot {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    ticks: Ticks,
}

impl Plot {
    fn y(&self, v: f64) -> f64 {
        let (lo, hi) = (self.ticks.lo(), self.ticks.hi());
        self.bottom - (v - lo) / (hi - lo) * (self.bottom - self.top)
    }

    fn width(&self) -> f64 {
        self.right - self.left
    }
}

/// A chart being written: the header, title and legend, then the axes and the data.
struct Canvas {
    out: String,
}

impl Canvas {
    fn new(title: &str, desc: &str) -> Self {
        let mut out = String::new();
        put!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" font-family="{FONT}">"#,
            w = WIDTH,
            h = HEIGHT
        );
        put!(out, "<title>{}</title>", escape(title));
        put!(out, "<desc>{}</desc>", escape(desc));
        put!(out, r##"<rect class="background" width="{WIDTH}" height="{HEIGHT}" fill="#FFFFFF"/>"##);
        // Long titles shrink rather than run off the edge.
        let size = (16.0f64).min((WIDTH - 40.0) / (idx(title.chars().count().max(1)) * 0.62));
        put!(
            out,
            r#"<text class="title" x="{}" y="26" text-anchor="middle" font-size="{}" font-weight="bold">{}</text>"#,
            n(WIDTH / 2.0),
            n(size),
            escape(title)
        );
        Self { out }
    }

    /// Lays the legend out in rows under the title and returns where the plot may start.
    fn legend(&mut self, items: &[LegendItem]) -> f64 {
        if items.is_empty() {
            return 44.0;
        }
        let (left, right) = (20.0, WIDTH - 20.0);
        let mut rows: Vec<Vec<(&LegendItem, f64)>> = vec![Vec::new()];
        let mut x = 0.0;
        for item in items {
            let w = 18.0 + text_width(&item.name, LEGEND_FONT) + 18.0;
            if x > 0.0 && x + w > right - left {
                rows.push(Vec::new());
                x = 0.0;
            }
            if let Some(row) = rows.last_mut() {
                row.push((item, w));
            }
            x += w;
        }
        put!(self.out, r#"<g class="legend" font-size="{LEGEND_FONT}">"#);
        let mut y = 48.0;
        for row in &rows {
            let total: f64 = row.iter().map(|(_, w)| w).sum::<f64>() - 18.0;
            let mut x = (WIDTH - total) / 2.0;
            for (item, w) in row {
                let c = item.colour;
                match item.swatch {
                    Swatch::Fill => put!(
                        self.out,
                        r#"<rect class="swatch" x="{}" y="{}" width="12" height="12" fill="{c}" fill-opacity="{}"/>"#,
                        n(x),
                        n(y - 10.0),
                        n(item.opacity)
                    ),
                    Swatch::Line | Swatch::Dashed => put!(
                        self.out,
                        r#"<line class="swatch" x1="{}" y1="{}" x2="{}" y2="{}" stroke="{c}" stroke-width="2.5"{}/>"#,
                        n(x),
                        n(y - 4.0),
                        n(x + 12.0),
                        n(y - 4.0),
                        if item.swatch == Swatch::Dashed { r#" stroke-dasharray="4 2""# } else { "" }
                    ),
                    Swatch::Dot => put!(
                        self.out,
                        r#"<circle class="swatch" cx="{}" cy="{}" r="4.5" fill="{c}" fill-opacity="{}"/>"#,
                        n(x + 6.0),
                        n(y - 4.0),
                        n(item.opacity)
                    ),
                }
                put!(self.out, r#"<text x="{}" y="{}">{}</text>"#, n(x + 18.0), n(y), escape(&item.name));
                x += w;
            }
            y += 18.0;
        }
        put!(self.out, "</g>");
        y - 2.0
    }

    /// The plot area below `top`, with y gridlines, tick labels and the y axis title.
    fn plot(&mut self, top: f64, lo: f64, hi: f64, y_label: &str) -> Plot {
        let ticks = nice_ticks(lo, hi);
        let labels = ticks.labels();
        let label_w = labels.iter().map(|l| text_width(l, TICK_FONT)).fold(0.0, f64::max);
        let left = 34.0 + label_w + 8.0;
        let plot = Plot { left, right: WIDTH - 24.0, top: top + 8.0, bottom: HEIGHT - 52.0, ticks };
        put!(self.out, r#"<g class="y-axis" font-size="{TICK_FONT}" fill="{AXIS}">"#);
        for (v, label) in ticks.values().iter().zip(&labels) {
            let y = n(plot.y(*v));
            put!(
                self.out,
                r#"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="{}" stroke-width="1"/>"#,
                n(plot.left),
                n(plot.right),
                if *v == 0.0 { AXIS } else { GRID }
            );
            put!(
                self.out,
                r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
                n(plot.left - 6.0),
                n(plot.y(*v) + 4.0),
                label
            );
        }
        let mid = (plot.top + plot.bottom) / 2.0;
        put!(
            self.out,
            r#"<text class="axis-title" x="16" y="{}" transform="rotate(-90 16 {})" text-anchor="middle" font-size="12">{}</text>"#,
            n(mid),
            n(mid),
            escape(y_label)
        );
        put!(self.out, "</g>");
        plot
    }

    fn x_title(&mut self, plot: &Plot, x_label: &str) {
        put!(
            self.out,
            r#"<text class="axis-title" x="{}" y="{}" text-anchor="middle" font-size="12" fill="{AXIS}">{}</text>"#,
            n((plot.left + plot.right) / 2.0),
            n(HEIGHT - 12.0),
            escape(x_label)
        );
    }

    fn no_data(&mut self, plot: &Plot) {
        put!(
            self.out,
            r##"<text class="no-data" x="{}" y="{}" text-anchor="middle" font-size="14" fill="#777777">No data</text>"##,
            n((plot.left + plot.right) / 2.0),
            n((plot.top + plot.bottom) / 2.0)
        );
    }

    fn finish(mut self) -> String {
        put!(self.out, "</svg>");
        self.out
    }
}

/// Equally spaced categories, each centred in its band.
struct Bands {
    left: f64,
    band: f64,
}

impl Bands {
    fn new(plot: &Plot, count: usize) -> Self {
        Self { left: plot.left, band: plot.width() / idx(count.max(1)) }
    }

    fn x(&self, i: usize) -> f64 {
        self.left + (idx(i) + 0.5) * self.band
    }
}

/// Every how many labels one is shown so that they do not overlap: 1, 2, 3, 6 or a multiple
/// of twelve where one fits, so monthly labels fall on quarters, halves and years.
fn label_stride(labels: &[String], band: f64) -> usize {
    let widest = labels.iter().map(|l| text_width(l, TICK_FONT)).fold(0.0, f64::max) + 10.0;
    for stride in [1, 2, 3, 6, 12, 24, 36, 48, 60, 120] {
        if idx(stride) * band >= widest {
            return stride;
        }
    }
    let stride = to_i32((widest / band.max(1e-9)).ceil()).max(1);
    usize::try_from(stride).unwrap_or(1)
}

fn x_category_labels(canvas: &mut Canvas, plot: &Plot, bands: &Bands, labels: &[String]) {
    let stride = label_stride(labels, bands.band);
    put!(canvas.out, r#"<g class="x-axis" font-size="{TICK_FONT}" fill="{AXIS}" text-anchor="middle">"#);
    for (i, label) in labels.iter().enumerate().filter(|(i, _)| i % stride == 0) {
        let x = n(bands.x(i));
        put!(
            canvas.out,
            r#"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="{AXIS}" stroke-width="1"/>"#,
            n(plot.bottom),
            n(plot.bottom + 4.0)
        );
        put!(canvas.out, r#"<text class="x-label" x="{x}" y="{}">{}</text>"#, n(plot.bottom + 18.0), escape(label));
    }
    put!(canvas.out, "</g>");
}

/// `M x y L x y …` through the points.
fn path(points: impl IntoIterator<Item = (f64, f64)>) -> String {
    let mut d = String::new();
    for (i, (x, y)) in points.into_iter().enumerate() {
        let _ = write!(d, "{}{} {}", if i == 0 { "M" } else { " L" }, n(x), n(y));
    }
    d
}

/// The x positions of a band's outline: the centres, or a short span around a lone point so
/// a single time still shows as an area.
fn outline_xs(bands: &Bands, count: usize) -> Vec<f64> {
    if count == 1 {
        let c = bands.x(0);
        vec![c - bands.band / 4.0, c + bands.band / 4.0]
    } else {
        (0..count).map(|i| bands.x(i)).collect()
    }
}

/// A closed area between `upper` and `lower` (one value per x).
fn band_path(xs: &[f64], upper: &[f64], lower: &[f64], plot: &Plot) -> String {
    // A lone point was widened to two xs: repeat its value.
    let at = |values: &[f64], i: usize| values[i.min(values.len() - 1)];
    let top = xs.iter().enumerate().map(|(i, &x)| (x, plot.y(at(upper, i))));
    let bottom = xs.iter().enumerate().rev().map(|(i, &x)| (x, plot.y(at(lower, i))));
    format!("{} Z", path(top.chain(bottom)))
}

fn range(values: impl IntoIterator<Item = f64>) -> Result<(f64, f64), ChartError> {
    let (lo, hi) = values.into_iter().fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if (hi - lo).is_finite() { Ok((lo, hi)) } else { Err(ChartError::Range) }
}

fn span_text(labels: &[String]) -> String {
    match (labels.first(), labels.last()) {
        (Some(a), Some(b)) if labels.len() > 1 => format!(" from {a} to {b}"),
        (Some(a), _) => format!(" at {a}"),
        _ => String::new(),
    }
}

impl LineChart {
    pub fn render(&self) -> Result<String, ChartError> {
        let count = self.x.len();
        for s in &self.series {
            check_length(&s.name, count, s.values.len())?;
            check_finite(&s.name, &s.values)?;
        }
        // Each area's lower and upper edge, stacked in order.
        let mut stack = vec![0.0; count];
        let mut areas = Vec::new();
        for (i, s) in self.series.iter().enumerate().filter(|(_, s)| s.kind == SeriesKind::Area) {
            let lower = stack.clone();
            for (acc, v) in stack.iter_mut().zip(&s.values) {
                *acc += v;
            }
            areas.push((i, lower, stack.clone()));
        }
        let all = areas.iter().flat_map(|(_, _, upper)| upper.iter().copied());
        let lines = self.series.iter().filter(|s| s.kind == SeriesKind::Line).flat_map(|s| s.values.iter().copied());
        let (lo, hi) = range(all.chain(lines))?;

        let names: Vec<&str> = self.series.iter().map(|s| s.name.as_str()).collect();
        let desc = format!(
            "Chart of {} series ({}) over {} points{}; {} from {} to {}.",
            self.series.len(),
            names.join(", "),
            count,
            span_text(&self.x),
            self.y_label,
            human(lo),
            human(hi)
        );
        let mut canvas = Canvas::new(&self.title, &desc);
        let legend: Vec<LegendItem> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| LegendItem {
                name: s.name.clone(),
                colour: colour(i),
                swatch: if s.kind == SeriesKind::Area { Swatch::Fill } else { Swatch::Line },
                opacity: 0.8,
            })
            .collect();
        let top = canvas.legend(&legend);
        let plot = canvas.plot(top, lo, hi, &self.y_label);
        let bands = Bands::new(&plot, count);
        if count == 0 || self.series.is_empty() {
            canvas.no_data(&plot);
        } else {
            let xs = outline_xs(&bands, count);
            for (i, lower, upper) in &areas {
                put!(
                    canvas.out,
                    r#"<path class="area" d="{}" fill="{c}" fill-opacity="0.8" stroke="{c}" stroke-width="1"><title>{}</title></path>"#,
                    band_path(&xs, upper, lower, &plot),
                    escape(&self.series[*i].name),
                    c = colour(*i)
                );
            }
            for (i, s) in self.series.iter().enumerate().filter(|(_, s)| s.kind == SeriesKind::Line) {
                let c = colour(i);
                let points = s.values.iter().enumerate().map(|(j, v)| (bands.x(j), plot.y(*v)));
                put!(
                    canvas.out,
                    r#"<path class="line" d="{}" fill="none" stroke="{c}" stroke-width="2.5" stroke-linejoin="round"><title>{}</title></path>"#,
                    path(points),
                    escape(&s.name)
                );
                if count == 1 {
                    put!(
                        canvas.out,
                        r#"<circle class="marker" cx="{}" cy="{}" r="3.5" fill="{c}"/>"#,
                        n(bands.x(0)),
                        n(plot.y(s.values[0]))
                    );
                }
            }
        }
        x_category_labels(&mut canvas, &plot, &bands, &self.x);
        canvas.x_title(&plot, &self.x_label);
        Ok(canvas.finish())
    }
}

impl StackedBars {
    pub fn render(&self) -> Result<String, ChartError> {
        let count = self.x.len();
        for s in &self.series {
            check_length(&s.name, count, s.values.len())?;
            check_finite(&s.name, &s.values)?;
        }
        // Positive values stack up from zero, negative ones down.
        let mut up = vec![0.0; count];
        let mut down = vec![0.0; count];
        let mut bars = Vec::new();
        for (i, s) in self.series.iter().enumerate() {
            for (j, &v) in s.values.iter().enumerate() {
                let base = if v > 0.0 { &mut up[j] } else { &mut down[j] };
                if v != 0.0 {
                    bars.push((i, j, *base, *base + v));
                    *base += v;
                }
            }
        }
        let (lo, hi) = range(up.iter().chain(&down).copied())?;
        let names: Vec<&str> = self.series.iter().map(|s| s.name.as_str()).collect();
        let desc = format!(
            "Stacked bars of {} series ({}) over {} periods{}; {} from {} to {}.",
            self.series.len(),
            names.join(", "),
            count,
            span_text(&self.x),
            self.y_label,
            human(lo),
            human(hi)
        );
        let mut canvas = Canvas::new(&self.title, &desc);
        let legend: Vec<LegendItem> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| LegendItem { name: s.name.clone(), colour: colour(i), swatch: Swatch::Fill, opacity: 1.0 })
            .collect();
        let top = canvas.legend(&legend);
        let plot = canvas.plot(top, lo, hi, &self.y_label);
        let bands = Bands::new(&plot, count);
        if bars.is_empty() {
            canvas.no_data(&plot);
        }
        let width = (bands.band * 0.7).max(1.0);
        for (i, j, from, to) in bars {
            let (y0, y1) = (plot.y(from), plot.y(to));
            put!(
                canvas.out,
                r##"<rect class="bar" x="{}" y="{}" width="{}" height="{}" fill="{}" stroke="#FFFFFF" stroke-width="0.5"><title>{}, {}: {}</title></rect>"##,
                n(bands.x(j) - width / 2.0),
                n(y0.min(y1)),
                n(width),
                n((y0 - y1).abs()),
                colour(i),
                escape(&self.series[i].name),
                escape(&self.x[j]),
                human(to - from)
            );
        }
        x_category_labels(&mut canvas, &plot, &bands, &self.x);
        canvas.x_title(&plot, &self.x_label);
        Ok(canvas.finish())
    }
}

const FAN: &str = "#0072B2";

impl FanChart {
    pub fn render(&self) -> Result<String, ChartError> {
        let count = self.x.len();
        check_length("bands", count, self.bands.len())?;
        for (index, q) in self.bands.iter().enumerate() {
            let values = [q.p5, q.p25, q.p50, q.p75, q.p95];
            if values.iter().any(|v| !v.is_finite()) {
                return Err(ChartError::NotFinite { what: "bands".to_owned(), index });
            }
            if values.windows(2).any(|w| w[0] > w[1]) {
                return Err(ChartError::Quantiles { index });
            }
        }
        if let Some(r) = &self.reference {
            check_finite(&r.name, &[r.value])?;
        }
        let all = self.bands.iter().flat_map(|q| [q.p5, q.p95]);
        let (lo, hi) = range(all.chain(self.reference.iter().map(|r| r.value)))?;
        let mut desc = format!(
            "Fan chart of {} over {} points{}: P5 to P95 and P25 to P75 bands and the median",
            self.y_label,
            count,
            span_text(&self.x)
        );
        if let (Some(first), Some(last)) = (self.bands.first(), self.bands.last()) {
            let _ = write!(desc, " (from {} to {})", human(first.p50), human(last.p50));
        }
        if let Some(r) = &self.reference {
            let _ = write!(desc, "; {} at {}", r.name, human(r.value));
        }
        desc.push('.');
        let mut canvas = Canvas::new(&self.title, &desc);
        let mut legend = vec![
            LegendItem { name: "P5–P95".to_owned(), colour: FAN, swatch: Swatch::Fill, opacity: 0.2 },
            LegendItem { name: "P25–P75".to_owned(), colour: FAN, swatch: Swatch::Fill, opacity: 0.45 },
            LegendItem { name: "Median (P50)".to_owned(), colour: FAN, swatch: Swatch::Line, opacity: 1.0 },
        ];
        if let Some(r) = &self.reference {
            legend.push(LegendItem { name: r.name.clone(), colour: REFERENCE, swatch: Swatch::Dashed, opacity: 1.0 });
        }
        let top = canvas.legend(&legend);
        let plot = canvas.plot(top, lo, hi, &self.y_label);
        let bands = Bands::new(&plot, count);
        if count == 0 {
            canvas.no_data(&plot);
        } else {
            let xs = outline_xs(&bands, count);
            let get = |f: fn(&Quantiles) -> f64| self.bands.iter().map(f).collect::<Vec<f64>>();
            let (p5, p25, p50, p75, p95) =
                (get(|q| q.p5), get(|q| q.p25), get(|q| q.p50), get(|q| q.p75), get(|q| q.p95));
            put!(
                canvas.out,
                r#"<path class="band" d="{}" fill="{FAN}" fill-opacity="0.2"><title>P5–P95</title></path>"#,
                band_path(&xs, &p95, &p5, &plot)
            );
            put!(
                canvas.out,
                r#"<path class="band" d="{}" fill="{FAN}" fill-opacity="0.45"><title>P25–P75</title></path>"#,
                band_path(&xs, &p75, &p25, &plot)
            );
            let median = xs.iter().enumerate().map(|(i, &x)| (x, plot.y(p50[i.min(count - 1)])));
            put!(
                canvas.out,
                r#"<path class="median" d="{}" fill="none" stroke="{FAN}" stroke-width="2.5" stroke-linejoin="round"><title>Median (P50)</title></path>"#,
                path(median)
            );
        }
        if let Some(r) = &self.reference {
            let y = plot.y(r.value);
            put!(
                canvas.out,
                r#"<line class="reference" x1="{}" y1="{}" x2="{}" y2="{}" stroke="{REFERENCE}" stroke-width="1.5" stroke-dasharray="6 4"/>"#,
                n(plot.left),
                n(y),
                n(plot.right),
                n(y)
            );
            // The label sits above the line unless that would leave the plot.
            let label_y = if y - 6.0 > plot.top + 10.0 { y - 6.0 } else { y + 14.0 };
            put!(
                canvas.out,
                r#"<text class="reference-label" x="{}" y="{}" text-anchor="end" font-size="11" fill="{REFERENCE}">{}: {}</text>"#,
                n(plot.right - 4.0),
                n(label_y),
                escape(&r.name),
                human(r.value)
            );
        }
        x_category_labels(&mut canvas, &plot, &bands, &self.x);
        canvas.x_title(&plot, &self.x_label);
        Ok(canvas.finish())
    }
}

/// Month steps a date axis may use, and whether their labels show the month.
const MONTH_STEPS: [i32; 8] = [1, 2, 3, 6, 12, 24, 60, 120];

/// Date ticks on the first day of months that are multiples of a step, at most as many as
/// fit in `width` pixels: `(day, label)`.
fn date_ticks(first: Day, last: Day, width: f64) -> Vec<(Day, String)> {
    for step in MONTH_STEPS {
        let yearly = step >= 12;
        let label_w = text_width(if yearly { "2026" } else { "2026-01" }, TICK_FONT) + 16.0;
        let room = to_i32((width / label_w).floor()).max(2);
        let ticks = month_starts(first, last, step);
        if i32::try_from(ticks.len()).unwrap_or(i32::MAX) <= room {
            return ticks
                .into_iter()
                .map(|(day, y, m)| (day, if yearly { format!("{y}") } else { format!("{y}-{m:02}") }))
                .collect();
        }
    }
    Vec::new()
}

fn month_starts(first: Day, last: Day, step: i32) -> Vec<(Day, i32, u8)> {
    let (y, m, d) = calendar::civil_from_day(first);
    let start = calendar::month_index(y, m) + i32::from(d > 1);
    // Round up to a multiple of the step so ticks fall on quarters, years, decades.
    let mut mi = start.div_euclid(step) * step;
    if mi < start {
        mi += step;
    }
    let mut out = Vec::new();
    loop {
        let (y, m) = calendar::from_month_index(mi);
        let day = calendar::day_from_civil(y, m, 1);
        if day > last {
            return out;
        }
        out.push((day, y, m));
        mi += step;
    }
}

impl Scatter {
    pub fn render(&self) -> Result<String, ChartError> {
        for g in &self.groups {
            let values: Vec<f64> = g.points.iter().map(|p| p.value).collect();
            check_finite(&g.name, &values)?;
            if let Some(m) = g.median {
                check_finite(&format!("{} median", g.name), &[m])?;
            }
        }
        let points = || self.groups.iter().flat_map(|g| g.points.iter());
        let (lo, hi) = range(points().map(|p| p.value).chain(self.groups.iter().filter_map(|g| g.median)))?;
        let days: Vec<Day> = points().map(|p| calendar::to_day(p.date)).collect();
        let (first, last) = (days.iter().copied().min(), days.iter().copied().max());
        let total = days.len();
        let names: Vec<&str> = self.groups.iter().map(|g| g.name.as_str()).collect();
        let mut desc = format!(
            "Scatter of {total} points in {} groups ({}); {} from {} to {}",
            self.groups.len(),
            names.join(", "),
            self.y_label,
            human(lo),
            human(hi)
        );
        if let (Some(a), Some(b)) = (first, last) {
            let _ = write!(desc, "; {} from {} to {}", self.x_label, calendar::to_date(a), calendar::to_date(b));
        }
        desc.push('.');
        let mut canvas = Canvas::new(&self.title, &desc);
        let mut legend: Vec<LegendItem> = self
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| LegendItem { name: g.name.clone(), colour: colour(i), swatch: Swatch::Dot, opacity: 0.8 })
            .collect();
        if self.groups.iter().any(|g| g.median.is_some()) {
            legend.push(LegendItem { name: "median".to_owned(), colour: AXIS, swatch: Swatch::Dashed, opacity: 1.0 });
        }
        let top = canvas.legend(&legend);
        let plot = canvas.plot(top, lo, hi, &self.y_label);
        let (Some(first), Some(last)) = (first, last) else {
            canvas.no_data(&plot);
            canvas.x_title(&plot, &self.x_label);
            return Ok(canvas.finish());
        };
        // A lone date gets a month either side; every range gets a margin so no point sits on
        // the axis.
        let (first, last) = if first == last { (first - 30, last + 30) } else { (first, last) };
        let pad = f64::from(last - first) * 0.03;
        let (x0, x1) = (f64::from(first) - pad, f64::from(last) + pad);
        let x = |day: Day| plot.left + (f64::from(day) - x0) / (x1 - x0) * plot.width();

        put!(canvas.out, r#"<g class="x-axis" font-size="{TICK_FONT}" fill="{AXIS}" text-anchor="middle">"#);
        for (day, label) in date_ticks(to_i32(x0.ceil()), to_i32(x1.floor()), plot.width()) {
            let tx = n(x(day));
            put!(
                canvas.out,
                r#"<line x1="{tx}" y1="{}" x2="{tx}" y2="{}" stroke="{AXIS}" stroke-width="1"/>"#,
                n(plot.bottom),
                n(plot.bottom + 4.0)
            );
            put!(canvas.out, r#"<text class="x-label" x="{tx}" y="{}">{}</text>"#, n(plot.bottom + 18.0), label);
        }
        put!(canvas.out, "</g>");

        for (i, g) in self.groups.iter().enumerate() {
            let c = colour(i);
            put!(canvas.out, r#"<g class="group" fill="{c}">"#);
            for p in &g.points {
                let title = if p.label.is_empty() {
                    format!("{}, {}: {}", g.name, p.date, human(p.value))
                } else {
                    format!("{} ({}), {}: {}", p.label, g.name, p.date, human(p.value))
                };
                put!(
                    canvas.out,
                    r##"<circle class="point" cx="{}" cy="{}" r="4.5" fill-opacity="0.8" stroke="#FFFFFF" stroke-width="0.8"><title>{}</title></circle>"##,
                    n(x(calendar::to_day(p.date))),
                    n(plot.y(p.value)),
                    escape(&title)
                );
            }
            put!(canvas.out, "</g>");
        }
        // Medians go over every group's points, so none is hidden under another cohort.
        for (i, g) in self.groups.iter().enumerate() {
            let (Some(m), Some(a), Some(b)) = (
                g.median,
                g.points.iter().map(|p| calendar::to_day(p.date)).min(),
                g.points.iter().map(|p| calendar::to_day(p.date)).max(),
            ) else {
                continue;
            };
            let y = n(plot.y(m));
            put!(
                canvas.out,
                r#"<line class="median" x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="{}" stroke-width="2.5" stroke-dasharray="6 3"><title>{} median: {}</title></line>"#,
                n(x(a) - 10.0),
                n(x(b) + 10.0),
                colour(i),
                escape(&g.name),
                human(m)
            );
        }
        canvas.x_title(&plot, &self.x_label);
        Ok(canvas.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    /// A small XML well-formedness check: one root, tags nest and close, attributes are quoted
    /// and unique, `&` only starts one of the five predefined entities, no raw `<` in text or
    /// attribute values.
    fn check_xml(s: &str) -> Result<(), String> {
        fn entities(text: &str) -> Result<(), String> {
            for (i, _) in text.match_indices('&') {
                let rest = &text[i..];
                if !["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].iter().any(|e| rest.starts_with(e)) {
                    return Err(format!("bad entity at {:?}", &rest[..rest.len().min(10)]));
                }
            }
            Ok(())
        }
        let name_ok = |n: &str| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || "-_:".contains(c));
        let mut stack: Vec<String> = Vec::new();
        let mut roots = 0;
        let mut rest = s;
        while let Some(open) = rest.find('<') {
            let text = &rest[..open];
            if stack.is_empty() && !text.trim().is_empty() {
                return Err(format!("text outside the root: {text:?}"));
            }
            if text.contains('>') {
                return Err(format!("raw > in text {text:?}"));
            }
            entities(text)?;
            let close = rest[open..].find('>').ok_or("unclosed tag")? + open;
            let tag = &rest[open + 1..close];
            rest = &rest[close + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                match stack.pop() {
                    Some(top) if top == name => continue,
                    other => return Err(format!("</{name}> closes {other:?}")),
                }
            }
            let (tag, empty) = tag.strip_suffix('/').map_or((tag, false), |t| (t, true));
            let (name, mut attrs) = tag.split_once(char::is_whitespace).unwrap_or((tag, ""));
            if !name_ok(name) {
                return Err(format!("bad tag name {name:?}"));
            }
            let mut seen = Vec::new();
            loop {
                attrs = attrs.trim_start();
                if attrs.is_empty() {
                    break;
                }
                let (key, after) = attrs.split_once("=\"").ok_or(format!("unquoted attribute in <{tag}>"))?;
                if !name_ok(key) || seen.contains(&key) {
                    return Err(format!("bad or repeated attribute {key:?}"));
                }
                seen.push(key);
                let end = after.find('"').ok_or("unterminated attribute")?;
                let value = &after[..end];
                if value.contains('<') {
                    return Err(format!("raw < in attribute {key}"));
                }
                entities(value)?;
                attrs = &after[end + 1..];
            }
            if stack.is_empty() {
                roots += 1;
            }
            if !empty {
                stack.push(name.to_owned());
            }
        }
        if !rest.trim().is_empty() || !stack.is_empty() || roots != 1 {
            return Err(format!("unbalanced: open {stack:?}, {roots} roots, trailing {rest:?}"));
        }
        Ok(())
    }

    fn count(svg: &str, needle: &str) -> usize {
        svg.matches(needle).count()
    }

    /// The coordinates of every point in the `d` attributes of elements of the class.
    fn path_points(svg: &str, class: &str) -> Vec<usize> {
        let marker = format!("class=\"{class}\" d=\"");
        svg.match_indices(&marker)
            .map(|(i, _)| {
                let d = &svg[i + marker.len()..];
                let d = &d[..d.find('"').expect("closed d")];
                d.matches(['M', 'L']).count()
            })
            .collect()
    }

    fn months(first_year: i32, count: usize) -> Vec<String> {
        (0..count)
            .map(|i| {
                let mi = calendar::month_index(first_year, 1) + i32::try_from(i).expect("small");
                let (y, m) = calendar::from_month_index(mi);
                format!("{y}-{m:02}")
            })
            .collect()
    }

    fn supply() -> LineChart {
        LineChart {
            title: "Supply".into(),
            x_label: "Month".into(),
            y_label: "Tokens".into(),
            x: months(2026, 4),
            series: vec![
                Series { name: "Team".into(), values: vec![0.0, 100.0, 200.0, 300.0], kind: SeriesKind::Area },
                Series { name: "Investors".into(), values: vec![50.0, 50.0, 150.0, 250.0], kind: SeriesKind::Area },
                Series { name: "Circulating".into(), values: vec![50.0, 120.0, 300.0, 500.0], kind: SeriesKind::Line },
            ],
        }
    }

    fn unlocks() -> StackedBars {
        StackedBars {
            title: "Unlocks".into(),
            x_label: "Month".into(),
            y_label: "Tokens".into(),
            x: months(2026, 3),
            series: vec![
                BarSeries { name: "Team".into(), values: vec![0.0, 2_500_000.0, 2_500_000.0] },
                BarSeries { name: "Community".into(), values: vec![1_000_000.0, 1_000_000.0, 0.0] },
            ],
        }
    }

    fn fan() -> FanChart {
        let q = |p50: f64| Quantiles { p5: p50 * 0.4, p25: p50 * 0.8, p50, p75: p50 * 1.3, p95: p50 * 2.0 };
        FanChart {
            title: "Package value".into(),
            x_label: "Month".into(),
            y_label: "USD".into(),
            x: months(2026, 3),
            bands: vec![q(10_000.0), q(20_000.0), q(30_000.0)],
            reference: Some(Reference { name: "Floor".into(), value: 15_000.0 }),
        }
    }

    fn fairness() -> Scatter {
        let p = |d: Date, value: f64, label: &str| Point { date: d, value, label: label.into() };
        Scatter {
            title: "Fairness".into(),
            x_label: "Hire date".into(),
            y_label: "Value (USD)".into(),
            groups: vec![
                Group {
                    name: "2024".into(),
                    points: vec![p(date(2024, 3, 1), 120_000.0, "Ann"), p(date(2024, 9, 15), 90_000.0, "Bob")],
                    median: Some(105_000.0),
                },
                Group {
                    name: "2025".into(),
                    points: vec![p(date(2025, 2, 1), 40_000.0, "Cy")],
                    median: Some(40_000.0),
                },
            ],
        }
    }

    #[test]
    fn every_chart_is_well_formed_xml_with_title_desc_and_role() {
        let charts = [supply().render(), unlocks().render(), fan().render(), fairness().render()];
        for svg in charts {
            let svg = svg.expect("renders");
            check_xml(&svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
            assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 800 450\""));
            assert!(svg.contains(" role=\"img\""));
            assert_eq!((count(&svg, "<title>"), count(&svg, "<desc>")).1, 1);
            // The chart's own <title> is the root's first child.
            assert!(svg.lines().nth(1).expect("second line").starts_with("<title>"));
        }
    }

    #[test]
    fn the_checker_rejects_what_it_should() {
        for bad in ["<a><b></a></b>", "<a>x & y</a>", "<a x=\"1\" x=\"2\"/>", "<a>1 < 2</a>", "<a/><b/>", "<a x=1/>"] {
            assert!(check_xml(bad).is_err(), "{bad}");
        }
        check_xml("<a x=\"&amp;&lt;\"><b/>t &gt; &quot;</a>").expect("good");
    }

    #[test]
    fn elements_match_the_data() {
        let svg = supply().render().expect("renders");
        // Two stacked areas trace their top and bottom (2 × 4 points), the line its 4 points.
        assert_eq!(path_points(&svg, "area"), vec![8, 8]);
        assert_eq!(path_points(&svg, "line"), vec![4]);
        assert_eq!(count(&svg, "class=\"swatch\""), 3);

        let svg = unlocks().render().expect("renders");
        // Six values, two of them zero: four bars.
        assert_eq!(count(&svg, "<rect class=\"bar\""), 4);

        let svg = fan().render().expect("renders");
        assert_eq!(path_points(&svg, "band"), vec![6, 6]);
        assert_eq!(path_points(&svg, "median"), vec![3]);
        assert_eq!(count(&svg, "class=\"reference\""), 1);

        let svg = fairness().render().expect("renders");
        assert_eq!(count(&svg, "<circle class=\"point\""), 3);
        assert_eq!(count(&svg, "<line class=\"median\""), 2);
    }

    #[test]
    fn stacked_areas_sit_on_each_other() {
        // Investors' area lies on Team's top: its lower edge (reversed) is Team's upper edge.
        let svg = supply().render().expect("renders");
        let d: Vec<&str> = svg
            .match_indices("class=\"area\" d=\"")
            .map(|(i, m)| {
                let d = &svg[i + m.len()..];
                &d[..d.find('"').expect("closed")]
            })
            .collect();
        let coords = |d: &str| -> Vec<String> {
            d.trim_end_matches(" Z").split(['M', 'L']).map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect()
        };
        let team = coords(d[0]);
        let investors = coords(d[1]);
        let mut team_top = team[..4].to_vec();
        team_top.reverse();
        assert_eq!(investors[4..], team_top[..]);
    }

    #[test]
    fn bars_stack_negative_values_below_zero() {
        let chart = StackedBars {
            title: "Net".into(),
            x_label: "Month".into(),
            y_label: "Tokens".into(),
            x: vec!["A".into()],
            series: vec![
                BarSeries { name: "Minted".into(), values: vec![300.0] },
                BarSeries { name: "Burned".into(), values: vec![-120.0] },
            ],
        };
        let svg = chart.render().expect("renders");
        check_xml(&svg).expect("well formed");
        // Range -120..300: 420 / 8 = 52.5 → steps 10 and 20 give too many intervals, 50 gives
        // 9 (-150..300), so the step is 100: -200..300.
        assert!(svg.contains(">-200</text>") && svg.contains(">300</text>"), "{svg}");
        assert_eq!(count(&svg, "<rect class=\"bar\""), 2);
    }

    #[test]
    fn text_is_escaped_everywhere() {
        let evil = "O'Brien & <Sons> \"Ltd\"\u{7}";
        let mut chart = fairness();
        chart.title = evil.into();
        chart.groups[0].name = evil.into();
        chart.groups[0].points[0].label = evil.into();
        let svg = chart.render().expect("renders");
        check_xml(&svg).expect("well formed");
        assert!(!svg.contains(evil) && !svg.contains("<Sons>"));
        assert!(svg.contains("O&apos;Brien &amp; &lt;Sons&gt; &quot;Ltd&quot;\u{FFFD}"));
        assert_eq!(escape("a<b>&'\""), "a&lt;b&gt;&amp;&apos;&quot;");
    }

    #[test]
    fn the_same_input_gives_the_same_bytes() {
        assert_eq!(supply().render(), supply().clone().render());
        assert_eq!(fan().render(), fan().render());
        // Coordinates carry exactly one decimal.
        let svg = unlocks().render().expect("renders");
        let start = svg.find("<rect class=\"bar\" x=\"").expect("a bar") + 21;
        let x = &svg[start..start + svg[start..].find('"').expect("closed")];
        assert_eq!(x.split_once('.').map(|(_, f)| f.len()), Some(1), "{x}");
    }

    #[test]
    fn tick_goldens() {
        let check = |lo: f64, hi: f64, labels: &[&str]| {
            assert_eq!(nice_ticks(lo, hi).labels(), labels, "{lo}..{hi}");
        };
        // 1234 / 8 = 154 → steps 100 (13 intervals), 200 (7 intervals: 0..1400).
        check(0.0, 1234.0, &["0", "200", "400", "600", "800", "1,000", "1,200", "1,400"]);
        // 0..1: 1/8 = 0.125 → step 0.1 gives 10 intervals, 0.2 gives 5.
        check(0.0, 1.0, &["0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        // All zero (and empty) charts show 0..1.
        assert_eq!(nice_ticks(0.0, 0.0), nice_ticks(0.0, 1.0));
        // 0.3 / 0.05 must not round up into an extra tick: 0..0.3 with step 0.05 is 6 intervals.
        check(0.0, 0.3, &["0", "0.05", "0.10", "0.15", "0.20", "0.25", "0.30"]);
        // Negative only: the axis still includes zero. -73 / 8 = 9.1 → step 10 gives 8.
        check(-73.0, -5.0, &["-80", "-70", "-60", "-50", "-40", "-30", "-20", "-10", "0"]);
        // SI suffixes from 10,000: 2.5M / 8 = 312,500 → step 500k: 0..2.5M.
        check(0.0, 2_500_000.0, &["0", "0.5M", "1.0M", "1.5M", "2.0M", "2.5M"]);
        // 45,000 / 8 = 5,625 → 1k (45), 2k (23), 5k (9 intervals) are too many; 10k gives 5.
        check(0.0, 45_000.0, &["0", "10k", "20k", "30k", "40k", "50k"]);
        // A billion-token supply: 1e10 / 8 → step 2B.
        check(0.0, 1e10, &["0", "2B", "4B", "6B", "8B", "10B"]);
        // 9,999 / 8 → step 2,000; the top tick is 10,000, so the labels switch to k.
        check(0.0, 9_999.0, &["0", "2k", "4k", "6k", "8k", "10k"]);
        // Below 10,000 they keep thousands separators: 8,000 / 8 → step 1,000, 8 intervals.
        check(0.0, 8_000.0, &["0", "1,000", "2,000", "3,000", "4,000", "5,000", "6,000", "7,000", "8,000"]);
    }

    #[test]
    fn human_values() {
        assert_eq!(human(0.0), "0");
        assert_eq!(human(-0.001), "0");
        assert_eq!(human(12.345), "12.35");
        assert_eq!(human(0.5), "0.5");
        assert_eq!(human(1234.0), "1,234");
        assert_eq!(human(-12_345.0), "-12.35k");
        assert_eq!(human(60_000.0), "60k");
        assert_eq!(human(2_500_000.0), "2.5M");
        assert_eq!(human(1.5e12), "1,500B");
    }

    #[test]
    fn edge_cases_render() {
        let empty =
            LineChart { title: "t".into(), x_label: "x".into(), y_label: "y".into(), x: vec![], series: vec![] };
        let svg = empty.render().expect("renders");
        check_xml(&svg).expect("well formed");
        assert!(svg.contains("No data"));

        let mut one = supply();
        one.x.truncate(1);
        for s in &mut one.series {
            s.values.truncate(1);
        }
        let svg = one.render().expect("renders");
        check_xml(&svg).expect("well formed");
        // A lone point: areas widened to two xs, the line marked with a dot.
        assert_eq!(path_points(&svg, "area"), vec![4, 4]);
        assert_eq!(count(&svg, "class=\"marker\""), 1);

        let zeros = StackedBars {
            title: "t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            x: months(2026, 2),
            series: vec![BarSeries { name: "a".into(), values: vec![0.0, 0.0] }],
        };
        let svg = zeros.render().expect("renders");
        check_xml(&svg).expect("well formed");
        assert!(svg.contains("No data") && svg.contains(">1.0</text>"));

        let lone = Scatter {
            title: "t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            groups: vec![Group {
                name: "g".into(),
                points: vec![Point { date: date(2025, 6, 15), value: -3.0, label: String::new() }],
                median: None,
            }],
        };
        let svg = lone.render().expect("renders");
        check_xml(&svg).expect("well formed");
        assert_eq!(count(&svg, "class=\"point\""), 1);
        assert!(svg.contains(">2025-06</text>") && svg.contains(">-3.0</text>"), "{svg}");

        let nobody = Scatter { groups: vec![], ..lone };
        check_xml(&nobody.render().expect("renders")).expect("well formed");

        let mut single_fan = fan();
        single_fan.x.truncate(1);
        single_fan.bands.truncate(1);
        let svg = single_fan.render().expect("renders");
        assert_eq!(path_points(&svg, "band"), vec![4, 4]);
    }

    #[test]
    fn bad_values_are_refused() {
        let mut chart = supply();
        chart.series[1].values[2] = f64::NAN;
        assert_eq!(chart.render(), Err(ChartError::NotFinite { what: "Investors".into(), index: 2 }));
        let mut chart = supply();
        chart.series[0].values.pop();
        assert_eq!(chart.render(), Err(ChartError::Length { what: "Team".into(), expected: 4, actual: 3 }));
        let mut chart = fan();
        chart.bands[1].p75 = chart.bands[1].p95 + 1.0;
        assert_eq!(chart.render(), Err(ChartError::Quantiles { index: 1 }));
        let mut chart = fan();
        chart.reference = Some(Reference { name: "Floor".into(), value: f64::INFINITY });
        assert!(matches!(chart.render(), Err(ChartError::NotFinite { .. })));
        let mut chart = fairness();
        chart.groups[1].points[0].value = f64::NEG_INFINITY;
        assert!(matches!(chart.render(), Err(ChartError::NotFinite { .. })));
        let mut chart = unlocks();
        chart.series[0].values[0] = f64::MAX;
        chart.series[1].values[0] = f64::MAX;
        assert_eq!(chart.render(), Err(ChartError::Range));
    }

    #[test]
    fn month_labels_are_thinned_so_they_do_not_overlap() {
        let chart = StackedBars {
            title: "t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            x: months(2026, 120),
            series: vec![BarSeries { name: "a".into(), values: vec![1.0; 120] }],
        };
        let svg = chart.render().expect("renders");
        let xs: Vec<f64> = svg
            .match_indices("<text class=\"x-label\" x=\"")
            .map(|(i, m)| {
                let s = &svg[i + m.len()..];
                s[..s.find('"').expect("closed")].parse().expect("number")
            })
            .collect();
        assert!(xs.len() >= 5 && xs.len() < 120, "{}", xs.len());
        let room = text_width("2026-01", TICK_FONT);
        assert!(xs.windows(2).all(|w| w[1] - w[0] >= room), "{xs:?}");
        // Thinned on a divisor or multiple of twelve: every label is a January, say.
        assert!(svg.contains(">2026-01</text>") && !svg.contains(">2026-02</text>"));
    }

    #[test]
    fn date_ticks_fall_on_month_starts() {
        let d = |y, m, d| calendar::day_from_civil(y, m, d);
        // 2024-02-10 .. 2024-07-01 over 700 px: monthly ticks fit, from March.
        let ticks: Vec<String> = date_ticks(d(2024, 2, 10), d(2024, 7, 1), 700.0).into_iter().map(|t| t.1).collect();
        assert_eq!(ticks, ["2024-03", "2024-04", "2024-05", "2024-06", "2024-07"]);
        // Ten years: yearly ticks on Januaries.
        let ticks: Vec<String> = date_ticks(d(2015, 5, 1), d(2025, 5, 1), 700.0).into_iter().map(|t| t.1).collect();
        assert_eq!(ticks.first().map(String::as_str), Some("2016"));
        assert_eq!(ticks.len(), 10);
    }

    #[test]
    fn snapshots() {
        insta::assert_snapshot!("line_chart", supply().render().expect("renders"));
        insta::assert_snapshot!("stacked_bars", unlocks().render().expect("renders"));
        insta::assert_snapshot!("fan_chart", fan().render().expect("renders"));
        insta::assert_snapshot!("scatter", fairness().render().expect("renders"));
    }
}
