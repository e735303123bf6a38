//! Element-wise kernels run on the host for the `NdArray<f32>` backend.
//!
//! The matrix products of a CD update run at the speed of the backend's GEMM, but on `NdArray`
//! the element-wise work between them does not: its `exp` is a scalar `libm` call per element
//! (about 5 ns), so the logistic function of the `[100, 500]` and `[100, 784]` conditionals of a
//! CD-1 update cost about as much as one of its matrix products, and a Bernoulli sample takes a
//! noise tensor, a comparison and a conversion, each a pass over memory.
//!
//! `NdArray` tensors live in host memory, and turning one into its `Vec<f32>` and back is free
//! when the tensor is not shared (a copy otherwise). For `NdArray<f32>` this module therefore
//! computes the logistic function with a vectorisable `exp` and draws Bernoulli samples in one
//! loop. Every other backend takes the generic tensor path (`Wgpu` fuses it into one kernel), and
//! both paths draw the same noise from the same generator, so a seed gives the same samples on
//! every backend.

use std::any::TypeId;

use burn::tensor::{backend::Backend, DType, Tensor, TensorData};
use burn_ndarray::NdArray;
use rand::Rng;

use crate::sampling::fill_uniform;

/// The values and shape of `x` when `B` is `NdArray<f32>` and `x` holds `f32`; `Err(x)`
/// otherwise.
fn host_values<B: Backend, const D: usize>(
    x: Tensor<B, D>,
) -> Result<(Vec<f32>, [usize; D]), Tensor<B, D>> {
    if TypeId::of::<B>() != TypeId::of::<NdArray<f32>>() {
        return Err(x);
    }
    let shape = x.dims();
    let device = x.device();
    // `into_data` hands over the buffer of an unshared tensor but copies a shared one element
    // by element through a dynamic-rank iterator (about 10 ns each); adding 0 makes an unshared
    // copy with NdArray's SIMD kernel instead, or works in place when `x` is already unshared.
    let data = (x + 0.0).into_data();
    if data.dtype != DType::F32 {
        return Err(Tensor::from_data(data, &device));
    }
    let values = data
        .into_vec::<f32>()
        .expect("data of dtype F32 converts to Vec<f32>");
    Ok((values, shape))
}

fn from_host<B: Backend, const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    device: &B::Device,
) -> Tensor<B, D> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// The logistic function of every element on the host, or `Err(x)` for backends other than
/// `NdArray<f32>`.
///
/// # Shapes
/// - `x`: any, output: the same
pub(crate) fn logistic<B: Backend, const D: usize>(
    x: Tensor<B, D>,
) -> Result<Tensor<B, D>, Tensor<B, D>> {
    let device = x.device();
    let (mut values, shape) = host_values(x)?;
    logistic_in_place(&mut values);
    Ok(from_host(values, shape, &device))
}

/// 0/1 samples with the elements of `probs` as probabilities, on the host, with the noise of
/// [`crate::sampling::uniform`]; `Err(probs)` for backends other than `NdArray<f32>`.
///
/// # Shapes
/// - `probs`: `[batch, n]`, output: the same
pub(crate) fn bernoulli<B: Backend, R: Rng + ?Sized>(
    probs: Tensor<B, 2>,
    rng: &mut R,
) -> Result<Tensor<B, 2>, Tensor<B, 2>> {
    let device = probs.device();
    let (mut values, shape) = host_values(probs)?;
    let mut noise = vec![0.0; values.len()];
    fill_uniform(rng, &mut noise);
    for (p, u) in values.iter_mut().zip(&noise) {
        *p = if *p > *u { 1.0 } else { 0.0 };
    }
    Ok(from_host(values, shape, &device))
}

/// Below this input the logistic function is under 2⁻¹²⁶ (the smallest normal `f32`) and is
/// returned as 0; above its negative, `1 + e⁻ˣ` rounds to 1.
const LOGISTIC_CUTOFF: f32 = 87.0;

/// `1 / (1 + exp(−x))` in place, with [`exp_bounded`]: at most 4 roundings of 2⁻²⁴ relative
/// error in all (`exp` ≤ 2, the addition and the division 1 each), exactly 0 below −87 and
/// NaN for NaN.
pub(crate) fn logistic_in_place(values: &mut [f32]) {
    for x in values.iter_mut() {
        let clamped = x.clamp(-LOGISTIC_CUTOFF, LOGISTIC_CUTOFF);
        let y = 1.0 / (1.0 + exp_bounded(-clamped));
        *x = if *x < -LOGISTIC_CUTOFF { 0.0 } else { y };
    }
}

/// `eˣ` for `|x| ≤ 87`, in straight-line arithmetic that the compiler vectorises (no `libm`
/// call, no branch): Cody–Waite reduction `x = k ln 2 + r`, `|r| ≤ ln 2 / 2`, the degree-6
/// minimax polynomial of Cephes' `expf` for `eʳ`, and `2ᵏ` assembled from its exponent bits.
/// Relative error at most 2 units of the last place (checked in the tests against `f64`).
#[inline(always)]
fn exp_bounded(x: f32) -> f32 {
    // 1.5 · 2²³: adding it rounds to an integer held in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let shifted = x * std::f32::consts::LOG2_E + ROUND;
    let k = shifted - ROUND;
    let r = x - k * LN2_HI - k * LN2_LO;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let er = p * r * r + r + 1.0;
    let k_bits = (shifted.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let two_k = f32::from_bits(((k_bits + 127) << 23) as u32);
    er * two_k
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(got: f32, expected: f64) -> f64 {
        let ulp = (expected.abs() as f32).to_bits();
        let spacing = f32::from_bits(ulp + 1) as f64 - f32::from_bits(ulp) as f64;
        (got as f64 - expected).abs() / spacing
    }

    #[test]
    fn exp_is_within_two_ulps_on_its_range() {
        let n = 2_000_001;
        let mut worst: f64 = 0.0;
        for i in 0..n {
            let x = -87.0 + 174.0 * i as f32 / (n - 1) as f32;
            worst = worst.max(ulps(exp_bounded(x), (x as f64).exp()));
        }
        assert!(worst <= 2.0, "worst error {worst} ulps");
    }

    #[test]
    fn logistic_is_accurate_and_saturates_exactly() {
        let xs = [
            f32::NEG_INFINITY,
            -1e4,
            -100.0,
            -87.5,
            -87.0,
            -20.0,
            -1.0,
            0.0,
            1e-8,
            0.5,
            20.0,
            100.0,
            f32::INFINITY,
        ];
        let mut got = xs;
        logistic_in_place(&mut got);
        for (x, g) in xs.iter().zip(got) {
            let expected = 1.0 / (1.0 + (-(*x as f64)).exp());
            // 4 roundings of the result's relative precision, plus the values below 2⁻¹²⁶
            // (x < −87) that are returned as 0.
            assert!(
                (g as f64 - expected).abs() <= 4.0 * expected / (1u32 << 24) as f64 + 1.2e-38,
                "σ({x}) = {g}, expected {expected}"
            );
        }
        assert_eq!(got[0], 0.0);
        assert_eq!(got[12], 1.0);
        let mut nan = [f32::NAN];
        logistic_in_place(&mut nan);
        assert!(nan[0].is_nan());
    }
}
