//! Noisy rectified linear hidden units (Nair & Hinton 2010).
//!
//! A unit stands for infinitely many binary copies with shared weights and biases offset by
//! `−½, −1½, −2½, …` ("stepped sigmoid units"). Sampling uses the approximation
//! `max(0, y + N(0, σ(y)))`; the free energy is the exact one of the stepped sigmoid units,
//! `−Σ_j Σ_{n≥1} softplus(y_j − n + ½)`, summed in closed form up to terms below `e⁻²⁰`.

use burn::module::{Module, Param};
use burn::tensor::{backend::Backend, Tensor};
use rand::Rng;

use crate::kernels::sigmoid;
use crate::params::{keep_require_grad, value_param};
use crate::sampling::normal;

/// Terms of the stepped-sigmoid series kept on each side of the unit's input: the omitted
/// terms add up to less than `2 e⁻²⁰ ≈ 4·10⁻⁹` per unit.
const STEPPED_SIGMOID_TERMS: usize = 20;

/// A layer of noisy rectified linear units and their biases.
#[derive(Module, Debug)]
pub struct Relu<B: Backend> {
    /// The biases, shape `[units]`.
    pub bias: Param<Tensor<B, 1>>,
}

impl<B: Backend> Relu<B> {
    pub(crate) fn new(bias: Tensor<B, 1>) -> Self {
        Self {
            bias: Param::from_tensor(bias),
        }
    }

    pub(crate) fn with_bias(self, bias: Tensor<B, 1>) -> Self {
        Self {
            bias: self.bias.map(|old| keep_require_grad(&old, bias)),
        }
    }

    /// A value of this layer's shape holding a gradient for its biases.
    pub(crate) fn gradient(&self, bias: Tensor<B, 1>) -> Self {
        Self {
            bias: value_param(bias),
        }
    }

    /// `max(0, y)`.
    pub(crate) fn mean(&self, activations: Tensor<B, 2>) -> Tensor<B, 2> {
        activations.clamp_min(0.0)
    }

    /// `max(0, y + N(0, σ(y)))`.
    pub(crate) fn sample_hidden<R: Rng + ?Sized>(
        &self,
        activations: Tensor<B, 2>,
        _mean: Tensor<B, 2>,
        rng: &mut R,
    ) -> Tensor<B, 2> {
        let noise = normal::<B, R, 2>(rng, activations.dims(), &activations.device());
        (activations.clone() + noise * sigmoid(activations).sqrt()).clamp_min(0.0)
    }

    /// `Σ_j Σ_{n≥1} softplus(y_j − n + ½)` for each row, which is `m y − m²/2` with
    /// `m = max(0, ⌊y + ½⌋)` plus the rapidly vanishing terms `ln(1 + e^{−|y − n + ½|})`.
    ///
    /// # Shapes
    /// - `activations`: `[rows, units]`, output: `[rows]`
    pub(crate) fn log_partition_terms(&self, activations: Tensor<B, 2>) -> Tensor<B, 1> {
        stepped_sigmoid_log_partition(activations)
            .sum_dim(1)
            .squeeze_dim::<1>(1)
    }
}

/// `Σ_{n≥1} softplus(y − n + ½)` for each element.
///
/// With `m = max(0, ⌊y + ½⌋)` the terms `n ≤ m` have non-negative argument `r + j`
/// (`r = y + ½ − m`, `j = m − n`) and the others negative argument `r − 1 − j`, so the sum is
/// `Σ_{n ≤ m} (y − n + ½) + Σ_{j < m} ln(1 + e^{−(r + j)}) + Σ_{j ≥ 0} ln(1 + e^{−(1 + j − r)})`,
/// the first sum being `m y − m²/2`.
fn stepped_sigmoid_log_partition<B: Backend>(y: Tensor<B, 2>) -> Tensor<B, 2> {
    let m = (y.clone() + 0.5).floor().clamp_min(0.0);
    let r = y.clone() + 0.5 - m.clone();
    let mut total = m.clone() * y - m.clone().square() * 0.5;
    for j in 0..STEPPED_SIGMOID_TERMS {
        let j = j as f64;
        let above = ((r.clone() + j).neg().exp() + 1.0).log() * m.clone().greater_elem(j).float();
        let below = ((r.clone() - (1.0 + j)).exp() + 1.0).log();
        total = total + above + below;
    }
    total
}
