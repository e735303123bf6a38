//! The tensor operations whose speed matters, and the one place where a backend's accelerator
//! is chosen for them.
//!
//! Each function below is Burn's generic tensor operation, run on every backend, except where
//! the backend has an accelerator in this crate: then the call goes to it, and comes back (as
//! `Err` with its inputs) only for inputs the accelerator does not take. Today that is
//! `NdArray<f32>`, whose host kernels live in [`crate::ndarray`] (feature `ndarray-kernels`, on
//! by default): the `gemm` crate for the products, a vectorised logistic function and
//! Bernoulli sample (and both in one pass on the host's threads), AIS's softplus gain, a row
//! gather, and a one-pass momentum step. A GPU backend's kernels would
//! be added here the same way, and the learner's fused update step is chosen once per
//! learner (see [`crate::cd`]); the models never ask which backend they run on.

use burn::tensor::{backend::Backend, Int, Tensor, TensorData};
use rand::Rng;

use crate::sampling::uniform;

/// Hands `$call` (which returns `Ok(output)` or `Err(inputs)`) to the `NdArray` accelerator,
/// returning its output, or binding `$inputs` to the inputs it gave back.
macro_rules! try_accelerator {
    ($inputs:pat = $call:expr) => {
        #[cfg(feature = "ndarray-kernels")]
        let $inputs = match $call {
            Ok(output) => return output,
            Err(inputs) => inputs,
        };
    };
}

/// The logistic function `1 / (1 + exp(-x))`.
///
/// One `exp` and one division per element instead of the two `exp`s and a `log` of Burn's
/// generic `sigmoid`; it cannot produce NaN: for `x → -∞`, `exp(-x) = ∞` and the result is
/// exactly 0. On `NdArray<f32>` it runs on the host, to at most 4 roundings.
///
/// # Shapes
/// - `x`: any, output: the same
pub(crate) fn sigmoid<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    try_accelerator!(x = crate::ndarray::logistic(x));
    sigmoid_generic(x)
}

/// [`sigmoid`] in backend tensor operations.
pub(crate) fn sigmoid_generic<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    // A true division, not `recip`: NdArray's SIMD `recip` is an approximate reciprocal
    // (about 17 bits), and whether it is used depends on the buffer's layout, so the same
    // input could give different probabilities from one allocation to the next.
    let denominator = x.neg().exp() + 1.0;
    denominator.ones_like() / denominator
}

/// The matrix product `a · b`. On `NdArray<f32>` it runs on the host with the `gemm` crate,
/// which reads transposed and sliced views without copying them and is 2–3× faster than
/// NdArray's own product on the shapes of an RBM.
///
/// Like Burn's `matmul` it panics when the inner sizes differ.
///
/// # Shapes
/// - `a`: `[m, k]`, `b`: `[k, n]`, output: `[m, n]`
pub(crate) fn matmul<B: Backend>(a: Tensor<B, 2>, b: Tensor<B, 2>) -> Tensor<B, 2> {
    try_accelerator!((a, b) = crate::ndarray::matmul(a, b));
    a.matmul(b)
}

/// `a · b + row`, the row added to every row of the product (in one pass on `NdArray<f32>`,
/// where the product starts from copies of the row).
///
/// # Shapes
/// - `a`: `[m, k]`, `b`: `[k, n]`, `row`: `[n]`, output: `[m, n]`
pub(crate) fn matmul_add_row<B: Backend>(
    a: Tensor<B, 2>,
    b: Tensor<B, 2>,
    row: Tensor<B, 1>,
) -> Tensor<B, 2> {
    try_accelerator!((a, b) = crate::ndarray::matmul_add_row(a, b, Some(&row)));
    a.matmul(b) + row.unsqueeze::<2>()
}

/// A 0/1 sample with each element's Bernoulli probability: `p > u` with `u` uniform on the
/// 24-bit grid of `[0, 1)` ([`uniform`]), which is 1 with probability `p` (to 2^-24), exactly
/// 0 for `p = 0` and exactly 1 for `p = 1`. Every backend draws the same noise from `rng`, in
/// the tensor's logical order, so a seed gives the same samples everywhere.
///
/// # Shapes
/// - `probs`: `[batch, n]`, values in `[0, 1]`; output: the same, values in `{0, 1}`
pub(crate) fn bernoulli<B: Backend, R: Rng + ?Sized>(
    probs: Tensor<B, 2>,
    rng: &mut R,
) -> Tensor<B, 2> {
    try_accelerator!(probs = crate::ndarray::bernoulli(probs, rng));
    bernoulli_generic(probs, rng)
}

/// A Bernoulli sample with probabilities `sigmoid(x)`: the samples of
/// `bernoulli(sigmoid(x), rng)`, from the same noise. On `NdArray<f32>`, for the
/// column-major outputs of its products, one pass on the host's threads that draws the noise
/// while it computes the logistic function.
///
/// # Shapes
/// - `x`: `[batch, n]`, output: the same, values in `{0, 1}`
pub(crate) fn logistic_sample<B: Backend, R: Rng + Send + ?Sized>(
    x: Tensor<B, 2>,
    rng: &mut R,
) -> Tensor<B, 2> {
    try_accelerator!(x = crate::ndarray::logistic_sample(x, rng));
    bernoulli(sigmoid(x), rng)
}

/// [`bernoulli`] in backend tensor operations.
pub(crate) fn bernoulli_generic<B: Backend, R: Rng + ?Sized>(
    probs: Tensor<B, 2>,
    rng: &mut R,
) -> Tensor<B, 2> {
    let noise = uniform::<B, R, 2>(rng, probs.dims(), &probs.device());
    probs.greater(noise).float()
}

/// `Σ_j [softplus(β₁ y_ij) − softplus(β₀ y_ij)]` of each row, for `0 ≤ β₀ ≤ β₁` (the
/// hidden part of an AIS step's log weight), computed as
/// `Δ·max(y, 0) + log1p(σ(−β₀|y|)(e^{−Δ|y|} − 1))` with `Δ = β₁ − β₀`: no overflow for any
/// `y`, and accurate for tiny `Δ`. On `NdArray<f32>` it is one vectorised pass on the host.
///
/// # Shapes
/// - `y`: `[rows, columns]`, output: `[rows]`
pub(crate) fn softplus_gain<B: Backend>(y: Tensor<B, 2>, beta_0: f64, beta_1: f64) -> Tensor<B, 1> {
    try_accelerator!(y = crate::ndarray::softplus_gain(y, beta_0, beta_1));
    let delta = beta_1 - beta_0;
    let magnitude = y.clone().abs();
    (y.clamp_min(0.0) * delta
        + (sigmoid(magnitude.clone() * -beta_0) * ((magnitude * -delta).exp() - 1.0)).log1p())
    .sum_dim(1)
    .squeeze_dim::<1>(1)
}

/// The rows of `x` at `indices`, in that order (one `memcpy` per row on `NdArray<f32>`).
///
/// # Shapes
/// - `x`: `[rows, columns]`, output: `[indices.len(), columns]`
pub(crate) fn gather_rows<B: Backend>(x: &Tensor<B, 2>, indices: &[usize]) -> Tensor<B, 2> {
    #[cfg(feature = "ndarray-kernels")]
    if let Some(rows) = crate::ndarray::gather_rows(x, indices) {
        return rows;
    }
    let n = indices.len();
    let indices: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
    let indices = Tensor::<B, 1, Int>::from_data(TensorData::new(indices, [n]), &x.device());
    x.clone().select(0, indices)
}

/// One momentum step of a flattened parameter: `v ← μ v + s`, then `v ← v − c w` (only when
/// `c > 0`), then `w ← w + v`, in these `f32` operations and this order on every backend. On
/// `NdArray<f32>` it is one pass over the three buffers, in place where they are unshared.
///
/// # Shapes
/// - `weights`, `velocity`, `step`: `[n]`; outputs: the new weights and velocity, `[n]`
pub(crate) fn momentum_step<B: Backend>(
    weights: Tensor<B, 1>,
    velocity: Tensor<B, 1>,
    step: Tensor<B, 1>,
    momentum: f64,
    decay: f64,
) -> (Tensor<B, 1>, Tensor<B, 1>) {
    try_accelerator!(
        (weights, velocity, step) =
            crate::ndarray::momentum_step(weights, velocity, step, momentum, decay)
    );
    let mut velocity = velocity * momentum + step;
    if decay > 0.0 {
        velocity = velocity - weights.clone() * decay;
    }
    (weights + velocity.clone(), velocity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;
    use rand::{rngs::StdRng, SeedableRng};

    type B = NdArray;

    #[test]
    fn sigmoid_matches_its_definition_everywhere() {
        let xs = [-1e4f32, -100.0, -20.0, -1.0, 0.0, 0.5, 20.0, 100.0, 1e4];
        let got: Vec<f32> = sigmoid(Tensor::<B, 1>::from_floats(xs, &Default::default()))
            .into_data()
            .to_vec()
            .unwrap();
        for (x, g) in xs.iter().zip(got) {
            let expected = 1.0 / (1.0 + (-(*x as f64)).exp());
            assert!(
                (g as f64 - expected).abs() < 1e-7,
                "σ({x}) = {g}, expected {expected}"
            );
        }
    }

    /// On a large contiguous tensor (the SIMD path of NdArray's element-wise kernels) the
    /// logistic function is accurate to f32 rounding, and so reproducible across layouts.
    #[test]
    fn sigmoid_is_accurate_on_large_tensors() {
        let n = 10_000;
        let xs: Vec<f32> = (0..n).map(|i| -20.0 + 40.0 * i as f32 / n as f32).collect();
        let tensor =
            Tensor::<B, 1>::from_data(TensorData::new(xs.clone(), [n]), &Default::default());
        let host: Vec<f32> = sigmoid(tensor.clone()).into_data().to_vec().unwrap();
        let generic: Vec<f32> = sigmoid_generic(tensor).into_data().to_vec().unwrap();
        for (x, g) in xs.iter().cycle().zip(host.into_iter().chain(generic)) {
            let expected = 1.0 / (1.0 + (-(*x as f64)).exp());
            // exp (≤ 2 ulps on the host path, 1 otherwise), add and divide: 4 · 2⁻²⁴.
            assert!(
                (g as f64 - expected).abs() <= 4.0 * expected / (1u32 << 24) as f64,
                "σ({x}) = {g}, expected {expected}"
            );
        }
    }

    /// The one-pass logistic sample draws what `bernoulli(sigmoid(x))` draws from the same
    /// seed, on the column-major outputs of the host products and other column-major views
    /// (its fast path, which must be taken there) and on row-major tensors (which fall back
    /// to the two passes); the
    /// generic two passes differ only where σ(x) and the noise agree to rounding.
    #[test]
    fn logistic_sample_is_the_two_pass_sample() {
        let device = Default::default();
        let input = |rows: usize, columns: usize| {
            uniform::<B, _, 2>(&mut StdRng::seed_from_u64(5), [rows, columns], &device) * 8.0 - 4.0
        };
        // Fewer rows than columns: the host product writes it column-major.
        let product = matmul(input(33, 7), input(7, 41));
        let seeded = || StdRng::seed_from_u64(6);
        #[cfg(feature = "ndarray-kernels")]
        assert!(crate::ndarray::logistic_sample(product.clone(), &mut seeded()).is_ok());
        for x in [product, input(33, 41), input(41, 33).transpose()] {
            let fast = logistic_sample(x.clone(), &mut seeded());
            let two_pass = bernoulli(sigmoid(x.clone()), &mut seeded());
            let generic = bernoulli_generic(sigmoid_generic(x), &mut seeded());
            fast.to_data().assert_eq(&two_pass.to_data(), true);
            let differ: f32 = (fast - generic).abs().sum().into_scalar();
            assert!(
                differ <= 1.0,
                "{differ} samples differ from the generic path"
            );
            let ones: f32 = two_pass.sum().into_scalar();
            assert!(ones > 0.0 && ones < (33 * 41) as f32);
        }
    }

    /// The accelerated sample draws what the tensor path draws for every memory layout the
    /// learner produces: row-major, column-major (the host products' `[batch, units]`
    /// outputs) and strided slices.
    #[test]
    fn accelerated_and_generic_bernoulli_draw_the_same_samples() {
        let device = Default::default();
        let probs = |rows: usize, columns: usize| {
            uniform::<B, _, 2>(&mut StdRng::seed_from_u64(3), [rows, columns], &device)
        };
        let layouts = [
            ("row-major", probs(37, 29)),
            ("column-major", probs(29, 37).transpose()),
            ("sliced", probs(40, 33).slice([2..39, 1..30])),
        ];
        for (layout, probs) in layouts {
            let fast = bernoulli(probs.clone(), &mut StdRng::seed_from_u64(4));
            let generic = bernoulli_generic(probs, &mut StdRng::seed_from_u64(4));
            let (fast, generic): (Vec<f32>, Vec<f32>) = (
                fast.into_data().to_vec().unwrap(),
                generic.into_data().to_vec().unwrap(),
            );
            assert_eq!(fast, generic, "{layout}");
            // An odd count uses the last draw's high bits, like an even one's first element.
            let ones = fast.iter().filter(|&&x| x == 1.0).count();
            assert!(ones > 0 && ones < fast.len(), "{layout}");
        }
    }

    #[test]
    fn bernoulli_matches_its_probabilities() {
        let mut rng = StdRng::seed_from_u64(2);
        let device = Default::default();
        let rows = 20_000;
        let p = [0.0f32, 0.1, 0.5, 0.9, 1.0];
        let probs = Tensor::<B, 1>::from_floats(p, &device)
            .unsqueeze::<2>()
            .repeat_dim(0, rows);
        let mean: Vec<f32> = bernoulli(probs, &mut rng)
            .mean_dim(0)
            .into_data()
            .to_vec()
            .unwrap();
        for (&want, &got) in p.iter().zip(&mean) {
            // Standard error sqrt(p (1 - p) / rows) ≤ 0.0036; 5 standard errors, and exact at 0 and 1.
            let tol = 5.0 * (want * (1.0 - want) / rows as f32).sqrt();
            assert!((want - got).abs() <= tol, "p = {want}, frequency {got}");
        }
    }

    /// The accelerated momentum step computes the generic one's `f32` operations in the same
    /// order, so both give the same bits, with and without weight decay.
    #[test]
    fn accelerated_momentum_step_equals_the_tensor_operations() {
        let device = Default::default();
        let mut rng = StdRng::seed_from_u64(5);
        let mut random = |scale: f32| {
            let values: Vec<f32> = uniform::<B, _, 1>(&mut rng, [407], &device)
                .into_data()
                .to_vec()
                .unwrap();
            let values: Vec<f32> = values.iter().map(|u| scale * (u - 0.5)).collect();
            Tensor::<B, 1>::from_data(TensorData::new(values, [407]), &device)
        };
        let (w, v, s) = (random(2.0), random(0.1), random(0.01));
        for decay in [0.0, 1e-4] {
            let mut expected_v = v.clone() * 0.9 + s.clone();
            if decay > 0.0 {
                expected_v = expected_v - w.clone() * decay;
            }
            let expected_w = w.clone() + expected_v.clone();
            let (got_w, got_v) = momentum_step(w.clone(), v.clone(), s.clone(), 0.9, decay);
            got_w.into_data().assert_eq(&expected_w.into_data(), true);
            got_v.into_data().assert_eq(&expected_v.into_data(), true);
        }
    }
}
