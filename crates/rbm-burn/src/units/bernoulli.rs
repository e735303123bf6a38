//! Binary units, visible or hidden: `p(x = 1 | input y) = σ(y)`.

use burn::module::{Module, Param};
use burn::tensor::{backend::Backend, Tensor};
use rand::Rng;

use crate::data::{check_binary, check_finite_in_unit_interval};
use crate::error::{RbmError, Result};
use crate::kernels::{bernoulli, sigmoid};
use crate::params::{keep_require_grad, value_param};
use crate::sampling::uniform;

/// Visible marginals are clipped to `[CLIP, 1 - CLIP]` before `log(p / (1 - p))` so that a pixel
/// that is always off (or on) gets a large finite bias (about ∓6.9) rather than ∓∞.
pub const VISIBLE_BIAS_PROBABILITY_CLIP: f64 = 1e-3;

/// A layer of binary units and their biases. As visible units they also take probabilities in
/// `[0, 1]` as data (the mean of a binary unit), as is usual for MNIST intensities.
///
/// - conditional: `p(x_i = 1 | y) = σ(y_i)` given the total input `y` (bias included);
/// - energy term: `−bᵀx`; log-normaliser given the input: `Σ_i softplus(y_i)`.
#[derive(Module, Debug)]
pub struct Bernoulli<B: Backend> {
    /// The biases, shape `[units]`.
    pub bias: Param<Tensor<B, 1>>,
}

impl<B: Backend> Bernoulli<B> {
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

    /// `σ(y)`.
    ///
    /// # Shapes
    /// - `activations`: `[rows, units]`, output: the same
    pub(crate) fn mean(&self, activations: Tensor<B, 2>) -> Tensor<B, 2> {
        sigmoid(activations)
    }

    pub(crate) fn sample_visible<R: Rng + ?Sized>(
        &self,
        mean: Tensor<B, 2>,
        rng: &mut R,
    ) -> Tensor<B, 2> {
        bernoulli(mean, rng)
    }

    pub(crate) fn sample_hidden<R: Rng + ?Sized>(
        &self,
        _activations: Tensor<B, 2>,
        mean: Tensor<B, 2>,
        rng: &mut R,
    ) -> Tensor<B, 2> {
        bernoulli(mean, rng)
    }

    /// `−(a + shift)ᵀv` for each row.
    ///
    /// # Shapes
    /// - `visible`, `shift`: `[rows, units]`, output: `[rows]`
    pub(crate) fn visible_energy(
        &self,
        visible: Tensor<B, 2>,
        shift: Option<&Tensor<B, 2>>,
    ) -> Tensor<B, 1> {
        linear_energy(visible, self.bias.val(), shift)
    }

    /// `Σ_i softplus(y_i)` for each row.
    ///
    /// # Shapes
    /// - `inputs`: `[rows, units]`, output: `[rows]`
    pub(crate) fn log_partition_terms(&self, inputs: Tensor<B, 2>) -> Tensor<B, 1> {
        softplus(inputs).sum_dim(1).squeeze_dim::<1>(1)
    }

    pub(crate) fn independent_log_partition(&self) -> f64 {
        scalar(self.log_partition_terms(self.bias.val().unsqueeze()))
    }

    pub(crate) fn random_states<R: Rng + ?Sized>(&self, rows: usize, rng: &mut R) -> Tensor<B, 2> {
        let bias = self.bias.val();
        let shape = [rows, bias.dims()[0]];
        uniform::<B, R, 2>(rng, shape, &bias.device())
            .greater_elem(0.5)
            .float()
    }

    /// `log(p / (1 − p))` of each column's mean `p`, clipped to
    /// `[VISIBLE_BIAS_PROBABILITY_CLIP, 1 − VISIBLE_BIAS_PROBABILITY_CLIP]`.
    pub(crate) fn bias_from_data(&self, data: &Tensor<B, 2>) -> Tensor<B, 1> {
        let clip = VISIBLE_BIAS_PROBABILITY_CLIP;
        let p = super::column_mean(data.clone()).clamp(clip, 1.0 - clip);
        p.clone().log() - p.neg().log1p()
    }
}

/// `−(bias + shift)ᵀx` for each row, the energy term of binary and softmax units.
///
/// # Shapes
/// - `states`, `shift`: `[rows, units]`, `bias`: `[units]`, output: `[rows]`
pub(super) fn linear_energy<B: Backend>(
    states: Tensor<B, 2>,
    bias: Tensor<B, 1>,
    shift: Option<&Tensor<B, 2>>,
) -> Tensor<B, 1> {
    let mut energy = states
        .clone()
        .matmul(bias.unsqueeze_dim::<2>(1))
        .squeeze_dim::<1>(1)
        .neg();
    if let Some(shift) = shift {
        energy = energy - (states * shift.clone()).sum_dim(1).squeeze_dim::<1>(1);
    }
    energy
}

/// The one value of a one-element tensor.
pub(super) fn scalar<B: Backend>(x: Tensor<B, 1>) -> f64 {
    use burn::tensor::ElementConversion;
    x.sum().into_scalar().elem::<f64>()
}

pub(super) fn check_data<B: Backend>(data: &Tensor<B, 2>) -> Result<()> {
    check_finite_in_unit_interval(data)
}

pub(super) fn check_states<B: Backend>(data: &Tensor<B, 2>) -> Result<()> {
    check_binary(data)
}

/// Finite and in `[0, 1]`, naming the row.
pub(super) fn check_row(values: &[f32], row: usize) -> Result<()> {
    for &value in values {
        if !value.is_finite() {
            return Err(RbmError::NonFiniteData { row: Some(row) });
        }
        if !(0.0..=1.0).contains(&value) {
            return Err(RbmError::ValueOutOfRange {
                value: value as f64,
                row: Some(row),
            });
        }
    }
    Ok(())
}

/// `log(1 + exp(x))` without overflow: `max(x, 0) + ln(1 + exp(-|x|))`.
///
/// `ln(1 + e)` rather than `log1p(e)`: for `e < 2⁻²⁴` it returns 0 instead of `≈ e`, an absolute
/// error below 6·10⁻⁸ that no sum of softplus terms can notice, and it is twice as fast on
/// `NdArray`, which matters when exact enumeration evaluates it 2^24 · n times.
///
/// # Shapes
/// - `x`: any, output: the same
pub(crate) fn softplus<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    x.clone().clamp_min(0.0) + (x.abs().neg().exp() + 1.0).log()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    #[test]
    fn softplus_is_stable_and_accurate() {
        let device = Default::default();
        let x = Tensor::<NdArray, 1>::from_floats(
            [-200.0, -30.0, -1.0, 0.0, 1.0, 30.0, 200.0],
            &device,
        );
        let expected: Vec<f32> = [-200.0f64, -30.0, -1.0, 0.0, 1.0, 30.0, 200.0]
            .iter()
            .map(|&x| {
                if x > 0.0 {
                    x + (-x).exp().ln_1p()
                } else {
                    x.exp().ln_1p()
                }
            })
            .map(|y| y as f32)
            .collect();
        let got: Vec<f32> = softplus(x).into_data().to_vec().unwrap();
        for (g, e) in got.iter().zip(&expected) {
            // The documented absolute accuracy 2^-24, plus f32 rounding of values up to 200.
            assert!((g - e).abs() <= 6e-8 + e.abs() * 1.2e-7, "{g} vs {e}");
        }
    }
}
