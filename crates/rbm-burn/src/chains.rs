//! Long Gibbs chains: samples from the model, and conditional (clamped) sampling that fills in
//! missing parts of the data.
//!
//! # Free-running chains
//!
//! [`Rbm::sample_chains`] runs block Gibbs sampling `v → h → v` from given starting states
//! (random states from [`Rbm::random_visible`], data rows, or the persistent "fantasy
//! particles" of PCD training from
//! [`ContrastiveDivergence::fantasy_particles`](crate::ContrastiveDivergence::fantasy_particles)),
//! discards `burn_in` steps and then keeps every `thinning`-th state. Each kept state is either
//! the sampled visible vector or, with [`ChainOutput::Means`], the visible means `E[v | h]` of
//! that step, which show a sample without the binary noise.
//!
//! # Clamped chains (inpainting)
//!
//! [`Rbm::fill_in`] samples `p(v_u | v_k)`: the *known* units `v_k` (where the mask is true)
//! stay fixed at the data, and after each `h ~ p(h | v)` only the unknown units `v_u` are
//! resampled from `p(v_u | h)`. Because the visible units are conditionally independent given
//! `h`, this is exact Gibbs sampling of the conditional distribution for any mask. With
//! [`ChainOutput::Means`] the result averages `E[v_u | h]` over the steps after burn-in (a
//! Rao–Blackwellised estimate of `E[v_u | v_k]`, the filling with the least expected squared
//! error); with [`ChainOutput::Samples`] it is the chain's last state.

use burn::config::Config;
use burn::tensor::{backend::Backend, Bool, Tensor};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::data::check_width;
use crate::error::{self, RbmError};
use crate::params;
use crate::rbm::Rbm;

/// What a chain reports for each kept step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ChainOutput {
    /// The visible means `E[v | h]` of the step (probabilities for binary units): smooth
    /// pictures, and lower-variance estimates.
    #[default]
    Means,
    /// The sampled visible states themselves.
    Samples,
}

/// Settings of free-running Gibbs chains ([`Rbm::sample_chains`]).
#[derive(Config, Debug, PartialEq)]
pub struct GibbsChainConfig {
    /// Gibbs steps run and discarded before the first kept state.
    #[config(default = 1000)]
    pub burn_in: usize,
    /// Gibbs steps from one kept state to the next (≥ 1): the first kept state is step
    /// `burn_in + thinning`.
    #[config(default = 100)]
    pub thinning: usize,
    /// States kept per chain (≥ 1).
    #[config(default = 1)]
    pub samples: usize,
    /// Means or sampled states.
    #[config(default = "ChainOutput::Means")]
    pub output: ChainOutput,
}

impl GibbsChainConfig {
    /// Checks that `thinning` and `samples` are at least 1 and the total number of steps fits.
    ///
    /// # Errors
    /// [`RbmError::InvalidHyperparameter`] naming the invalid field.
    pub fn validate(&self) -> error::Result<()> {
        for (name, value) in [("thinning", self.thinning), ("samples", self.samples)] {
            if value == 0 {
                return Err(RbmError::InvalidHyperparameter {
                    name,
                    value: value.to_string(),
                    reason: "must be at least 1",
                });
            }
        }
        self.total_steps().map(|_| ())
    }

    /// `burn_in + thinning · samples`.
    fn total_steps(&self) -> error::Result<usize> {
        self.thinning
            .checked_mul(self.samples)
            .and_then(|kept| kept.checked_add(self.burn_in))
            .ok_or_else(|| RbmError::InvalidHyperparameter {
                name: "burn_in + thinning * samples",
                value: format!("{} + {} * {}", self.burn_in, self.thinning, self.samples),
                reason: "too many steps",
            })
    }
}

/// Settings of clamped Gibbs sampling ([`Rbm::fill_in`]).
#[derive(Config, Debug, PartialEq)]
pub struct FillInConfig {
    /// Steps run and discarded before averaging starts.
    #[config(default = 50)]
    pub burn_in: usize,
    /// Steps after burn-in (≥ 1); with [`ChainOutput::Means`] their means are averaged.
    #[config(default = 200)]
    pub steps: usize,
    /// The average of the means after burn-in, or the last sampled state.
    #[config(default = "ChainOutput::Means")]
    pub output: ChainOutput,
}

impl<B: Backend> Rbm<B> {
    /// Random visible states to start chains from: fair coin flips for binary units, a
    /// uniformly chosen unit per softmax group, and `N(a, σ²)` draws for Gaussian units.
    ///
    /// # Shapes
    /// - output: `[n, n_visible]`
    pub fn random_visible<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Tensor<B, 2> {
        self.visible.random_states(n, rng)
    }

    /// Runs one Gibbs chain from each row of `start` and returns the kept states, in order:
    /// `samples` tensors of the shape of `start` (see the [module docs](crate::chains)).
    ///
    /// # Shapes
    /// - `start`: `[chains, n_visible]`, values the visible units can take
    /// - output: `samples` tensors `[chains, n_visible]`
    ///
    /// # Errors
    /// An invalid config, or a start that does not fit the model.
    pub fn sample_chains<R: Rng + ?Sized>(
        &self,
        start: Tensor<B, 2>,
        config: &GibbsChainConfig,
        rng: &mut R,
    ) -> error::Result<Vec<Tensor<B, 2>>> {
        config.validate()?;
        check_width(start.dims(), self.n_visible())?;
        self.visible_units().check_data(&start)?;
        let rbm = params::detached(self);
        let mut visible = start;
        let mut kept = Vec::with_capacity(config.samples);
        for step in 1..=config.total_steps()? {
            let hidden = rbm.sample_hidden(visible, rng);
            let mean = rbm.visible_probs(hidden);
            visible = rbm.visible.sample(mean.clone(), rng);
            if step > config.burn_in && (step - config.burn_in).is_multiple_of(config.thinning) {
                kept.push(match config.output {
                    ChainOutput::Means => mean,
                    ChainOutput::Samples => visible.clone(),
                });
            }
        }
        Ok(kept)
    }

    /// Fills in the units of `visible` where `known` is false by Gibbs sampling of
    /// `p(v_unknown | v_known)`, keeping the known units fixed (see the
    /// [module docs](crate::chains)). Unknown entries of `visible` are ignored and may be
    /// anything, NaN included; they start at the model's visible means given `h = 0`.
    ///
    /// For softmax units, each group must be entirely known or entirely unknown.
    ///
    /// # Shapes
    /// - `visible`: `[batch, n_visible]`; known entries must pass the training-data checks of
    ///   the unit type (in `[0, 1]` for binary units, so probabilities are accepted and stay
    ///   clamped as they are; whole one-hot or all-zero groups for softmax units)
    /// - `known`: `[batch, n_visible]`, true where the value is given
    /// - output: `[batch, n_visible]`, equal to `visible` where `known` is true
    ///
    /// # Errors
    /// An invalid config (`steps` = 0), a width or mask shape that does not fit, known values
    /// the units cannot take, or a mask that splits a softmax group.
    pub fn fill_in<R: Rng + ?Sized>(
        &self,
        visible: Tensor<B, 2>,
        known: Tensor<B, 2, Bool>,
        config: &FillInConfig,
        rng: &mut R,
    ) -> error::Result<Tensor<B, 2>> {
        if config.steps == 0 {
            return Err(RbmError::InvalidHyperparameter {
                name: "steps",
                value: "0".into(),
                reason: "must be at least 1",
            });
        }
        check_width(visible.dims(), self.n_visible())?;
        if known.dims() != visible.dims() {
            return Err(RbmError::ShapeMismatch {
                what: "known",
                expected: visible.dims().to_vec(),
                actual: known.dims().to_vec(),
            });
        }
        let rbm = params::detached(self);
        let [rows, columns] = visible.dims();
        let device = rbm.device();
        let unknown = known.clone().bool_not();
        rbm.visible.check_known(&known)?;
        let clamped = visible.mask_fill(unknown.clone(), 0.0);
        rbm.visible_units().check_data(&clamped)?;
        let prior = rbm.visible_probs(Tensor::zeros([rows, rbm.n_hidden()], &device));
        let mut state = clamped.clone().mask_where(unknown.clone(), prior);
        let mut total = Tensor::<B, 2>::zeros([rows, columns], &device);
        let total_steps = config.burn_in.checked_add(config.steps).ok_or_else(|| {
            RbmError::InvalidHyperparameter {
                name: "burn_in + steps",
                value: format!("{} + {}", config.burn_in, config.steps),
                reason: "too many steps",
            }
        })?;
        for step in 1..=total_steps {
            let hidden = rbm.sample_hidden(state, rng);
            let mean = rbm.visible_probs(hidden);
            let sample = rbm.visible.sample(mean.clone(), rng);
            state = clamped.clone().mask_where(unknown.clone(), sample);
            if step > config.burn_in && config.output == ChainOutput::Means {
                total = total + mean;
            }
        }
        Ok(match config.output {
            ChainOutput::Samples => state,
            ChainOutput::Means => clamped.mask_where(unknown, total / config.steps as f64),
        })
    }
}
