//! Gaussian visible units with standard deviations `σ_i`, kept as `z_i = ln σ_i²`.
//!
//! With the energy `Σ (v_i − a_i)² / 2σ_i² − bᵀh − Σ (v_i / σ_i) W_ij h_j`:
//! - conditional: `p(v_i | h) = N(a_i + σ_i (hWᵀ)_i, σ_i²)`; the hidden layer sees `v / σ`;
//! - summing the layer out for a fixed `h` is a Gaussian integral,
//!   `∫ exp(−(v − a)²/2σ² + v c/σ) dv = √(2π) σ exp(a c/σ + c²/2)` with `c = (hWᵀ)_i`, which is
//!   `u²/2` in `u = c + a/σ` plus the constant `ln(√(2π) σ) − a²/2σ²`;
//! - statistics: `∂(−E)/∂a_i = (v_i − a_i)/σ_i²` and, for learned `σ` (Cho, Ilin & Raiko
//!   2011), `∂(−E)/∂z_i = (v_i − a_i)²/2σ_i² − (v_i/σ_i)(hWᵀ)_i / 2`.

use burn::module::{Module, Param};
use burn::tensor::{backend::Backend, Tensor};
use rand::Rng;

use crate::data::check_finite;
use crate::error::{RbmError, Result};
use crate::params::{keep_require_grad, value_param};
use crate::sampling::normal;

use super::bernoulli::scalar;

/// `ln √(2π)`.
const HALF_LOG_TWO_PI: f64 = 0.918_938_533_204_672_8;

/// A layer of Gaussian units: biases (means with no hidden input) and `ln σ²`.
#[derive(Module, Debug)]
pub struct Gaussian<B: Backend> {
    /// The biases `a`, shape `[units]`.
    pub bias: Param<Tensor<B, 1>>,
    /// `z = ln σ²`, shape `[units]`.
    pub log_variance: Param<Tensor<B, 1>>,
    /// Whether contrastive divergence learns `z`.
    learn_sigma: bool,
}

impl<B: Backend> Gaussian<B> {
    /// Units with biases `bias` and standard deviations `sigma` (positive and finite, which
    /// the callers check).
    pub(crate) fn new(bias: Tensor<B, 1>, sigma: Tensor<B, 1>, learn_sigma: bool) -> Self {
        Self {
            bias: Param::from_tensor(bias),
            log_variance: Param::from_tensor(sigma.log() * 2.0),
            learn_sigma,
        }
    }

    pub(crate) fn with_bias(self, bias: Tensor<B, 1>) -> Self {
        Self {
            bias: self.bias.map(|old| keep_require_grad(&old, bias)),
            ..self
        }
    }

    /// The same units with standard deviations `sigma`.
    ///
    /// # Errors
    /// [`RbmError::ValueOutOfRange`] when some `σ_i` is not positive and finite.
    pub(crate) fn with_sigma(self, sigma: Tensor<B, 1>) -> Result<Self> {
        let log_variance = sigma.log() * 2.0;
        let worst = scalar(log_variance.clone().abs().max().reshape([1]));
        if !worst.is_finite() {
            return Err(RbmError::ValueOutOfRange {
                value: worst,
                row: None,
            });
        }
        Ok(Self {
            log_variance: self
                .log_variance
                .map(|old| keep_require_grad(&old, log_variance)),
            ..self
        })
    }

    /// Whether contrastive divergence learns the standard deviations.
    pub fn learns_sigma(&self) -> bool {
        self.learn_sigma
    }

    /// `σ = exp(z / 2)`.
    ///
    /// # Shapes
    /// - output: `[units]`
    pub fn sigma(&self) -> Tensor<B, 1> {
        (self.log_variance.val() * 0.5).exp()
    }

    fn inverse_sigma(&self) -> Tensor<B, 2> {
        (self.log_variance.val() * -0.5).exp().unsqueeze()
    }

    /// A value of this layer's shape holding gradients (zero for `z` when not given).
    pub(crate) fn gradient(&self, bias: Tensor<B, 1>, log_variance: Option<Tensor<B, 1>>) -> Self {
        let log_variance = log_variance.unwrap_or_else(|| bias.zeros_like());
        Self {
            bias: value_param(bias),
            log_variance: value_param(log_variance),
            learn_sigma: self.learn_sigma,
        }
    }

    /// `v / σ`, the visible states as the hidden layer sees them.
    ///
    /// # Shapes
    /// - `visible`: `[rows, units]`, output: the same
    pub(crate) fn scaled(&self, visible: Tensor<B, 2>) -> Tensor<B, 2> {
        visible * self.inverse_sigma()
    }

    /// The input is the mean.
    pub(crate) fn mean(&self, activations: Tensor<B, 2>) -> Tensor<B, 2> {
        activations
    }

    /// `mean + σ ε`, `ε ~ N(0, 1)`.
    pub(crate) fn sample_visible<R: Rng + ?Sized>(
        &self,
        mean: Tensor<B, 2>,
        rng: &mut R,
    ) -> Tensor<B, 2> {
        let noise = normal::<B, R, 2>(rng, mean.dims(), &mean.device());
        mean + noise * self.sigma().unsqueeze::<2>()
    }

    /// `Σ_i (v_i − a_i − shift_i)² / 2σ_i²` for each row.
    ///
    /// # Shapes
    /// - `visible`, `shift`: `[rows, units]`, output: `[rows]`
    pub(crate) fn visible_energy(
        &self,
        visible: Tensor<B, 2>,
        shift: Option<&Tensor<B, 2>>,
    ) -> Tensor<B, 1> {
        let mut centred = visible - self.bias.val().unsqueeze::<2>();
        if let Some(shift) = shift {
            centred = centred - shift.clone();
        }
        (centred * self.inverse_sigma())
            .square()
            .sum_dim(1)
            .squeeze_dim::<1>(1)
            * 0.5
    }

    /// `Σ u_i² / 2` for inputs `u = hWᵀ + a/σ` ([`Self::summed_out`] gives the rest of the
    /// Gaussian integral).
    ///
    /// # Shapes
    /// - `inputs`: `[rows, units]`, output: `[rows]`
    pub(crate) fn log_partition_terms(&self, inputs: Tensor<B, 2>) -> Tensor<B, 1> {
        inputs.square().sum_dim(1).squeeze_dim::<1>(1) * 0.5
    }

    /// `a / σ`, the bias of the inputs `u`, and `Σ ln(√(2π) σ_i) − a_i²/2σ_i²`.
    pub(crate) fn summed_out(&self) -> (Tensor<B, 1>, f64) {
        let sigma = self.sigma();
        let bias = self.bias.val() / sigma.clone();
        let terms = sigma.log() + HALF_LOG_TWO_PI - bias.clone().square() * 0.5;
        (bias, scalar(terms.sum()))
    }

    /// `Σ ln(√(2π) σ_i)`: the normaliser of independent `N(a_i, σ_i²)`.
    pub(crate) fn independent_log_partition(&self) -> f64 {
        let units = self.bias.val().dims()[0];
        scalar(self.sigma().log().sum()) + HALF_LOG_TWO_PI * units as f64
    }

    /// `N(a, σ²)` draws.
    pub(crate) fn random_states<R: Rng + ?Sized>(&self, rows: usize, rng: &mut R) -> Tensor<B, 2> {
        let mean = self.bias.val().unsqueeze::<2>().repeat_dim(0, rows);
        self.sample_visible(mean, rng)
    }

    /// The mean of each column.
    pub(crate) fn bias_from_data(&self, data: &Tensor<B, 2>) -> Tensor<B, 1> {
        super::column_mean(data.clone())
    }

    /// `(v − a − shift)/σ²` for each row, `∂(−E)/∂a`; without a shift `v / σ²`, leaving out
    /// `−a/σ²`, which cancels between the phases.
    pub(crate) fn bias_statistic(
        &self,
        visible: Tensor<B, 2>,
        shift: Option<&Tensor<B, 2>>,
    ) -> Tensor<B, 2> {
        let inverse_variance = (self.log_variance.val() * -1.0).exp().unsqueeze::<2>();
        match shift {
            None => visible * inverse_variance,
            Some(shift) => {
                (visible - self.bias.val().unsqueeze::<2>() - shift.clone()) * inverse_variance
            }
        }
    }

    /// `(v − â)²/2σ² − (v/σ) ⊙ field / 2` for each row, `∂(−E)/∂z` with `â = a + shift`.
    ///
    /// # Shapes
    /// - `visible`, `shift`, `field` (`hWᵀ`): `[rows, units]`, output: the same
    pub(crate) fn log_variance_statistic(
        &self,
        visible: Tensor<B, 2>,
        shift: Option<&Tensor<B, 2>>,
        field: Tensor<B, 2>,
    ) -> Tensor<B, 2> {
        let inverse_sigma = self.inverse_sigma();
        let mut centred = visible.clone() - self.bias.val().unsqueeze::<2>();
        if let Some(shift) = shift {
            centred = centred - shift.clone();
        }
        let centred = centred * inverse_sigma.clone();
        centred.square() * 0.5 - visible * inverse_sigma * field * 0.5
    }
}

pub(super) fn check_data<B: Backend>(data: &Tensor<B, 2>) -> Result<()> {
    check_finite(data)
}

/// Finite, naming the row.
pub(super) fn check_row(values: &[f32], row: usize) -> Result<()> {
    if values.iter().any(|value| !value.is_finite()) {
        return Err(RbmError::NonFiniteData { row: Some(row) });
    }
    Ok(())
}
