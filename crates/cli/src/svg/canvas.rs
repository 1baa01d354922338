//! The drawing surface the charts share: header, title and legend, the plot area with its y
//! axis, category bands on x, and path helpers.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Swatch {
    Fill,
    Line,
    Dashed,
    Dot,
}

pub(super) struct LegendItem {
    pub(super) name: String,
    pub(super) colour: &'static str,
    pub(super) swatch: Swatch,
    pub(super) opacity: f64,
}

/// The drawing area, once the title, legend and axis labels have taken their room.
pub(super) struct Plot {
    pub(super) left: f64,
    pub(super) right: f64,
    pub(super) top: f64,
    pub(super) bottom: f64,
    pub(super) ticks: Ticks,
}

impl Plot {
    pub(super) fn y(&self, v: f64) -> f64 {
        let (lo, hi) = (self.ticks.lo(), self.ticks.hi());
        self.bottom - (v - lo) / (hi - lo) * (self.bottom - self.top)
    }

    pub(super) fn width(&self) -> f64 {
        self.right - self.left
    }
}

/// A chart being written: the header, title and legend, then the axes and the data.
pub(super) struct Canvas {
    pub(super) out: String,
}

impl Canvas {
    pub(super) fn new(title: &str, desc: &str) -> Self {
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
    pub(super) fn legend(&mut self, items: &[LegendItem]) -> f64 {
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
    pub(super) fn plot(&mut self, top: f64, lo: f64, hi: f64, y_label: &str) -> Plot {
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

    pub(super) fn x_title(&mut self, plot: &Plot, x_label: &str) {
        put!(
            self.out,
            r#"<text class="axis-title" x="{}" y="{}" text-anchor="middle" font-size="12" fill="{AXIS}">{}</text>"#,
            n((plot.left + plot.right) / 2.0),
            n(HEIGHT - 12.0),
            escape(x_label)
        );
    }

    pub(super) fn no_data(&mut self, plot: &Plot) {
        put!(
            self.out,
            r##"<text class="no-data" x="{}" y="{}" text-anchor="middle" font-size="14" fill="#777777">No data</text>"##,
            n((plot.left + plot.right) / 2.0),
            n((plot.top + plot.bottom) / 2.0)
        );
    }

    pub(super) fn finish(mut self) -> String {
        put!(self.out, "</svg>");
        self.out
    }
}

/// Equally spaced categories, each centred in its band.
pub(super) struct Bands {
    pub(super) left: f64,
    pub(super) band: f64,
}

impl Bands {
    pub(super) fn new(plot: &Plot, count: usize) -> Self {
        Self { left: plot.left, band: plot.width() / idx(count.max(1)) }
    }

    pub(super) fn x(&self, i: usize) -> f64 {
        self.left + (idx(i) + 0.5) * self.band
    }
}

/// Every how many labels one is shown so that they do not overlap: 1, 2, 3, 6 or a multiple
/// of twelve where one fits, so monthly labels fall on quarters, halves and years.
pub(super) fn label_stride(labels: &[String], band: f64) -> usize {
    let widest = labels.iter().map(|l| text_width(l, TICK_FONT)).fold(0.0, f64::max) + 10.0;
    for stride in [1, 2, 3, 6, 12, 24, 36, 48, 60, 120] {
        if idx(stride) * band >= widest {
            return stride;
        }
    }
    let stride = to_i32((widest / band.max(1e-9)).ceil()).max(1);
    usize::try_from(stride).unwrap_or(1)
}

pub(super) fn x_category_labels(canvas: &mut Canvas, plot: &Plot, bands: &Bands, labels: &[String]) {
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
pub(super) fn path(points: impl IntoIterator<Item = (f64, f64)>) -> String {
    let mut d = String::new();
    for (i, (x, y)) in points.into_iter().enumerate() {
        let _ = write!(d, "{}{} {}", if i == 0 { "M" } else { " L" }, n(x), n(y));
    }
    d
}

/// The x positions of a band's outline: the centres, or a short span around a lone point so
/// a single time still shows as an area.
pub(super) fn outline_xs(bands: &Bands, count: usize) -> Vec<f64> {
    if count == 1 {
        let c = bands.x(0);
        vec![c - bands.band / 4.0, c + bands.band / 4.0]
    } else {
        (0..count).map(|i| bands.x(i)).collect()
    }
}

/// A closed area between `upper` and `lower` (one value per x).
pub(super) fn band_path(xs: &[f64], upper: &[f64], lower: &[f64], plot: &Plot) -> String {
    // A lone point was widened to two xs: repeat its value.
    let at = |values: &[f64], i: usize| values[i.min(values.len() - 1)];
    let top = xs.iter().enumerate().map(|(i, &x)| (x, plot.y(at(upper, i))));
    let bottom = xs.iter().enumerate().rev().map(|(i, &x)| (x, plot.y(at(lower, i))));
    format!("{} Z", path(top.chain(bottom)))
}

pub(super) fn range(values: impl IntoIterator<Item = f64>) -> Result<(f64, f64), ChartError> {
    let (lo, hi) = values.into_iter().fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if (hi - lo).is_finite() { Ok((lo, hi)) } else { Err(ChartError::Range) }
}

pub(super) fn span_text(labels: &[String]) -> String {
    match (labels.first(), labels.last()) {
        (Some(a), Some(b)) if labels.len() > 1 => format!(" from {a} to {b}"),
        (Some(a), _) => format!(" at {a}"),
        _ => String::new(),
    }
}
