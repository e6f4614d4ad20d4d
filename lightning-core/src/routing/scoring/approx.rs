//! Logarithms without `std` (no `libm` in the core), to about 1e-4 of a bit.

/// `log2(1 + i / 64)` for `i` in `0..=64`.
#[allow(clippy::excessive_precision)]
const LOG2_TABLE: [f32; 65] = [
    0.0, 0.02236781, 0.04439412, 0.06608919, 0.08746284, 0.1085245, 0.129283, 0.1497471, 0.169925, 0.1898246,
    0.2094534, 0.2288187, 0.2479275, 0.2667865, 0.2854022, 0.3037807, 0.3219281, 0.33985, 0.357552,
    0.3750394, 0.3923174, 0.4093909, 0.4262648, 0.4429435, 0.4594316, 0.4757334, 0.4918531, 0.5077946,
    0.523562, 0.5391588, 0.5545889, 0.5698556, 0.5849625, 0.5999128, 0.6147098, 0.6293566, 0.6438562,
    0.6582115, 0.6724253, 0.6865005, 0.7004397, 0.7142455, 0.7279205, 0.741467, 0.7548875, 0.7681843,
    0.7813597, 0.7944159, 0.8073549, 0.820179, 0.83289, 0.8454901, 0.857981, 0.8703647, 0.882643, 0.8948178,
    0.9068906, 0.9188632, 0.9307373, 0.9425145, 0.9541963, 0.9657843, 0.9772799, 0.9886847, 1.0,
];

/// Approximate `log2(x)` for `x >= 1` (0 for `x == 0`): the integer part from
/// the leading bit, the fraction by linear interpolation in a 65-entry table
/// (error below 5e-5).
#[inline]
pub(crate) fn log2(x: u64) -> f32 {
    if x == 0 {
        return 0.0;
    }
    let int = 63 - x.leading_zeros();
    // The 12 bits below the leading one: 6 index the table, 6 interpolate.
    let frac = if int >= 12 { (x >> (int - 12)) & 0xfff } else { (x << (12 - int)) & 0xfff } as usize;
    let (i, t) = (frac >> 6, (frac & 63) as f32 / 64.0);
    int as f32 + LOG2_TABLE[i] + (LOG2_TABLE[i + 1] - LOG2_TABLE[i]) * t
}

/// Approximate `-log10(numerator / denominator)` for `0 < numerator <=
/// denominator`.
#[inline]
pub(crate) fn negative_log10(numerator: u64, denominator: u64) -> f32 {
    ((log2(denominator) - log2(numerator)) * core::f32::consts::LOG10_2).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_to_the_real_logarithm() {
        for x in [1u64, 2, 3, 10, 1000, 123_456_789, u64::MAX] {
            let err = (log2(x) - (x as f64).log2() as f32).abs();
            assert!(err < 2e-4, "{x}: {err}");
        }
        assert!((negative_log10(1, 100) - 2.0).abs() < 1e-3);
        assert!((negative_log10(3, 4) - 0.124_94).abs() < 1e-3);
        assert_eq!(negative_log10(5, 5), 0.0);
    }
}
