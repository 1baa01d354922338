//! Summary statistics of simulated samples: mean with standard error, quantiles.

use crate::model::usize_f64;

/// Mean, sample standard deviation and standard error of the mean (0 for fewer than 2 samples).
pub(crate) fn mean_sd_se(xs: &[f64]) -> (f64, f64, f64) {
    let n = usize_f64(xs.len());
    if xs.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    let mean = xs.iter().sum::<f64>() / n;
    if xs.len() < 2 {
        return (mean, 0.0, 0.0);
    }
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    let sd = var.sqrt();
    (mean, sd, sd / n.sqrt())
}

/// The `p`-quantile (`0 ≤ p ≤ 1`) of sorted samples, interpolating linearly between order
/// statistics (Hyndman–Fan type 7, numpy's default).
pub(crate) fn quantile(sorted: &[f64], p: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let h = (usize_f64(n - 1) * p.clamp(0.0, 1.0)).max(0.0);
            let lo = floor_index(h).min(n - 1);
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (h - usize_f64(lo)) * (sorted[hi] - sorted[lo])
        }
    }
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn floor_index(h: f64) -> usize {
    // INVARIANT: h is in 0..=n-1 (clamped above), so the floor fits a usize exactly.
    h.floor() as usize
}

/// Sorts samples for [`quantile`] (NaN-free input: total order).
pub(crate) fn sorted(mut xs: Vec<f64>) -> Vec<f64> {
    xs.sort_unstable_by(f64::total_cmp);
    xs
}

/// Fraction of samples strictly below `x`.
pub(crate) fn fraction_below(sorted: &[f64], x: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    usize_f64(sorted.partition_point(|v| *v < x)) / usize_f64(sorted.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_like_numpy() {
        // numpy.quantile([1, 2, 3, 4], 0.5) = 2.5; 0.05 → 1 + 0.15·1 = 1.15.
        let xs = [1.0, 2.0, 3.0, 4.0];
        assert!((quantile(&xs, 0.5) - 2.5).abs() < 1e-15);
        assert!((quantile(&xs, 0.05) - 1.15).abs() < 1e-15);
        assert_eq!(quantile(&xs, 1.0), 4.0);
        assert!((fraction_below(&xs, 3.0) - 0.5).abs() < 1e-15);
    }
}
