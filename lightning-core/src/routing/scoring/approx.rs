//! Logarithms without `std` (no `libm` in the core): good to about 0.2% of a
//! bit, which is plenty for penalties.

/// Approximate `log2(x)` for `x >= 1` (0 for `x == 0`).
#[inline]
pub(crate) fn log2(x: u64) -> f32 {
    if x == 0 {
        return 0.0;
    }
    let int = 63 - x.leading_zeros();
    // The 23 bits below the leading one, as a fraction in [0, 1).
    let frac_bits = if int >= 23 { (x >> (int - 23)) & 0x7f_ffff } else { (x << (23 - int)) & 0x7f_ffff };
    let f = frac_bits as f32 / (1u32 << 23) as f32;
    // log2(1 + f) ~ f * (1.3466 - 0.3466 f), max error about 0.0025.
    int as f32 + f * (1.346_6 - 0.346_6 * f)
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
            assert!(err < 0.01, "{x}: {err}");
        }
        assert!((negative_log10(1, 100) - 2.0).abs() < 0.01);
        assert!((negative_log10(3, 4) - 0.1249).abs() < 0.01);
        assert_eq!(negative_log10(5, 5), 0.0);
    }
}
