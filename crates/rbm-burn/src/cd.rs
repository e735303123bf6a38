//! Contrastive divergence (CD-k) and persistent contrastive divergence (PCD), computed directly
//! from positive and negative statistics — no autodiff, no `backward`.
//!
//! One update on a batch `v₀` (Hinton 2002; Tieleman 2008 for PCD):
//!
//! 1. positive phase: `p₀ = p(h | v₀)`;
//! 2. negative phase: `k` Gibbs steps from `h ~ p₀` (CD) or from the persistent chains' hidden
//!    states (PCD), ending in a visible sample `v_k` and `p_k = p(h | v_k)`;
//! 3. gradient estimate `ΔW = v₀ᵀp₀/n − v_kᵀp_k/m`, `Δa = ⟨v₀⟩ − ⟨v_k⟩`, `Δb = ⟨p₀⟩ − ⟨p_k⟩`
//!    (hidden *probabilities* in the statistics, which lowers the variance at no cost);
//! 4. momentum update `velocity ← μ·velocity + ε·(Δ − λW)`, `θ ← θ + velocity`, with μ following
//!    the initial → final schedule of Hinton's practical guide and L2 weight decay λ on the
//!    weights only; an optional sparsity penalty pulls each hidden unit's running mean activity
//!    towards a target.
//!
//! Other unit types change only the conditionals used for sampling and the statistics: for
//! Gaussian visible units the statistics use `v / σ` for `v` and the visible-bias gradient is
//! divided by `σ`; learned standard deviations (`z = ln σ²`) follow
//! `⟨(v − a)²/2σ² − (v/σ) ⊙ (hWᵀ)/2⟩_data − ⟨…⟩_model` (Cho, Ilin & Raiko 2011). For softmax
//! visible units, CD-k keeps missing (all-zero) groups out of the negative phase too.

use std::time::Instant;

use burn::config::Config;
use burn::tensor::{backend::Backend, ElementConversion, Tensor};
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::{index::sample, SliceRandom};
use rand::SeedableRng;

use crate::checkpoint::{Checkpoints, MONITOR_SALT};
use crate::data::{check_width, TrainingData};
use crate::error::{self, RbmError};
use crate::fused::Workspace;
use crate::gradient::{column_mean, GradientEstimate, RbmGradient, WeightStatistic};
use crate::host;
use crate::metrics::{
    pseudo_log_likelihood, reconstruction_error, EpochMetrics, TrainingHistory, TrainingObserver,
};
use crate::rbm::{advanced, matmul, Rbm};
use crate::units::VisibleUnits;

/// A penalty that keeps each hidden unit's mean activity near `target` (Hinton's practical
/// guide, section 11).
///
/// The learner keeps a running mean `q ← decay·q + (1 − decay)·⟨p(h | v)⟩` and subtracts
/// `cost·(q − target)` from the hidden-bias gradient and `cost·⟨v⟩(q − target)ᵀ` from the
/// weight gradient.
#[derive(Config, Debug, PartialEq)]
pub struct SparsityConfig {
    /// Desired mean activation of each hidden unit, in (0, 1); 0.01–0.1 is typical.
    pub target: f64,
    /// Strength of the penalty, ≥ 0.
    pub cost: f64,
    /// Decay of the running mean of activations, in [0, 1).
    #[config(default = 0.9)]
    pub decay: f64,
}

/// Hyperparameters of contrastive-divergence training.
///
/// Defaults follow Hinton's practical guide and his MNIST code: CD-1, learning rate 0.1,
/// momentum 0.5 for the first 5 epochs then 0.9, weight decay 2·10⁻⁴, batches of 100.
#[derive(Config, Debug, PartialEq)]
pub struct ContrastiveDivergenceConfig {
    /// Gibbs steps per update (the k of CD-k), ≥ 1.
    #[config(default = 1)]
    pub k: usize,
    /// Keep the negative chains across updates (persistent CD) instead of restarting them at
    /// the data.
    #[config(default = false)]
    pub persistent: bool,
    /// Learning rate ε, finite and > 0.
    #[config(default = 0.1)]
    pub learning_rate: f64,
    /// With a value, the learning rate falls linearly from `learning_rate` in the first epoch
    /// to this value in the last (`epochs − 1`, 0-based) and stays there; finite and > 0.
    /// (With `epochs = 1` only the initial rate is used.)
    /// A decaying rate lets PCD settle instead of oscillating around a good model (Tieleman
    /// 2008 decays it linearly to zero).
    #[config(default = "None")]
    pub final_learning_rate: Option<f64>,
    /// Momentum for epochs before `momentum_switch_epoch`, in [0, 1).
    #[config(default = 0.5)]
    pub initial_momentum: f64,
    /// Momentum from `momentum_switch_epoch` on, in [0, 1).
    #[config(default = 0.9)]
    pub final_momentum: f64,
    /// First epoch (0-based) that uses `final_momentum`.
    #[config(default = 5)]
    pub momentum_switch_epoch: usize,
    /// L2 weight-decay coefficient λ on the weights, finite and ≥ 0.
    #[config(default = 0.0002)]
    pub weight_decay: f64,
    /// Optional sparsity penalty on the hidden units.
    #[config(default = "None")]
    pub sparsity: Option<SparsityConfig>,
    /// Rows per update, ≥ 1. PCD keeps as many chains as the first batch it sees has rows
    /// (`batch_size`, or fewer when the data set is smaller).
    #[config(default = 100)]
    pub batch_size: usize,
    /// Length of the training schedule in epochs. `fit` trains until the learner's epoch
    /// counter reaches it: every epoch for a new learner, the remaining ones for a learner
    /// resumed from a checkpoint.
    #[config(default = 10)]
    pub epochs: usize,
    /// Seed of every random choice of the learner: shuffling, Gibbs sampling, metrics.
    #[config(default = 42)]
    pub seed: u64,
    /// Visit the rows in a new random order every epoch.
    #[config(default = true)]
    pub shuffle: bool,
    /// How many training rows (a fixed random subset) the per-epoch metrics are computed on.
    #[config(default = 1000)]
    pub monitor_size: usize,
}

impl ContrastiveDivergenceConfig {
    /// Checks every hyperparameter.
    ///
    /// # Errors
    /// [`RbmError::InvalidHyperparameter`] naming the first invalid field.
    pub fn validate(&self) -> error::Result<()> {
        fn invalid(
            name: &'static str,
            value: impl ToString,
            reason: &'static str,
        ) -> error::Result<()> {
            Err(RbmError::InvalidHyperparameter {
                name,
                value: value.to_string(),
                reason,
            })
        }
        let unit_interval = |x: f64| x.is_finite() && (0.0..1.0).contains(&x);
        if self.k == 0 {
            return invalid("k", self.k, "at least one Gibbs step is needed");
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return invalid(
                "learning_rate",
                self.learning_rate,
                "must be finite and > 0",
            );
        }
        if let Some(rate) = self.final_learning_rate {
            if !(rate.is_finite() && rate > 0.0) {
                return invalid("final_learning_rate", rate, "must be finite and > 0");
            }
        }
        if !unit_interval(self.initial_momentum) {
            return invalid(
                "initial_momentum",
                self.initial_momentum,
                "must be in [0, 1)",
            );
        }
        if !unit_interval(self.final_momentum) {
            return invalid("final_momentum", self.final_momentum, "must be in [0, 1)");
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return invalid("weight_decay", self.weight_decay, "must be finite and >= 0");
        }
        if self.batch_size == 0 {
            return invalid("batch_size", self.batch_size, "must be at least 1");
        }
        if self.monitor_size == 0 {
            return invalid("monitor_size", self.monitor_size, "must be at least 1");
        }
        if let Some(sparsity) = &self.sparsity {
            if !(sparsity.target.is_finite() && sparsity.target > 0.0 && sparsity.target < 1.0) {
                return invalid("sparsity.target", sparsity.target, "must be in (0, 1)");
            }
            if !(sparsity.cost.is_finite() && sparsity.cost >= 0.0) {
                return invalid("sparsity.cost", sparsity.cost, "must be finite and >= 0");
            }
            if !unit_interval(sparsity.decay) {
                return invalid("sparsity.decay", sparsity.decay, "must be in [0, 1)");
            }
        }
        Ok(())
    }

    /// A learner with these (validated) hyperparameters.
    ///
    /// # Errors
    /// As [`ContrastiveDivergenceConfig::validate`].
    pub fn init<B: Backend>(&self) -> error::Result<ContrastiveDivergence<B>> {
        self.validate()?;
        Ok(ContrastiveDivergence {
            config: self.clone(),
            rng: Xoshiro256PlusPlus::seed_from_u64(self.seed),
            epoch: 0,
            batch: 0,
            state: None,
            checkpoints: None,
            workspace: Default::default(),
        })
    }
}

/// A contrastive-divergence learner: the hyperparameters plus the state that persists between
/// updates (momentum buffers, persistent chains, the sparsity running mean, the random stream
/// and the epoch counter that drives the momentum schedule).
///
/// Works for any backend, `Autodiff<_>` included: every tensor it computes with is detached, so
/// no autodiff graph is built, and the updated parameters keep their gradient requirement.
#[derive(Debug)]
pub struct ContrastiveDivergence<B: Backend> {
    pub(crate) config: ContrastiveDivergenceConfig,
    pub(crate) rng: Xoshiro256PlusPlus,
    pub(crate) epoch: usize,
    pub(crate) batch: usize,
    pub(crate) state: Option<LearnerState<B>>,
    /// Where and how often `fit` writes checkpoints (not part of the checkpoint itself).
    pub(crate) checkpoints: Option<Checkpoints>,
    /// Buffers of the fused host update, kept between updates (not part of checkpoints).
    pub(crate) workspace: Workspace,
}

#[derive(Debug)]
pub(crate) struct LearnerState<B: Backend> {
    pub(crate) velocity: RbmGradient<B>,
    /// Hidden states of the persistent chains, `[chains, n_hidden]`.
    pub(crate) chains: Option<Tensor<B, 2>>,
    /// Running mean activity of each hidden unit, `[n_hidden]`.
    pub(crate) hidden_activity: Option<Tensor<B, 1>>,
}

impl<B: Backend> ContrastiveDivergence<B> {
    /// The hyperparameters.
    pub fn config(&self) -> &ContrastiveDivergenceConfig {
        &self.config
    }

    /// The current epoch (0-based), which selects the momentum.
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// Sets the current epoch, for users who run their own loop with [`Self::step`]; `fit`
    /// advances it by itself.
    pub fn set_epoch(&mut self, epoch: usize) {
        self.epoch = epoch;
        self.batch = 0;
    }

    /// The momentum of the current epoch.
    pub fn momentum(&self) -> f64 {
        if self.epoch < self.config.momentum_switch_epoch {
            self.config.initial_momentum
        } else {
            self.config.final_momentum
        }
    }

    /// The learning rate of the current epoch (see
    /// [`ContrastiveDivergenceConfig::final_learning_rate`]).
    pub fn learning_rate(&self) -> f64 {
        let initial = self.config.learning_rate;
        match self.config.final_learning_rate {
            None => initial,
            Some(last) => {
                let span = self.config.epochs.saturating_sub(1).max(1);
                let progress = self.epoch.min(span) as f64 / span as f64;
                initial + (last - initial) * progress
            }
        }
    }

    /// The persistent chains' "fantasy particles" as pictures: the visible means
    /// `E[v | h]` of [`Self::persistent_chains`] under `rbm` (the model being trained).
    ///
    /// # Shapes
    /// - output: `[chains, n_visible]`
    pub fn fantasy_particles(&self, rbm: &Rbm<B>) -> Option<Tensor<B, 2>> {
        self.persistent_chains()
            .map(|hidden| rbm.detached().visible_probs(hidden))
    }

    /// The hidden states of the persistent chains ("fantasy particles"), once PCD has made an
    /// update.
    ///
    /// # Shapes
    /// - output: `[chains, n_hidden]`
    pub fn persistent_chains(&self) -> Option<Tensor<B, 2>> {
        self.state.as_ref().and_then(|state| state.chains.clone())
    }

    /// The CD-k / PCD estimate of the log-likelihood gradient on `batch`, without changing the
    /// parameters (persistent chains do advance). Averaging many estimates approaches the exact
    /// gradient as `k` grows (CD) or as the chains mix (PCD with a small learning rate).
    ///
    /// # Shapes
    /// - `batch`: `[batch, n_visible]`, values in `[0, 1]`
    ///
    /// # Errors
    /// An empty batch, a width other than `n_visible`, NaN/Inf or values outside `[0, 1]`.
    pub fn estimate_gradient(
        &mut self,
        rbm: &Rbm<B>,
        batch: Tensor<B, 2>,
    ) -> error::Result<RbmGradient<B>> {
        self.check_model(rbm)?;
        check_batch(rbm, &batch)?;
        let params = rbm.detached();
        let batch = batch.detach();
        Ok(self.gradient(&params, batch, 1.0).0.into_gradient())
    }

    /// One update on `batch`, for users who run their own loop. The batch is checked first and
    /// the new parameters afterwards, which reads two small values back from the device per
    /// call; [`Self::fit`] checks once per data set and epoch instead.
    ///
    /// # Shapes
    /// - `batch`: `[batch, n_visible]`, values in `[0, 1]`
    ///
    /// # Errors
    /// Invalid data as in [`Self::estimate_gradient`]; [`RbmError::Diverged`] if the update is
    /// not finite.
    pub fn step(&mut self, rbm: Rbm<B>, batch: Tensor<B, 2>) -> error::Result<Rbm<B>> {
        self.check_model(&rbm)?;
        check_batch(&rbm, &batch)?;
        let (epoch, batch_index) = (self.epoch, self.batch);
        let (rbm, health) = self.update(rbm, batch.detach());
        if !health.into_scalar().elem::<f64>().is_finite() {
            return Err(RbmError::Diverged {
                epoch,
                batch: batch_index,
            });
        }
        Ok(rbm)
    }

    /// Trains `rbm` on `data` from the current epoch ([`Self::epoch`], 0 for a new learner)
    /// up to `config.epochs`, writing checkpoints if [`Self::with_checkpoints`] asked for
    /// them. A learner that has finished its schedule returns `rbm` unchanged and an empty
    /// history.
    ///
    /// # Errors
    /// Invalid data (checked before the first update, or per batch for streamed datasets),
    /// [`RbmError::Diverged`] naming the first epoch and batch whose update was not finite, and
    /// [`RbmError::File`] when a checkpoint cannot be written.
    pub fn fit<D: TrainingData<B>>(
        &mut self,
        rbm: Rbm<B>,
        data: &D,
    ) -> error::Result<(Rbm<B>, TrainingHistory)> {
        self.fit_with(rbm, data, None, &mut ())
    }

    /// [`Self::fit`] with an optional validation set (its mean free energy is reported per
    /// epoch) and an observer that is told about every batch and epoch.
    ///
    /// # Shapes
    /// - `validation`: `[rows, n_visible]`, values in `[0, 1]`
    ///
    /// # Errors
    /// As [`Self::fit`], and invalid validation data.
    pub fn fit_with<D: TrainingData<B>, O: TrainingObserver + ?Sized>(
        &mut self,
        rbm: Rbm<B>,
        data: &D,
        validation: Option<&Tensor<B, 2>>,
        observer: &mut O,
    ) -> error::Result<(Rbm<B>, TrainingHistory)> {
        self.fit_until(rbm, data, validation, observer, self.config.epochs)
    }

    /// [`Self::fit_with`] that stops once the epoch counter reaches `stop_epoch` (or the end of
    /// the schedule, if that comes first), so that a caller can do something between epochs
    /// — save its own checkpoint, say — and then call it again to go on with the schedule.
    ///
    /// # Errors
    /// As [`Self::fit_with`].
    pub fn fit_until<D: TrainingData<B>, O: TrainingObserver + ?Sized>(
        &mut self,
        mut rbm: Rbm<B>,
        data: &D,
        validation: Option<&Tensor<B, 2>>,
        observer: &mut O,
        stop_epoch: usize,
    ) -> error::Result<(Rbm<B>, TrainingHistory)> {
        self.check_model(&rbm)?;
        let n_visible = rbm.n_visible();
        let n_rows = data.n_rows();
        if n_rows == 0 {
            return Err(RbmError::EmptyData);
        }
        let columns = data.n_columns()?;
        if columns != n_visible {
            return Err(RbmError::WidthMismatch {
                expected: n_visible,
                actual: columns,
            });
        }
        let units = rbm.visible_units;
        data.check_values(&units)?;
        if let Some(validation) = validation {
            check_width(validation.dims(), n_visible)?;
            units.check_data(validation)?;
        }
        let device = rbm.device();
        // The monitored rows come from a stream of their own, so that a run resumed from a
        // checkpoint monitors the same rows and draws the same numbers as an uninterrupted one.
        let monitor_rows = self.config.monitor_size.min(n_rows);
        let mut monitor_rng = Xoshiro256PlusPlus::seed_from_u64(self.config.seed ^ MONITOR_SALT);
        let mut monitor_indices = sample(&mut monitor_rng, n_rows, monitor_rows).into_vec();
        monitor_indices.sort_unstable();
        let monitor = data.monitor_rows(&monitor_indices, &units, &device)?;

        let batch_size = self.config.batch_size;
        let n_batches = n_rows.div_ceil(batch_size);
        let mut history = TrainingHistory::default();
        while self.epoch < self.config.epochs.min(stop_epoch) {
            let epoch = self.epoch;
            let momentum = self.momentum();
            let started = Instant::now();
            // Each epoch's order depends only on the random stream, which checkpoints keep.
            let mut order: Vec<usize> = (0..n_rows).collect();
            if self.config.shuffle {
                order.shuffle(&mut self.rng);
            }
            let mut health = Vec::with_capacity(n_batches);
            for (batch_index, indices) in order.chunks(batch_size).enumerate() {
                let batch = data.rows(indices, &units, &device)?;
                let (updated, batch_health) = self.update(rbm, batch.detach());
                rbm = updated;
                health.push(batch_health);
                observer.on_batch_end(epoch, batch_index, n_batches);
            }
            // One read-back per epoch: the first non-finite update names the batch.
            let health: Vec<f64> = Tensor::cat(health, 0).into_data().iter::<f64>().collect();
            if let Some(batch) = health.iter().position(|h| !h.is_finite()) {
                return Err(RbmError::Diverged { epoch, batch });
            }
            let seconds = started.elapsed().as_secs_f64();
            let metrics = self.epoch_metrics(
                &rbm, &monitor, validation, epoch, momentum, n_batches, seconds,
            );
            observer.on_epoch_end(&metrics);
            history.epochs.push(metrics);
            self.set_epoch(epoch + 1);
            if let Some(checkpoints) = &self.checkpoints {
                if checkpoints.due(self.epoch, self.config.epochs) {
                    let path = checkpoints.path.clone();
                    self.save_checkpoint(&rbm, &path)?;
                    observer.on_checkpoint(self.epoch, &path);
                }
            }
        }
        Ok((rbm, history))
    }

    #[allow(clippy::too_many_arguments)]
    fn epoch_metrics(
        &mut self,
        rbm: &Rbm<B>,
        monitor: &Tensor<B, 2>,
        validation: Option<&Tensor<B, 2>>,
        epoch: usize,
        momentum: f64,
        batches: usize,
        seconds: f64,
    ) -> EpochMetrics {
        let mut parts = vec![
            reconstruction_error(rbm, monitor.clone()),
            rbm.free_energy(monitor.clone()).mean(),
            pseudo_log_likelihood(rbm, monitor.clone(), &mut self.rng).mean(),
        ];
        // (NaN for unit types without a pseudo-likelihood, as the metric documents.)
        if let Some(validation) = validation {
            parts.push(rbm.free_energy(validation.clone()).mean());
        }
        let values: Vec<f64> = Tensor::cat(parts, 0).into_data().iter::<f64>().collect();
        EpochMetrics {
            epoch,
            reconstruction_error: values[0],
            free_energy_train: values[1],
            pseudo_log_likelihood: values[2],
            free_energy_validation: values.get(3).copied(),
            momentum,
            batches,
            seconds,
        }
    }

    /// One parameter update on a checked, detached batch. Returns the new RBM and the sum of
    /// all its parameters, left on the device so that callers decide when to read it. The sum is
    /// non-finite when any new parameter is (Inf or NaN), and otherwise only when the parameters
    /// are so large (≳ 10³² on average) that their sum overflows f32: divergence either way.
    fn update(&mut self, rbm: Rbm<B>, batch: Tensor<B, 2>) -> (Rbm<B>, Tensor<B, 1>) {
        // Binary RBMs on `NdArray<f32>` take the same update fused on the host.
        let (rbm, batch) = match self.fused_update(rbm, batch) {
            Ok(updated) => return updated,
            Err(inputs) => *inputs,
        };
        let params = rbm.detached();
        // The learning rate is folded into the statistics, so that the `[V, H]` update below is
        // as few element-wise passes as possible: it dominates the cost outside the products.
        let (learning_rate, weight_decay) = (self.learning_rate(), self.config.weight_decay);
        let (mut step, positive) = self.gradient(&params, batch, learning_rate);
        if let Some(sparsity) = self.config.sparsity.clone() {
            let current = column_mean(positive.hidden.clone());
            let state = self.state_mut(&params);
            let activity = match state.hidden_activity.take() {
                Some(previous) => previous * sparsity.decay + current * (1.0 - sparsity.decay),
                None => current,
            };
            state.hidden_activity = Some(activity.clone());
            let excess = (activity - sparsity.target) * (sparsity.cost * learning_rate);
            step.weights = step
                .weights
                .minus_outer(column_mean(positive.scaled_visible), excess.clone());
            step.hidden_bias = step.hidden_bias - excess;
        }

        let momentum = self.momentum();
        let mut state = match self.state.take() {
            Some(state) => state,
            None => LearnerState::new(&params),
        };
        let velocity = state.velocity;
        let visible_bias_velocity = velocity.visible_bias * momentum + step.visible_bias;
        let hidden_bias_velocity = velocity.hidden_bias * momentum + step.hidden_bias;
        let log_variance_velocity = match (velocity.visible_log_variance, step.visible_log_variance)
        {
            (Some(previous), Some(step)) => Some(previous * momentum + step),
            (None, Some(step)) => Some(step),
            (previous, None) => previous,
        };
        // The detached copies share the parameters' buffers; without them the parameters are
        // unshared too, and the additions below reuse their memory.
        drop(params);
        let Rbm {
            weights,
            visible_bias,
            hidden_bias,
            visible_log_variance,
            visible_units,
            hidden_units,
        } = rbm;
        // The velocities are owned and unshared here, so backends that can (NdArray) update
        // them and the parameters in place.
        let mut weights_velocity = None;
        let weights = weights.map(|w| {
            let (w, v) = momentum_step(
                w,
                velocity.weights,
                step.weights,
                momentum,
                learning_rate * weight_decay,
            );
            weights_velocity = Some(v);
            w
        });
        let weights_velocity = weights_velocity.expect("`Param::map` calls its function");
        let visible_bias = visible_bias.map(|a| advanced(a, visible_bias_velocity.clone()));
        let hidden_bias = hidden_bias.map(|b| advanced(b, hidden_bias_velocity.clone()));
        let mut health = weights.val().sum() + visible_bias.val().sum() + hidden_bias.val().sum();
        let visible_log_variance = match (visible_log_variance, &log_variance_velocity) {
            (Some(z), Some(change)) => {
                let z = z.map(|z| advanced(z, change.clone()));
                health = health + z.val().sum();
                Some(z)
            }
            (z, _) => z,
        };
        state.velocity = RbmGradient {
            weights: weights_velocity,
            visible_bias: visible_bias_velocity,
            hidden_bias: hidden_bias_velocity,
            visible_log_variance: log_variance_velocity,
        };
        self.state = Some(state);
        let updated = Rbm {
            weights,
            visible_bias,
            hidden_bias,
            visible_log_variance,
            visible_units,
            hidden_units,
        };
        self.batch += 1;
        (updated, health)
    }

    /// `scale` times the CD-k / PCD gradient estimate on `batch`, and the batch's positive
    /// phase.
    fn gradient(
        &mut self,
        params: &Rbm<B>,
        batch: Tensor<B, 2>,
        scale: f64,
    ) -> (GradientEstimate<B>, Positive<B>) {
        let persistent = self.config.persistent;
        let chains = if persistent {
            self.state_mut(params).chains.take()
        } else {
            None
        };
        let hidden_units = params.hidden_units;
        // The first visible sample of persistent chains does not depend on the batch, so the
        // hidden inputs of both are one matrix product with twice the rows (a GEMM that runs
        // faster than two halves on a CPU).
        let mut first_negative = None;
        let positive = match chains {
            Some(chains) => {
                let visible = params.sample_visible(chains, &mut self.rng);
                let (positive, activations) = Positive::with_chains(params, batch, visible.clone());
                first_negative = Some((visible, activations));
                positive
            }
            None => Positive::new(params, batch),
        };
        let mut hidden = match first_negative {
            Some(_) => None,
            None => Some(hidden_units.sample(
                positive.activations.clone(),
                positive.hidden.clone(),
                &mut self.rng,
            )),
        };
        // CD chains start at the data, so they keep its missing entries out; PCD chains are
        // free-running samples of the model and have none.
        let mask = if persistent {
            None
        } else {
            params.visible_units.observed(&positive.visible)
        };
        let mut negative = None;
        for step in 0..self.config.k {
            let (visible, activations) = match first_negative.take() {
                Some(first) => first,
                None => {
                    let hidden = hidden
                        .take()
                        .expect("each step samples the next hidden state");
                    let mut visible = params.sample_visible(hidden, &mut self.rng);
                    if let Some(mask) = &mask {
                        visible = visible * mask.clone();
                    }
                    let activations = params.hidden_activations(visible.clone());
                    (visible, activations)
                }
            };
            let hidden_mean = hidden_units.mean(activations.clone());
            if step + 1 < self.config.k || persistent {
                hidden = Some(hidden_units.sample(activations, hidden_mean.clone(), &mut self.rng));
            }
            negative = Some((visible, hidden_mean));
        }
        if persistent {
            self.state_mut(params).chains = hidden;
        }
        let (negative_visible, negative_hidden) = negative.expect("k >= 1 is validated");
        let mut gradient = GradientEstimate::from_statistics(
            positive.scaled_visible.clone(),
            positive.hidden.clone(),
            params.scaled_visible(negative_visible.clone()),
            negative_hidden.clone(),
            scale,
        );
        if let Some(sigma) = params.sigma() {
            gradient.visible_bias = gradient.visible_bias / sigma;
        }
        if let VisibleUnits::Gaussian { learn_sigma: true } = params.visible_units {
            let data =
                log_variance_statistic(params, positive.visible.clone(), positive.hidden.clone());
            let model = log_variance_statistic(params, negative_visible, negative_hidden);
            gradient.visible_log_variance = Some((data - model) * scale);
        }
        (gradient, positive)
    }

    /// The learner's state (momentum, chains) has the shape of the first RBM it trained; a
    /// learner is for one model size.
    fn check_model(&self, rbm: &Rbm<B>) -> error::Result<()> {
        let Some(state) = &self.state else {
            return Ok(());
        };
        let expected = state.velocity.weights.dims();
        let actual = [rbm.n_visible(), rbm.n_hidden()];
        if expected != actual {
            return Err(RbmError::ShapeMismatch {
                what: "rbm weights (this learner's state was built for another size)",
                expected: expected.to_vec(),
                actual: actual.to_vec(),
            });
        }
        Ok(())
    }

    fn state_mut(&mut self, params: &Rbm<B>) -> &mut LearnerState<B> {
        self.state.get_or_insert_with(|| LearnerState::new(params))
    }
}

impl<B: Backend> LearnerState<B> {
    /// Zero velocities of `params`' shapes, no chains, no activity average.
    pub(crate) fn new(params: &Rbm<B>) -> Self {
        Self {
            velocity: RbmGradient {
                weights: params.weights.val().zeros_like(),
                visible_bias: params.visible_bias.val().zeros_like(),
                hidden_bias: params.hidden_bias.val().zeros_like(),
                visible_log_variance: None,
            },
            chains: None,
            hidden_activity: None,
        }
    }
}

/// One momentum step of the weights, `v ← μ v + s − c w` then `w ← w + v`. On `NdArray<f32>`
/// the statistic `s` is added into the velocity's buffer by the GEMM that computes it
/// ([`WeightStatistic::added_to`]) and the rest is one pass ([`host::apply_velocity`]); other
/// backends run the same steps as tensor operations. Returns the new weights (with the
/// gradient requirement of `weights`) and velocity.
///
/// # Shapes
/// - `weights`, `velocity`: `[n_visible, n_hidden]`; outputs: the same
fn momentum_step<B: Backend>(
    weights: Tensor<B, 2>,
    velocity: Tensor<B, 2>,
    step: WeightStatistic<B>,
    momentum: f64,
    decay: f64,
) -> (Tensor<B, 2>, Tensor<B, 2>) {
    let velocity = step.added_to(velocity, momentum);
    match host::apply_velocity(weights, velocity, decay) {
        Ok([weights, velocity]) => (weights, velocity),
        Err([weights, mut velocity]) => {
            if decay > 0.0 {
                velocity = velocity - weights.clone().detach() * decay;
            }
            (advanced(weights, velocity.clone()), velocity)
        }
    }
}

fn check_batch<B: Backend>(rbm: &Rbm<B>, batch: &Tensor<B, 2>) -> error::Result<()> {
    check_width(batch.dims(), rbm.n_visible())?;
    rbm.visible_units.check_data(batch)
}

/// The positive phase of one update: the batch, its view from the hidden layer, and the
/// hidden units' inputs and means given it.
struct Positive<B: Backend> {
    /// `v₀`, `[n, n_visible]`.
    visible: Tensor<B, 2>,
    /// `v₀ / σ` for Gaussian units, `v₀` otherwise.
    scaled_visible: Tensor<B, 2>,
    /// `(v₀/σ) W + b`, `[n, n_hidden]`.
    activations: Tensor<B, 2>,
    /// The hidden means `p₀`, `[n, n_hidden]`.
    hidden: Tensor<B, 2>,
}

impl<B: Backend> Positive<B> {
    /// The positive phase of `visible`, and the hidden inputs of `chains_visible` from the
    /// same matrix product.
    ///
    /// # Shapes
    /// - `visible`: `[n, n_visible]`, `chains_visible`: `[m, n_visible]`
    /// - second output: `[m, n_hidden]`
    fn with_chains(
        params: &Rbm<B>,
        visible: Tensor<B, 2>,
        chains_visible: Tensor<B, 2>,
    ) -> (Self, Tensor<B, 2>) {
        let (n, m) = (visible.dims()[0], chains_visible.dims()[0]);
        let scaled_visible = params.scaled_visible(visible.clone());
        let both = Tensor::cat(
            vec![
                scaled_visible.clone(),
                params.scaled_visible(chains_visible),
            ],
            0,
        );
        let activations = params.hidden_activations_of_scaled(both);
        let chain_activations = activations.clone().narrow(0, n, m);
        let activations = activations.narrow(0, 0, n);
        let hidden = params.hidden_units.mean(activations.clone());
        let positive = Self {
            visible,
            scaled_visible,
            activations,
            hidden,
        };
        (positive, chain_activations)
    }

    fn new(params: &Rbm<B>, visible: Tensor<B, 2>) -> Self {
        let scaled_visible = params.scaled_visible(visible.clone());
        let activations = params.hidden_activations_of_scaled(scaled_visible.clone());
        let hidden = params.hidden_units.mean(activations.clone());
        Self {
            visible,
            scaled_visible,
            activations,
            hidden,
        }
    }
}

/// `⟨∂(−E)/∂z⟩` over the rows for Gaussian units with `z = ln σ²`:
/// the column means of `(v − a)² / 2σ² − (v/σ) ⊙ (hWᵀ) / 2`.
///
/// # Shapes
/// - `visible`: `[n, n_visible]`, `hidden`: `[n, n_hidden]`, output: `[n_visible]`
fn log_variance_statistic<B: Backend>(
    params: &Rbm<B>,
    visible: Tensor<B, 2>,
    hidden: Tensor<B, 2>,
) -> Tensor<B, 1> {
    let inverse_sigma = params
        .visible_log_variance
        .as_ref()
        .expect("Gaussian units have a variance")
        .val()
        .mul_scalar(-0.5)
        .exp()
        .unsqueeze::<2>();
    let centred =
        (visible.clone() - params.visible_bias.val().unsqueeze::<2>()) * inverse_sigma.clone();
    let field = matmul(hidden, params.weights.val().transpose());
    let statistic = centred.square() * 0.5 - visible * inverse_sigma * field * 0.5;
    column_mean(statistic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    #[test]
    fn the_learning_rate_decays_linearly_to_its_final_value() {
        let mut learner = ContrastiveDivergenceConfig::new()
            .with_learning_rate(0.1)
            .with_final_learning_rate(Some(0.02))
            .with_epochs(5)
            .init::<NdArray>()
            .unwrap();
        let mut rates = Vec::new();
        for epoch in 0..7 {
            learner.set_epoch(epoch);
            rates.push(learner.learning_rate());
        }
        // 0.1 → 0.02 over epochs 0–4 in steps of 0.02, then constant.
        for (got, want) in rates.iter().zip([0.1, 0.08, 0.06, 0.04, 0.02, 0.02, 0.02]) {
            assert!((got - want).abs() < 1e-12, "{rates:?}");
        }
        let constant = ContrastiveDivergenceConfig::new()
            .init::<NdArray>()
            .unwrap();
        assert_eq!(constant.learning_rate(), 0.1);
    }
}
