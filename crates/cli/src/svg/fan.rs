//! The value fan: quantile bands (p5–p95, p25–p75) around the median, with an optional
//! reference line.

use super::*;

pub(super) const FAN: &str = "#0072B2";

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
