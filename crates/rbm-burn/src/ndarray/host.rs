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

use burn::tensor::{backend::Backend, Tensor, TensorData, TensorPrimitive};
use burn_ndarray::{NdArray, NdArrayTensor, SharedArray};
use rand::Rng;

use super::product::{blocks, gemm_strided, Product, Start, Strided};
use super::team::team;
use crate::sampling::fill_uniform;

fn from_host<B: Backend, const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    device: &B::Device,
) -> Tensor<B, D> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// The elements of `x` as an unshared array contiguous in memory (row-major, column-major or
/// any other order of its axes; a copy only when `x` is shared or strided) when `B` is
/// `NdArray<f32>` and `x` holds `f32`; `Err(x)` otherwise.
pub(super) fn host_array<B: Backend, const D: usize>(
    x: Tensor<B, D>,
) -> Result<SharedArray<f32>, Tensor<B, D>> {
    if !is_host_backend::<B>() {
        return Err(x);
    }
    let storage = match ndarray_primitive(x) {
        NdArrayTensor::F32(storage) => storage,
        other => return Err(from_ndarray_primitive(other)),
    };
    let mut array = storage.into_owned();
    if array.as_slice_memory_order().is_none() {
        array = array.as_standard_layout().into_owned().into_shared();
    }
    Ok(array)
}

/// The elements of an array from [`host_array`] in memory order, unshared (copied first if
/// something else holds the buffer).
pub(super) fn memory_order_slice(array: &mut SharedArray<f32>) -> &mut [f32] {
    array
        .as_slice_memory_order_mut()
        .expect("host_array returns arrays contiguous in memory")
}

/// Whether `B` is `NdArray<f32>`, the backend whose tensors this module reads on the host.
pub(crate) fn is_host_backend<B: Backend>() -> bool {
    TypeId::of::<B>() == TypeId::of::<NdArray<f32>>()
}

/// The elements of `x` as an unshared row-major array (a copy only when `x` is shared or in
/// another layout) when `B` is `NdArray<f32>` and `x` holds `f32`; `Err(x)` otherwise. Its
/// elements are [`row_major_slice`].
pub(crate) fn row_major_array<B: Backend, const D: usize>(
    x: Tensor<B, D>,
) -> Result<SharedArray<f32>, Tensor<B, D>> {
    let mut array = host_array(x)?;
    if !array.is_standard_layout() {
        array = array.as_standard_layout().into_owned().into_shared();
    }
    Ok(array)
}

/// `read` of the elements of `x` in row-major order, without copying them when `x` is a
/// row-major `f32` tensor (shared or not), when `B` is `NdArray<f32>`; `Err(x)` otherwise.
///
/// # Shapes
/// - `x`: `[rows, columns]`; `read` gets `rows · columns` values
pub(crate) fn read_row_major<B: Backend, T>(
    x: Tensor<B, 2>,
    read: impl FnOnce(&[f32]) -> T,
) -> Result<T, Tensor<B, 2>> {
    if !is_host_backend::<B>() {
        return Err(x);
    }
    let primitive = ndarray_primitive(x);
    let NdArrayTensor::F32(storage) = &primitive else {
        return Err(from_ndarray_primitive(primitive));
    };
    let view = storage.view();
    Ok(match view.as_slice() {
        Some(values) => read(values),
        None => read(&view.iter().copied().collect::<Vec<f32>>()),
    })
}

/// The elements of an array from [`row_major_array`], in row-major order.
pub(crate) fn row_major_slice(array: &mut SharedArray<f32>) -> &mut [f32] {
    array
        .as_slice_mut()
        .expect("row_major_array returns unshared arrays in standard layout")
}

/// The tensor of an array of `NdArray<f32>` (the inverse of [`host_array`]).
pub(crate) fn from_host_array<B: Backend, const D: usize>(array: SharedArray<f32>) -> Tensor<B, D> {
    from_ndarray_primitive(NdArrayTensor::from(array))
}

/// The rows of `x` at `indices`, in that order, copied on the host (one `memcpy` per row)
/// when `B` is `NdArray<f32>` and `x` is row-major `f32`; `None` otherwise (and for an index
/// out of range, which the caller's generic gather then reports as Burn does).
///
/// # Shapes
/// - `x`: `[rows, columns]`, output: `[indices.len(), columns]`
pub(crate) fn gather_rows<B: Backend>(x: &Tensor<B, 2>, indices: &[usize]) -> Option<Tensor<B, 2>> {
    let [rows, columns] = x.dims();
    if !is_host_backend::<B>() || indices.iter().any(|&i| i >= rows) {
        return None;
    }
    let device = x.device();
    let primitive = ndarray_primitive(x.clone());
    let NdArrayTensor::F32(storage) = &primitive else {
        return None;
    };
    let view = storage.view();
    let values = view.as_slice()?;
    let mut out = vec![0.0_f32; indices.len() * columns];
    if columns > 0 {
        // The rows are scattered over the data set, so the copy waits on memory more than it
        // computes: each member of the team copies a block of rows.
        let per_part = indices.len().div_ceil(team().size()).max(1);
        let pieces: Vec<_> = out
            .chunks_mut(per_part * columns)
            .zip(indices.chunks(per_part))
            .collect();
        team().for_each(pieces, |_, (out, indices)| {
            for (row, &i) in out.chunks_exact_mut(columns).zip(indices) {
                row.copy_from_slice(&values[i * columns..(i + 1) * columns]);
            }
        });
    }
    Some(from_host(out, [indices.len(), columns], &device))
}

/// The logistic function of every element on the host, or `Err(x)` for backends other than
/// `NdArray<f32>`.
///
/// # Shapes
/// - `x`: any, output: the same
pub(crate) fn logistic<B: Backend, const D: usize>(
    x: Tensor<B, D>,
) -> Result<Tensor<B, D>, Tensor<B, D>> {
    let mut array = host_array(x)?;
    logistic_in_place(memory_order_slice(&mut array));
    Ok(from_host_array(array))
}

/// 0/1 samples with the elements of `probs` as probabilities, on the host, with the noise of
/// [`crate::sampling::uniform`]; `Err(probs)` for backends other than `NdArray<f32>`.
///
/// The noise is drawn in the tensor's logical (row-major) order whatever its memory layout,
/// so the samples are those of the tensor path on every backend.
///
/// # Shapes
/// - `probs`: `[batch, n]`, output: the same
pub(crate) fn bernoulli<B: Backend, R: Rng + ?Sized>(
    probs: Tensor<B, 2>,
    rng: &mut R,
) -> Result<Tensor<B, 2>, Tensor<B, 2>> {
    let [rows, columns] = probs.dims();
    let mut array = host_array(probs)?;
    let mut noise = vec![0.0; rows * columns];
    fill_uniform(rng, &mut noise);
    let sample = |p: &mut f32, u: f32| *p = if *p > u { 1.0 } else { 0.0 };
    let column_major = array.strides() == [1, rows as isize];
    if array.is_standard_layout() {
        let values = memory_order_slice(&mut array);
        values
            .iter_mut()
            .zip(&noise)
            .for_each(|(p, u)| sample(p, *u));
    } else if column_major {
        // Memory holds column after column: element (i, j) is at `j·rows + i`.
        let values = memory_order_slice(&mut array);
        for (j, column) in values.chunks_exact_mut(rows).enumerate() {
            for (i, p) in column.iter_mut().enumerate() {
                sample(p, noise[i * columns + j]);
            }
        }
    } else {
        array
            .iter_mut()
            .zip(&noise)
            .for_each(|(p, u)| sample(p, *u));
    }
    Ok(from_host_array(array))
}

/// `Σ_j [softplus(β₁ y_ij) − softplus(β₀ y_ij)]` of each row of `y` on the host (one pass,
/// vectorised, the row sums in `f64`), or `Err(y)` for backends other than `NdArray<f32>`
/// and for `β` outside `0 ≤ β₀ ≤ β₁`.
///
/// Each term is `Δ·max(y, 0) + log1p(σ(−β₀|y|)(e^{−Δ|y|} − 1))` with `Δ = β₁ − β₀`, as in the
/// generic path: no overflow for any finite `y`, and accurate for tiny `Δ`. NaN and ±∞ give
/// NaN (the generic path's result for an infinite input at `β₀ = 0`).
///
/// # Shapes
/// - `y`: `[rows, columns]`, output: `[rows]`
pub(crate) fn softplus_gain<B: Backend>(
    y: Tensor<B, 2>,
    beta_0: f64,
    beta_1: f64,
) -> Result<Tensor<B, 1>, Tensor<B, 2>> {
    if !(0.0 <= beta_0 && beta_0 <= beta_1) {
        return Err(y);
    }
    let [rows, columns] = y.dims();
    let device = y.device();
    let mut array = host_array(y)?;
    let column_major = !array.is_standard_layout() && array.strides() == [1, rows as isize];
    if !array.is_standard_layout() && !column_major {
        array = array.as_standard_layout().into_owned().into_shared();
    }
    let values = memory_order_slice(&mut array);
    softplus_gain_in_place(values, beta_0 as f32, (beta_1 - beta_0) as f32);
    let mut sums = vec![0.0_f64; rows];
    if rows > 0 && columns > 0 {
        if column_major {
            for column in values.chunks_exact(rows) {
                for (sum, term) in sums.iter_mut().zip(column) {
                    *sum += f64::from(*term);
                }
            }
        } else {
            for (sum, row) in sums.iter_mut().zip(values.chunks_exact(columns)) {
                *sum = row.iter().map(|&term| f64::from(term)).sum();
            }
        }
    }
    let sums = sums.into_iter().map(|sum| sum as f32).collect();
    Ok(from_host(sums, [rows], &device))
}

widest_vectors! {
    /// Each `y` replaced by `softplus((β₀ + Δ) y) − softplus(β₀ y)` ([`softplus_gain`]), for
    /// `β₀, Δ ≥ 0`.
    fn softplus_gain_in_place(values: &mut [f32], beta_0: f32, delta: f32) {
        for y in values.iter_mut() {
            let magnitude = y.abs();
            // σ(−β₀|y|) = e / (1 + e) with e = exp(−β₀|y|) ≤ 1.
            let lower = exp_bounded((-beta_0 * magnitude).max(-LOGISTIC_CUTOFF));
            let shrink = expm1_bounded((-delta * magnitude).max(-LOGISTIC_CUTOFF));
            let gain = delta * y.max(0.0) + log1p_above_minus_half(lower / (1.0 + lower) * shrink);
            // NaN for NaN and ±∞, as the generic path (0·∞ would otherwise pass the clamps).
            *y = if magnitude.is_finite() { gain } else { f32::NAN };
        }
    }
}

/// `eˣ − 1` for `|x| ≤ 87`, relative to the result (unlike `exp(x) − 1`, which loses all
/// precision for tiny `x`): below `0.34 < ln 2 / 2` in magnitude, `x + x²·P(x)` with the
/// polynomial `P` of [`exp_bounded`] (whose reduced argument is then `x` itself);
/// elsewhere `exp_bounded(x) − 1`, whose magnitude is at least `0.29`.
#[inline(always)]
fn expm1_bounded(x: f32) -> f32 {
    let small = x + x * x * exp_polynomial(x);
    if x.abs() < 0.34 {
        small
    } else {
        exp_bounded(x) - 1.0
    }
}

/// `ln(1 + x)` for `−½ ≤ x ≤ 0` (the range of [`softplus_gain`]'s argument: `σ(−β₀|y|) ≤ ½`
/// times a factor in `[−1, 0]`), to a few units of `f32`'s last place *relative* to the
/// result, so tiny `x` keep their precision: `2·atanh(s)` with `s = x / (2 + x)`,
/// `|s| ≤ ⅓`, by its odd series up to `s¹⁷` (the first term left out is below
/// `(⅓)¹⁸ / 19 < 2·10⁻¹⁰` of the result).
#[inline(always)]
fn log1p_above_minus_half(x: f32) -> f32 {
    let s = x / (2.0 + x);
    let z = s * s;
    let mut p = 1.0 / 17.0_f32;
    for c in [15.0_f32, 13.0, 11.0, 9.0, 7.0, 5.0, 3.0] {
        p = p * z + 1.0 / c;
    }
    2.0 * s * (p * z + 1.0)
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
    matmul_add_row(a, b, None)
}

/// `a · b + row` (the row added to every row of the product) on the host, in one pass: the
/// output starts as copies of `row` and the GEMM adds the product to it. `Err((a, b))` where
/// [`matmul`] gives one, and for a `row` that is not `f32` of length `n`.
///
/// # Shapes
/// - `a`: `[m, k]`, `b`: `[k, n]`, `row`: `[n]`, output: `[m, n]`
pub(crate) fn matmul_add_row<B: Backend>(
    a: Tensor<B, 2>,
    b: Tensor<B, 2>,
    row: Option<&Tensor<B, 1>>,
) -> Result<Tensor<B, 2>, (Tensor<B, 2>, Tensor<B, 2>)> {
    let Some([m, _, n]) = product_shape::<B>(&a, &b) else {
        return Err((a, b));
    };
    let row = match row.map(|row| row.to_data().into_vec::<f32>()) {
        None => None,
        Some(Ok(row)) if row.len() == n => Some(row),
        Some(_) => return Err((a, b)),
    };
    let device = a.device();
    // `gemm` works on a column-major output and runs 1.3–1.7× faster on the `[batch, units]`
    // products of an RBM (batch < units) when it has fewer rows than columns, so those are
    // written column-major, and the others (the `[n_visible, n_hidden]` statistics) row-major.
    // Both are plain tensors to the caller; the layout only decides which strides they have.
    let column_major = m < n;
    let (row_stride, column_stride) = if column_major {
        (1, m as isize)
    } else {
        (n as isize, 1)
    };
    let mut out = vec![0.0_f32; m * n];
    let dst = Strided {
        ptr: out.as_mut_ptr(),
        row_stride,
        column_stride,
    };
    let start = row.as_deref().map_or(Start::Overwrite, Start::Row);
    // SAFETY: `out` holds `m·n` elements and `i·row_stride + j·column_stride < m·n` for
    // `i < m, j < n`, distinct for distinct `[i, j]`; it is a fresh allocation, so it overlaps
    // neither operand; a row has `n` values (checked above).
    unsafe { gemm_into(dst, start, 1.0, a, b) }?;
    Ok(if column_major {
        // The transpose of the row-major `[n, m]` buffer: a view, no copy.
        from_host(out, [n, m], &device).transpose()
    } else {
        from_host(out, [m, n], &device)
    })
}

/// `[m, k, n]` for a product `a · b` that the host GEMM takes: `B` is `NdArray<f32>` and the
/// shapes are `[m, k]` and `[k, n]` with no size 0. `None` leaves the product (and the error
/// for mismatched shapes) to Burn.
fn product_shape<B: Backend>(a: &Tensor<B, 2>, b: &Tensor<B, 2>) -> Option<[usize; 3]> {
    let ([m, k], [k_rhs, n]) = (a.dims(), b.dims());
    let takes =
        TypeId::of::<B>() == TypeId::of::<NdArray<f32>>() && k == k_rhs && m > 0 && n > 0 && k > 0;
    takes.then_some([m, k, n])
}

/// `dst ← (start) + beta·a·b` for two `f32` tensors `a`, `b` of `NdArray<f32>`, on the
/// [`team`](super::team) ([`gemm_strided`]). The operands go back (`Err`) if they do not hold
/// `f32` or have a negative stride.
///
/// # Safety
/// `B` is `NdArray<f32>`, `a` is `[m, k]`, `b` is `[k, n]` with `m, n, k > 0`, and `dst` is
/// valid for reads and writes of `m × n` elements at its strides, with distinct addresses for
/// distinct elements, and overlaps neither operand; a `Start::Row` has `n` values.
unsafe fn gemm_into<B: Backend>(
    dst: Strided,
    start: Start<'_>,
    beta: f32,
    a: Tensor<B, 2>,
    b: Tensor<B, 2>,
) -> Result<(), (Tensor<B, 2>, Tensor<B, 2>)> {
    let ([m, k], [_, n]) = (a.dims(), b.dims());
    let (a, b) = (ndarray_primitive(a), ndarray_primitive(b));
    let (NdArrayTensor::F32(a_storage), NdArrayTensor::F32(b_storage)) = (&a, &b) else {
        return Err((from_ndarray_primitive(a), from_ndarray_primitive(b)));
    };
    let (a_view, b_view) = (a_storage.view(), b_storage.view());
    let strided = |ptr: *const f32, strides: &[isize]| Strided {
        ptr,
        row_stride: strides[0],
        column_stride: strides[1],
    };
    let lhs = strided(a_view.as_ptr(), a_view.strides());
    let rhs = strided(b_view.as_ptr(), b_view.strides());
    if [
        lhs.row_stride,
        lhs.column_stride,
        rhs.row_stride,
        rhs.column_stride,
    ]
    .iter()
    .any(|&stride| stride < 0)
    {
        drop((a_view, b_view));
        return Err((from_ndarray_primitive(a), from_ndarray_primitive(b)));
    }
    // SAFETY: `lhs` and `rhs` point at element [0, 0] of live `ArrayView`s of shapes `[m, k]`
    // and `[k, n]` with these (non-negative) strides, so every offset `i·row + j·col` inside
    // those shapes is in bounds; the caller vouches for `dst` and `start`.
    unsafe {
        gemm_strided(Product {
            shape: [m, k, n],
            dst,
            start,
            beta,
            a: lhs,
            b: rhs,
        })
    };
    Ok(())
}

/// Below this many weights a momentum pass runs on the calling thread.
const PARALLEL_LEN: usize = 1 << 15;

/// One momentum step of a flattened parameter on the host, `v ← μ v + s`, `v ← v − c w`
/// (only when `c > 0`), `w ← w + v`, in one pass over the three buffers and in the `f32`
/// operations and order of [`crate::kernels::momentum_step`]'s tensor version, so both give
/// the same bits. The buffers of `weights` and `velocity` are reused when unshared. `Err`
/// with the inputs for backends other than `NdArray<f32>` and mismatched lengths.
///
/// # Shapes
/// - `weights`, `velocity`, `step`: `[n]`; outputs: the new weights and velocity
#[allow(clippy::type_complexity)]
pub(crate) fn momentum_step<B: Backend>(
    weights: Tensor<B, 1>,
    velocity: Tensor<B, 1>,
    step: Tensor<B, 1>,
    momentum: f64,
    decay: f64,
) -> Result<(Tensor<B, 1>, Tensor<B, 1>), (Tensor<B, 1>, Tensor<B, 1>, Tensor<B, 1>)> {
    if weights.dims() != velocity.dims() || weights.dims() != step.dims() {
        return Err((weights, velocity, step));
    }
    let mut w = match row_major_array(weights) {
        Ok(w) => w,
        Err(weights) => return Err((weights, velocity, step)),
    };
    let mut v = match row_major_array(velocity) {
        Ok(v) => v,
        Err(velocity) => return Err((from_host_array(w), velocity, step)),
    };
    let result = read_row_major_1d(step, |step| {
        let (w, v) = (row_major_slice(&mut w), row_major_slice(&mut v));
        let parts = if w.len() < PARALLEL_LEN {
            1
        } else {
            team().size()
        };
        let block = blocks(w.len(), parts);
        let items: Vec<_> = w
            .chunks_mut(block)
            .zip(v.chunks_mut(block))
            .zip(step.chunks(block))
            .collect();
        let (momentum, decay) = (momentum as f32, decay as f32);
        team().for_each(items, |_, ((w, v), s)| {
            momentum_step_serial(w, v, s, momentum, decay)
        });
    });
    match result {
        Ok(()) => Ok((from_host_array(w), from_host_array(v))),
        Err(step) => Err((from_host_array(w), from_host_array(v), step)),
    }
}

/// `read` of the elements of a 1-D `f32` tensor of `NdArray<f32>` (copied only when strided);
/// `Err(x)` otherwise.
fn read_row_major_1d<B: Backend, T>(
    x: Tensor<B, 1>,
    read: impl FnOnce(&[f32]) -> T,
) -> Result<T, Tensor<B, 1>> {
    let [n] = x.dims();
    read_row_major(x.reshape([1, n]), read).map_err(|x| x.reshape([n]))
}

/// The momentum step of a weight matrix on slices, `v ← v − c·w` (only when `c > 0`) and
/// `w ← w + v` element by element, in blocks on the [`team`](super::team); returns the sum of
/// the new weights (a health check, added in blocks, so its last bits depend on the number of
/// threads). The operations and their order are those of the tensor path, so both give the
/// same bits for `w` and `v`.
pub(crate) fn momentum_pass(weights: &mut [f32], velocity: &mut [f32], decay: f32) -> f32 {
    let parts = if weights.len() < PARALLEL_LEN {
        1
    } else {
        team().size()
    };
    momentum_pass_in_blocks(weights, velocity, decay, blocks(weights.len(), parts))
}

/// [`momentum_pass`] in blocks of `block` weights, one team part each (so that each member
/// updates the weights it last touched, whose lines are still in its cache).
pub(crate) fn momentum_pass_in_blocks(
    weights: &mut [f32],
    velocity: &mut [f32],
    decay: f32,
    block: usize,
) -> f32 {
    assert_eq!(weights.len(), velocity.len(), "one velocity per weight");
    let block = block.max(1);
    let mut sums = vec![0.0_f32; weights.len().div_ceil(block)];
    let items: Vec<_> = weights
        .chunks_mut(block)
        .zip(velocity.chunks_mut(block))
        .zip(sums.iter_mut())
        .collect();
    team().for_each(items, |_, ((w, v), sum)| {
        momentum_pass_serial(w, v, decay, sum)
    });
    sums.iter().sum()
}

widest_vectors! {
    /// [`momentum_step`] on one thread.
    fn momentum_step_serial(weights: &mut [f32], velocity: &mut [f32], step: &[f32], momentum: f32, decay: f32) {
        for ((w, v), s) in weights.iter_mut().zip(velocity.iter_mut()).zip(step) {
            *v = *v * momentum + s;
            if decay > 0.0 {
                *v -= *w * decay;
            }
            *w += *v;
        }
    }
}

widest_vectors! {
    /// [`momentum_pass`] on one thread, the sum of the new weights into `sum`.
    fn momentum_pass_serial(weights: &mut [f32], velocity: &mut [f32], decay: f32, sum: &mut f32) {
        let mut lanes = [0.0_f32; 16];
        let mut weight_chunks = weights.chunks_exact_mut(16);
        let mut velocity_chunks = velocity.chunks_exact_mut(16);
        for (w, v) in (&mut weight_chunks).zip(&mut velocity_chunks) {
            for t in 0..16 {
                if decay > 0.0 {
                    v[t] -= w[t] * decay;
                }
                w[t] += v[t];
                lanes[t] += w[t];
            }
        }
        let tail = weight_chunks.into_remainder();
        for (w, v) in tail.iter_mut().zip(velocity_chunks.into_remainder()) {
            if decay > 0.0 {
                *v -= *w * decay;
            }
            *w += *v;
            lanes[0] += *w;
        }
        *sum = lanes.iter().sum();
    }
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

/// Defines `fn $name(args)` that runs its body compiled for AVX-512 or AVX2 when the CPU has
/// them (the same operations in the same order, so the same results, only wider vectors).
macro_rules! widest_vectors {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn body($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                fn avx512($($arg: $ty),*) {
                    body($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) {
                    body($($arg),*)
                }
                if std::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has AVX-512F.
                    return unsafe { avx512($($arg),*) };
                }
                if std::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2.
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}

pub(crate) use widest_vectors;

widest_vectors! {
    /// [`logistic_slice`] compiled for the widest vectors of the CPU.
    pub(crate) fn logistic_in_place(values: &mut [f32]) {
        logistic_slice(values)
    }
}

/// `1 / (1 + exp(−x))` in place, with [`exp_bounded`]: at most 4 roundings of 2⁻²⁴ relative
/// error in all (`exp` ≤ 2, the addition and the division 1 each), exactly 0 below −87 and
/// NaN for NaN. Inlined into its callers, so that it is vectorised for their instruction set
/// ([`widest_vectors`]).
#[inline(always)]
pub(crate) fn logistic_slice(values: &mut [f32]) {
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
    let er = exp_polynomial(r) * r * r + r + 1.0;
    let k_bits = (shifted.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let two_k = f32::from_bits(((k_bits + 127) << 23) as u32);
    er * two_k
}

/// Cephes' degree-5 minimax polynomial `P` with `eʳ ≈ 1 + r + r²·P(r)` for `|r| ≤ ln 2 / 2`.
#[inline(always)]
fn exp_polynomial(r: f32) -> f32 {
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p * r + 0.5
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::Xoshiro256PlusPlus, SeedableRng};

    /// A `[rows, cols]` matrix of uniform values in `[−1, 1)`.
    fn random_matrix(
        rng: &mut Xoshiro256PlusPlus,
        rows: usize,
        cols: usize,
    ) -> Tensor<NdArray<f32>, 2> {
        let mut values = vec![0.0; rows * cols];
        fill_uniform(rng, &mut values);
        let values: Vec<f32> = values.iter().map(|u| 2.0 * u - 1.0).collect();
        Tensor::from_data(TensorData::new(values, [rows, cols]), &Default::default())
    }

    /// The host gain against `f64` softplus differences, for inputs up to ±100, the
    /// schedule's tiny steps (down to 10⁻⁷) and large ones, `β₀ = 0` and `β₀` near 1, in both
    /// memory layouts. Each term `Δ·max(y, 0) + log1p(…)` is accurate to a few roundings of
    /// its two parts (`exp` 2 ulps, `expm1`, the logistic factor, the product, `log1p`'s
    /// series and the final sum: 8 units of 2⁻²⁴ of `Δ|y| + |log1p(…)|` is generous), and
    /// the row sum is rounded once to `f32`. A plain `exp(x) − 1` instead of `expm1` misses
    /// this bound by a factor of about 260 at `Δ = 10⁻⁷`.
    #[test]
    fn softplus_gain_matches_f64() {
        let softplus = |x: f64| x.max(0.0) + (-x.abs()).exp().ln_1p();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let y = random_matrix(&mut rng, 7, 300) * 100.0;
        let column_major = Tensor::<NdArray<f32>, 2>::from_data(
            y.clone().transpose().to_data(),
            &Default::default(),
        )
        .transpose();
        let y_f64 = to_f64(&y);
        let ulp = 1.0 / f64::from(1u32 << 24);
        let steps = [
            (0.0, 1e-7),
            (0.0, 1e-5),
            (0.5, 0.500_001),
            (0.999, 1.0),
            (0.0, 1.0),
            (0.3, 0.9),
        ];
        for (beta_0, beta_1) in steps {
            let delta = beta_1 - beta_0;
            for input in [y.clone(), column_major.clone()] {
                let gain = softplus_gain(input, beta_0, beta_1).unwrap();
                for (got, row) in gain.to_data().iter::<f32>().zip(y_f64.chunks(300)) {
                    let (mut want, mut scale) = (0.0, 0.0);
                    for &y in row {
                        let term = softplus(beta_1 * y) - softplus(beta_0 * y);
                        let linear = delta * y.max(0.0);
                        want += term;
                        scale += delta * y.abs() + (term - linear).abs();
                    }
                    let bound = 8.0 * ulp * scale + ulp * want.abs();
                    let error = (f64::from(got) - want).abs();
                    assert!(
                        error <= bound,
                        "β {beta_0}→{beta_1}: {got} vs {want} (bound {bound})"
                    );
                }
            }
        }
        assert!(softplus_gain(y, 0.5, 0.4).is_err());
        for bad in [f32::NAN, f32::NEG_INFINITY, f32::INFINITY] {
            let x = Tensor::<NdArray<f32>, 2>::from_data([[bad, 1.0]], &Default::default());
            assert!(softplus_gain(x, 0.0, 0.5).unwrap().into_scalar().is_nan());
        }
    }

    fn to_f64(t: &Tensor<NdArray<f32>, 2>) -> Vec<f64> {
        t.to_data().iter::<f32>().map(f64::from).collect()
    }

    /// `(Σ_l a_il b_lj, Σ_l |a_il b_lj|)` in `f64` for every `[i, j]`, row-major, and the
    /// worst-case relative rounding `γ_k = k u / (1 − k u)`, `u = 2⁻²⁴`, of a length-`k` dot
    /// product in `f32`.
    fn exact_product(a: &[f64], b: &[f64], [m, k, n]: [usize; 3]) -> (Vec<(f64, f64)>, f64) {
        let mut out = Vec::with_capacity(m * n);
        for i in 0..m {
            for j in 0..n {
                let (mut exact, mut magnitude) = (0.0, 0.0);
                for l in 0..k {
                    exact += a[i * k + l] * b[l * n + j];
                    magnitude += (a[i * k + l] * b[l * n + j]).abs();
                }
                out.push((exact, magnitude));
            }
        }
        let u = 2f64.powi(-24);
        (out, k as f64 * u / (1.0 - k as f64 * u))
    }

    /// `a · b` by the host GEMM matches an `f64` product within the worst-case rounding of a
    /// length-`k` dot product in `f32`, `γ_k Σ_l |a_il b_lj|` with `γ_k = k u / (1 − k u)`,
    /// `u = 2⁻²⁴`: for standard, transposed and sliced operands and for outputs wider and
    /// taller than they are high.
    #[test]
    fn host_matmul_matches_the_exact_product_for_any_strides() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let mut random = |rows: usize, cols: usize| random_matrix(&mut rng, rows, cols);
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
                let (expected, gamma) = exact_product(&to_f64(&a), &to_f64(&b), [m, k, n]);
                let got =
                    matmul(a, b).unwrap_or_else(|_| panic!("NdArray<f32> takes the host path"));
                assert_eq!(got.dims(), [m, n]);
                for (index, (got, (exact, magnitude))) in
                    to_f64(&got).iter().zip(expected).enumerate()
                {
                    let (i, j) = (index / n, index % n);
                    assert!(
                        (got - exact).abs() <= gamma * magnitude,
                        "case {case} of {m}x{k}x{n}: [{i}, {j}] = {got}, exact {exact}"
                    );
                }
            }
        }
    }

    /// `a · b + row` in one GEMM is `a · b` with the row added by one rounding, for outputs
    /// written column-major (`m < n`) and row-major.
    #[test]
    fn host_matmul_add_row_adds_the_row_to_every_row() {
        type B = NdArray<f32>;
        let device = Default::default();
        let ramp = |len: usize, scale: f32| -> Vec<f32> {
            (0..len)
                .map(|i| scale * ((i * 7919) % 101) as f32 / 101.0 - 0.5)
                .collect()
        };
        // Small products run on one thread; the larger two are split over the team, by
        // columns and by rows.
        for (m, k, n) in [(3, 8, 11), (11, 8, 3), (40, 300, 200), (200, 300, 40)] {
            let a = Tensor::<B, 2>::from_data(TensorData::new(ramp(m * k, 1.0), [m, k]), &device);
            let b = Tensor::<B, 2>::from_data(TensorData::new(ramp(k * n, 2.0), [k, n]), &device);
            let row = Tensor::<B, 1>::from_data(TensorData::new(ramp(n, 3.0), [n]), &device);
            let product: Vec<f32> = matmul(a.clone(), b.clone())
                .unwrap_or_else(|_| panic!("host path"))
                .into_data()
                .to_vec()
                .unwrap();
            let got: Vec<f32> = matmul_add_row(a, b, Some(&row))
                .unwrap_or_else(|_| panic!("host path"))
                .into_data()
                .to_vec()
                .unwrap();
            let row: Vec<f32> = row.into_data().to_vec().unwrap();
            for (index, (got, product)) in got.iter().zip(&product).enumerate() {
                let expected = product + row[index % n];
                assert!(
                    (got - expected).abs() <= 2.0 * f32::EPSILON * expected.abs().max(1.0),
                    "{m}x{k}x{n} element {index}: {got}, expected {expected}"
                );
            }
        }
    }

    #[test]
    fn host_matmul_leaves_other_inputs_to_the_backend() {
        type B = NdArray<f32>;
        let device = Default::default();
        let a = Tensor::<B, 2>::ones([2, 3], &device);
        // Mismatched inner sizes: handed back, so that Burn's own product reports them.
        assert!(matmul(a.clone(), Tensor::ones([4, 2], &device)).is_err());
        // A bias row of the wrong length, likewise.
        let wrong_row = Tensor::<B, 1>::ones([3], &device);
        assert!(
            matmul_add_row(a.clone(), Tensor::ones([3, 2], &device), Some(&wrong_row)).is_err()
        );
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

    /// The tensor version works in memory order on any layout, and leaves a shared input as it
    /// was (its buffer is copied, not overwritten).
    #[test]
    fn logistic_of_any_layout_is_elementwise_and_keeps_shared_inputs() {
        type B = NdArray<f32>;
        let device = Default::default();
        let values: Vec<f32> = (0..12 * 7).map(|i| (i as f32 - 40.0) / 4.0).collect();
        let base = Tensor::<B, 2>::from_data(TensorData::new(values, [12, 7]), &device);
        for (layout, x) in [
            ("row-major", base.clone()),
            ("column-major", base.clone().transpose()),
            ("sliced", base.clone().slice([1..11, 2..6])),
        ] {
            let before: Vec<f32> = x.to_data().to_vec().unwrap();
            let got: Vec<f32> = logistic(x.clone())
                .unwrap_or_else(|_| panic!("NdArray<f32> takes the host path"))
                .into_data()
                .to_vec()
                .unwrap();
            let mut expected = before.clone();
            logistic_in_place(&mut expected);
            assert_eq!(got, expected, "{layout}");
            let after: Vec<f32> = x.into_data().to_vec().unwrap();
            assert_eq!(after, before, "{layout}: the shared input changed");
        }
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
