//! Kernels run on the host for the `NdArray<f32>` backend: the matrix products and the
//! element-wise work of a CD update.
//!
//! NdArray's own matrix product goes through `ndarray`'s GEMM (`matrixmultiply`, or a BLAS),
//! which copies a transposed operand to standard layout first and reaches 60–110 GFLOP/s on
//! the `[100, 784] × [784, 500]` products of a CD-1 update on a 2-core AVX-512 machine. This
//! module multiplies with the `gemm` crate instead (the GEMM of Burn's `burn-flex` backend and
//! of candle), which reads any strides, so a transposed view costs nothing, and reaches
//! 150–270 GFLOP/s on the same products.
//!
//! The element-wise work between the products is slow on `NdArray` too: its `exp` is a scalar
//! `libm` call per element (about 5 ns), so the logistic function of the `[100, 500]` and
//! `[100, 784]` conditionals of a CD-1 update cost about as much as one of its matrix products,
//! and a Bernoulli sample takes a noise tensor, a comparison and a conversion, each a pass over
//! memory.
//!
//! `NdArray` tensors live in host memory, and turning one into its `Vec<f32>` and back is free
//! when the tensor is not shared (a copy otherwise). For `NdArray<f32>` this module therefore
//! computes the logistic function with a vectorisable `exp` and draws Bernoulli samples in one
//! loop. Every other backend takes the generic tensor path (`Wgpu` fuses it into one kernel), and
//! both paths draw the same noise from the same generator, so a seed gives the same samples on
//! every backend.

use std::any::{Any, TypeId};

use burn::tensor::{backend::Backend, DType, Tensor, TensorData, TensorPrimitive};
use burn_ndarray::{NdArray, NdArrayTensor};
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

/// `a · b` on the host with the `gemm` crate, or `Err((a, b))` for backends other than
/// `NdArray<f32>`, for operands that are not `f32`, for empty or mismatched shapes (which the
/// caller's generic product then reports as Burn does) and for views with negative strides.
///
/// # Shapes
/// - `a`: `[m, k]`, `b`: `[k, n]`, output: `[m, n]`
pub(crate) fn matmul<B: Backend>(
    a: Tensor<B, 2>,
    b: Tensor<B, 2>,
) -> Result<Tensor<B, 2>, (Tensor<B, 2>, Tensor<B, 2>)> {
    if TypeId::of::<B>() != TypeId::of::<NdArray<f32>>() {
        return Err((a, b));
    }
    let ([m, k], [k_rhs, n]) = (a.dims(), b.dims());
    if k != k_rhs || m == 0 || n == 0 || k == 0 {
        return Err((a, b));
    }
    let device = a.device();
    let (a, b) = (ndarray_primitive(a), ndarray_primitive(b));
    let (NdArrayTensor::F32(a_storage), NdArrayTensor::F32(b_storage)) = (&a, &b) else {
        return Err((from_ndarray_primitive(a), from_ndarray_primitive(b)));
    };
    let (a_view, b_view) = (a_storage.view(), b_storage.view());
    // Each matrix as (pointer to element [0, 0], row stride, column stride), in elements.
    let lhs = (a_view.as_ptr(), a_view.strides()[0], a_view.strides()[1]);
    let rhs = (b_view.as_ptr(), b_view.strides()[0], b_view.strides()[1]);
    if [lhs.1, lhs.2, rhs.1, rhs.2]
        .iter()
        .any(|&stride| stride < 0)
    {
        drop((a_view, b_view));
        return Err((from_ndarray_primitive(a), from_ndarray_primitive(b)));
    }
    let mut out = vec![0.0_f32; m * n];
    // SAFETY: `lhs` and `rhs` point at element [0, 0] of live `ArrayView`s of shapes `[m, k]`
    // and `[k, n]` with these (non-negative) strides, so every offset `i·row + j·col` inside
    // those shapes is in bounds. `out` holds `m·n` elements, written row-major at `i·n + j`
    // for `i < m, j < n`; it is a fresh allocation, so it overlaps neither input, and
    // `read_dst = false` means its initial zeros are never read.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            false,
            lhs.0,
            lhs.2,
            lhs.1,
            rhs.0,
            rhs.2,
            rhs.1,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::Rayon(0),
        );
    }
    Ok(from_host(out, [m, n], &device))
}

/// One momentum step of a weight matrix in a single pass on the host:
/// `v ← μ v + s − c w` (no decay term for `c = 0`), then `w ← w + v`, in the same `f32` operations and order as the tensor
/// version ([`crate::cd`]), so both give the same bits. Returns the new weights and velocity,
/// reusing the buffers of `weights` and `velocity` when they are unshared; `Err` with the
/// inputs for backends other than `NdArray<f32>`.
///
/// # Shapes
/// - `weights`, `velocity`, `step`: `[n_visible, n_hidden]`; outputs: the same
pub(crate) fn momentum_step<B: Backend>(
    weights: Tensor<B, 2>,
    velocity: Tensor<B, 2>,
    step: Tensor<B, 2>,
    momentum: f64,
    decay: f64,
) -> Result<[Tensor<B, 2>; 2], [Tensor<B, 2>; 3]> {
    let tensors = [weights, velocity, step];
    let is_host_f32 = TypeId::of::<B>() == TypeId::of::<NdArray<f32>>()
        && tensors.iter().all(|t| t.dtype() == DType::F32);
    if !is_host_f32 || tensors.iter().any(|t| t.dims() != tensors[0].dims()) {
        return Err(tensors);
    }
    let device = tensors[0].device();
    let [(mut w, shape), (mut v, _), (s, _)] = tensors.map(|tensor| {
        host_values(tensor).unwrap_or_else(|_| unreachable!("f32 tensors of NdArray<f32>"))
    });
    let (momentum, decay) = (momentum as f32, decay as f32);
    for ((w, v), s) in w.iter_mut().zip(v.iter_mut()).zip(&s) {
        *v = *v * momentum + *s;
        if decay > 0.0 {
            *v -= *w * decay;
        }
        *w += *v;
    }
    Ok([from_host(w, shape, &device), from_host(v, shape, &device)])
}

/// The primitive of a float tensor of `NdArray<f32>`. Only called after checking that `B` is
/// that backend, whose float primitive is `NdArrayTensor`.
fn ndarray_primitive<B: Backend, const D: usize>(x: Tensor<B, D>) -> NdArrayTensor {
    let primitive: Box<dyn Any> = Box::new(x.into_primitive().tensor());
    *primitive
        .downcast::<NdArrayTensor>()
        .expect("the float primitive of NdArray<f32> is NdArrayTensor")
}

/// The tensor of a primitive taken by [`ndarray_primitive`].
fn from_ndarray_primitive<B: Backend, const D: usize>(x: NdArrayTensor) -> Tensor<B, D> {
    let primitive: Box<dyn Any> = Box::new(x);
    let primitive = primitive
        .downcast::<B::FloatTensorPrimitive>()
        .expect("only called when B is NdArray<f32>, whose float primitive is NdArrayTensor");
    Tensor::from_primitive(TensorPrimitive::Float(*primitive))
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
    use rand::{rngs::Xoshiro256PlusPlus, SeedableRng};

    /// `a · b` by the host GEMM matches an `f64` product within the worst-case rounding of a
    /// length-`k` dot product in `f32`, `γ_k Σ_l |a_il b_lj|` with `γ_k = k u / (1 − k u)`,
    /// `u = 2⁻²⁴`: for standard, transposed and sliced operands and for outputs wider and
    /// taller than they are high.
    #[test]
    fn host_matmul_matches_the_exact_product_for_any_strides() {
        type B = NdArray<f32>;
        let device = Default::default();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let mut random = |rows: usize, cols: usize| {
            let mut values = vec![0.0; rows * cols];
            fill_uniform(&mut rng, &mut values);
            let values: Vec<f32> = values.iter().map(|u| 2.0 * u - 1.0).collect();
            Tensor::<B, 2>::from_data(TensorData::new(values, [rows, cols]), &device)
        };
        for (m, k, n) in [
            (1, 1, 1),
            (3, 5, 2),
            (100, 784, 500),
            (784, 100, 500),
            (7, 300, 1),
        ] {
            // (a, b) as given, a from its transpose, b from its transpose, both sliced.
            let cases = [
                (random(m, k), random(k, n)),
                (random(k, m).transpose(), random(k, n)),
                (random(m, k), random(n, k).transpose()),
                (
                    random(m + 2, k + 3).slice([1..m + 1, 2..k + 2]),
                    random(k + 1, n + 4).slice([1..k + 1, 3..n + 3]),
                ),
            ];
            for (case, (a, b)) in cases.into_iter().enumerate() {
                let to_f64 = |t: &Tensor<B, 2>| -> Vec<f64> {
                    t.to_data().iter::<f32>().map(f64::from).collect()
                };
                let (a_host, b_host) = (to_f64(&a), to_f64(&b));
                let got =
                    matmul(a, b).unwrap_or_else(|_| panic!("NdArray<f32> takes the host path"));
                assert_eq!(got.dims(), [m, n]);
                let got = to_f64(&got);
                let u = 2f64.powi(-24);
                let gamma = k as f64 * u / (1.0 - k as f64 * u);
                for i in 0..m {
                    for j in 0..n {
                        let (mut exact, mut magnitude) = (0.0, 0.0);
                        for l in 0..k {
                            exact += a_host[i * k + l] * b_host[l * n + j];
                            magnitude += (a_host[i * k + l] * b_host[l * n + j]).abs();
                        }
                        let error = (got[i * n + j] - exact).abs();
                        assert!(
                            error <= gamma * magnitude,
                            "case {case} of {m}x{k}x{n}: [{i}, {j}] = {}, exact {exact}",
                            got[i * n + j]
                        );
                    }
                }
            }
        }
    }

    /// The fused host loop computes what the tensor operations compute, to the bit, with and
    /// without weight decay.
    #[test]
    fn host_momentum_step_equals_the_tensor_operations() {
        type B = NdArray<f32>;
        let device = Default::default();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        let mut random = |scale: f32| {
            let mut values = vec![0.0; 37 * 11];
            fill_uniform(&mut rng, &mut values);
            let values: Vec<f32> = values.iter().map(|u| scale * (u - 0.5)).collect();
            Tensor::<B, 2>::from_data(TensorData::new(values, [37, 11]), &device)
        };
        let (w, v, s) = (random(2.0), random(0.1), random(0.01));
        for decay in [0.0, 1e-4] {
            let mut expected_v = v.clone() * 0.9 + s.clone();
            if decay > 0.0 {
                expected_v = expected_v - w.clone() * decay;
            }
            let expected_w = w.clone() + expected_v.clone();
            let [got_w, got_v] = momentum_step(w.clone(), v.clone(), s.clone(), 0.9, decay)
                .unwrap_or_else(|_| panic!("NdArray<f32> takes the host path"));
            got_w.into_data().assert_eq(&expected_w.into_data(), true);
            got_v.into_data().assert_eq(&expected_v.into_data(), true);
        }
        // Other backends are handed back.
        type Ad = burn::backend::Autodiff<B>;
        let x = Tensor::<Ad, 2>::ones([2, 3], &device);
        assert!(momentum_step(x.clone(), x.clone(), x, 0.9, 0.0).is_err());
    }

    #[test]
    fn host_matmul_leaves_other_inputs_to_the_backend() {
        type B = NdArray<f32>;
        let device = Default::default();
        let a = Tensor::<B, 2>::ones([2, 3], &device);
        // Mismatched inner sizes: handed back, so that Burn's own product reports them.
        assert!(matmul(a.clone(), Tensor::ones([4, 2], &device)).is_err());
        // Empty operands.
        assert!(matmul(
            Tensor::<B, 2>::ones([0, 3], &device),
            Tensor::ones([3, 2], &device)
        )
        .is_err());
        // Other backends.
        type Ad = burn::backend::Autodiff<B>;
        let x = Tensor::<Ad, 2>::ones([2, 3], &device);
        assert!(matmul(x.clone(), x.transpose()).is_err());
    }

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
