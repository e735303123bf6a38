//! Random numbers for Gibbs sampling.
//!
//! Uniform noise is drawn from a host random-number generator that the caller owns (any
//! [`rand::Rng`]) and uploaded to the device. This keeps every random decision of this crate
//! reproducible from a seed, independent of other threads that share a backend's global
//! generator, and identical across backends: the same seed gives the same noise on `NdArray`
//! and `Wgpu`, so sampled trajectories can be compared between them.

use burn::tensor::{backend::Backend, Tensor, TensorData};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// 2^-24: the spacing of the 24-bit grid on which uniform draws lie.
const UNIT_24: f32 = 1.0 / (1u32 << 24) as f32;

/// Fills `out` with independent uniform draws on `[0, 1)`.
///
/// Each draw has 24 random bits (the full precision of an `f32` mantissa), two per `u64` of
/// the generator, so filling costs one generator call per two elements.
pub(crate) fn fill_uniform<R: Rng + ?Sized>(rng: &mut R, out: &mut [f32]) {
    let mut pairs = out.chunks_exact_mut(2);
    for pair in &mut pairs {
        let bits = rng.next_u64();
        pair[0] = (bits >> 40) as f32 * UNIT_24;
        pair[1] = ((bits >> 8) & 0x00FF_FFFF) as f32 * UNIT_24;
    }
    if let [last] = pairs.into_remainder() {
        *last = (rng.next_u64() >> 40) as f32 * UNIT_24;
    }
}

/// A tensor of independent uniform draws on `[0, 1)`.
///
/// Each draw has 24 random bits (the full precision of an `f32` mantissa), two per `u64` of
/// the generator, so filling a tensor costs one generator call per two elements.
///
/// # Shapes
/// - output: `shape`
pub fn uniform<B: Backend, R: Rng + ?Sized, const D: usize>(
    rng: &mut R,
    shape: [usize; D],
    device: &B::Device,
) -> Tensor<B, D> {
    let mut values = vec![0.0; shape.iter().product()];
    fill_uniform(rng, &mut values);
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// A tensor of independent standard normal draws N(0, 1), from the host generator.
///
/// # Shapes
/// - output: `shape`
pub fn normal<B: Backend, R: Rng + ?Sized, const D: usize>(
    rng: &mut R,
    shape: [usize; D],
    device: &B::Device,
) -> Tensor<B, D> {
    let n: usize = shape.iter().product();
    let values: Vec<f32> = (0..n).map(|_| StandardNormal.sample(rng)).collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// Draws a 0/1 sample from each element's Bernoulli probability.
///
/// `p > u` with `u` uniform on the 24-bit grid of `[0, 1)` is 1 with probability `p` (to
/// 2^-24), exactly 0 for `p = 0` and exactly 1 for `p = 1`. Every backend draws the same noise
/// from `rng` in the same order, so the samples are the same on every backend.
///
/// # Shapes
/// - `probs`: `[batch, n]`, values in `[0, 1]`
/// - output: `[batch, n]`, values in `{0, 1}`
pub fn bernoulli<B: Backend, R: Rng + ?Sized>(probs: Tensor<B, 2>, rng: &mut R) -> Tensor<B, 2> {
    crate::kernels::bernoulli(probs, rng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;
    use rand::{rngs::StdRng, SeedableRng};

    type B = NdArray;

    #[test]
    fn uniform_has_the_moments_of_u01() {
        let mut rng = StdRng::seed_from_u64(1);
        let n = 200_000;
        let u: Vec<f32> = uniform::<B, _, 1>(&mut rng, [n], &Default::default())
            .into_data()
            .to_vec()
            .unwrap();
        assert!(u.iter().all(|&x| (0.0..1.0).contains(&x)));
        let mean = u.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
        let var = u.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n as f64;
        // Mean 1/2 with standard error sqrt(1/12 / n) ≈ 6.5e-4; 5 standard errors.
        assert!(
            (mean - 0.5).abs() < 5.0 * (1.0 / 12.0 / n as f64).sqrt(),
            "mean {mean}"
        );
        // Variance 1/12 ≈ 0.0833; its standard error is sqrt(1/180 / n) ≈ 1.7e-4.
        assert!((var - 1.0 / 12.0).abs() < 1e-3, "variance {var}");
    }
}
