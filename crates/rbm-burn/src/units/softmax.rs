//! Softmax (categorical) visible units: consecutive groups of `K` units, one-hot in each row,
//! or all zero for a missing entry (Salakhutdinov, Mnih & Hinton 2007).
//!
//! - conditional: `p(v_g = e_k | h) = softmax(x_g)_k` given the group's inputs `x_g`;
//! - energy term `−aᵀv`; log-normaliser given the inputs: `Σ_groups logsumexp(x_g)`.

use burn::module::{Module, Param};
use burn::tensor::{activation, backend::Backend, Bool, ElementConversion, Tensor};
use rand::Rng;

use crate::data::{check_binary, check_finite_in_unit_interval};
use crate::error::{RbmError, Result};
use crate::params::{keep_require_grad, value_param};
use crate::sampling::uniform;

use super::bernoulli::{self, linear_energy, scalar, VISIBLE_BIAS_PROBABILITY_CLIP};

/// Largest deviation of a softmax group's sum from 1 that is accepted as "sums to one"
/// (probabilities stored as `f32`).
pub const GROUP_SUM_TOLERANCE: f64 = 1e-4;

/// A layer of softmax groups and their biases.
#[derive(Module, Debug)]
pub struct Softmax<B: Backend> {
    /// The biases, shape `[units]`.
    pub bias: Param<Tensor<B, 1>>,
    /// Units per group, `K ≥ 2`.
    group_size: usize,
}

impl<B: Backend> Softmax<B> {
    pub(crate) fn new(bias: Tensor<B, 1>, group_size: usize) -> Self {
        Self {
            bias: Param::from_tensor(bias),
            group_size,
        }
    }

    pub(crate) fn with_bias(self, bias: Tensor<B, 1>) -> Self {
        Self {
            bias: self.bias.map(|old| keep_require_grad(&old, bias)),
            ..self
        }
    }

    /// Units per group.
    pub fn group_size(&self) -> usize {
        self.group_size
    }

    /// A value of this layer's shape holding a gradient for its biases.
    pub(crate) fn gradient(&self, bias: Tensor<B, 1>) -> Self {
        Self {
            bias: value_param(bias),
            group_size: self.group_size,
        }
    }

    /// The softmax of each group.
    ///
    /// # Shapes
    /// - `activations`: `[rows, units]`, output: the same
    pub(crate) fn mean(&self, activations: Tensor<B, 2>) -> Tensor<B, 2> {
        let [rows, columns] = activations.dims();
        activation::softmax(grouped(activations, self.group_size), 2).reshape([rows, columns])
    }

    /// One draw per group from the group's probabilities.
    pub(crate) fn sample_visible<R: Rng + ?Sized>(
        &self,
        mean: Tensor<B, 2>,
        rng: &mut R,
    ) -> Tensor<B, 2> {
        categorical(mean, self.group_size, rng)
    }

    /// `−(a + shift)ᵀv` for each row.
    pub(crate) fn visible_energy(
        &self,
        visible: Tensor<B, 2>,
        shift: Option<&Tensor<B, 2>>,
    ) -> Tensor<B, 1> {
        linear_energy(visible, self.bias.val(), shift)
    }

    /// `Σ_groups logsumexp(x_g)` for each row.
    ///
    /// # Shapes
    /// - `inputs`: `[rows, units]`, output: `[rows]`
    pub(crate) fn log_partition_terms(&self, inputs: Tensor<B, 2>) -> Tensor<B, 1> {
        let [rows, columns] = inputs.dims();
        let grouped = grouped(inputs, self.group_size);
        let max = grouped.clone().max_dim(2);
        let log_sum = (grouped - max.clone()).exp().sum_dim(2).log() + max;
        log_sum
            .reshape([rows, columns / self.group_size])
            .sum_dim(1)
            .squeeze_dim::<1>(1)
    }

    pub(crate) fn independent_log_partition(&self) -> f64 {
        scalar(self.log_partition_terms(self.bias.val().unsqueeze()))
    }

    /// The 0/1 mask of observed entries: the units of groups that are not all zero.
    ///
    /// # Shapes
    /// - `visible`: `[rows, units]`, output: the same
    pub(crate) fn observed(&self, visible: &Tensor<B, 2>) -> Tensor<B, 2> {
        let [rows, columns] = visible.dims();
        group_sums(visible.clone(), self.group_size)
            .greater_elem(0.5)
            .float()
            .unsqueeze_dim::<3>(2)
            .repeat_dim(2, self.group_size)
            .reshape([rows, columns])
    }

    /// A uniformly chosen unit per group.
    pub(crate) fn random_states<R: Rng + ?Sized>(&self, rows: usize, rng: &mut R) -> Tensor<B, 2> {
        let units = self.bias.val().dims()[0];
        let flat = Tensor::zeros([rows, units], &self.bias.val().device());
        categorical(self.mean(flat), self.group_size, rng)
    }

    /// `log p` of each unit's frequency `p` among the rows where its group is observed,
    /// clipped below at [`VISIBLE_BIAS_PROBABILITY_CLIP`].
    pub(crate) fn bias_from_data(&self, data: &Tensor<B, 2>) -> Tensor<B, 1> {
        let clip = VISIBLE_BIAS_PROBABILITY_CLIP;
        let counts = super::column_mean(self.observed(data)).clamp_min(f64::MIN_POSITIVE);
        (super::column_mean(data.clone()) / counts)
            .clamp(clip, 1.0)
            .log()
    }
}

impl<B: Backend> Softmax<B> {
    /// Checks that a mask of known units knows each group entirely or not at all.
    ///
    /// # Shapes
    /// - `known`: `[rows, units]`
    pub(crate) fn check_known(&self, known: &Tensor<B, 2, Bool>) -> Result<()> {
        let [rows, columns] = known.dims();
        let group_size = self.group_size;
        let per_group = known
            .clone()
            .float()
            .reshape([rows, columns / group_size, group_size])
            .sum_dim(2);
        let split = per_group
            .clone()
            .greater_elem(0.0)
            .bool_and(per_group.lower_elem(group_size as f64))
            .any()
            .into_scalar()
            .elem::<bool>();
        if split {
            return Err(RbmError::UnsupportedUnits {
                operation: "a mask that knows only part of a softmax group",
                units: super::VisibleUnits::Softmax { group_size }.to_string(),
            });
        }
        Ok(())
    }
}

/// Checks that `group_size` is at least 2 and divides `n_visible`.
pub(super) fn validate(group_size: usize, n_visible: usize) -> Result<()> {
    if group_size < 2 || !n_visible.is_multiple_of(group_size) {
        return Err(RbmError::InvalidHyperparameter {
            name: "group_size",
            value: group_size.to_string(),
            reason: "softmax groups need at least 2 units and must divide n_visible",
        });
    }
    Ok(())
}

/// In `[0, 1]`, each group summing to 1 or all zero.
pub(super) fn check_data<B: Backend>(data: &Tensor<B, 2>, group_size: usize) -> Result<()> {
    check_finite_in_unit_interval(data)?;
    check_groups(data, group_size, true)
}

/// Binary, each group one-hot.
pub(super) fn check_states<B: Backend>(data: &Tensor<B, 2>, group_size: usize) -> Result<()> {
    check_binary(data)?;
    check_groups(data, group_size, false)
}

/// One row on the host, as [`check_data`] does on the device.
pub(super) fn check_row(values: &[f32], row: usize, group_size: usize) -> Result<()> {
    bernoulli::check_row(values, row)?;
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
    Ok(())
}

/// One draw per softmax group from the group's probabilities.
///
/// The unit chosen is the first whose cumulative probability exceeds a uniform draw `u`; the
/// last unit of each group counts as exceeding it, so rounding in the cumulative sum can never
/// leave a group empty.
///
/// # Shapes
/// - `probs`: `[batch, n_visible]`, output: the same, one-hot per group
pub(crate) fn categorical<B: Backend, R: Rng + ?Sized>(
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
