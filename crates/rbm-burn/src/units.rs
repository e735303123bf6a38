//! Unit types: what values each layer takes, its conditional distribution given the other
//! layer, and what it contributes to the free energy.
//!
//! Every unit type below keeps the RBM's bipartite energy, so both conditionals factorise and
//! block Gibbs sampling works unchanged; only the per-unit distribution differs.
//!
//! | visible units | values | `p(v_i \| h)` given the input `x = a + hWᵀ` | visible energy term |
//! |---|---|---|---|
//! | [`VisibleUnits::Bernoulli`] | `{0, 1}` (data in `[0, 1]`) | `Bernoulli(σ(x_i))` | `−aᵀv` |
//! | [`VisibleUnits::Gaussian`] | real | `N(a_i + σ_i (hWᵀ)_i, σ_i²)` | `Σ (v_i − a_i)² / 2σ_i²` |
//! | [`VisibleUnits::Softmax`] | one-hot groups of `K` | `softmax` of `x` over the group | `−aᵀv` |
//!
//! Gaussian units enter the hidden layer's input scaled, as `(v / σ) W + b` (the energy
//! `Σ (v_i − a_i)² / 2σ_i² − bᵀh − Σ (v_i / σ_i) W_ij h_j`).
//!
//! | hidden units | values | `h_j` given the input `y = vW + b` | free-energy term |
//! |---|---|---|---|
//! | [`HiddenUnits::Bernoulli`] | `{0, 1}` | `Bernoulli(σ(y_j))` | `−Σ softplus(y_j)` |
//! | [`HiddenUnits::Relu`] | `[0, ∞)` | `max(0, y_j + N(0, σ(y_j)))` | `−Σ_j Σ_{n≥1} softplus(y_j − n + ½)` |
//!
//! Noisy rectified linear units (Nair & Hinton 2010) approximate an infinite set of binary
//! copies of a unit with shared weights and biases offset by `−½, −1½, −2½, …` ("stepped
//! sigmoid units"); their sampling uses the approximation and their free energy is the exact
//! one of the stepped sigmoid units, summed in closed form up to terms below `e⁻²⁰`.

use std::fmt;

use burn::tensor::{activation, backend::Backend, ElementConversion, Tensor};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::data::{check_binary, check_finite, check_finite_in_unit_interval};
use crate::error::{RbmError, Result};
use crate::rbm::{sigmoid, softplus};
use crate::sampling::{bernoulli, normal, uniform};

/// Largest deviation of a softmax group's sum from 1 that is accepted as "sums to one"
/// (probabilities stored as `f32`).
pub const GROUP_SUM_TOLERANCE: f64 = 1e-4;

/// Terms of the stepped-sigmoid series kept on each side of the unit's input: the omitted
/// terms add up to less than `2 e⁻²⁰ ≈ 4·10⁻⁹` per unit.
const STEPPED_SIGMOID_TERMS: usize = 20;

/// The type of the visible units.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub enum VisibleUnits {
    /// Binary units; data may be probabilities in `[0, 1]` (the default).
    #[default]
    Bernoulli,
    /// Real-valued units with Gaussian conditionals of standard deviation `σ_i` (the
    /// Gaussian–Bernoulli RBM). With `learn_sigma: false` the standard deviations stay at
    /// their initial value (standardise the data and keep `σ = 1`, Hinton's practical guide,
    /// section 13.2); with `true` they are learned as `z_i = ln σ_i²` (Cho, Ilin & Raiko 2011).
    ///
    /// Gaussian visible units need a learning rate one or two orders of magnitude smaller than
    /// binary ones (e.g. 0.001–0.01 rather than 0.1): their reconstructions are unbounded, and
    /// a large step makes the weights explode.
    Gaussian {
        /// Learn the standard deviations of the visible units.
        learn_sigma: bool,
    },
    /// Categorical units: the visible layer is split into `n_visible / group_size` consecutive
    /// groups of `group_size` units, each one-hot (one of `K` values, e.g. a rating of 1–5).
    /// A group that is all zeros is a missing entry: it is left out of the positive statistics
    /// and of the reconstruction error, and kept out of the negative phase of CD-k, as in RBM
    /// collaborative filtering (Salakhutdinov, Mnih & Hinton 2007).
    Softmax {
        /// Units per group, `K ≥ 2`; it must divide `n_visible`.
        group_size: usize,
    },
}

/// The type of the hidden units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum HiddenUnits {
    /// Binary units (the default).
    #[default]
    Bernoulli,
    /// Noisy rectified linear units (Nair & Hinton 2010): `max(0, y + N(0, σ(y)))` when
    /// sampled, `max(0, y)` as the mean-field value.
    Relu,
}

impl fmt::Display for VisibleUnits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bernoulli => write!(f, "Bernoulli visible units"),
            Self::Gaussian { learn_sigma: false } => write!(f, "Gaussian visible units (fixed σ)"),
            Self::Gaussian { learn_sigma: true } => {
                write!(f, "Gaussian visible units (learned σ)")
            }
            Self::Softmax { group_size } => {
                write!(f, "softmax visible units (groups of {group_size})")
            }
        }
    }
}

impl fmt::Display for HiddenUnits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bernoulli => write!(f, "Bernoulli hidden units"),
            Self::Relu => write!(f, "ReLU hidden units"),
        }
    }
}

impl VisibleUnits {
    /// Checks that this unit type fits a layer of `n_visible` units.
    ///
    /// # Errors
    /// [`RbmError::InvalidHyperparameter`] for a softmax group size below 2 or one that does
    /// not divide `n_visible`.
    pub fn validate(&self, n_visible: usize) -> Result<()> {
        if let Self::Softmax { group_size } = *self {
            if group_size < 2 || !n_visible.is_multiple_of(group_size) {
                return Err(RbmError::InvalidHyperparameter {
                    name: "group_size",
                    value: group_size.to_string(),
                    reason: "softmax groups need at least 2 units and must divide n_visible",
                });
            }
        }
        Ok(())
    }

    /// Whether these are Gaussian units.
    pub fn is_gaussian(&self) -> bool {
        matches!(self, Self::Gaussian { .. })
    }

    /// The mean of each visible unit given its total input `x` (for Gaussian units the input
    /// already is the mean).
    ///
    /// # Shapes
    /// - `activations`: `[batch, n_visible]`, output: the same
    pub(crate) fn mean<B: Backend>(&self, activations: Tensor<B, 2>) -> Tensor<B, 2> {
        match *self {
            Self::Bernoulli => sigmoid(activations),
            Self::Gaussian { .. } => activations,
            Self::Softmax { group_size } => {
                let [rows, columns] = activations.dims();
                activation::softmax(grouped(activations, group_size), 2).reshape([rows, columns])
            }
        }
    }

    /// A sample of the visible units given their mean (and, for Gaussian units, their
    /// standard deviations).
    ///
    /// # Shapes
    /// - `mean`: `[batch, n_visible]`, `sigma`: `[n_visible]`, output: `[batch, n_visible]`
    pub(crate) fn sample<B: Backend, R: Rng + ?Sized>(
        &self,
        mean: Tensor<B, 2>,
        sigma: Option<Tensor<B, 1>>,
        rng: &mut R,
    ) -> Tensor<B, 2> {
        match *self {
            Self::Bernoulli => bernoulli(mean, rng),
            Self::Gaussian { .. } => {
                let noise = normal::<B, R, 2>(rng, mean.dims(), &mean.device());
                let noise = match sigma {
                    Some(sigma) => noise * sigma.unsqueeze::<2>(),
                    None => noise,
                };
                mean + noise
            }
            Self::Softmax { group_size } => categorical(mean, group_size, rng),
        }
    }

    /// The 0/1 mask of observed entries (softmax groups that are not all zero), or `None`
    /// when every entry counts.
    ///
    /// # Shapes
    /// - `visible`: `[batch, n_visible]`, output: the same
    pub(crate) fn observed<B: Backend>(&self, visible: &Tensor<B, 2>) -> Option<Tensor<B, 2>> {
        let Self::Softmax { group_size } = *self else {
            return None;
        };
        let [rows, columns] = visible.dims();
        Some(
            group_sums(visible.clone(), group_size)
                .greater_elem(0.5)
                .float()
                .unsqueeze_dim::<3>(2)
                .repeat_dim(2, group_size)
                .reshape([rows, columns]),
        )
    }

    /// The part of the energy that involves the visible units alone: `−aᵀv` for binary and
    /// softmax units, `Σ (v_i − a_i)² / 2σ_i²` for Gaussian ones.
    ///
    /// # Shapes
    /// - `visible`: `[batch, n_visible]`, `bias`, `sigma`: `[n_visible]`, output: `[batch]`
    pub(crate) fn energy_term<B: Backend>(
        &self,
        visible: Tensor<B, 2>,
        bias: Tensor<B, 1>,
        sigma: Option<Tensor<B, 1>>,
    ) -> Tensor<B, 1> {
        match (self, sigma) {
            (Self::Gaussian { .. }, Some(sigma)) => {
                ((visible - bias.unsqueeze::<2>()) / sigma.unsqueeze::<2>())
                    .square()
                    .sum_dim(1)
                    .squeeze_dim::<1>(1)
                    * 0.5
            }
            _ => visible
                .matmul(bias.unsqueeze_dim::<2>(1))
                .squeeze_dim::<1>(1)
                .neg(),
        }
    }

    /// `Σ_i log Σ_{v_i} exp(…)` over the visible layer given the inputs `u` from a hidden
    /// state: `Σ softplus(u_i)` for binary units, `Σ_groups logsumexp(u_group)` for softmax
    /// units, and `Σ u_i² / 2` for Gaussian units, whose inputs are `u = a/σ + hWᵀ` (the
    /// Gaussian integral leaves the constant `Σ ln(√(2π) σ_i) − a_i² / 2σ_i²` to the caller).
    ///
    /// # Shapes
    /// - `inputs`: `[rows, n_visible]`, output: `[rows]`
    pub(crate) fn log_partition_terms<B: Backend>(&self, inputs: Tensor<B, 2>) -> Tensor<B, 1> {
        let per_row = match *self {
            Self::Bernoulli => softplus(inputs).sum_dim(1),
            Self::Gaussian { .. } => inputs.square().sum_dim(1) * 0.5,
            Self::Softmax { group_size } => {
                let [rows, columns] = inputs.dims();
                let grouped = grouped(inputs, group_size);
                let max = grouped.clone().max_dim(2);
                let log_sum = (grouped - max.clone()).exp().sum_dim(2).log() + max;
                log_sum.reshape([rows, columns / group_size]).sum_dim(1)
            }
        };
        per_row.squeeze_dim::<1>(1)
    }

    /// Checks training data on the device: finite for Gaussian units, in `[0, 1]` for binary
    /// units, and valid groups (in `[0, 1]`, each summing to 1 or all zero) for softmax units.
    ///
    /// # Shapes
    /// - `data`: `[rows, n_visible]`
    pub(crate) fn check_data<B: Backend>(&self, data: &Tensor<B, 2>) -> Result<()> {
        match *self {
            Self::Bernoulli => check_finite_in_unit_interval(data),
            Self::Gaussian { .. } => check_finite(data),
            Self::Softmax { group_size } => {
                check_finite_in_unit_interval(data)?;
                check_groups(data, group_size, true)
            }
        }
    }

    /// Checks data for an exact likelihood: binary for binary units, complete one-hot groups
    /// for softmax units, finite for Gaussian units.
    ///
    /// # Shapes
    /// - `data`: `[rows, n_visible]`
    pub(crate) fn check_states<B: Backend>(&self, data: &Tensor<B, 2>) -> Result<()> {
        match *self {
            Self::Bernoulli => check_binary(data),
            Self::Gaussian { .. } => check_finite(data),
            Self::Softmax { group_size } => {
                check_binary(data)?;
                check_groups(data, group_size, false)
            }
        }
    }

    /// Checks one row on the host, as [`Self::check_data`] does on the device.
    pub(crate) fn check_row(&self, values: &[f32], row: usize) -> Result<()> {
        for &value in values {
            if !value.is_finite() {
                return Err(RbmError::NonFiniteData { row: Some(row) });
            }
            if !self.is_gaussian() && !(0.0..=1.0).contains(&value) {
                return Err(RbmError::ValueOutOfRange {
                    value: value as f64,
                    row: Some(row),
                });
            }
        }
        if let Self::Softmax { group_size } = *self {
            for (group, values) in values.chunks(group_size).enumerate() {
                let sum: f64 = values.iter().map(|&v| v as f64).sum();
                if sum != 0.0 && (sum - 1.0).abs() > GROUP_SUM_TOLERANCE {
                    return Err(RbmError::InvalidGroup {
                        group,
                        group_size,
                        sum,
                        row: Some(row),
                    });
                }
            }
        }
        Ok(())
    }
}

impl HiddenUnits {
    /// The mean-field value of each hidden unit given its input `y`: `σ(y)` for binary units,
    /// `max(0, y)` for ReLU units.
    ///
    /// # Shapes
    /// - `activations`: `[batch, n_hidden]`, output: the same
    pub(crate) fn mean<B: Backend>(&self, activations: Tensor<B, 2>) -> Tensor<B, 2> {
        match self {
            Self::Bernoulli => sigmoid(activations),
            Self::Relu => activations.clamp_min(0.0),
        }
    }

    /// A sample of the hidden units given their input `y` and mean-field value.
    ///
    /// # Shapes
    /// - `activations`, `mean`: `[batch, n_hidden]`, output: the same
    pub(crate) fn sample<B: Backend, R: Rng + ?Sized>(
        &self,
        activations: Tensor<B, 2>,
        mean: Tensor<B, 2>,
        rng: &mut R,
    ) -> Tensor<B, 2> {
        match self {
            Self::Bernoulli => bernoulli(mean, rng),
            Self::Relu => {
                let noise = normal::<B, R, 2>(rng, activations.dims(), &activations.device());
                (activations.clone() + noise * sigmoid(activations).sqrt()).clamp_min(0.0)
            }
        }
    }

    /// `log Σ_h exp(hᵀy)` summed over the hidden units, the negative of their free-energy
    /// term: `Σ softplus(y_j)` for binary units; for ReLU units the stepped-sigmoid series
    /// `Σ_j Σ_{n≥1} softplus(y_j − n + ½)`, which is `m y − m²/2` with `m = max(0, ⌊y + ½⌋)`
    /// plus the rapidly vanishing terms `ln(1 + e^{−|y − n + ½|})`.
    ///
    /// # Shapes
    /// - `activations`: `[rows, n_hidden]`, output: `[rows]`
    pub(crate) fn log_partition_terms<B: Backend>(
        &self,
        activations: Tensor<B, 2>,
    ) -> Tensor<B, 1> {
        let per_unit = match self {
            Self::Bernoulli => softplus(activations),
            Self::Relu => stepped_sigmoid_log_partition(activations),
        };
        per_unit.sum_dim(1).squeeze_dim::<1>(1)
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

/// One draw per softmax group from the group's probabilities.
///
/// The unit chosen is the first whose cumulative probability exceeds a uniform draw `u`; the
/// last unit of each group counts as exceeding it, so rounding in the cumulative sum can never
/// leave a group empty.
///
/// # Shapes
/// - `probs`: `[batch, n_visible]`, output: the same, one-hot per group
fn categorical<B: Backend, R: Rng + ?Sized>(
    probs: Tensor<B, 2>,
    group_size: usize,
    rng: &mut R,
) -> Tensor<B, 2> {
    let [rows, columns] = probs.dims();
    let groups = columns / group_size;
    let device = probs.device();
    let cumulative = grouped(probs, group_size).cumsum(2);
    let u = uniform::<B, R, 3>(rng, [rows, groups, 1], &device).repeat_dim(2, group_size - 1);
    let exceeds = cumulative.narrow(2, 0, group_size - 1).greater(u).float();
    let ones = Tensor::<B, 3>::ones([rows, groups, 1], &device);
    let zeros = Tensor::<B, 3>::zeros([rows, groups, 1], &device);
    let upto = Tensor::cat(vec![exceeds.clone(), ones], 2);
    let before = Tensor::cat(vec![zeros, exceeds], 2);
    (upto - before).reshape([rows, columns])
}

/// Views `[rows, groups · group_size]` as `[rows, groups, group_size]`.
pub(crate) fn grouped<B: Backend>(x: Tensor<B, 2>, group_size: usize) -> Tensor<B, 3> {
    let [rows, columns] = x.dims();
    x.reshape([rows, columns / group_size, group_size])
}

/// The sum of each group of `group_size` consecutive columns.
///
/// # Shapes
/// - `x`: `[rows, groups · group_size]`, output: `[rows, groups]`
pub(crate) fn group_sums<B: Backend>(x: Tensor<B, 2>, group_size: usize) -> Tensor<B, 2> {
    let [rows, columns] = x.dims();
    grouped(x, group_size)
        .sum_dim(2)
        .reshape([rows, columns / group_size])
}

/// Checks that each group of `group_size` columns sums to one (or to zero when `allow_missing`).
fn check_groups<B: Backend>(
    data: &Tensor<B, 2>,
    group_size: usize,
    allow_missing: bool,
) -> Result<()> {
    let groups = data.dims()[1] / group_size;
    let sums = group_sums(data.clone(), group_size);
    let off = (sums.clone() - 1.0).abs();
    let mut bad = off.greater_elem(GROUP_SUM_TOLERANCE).float();
    if allow_missing {
        bad = bad * sums.clone().not_equal_elem(0.0).float();
    }
    let flat = bad.flatten::<1>(0, 1);
    let worst = flat.clone().max().into_scalar().elem::<f64>();
    if worst > 0.0 {
        let index = flat.argmax(0).into_scalar().elem::<i64>() as usize;
        let sum = sums
            .flatten::<1>(0, 1)
            .narrow(0, index, 1)
            .into_scalar()
            .elem::<f64>();
        return Err(RbmError::InvalidGroup {
            group: index % groups,
            group_size,
            sum,
            row: Some(index / groups),
        });
    }
    Ok(())
}
