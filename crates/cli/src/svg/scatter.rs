//! The fairness scatter: points by cohort on a date axis, each cohort with its median.

use super::*;

/// Month steps a date axis may use, and whether their labels show the month.
pub(super) const MONTH_STEPS: [i32; 8] = [1, 2, 3, 6, 12, 24, 60, 120];

/// Date ticks on the first day of months that are multiples of a step, at most as many as
/// fit in `width` pixels: `(day, label)`.
pub(super) fn date_ticks(first: Day, last: Day, width: f64) -> Vec<(Day, String)> {
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

pub(super) fn month_starts(first: Day, last: Day, step: i32) -> Vec<(Day, i32, u8)> {
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
