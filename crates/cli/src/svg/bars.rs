//! The unlock calendar: stacked bars per category.

use super::*;

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
