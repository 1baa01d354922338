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

/// Writes one line into the output; writing into a `String` cannot fail.
macro_rules! put {
    ($out:expr, $($arg:tt)*) => {{
        let _ = writeln!($out, $($arg)*);
    }};
}

// One file per chart kind; `scale` (ticks, labels, checks) and `canvas` (the drawing surface)
// are what they share, imported here so each kind takes them with `use super::*`.
mod bars;
mod canvas;
mod fan;
mod line;
mod scale;
mod scatter;

use canvas::*;
use scale::*;
pub use scale::{Ticks, escape, human, nice_ticks};
#[cfg(test)]
use scatter::date_ticks;

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
