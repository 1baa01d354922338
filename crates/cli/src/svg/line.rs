//! The supply curve: lines and stacked areas over categories.

use super::*;

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
