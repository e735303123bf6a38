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
//!
//! # One learner for every model
//!
//! The learner is written once for every model that implements [`CdModel`] (the RBM with all
//! its unit types, the conditional RBM): the model supplies its phases and its statistics in
//! its own shape, and the learner does the rest. Its velocity is a value of the model's type,
//! so the momentum step walks the parameters with Burn's module mapper, weight decay applies
//! to the parameters of rank 2 and more, and checkpoints are Burn records of the model and the
//! velocity (the checkpoint section below). The learner keeps the sparsity penalty's running
//! mean and hands `cost·(q − target)` to the model's statistics, which subtract it from the
//! data phase's hidden means for every parameter that multiplies a hidden unit: exactly the
//! penalty's gradient.
//!
//! How an update is computed is chosen once, in [`ContrastiveDivergenceConfig::init`]: in
//! Burn tensor operations on every backend, or by an accelerated step for one backend and
//! model (today the fused host update of binary RBMs on `NdArray<f32>`, `src/ndarray/`),
//! which computes the same update from the same random numbers.
//!
//! # Checkpoints and resuming
//!
//! A checkpoint holds everything that the next update depends on: the model (its structure and
//! parameters), the learner's hyperparameters, its epoch counter, the exact position of its
//! random stream (the state of its xoshiro256++ generator), the momentum velocity (a record of
//! the model's own type), the persistent chains and the sparsity running mean. Each epoch's
//! visiting order is drawn afresh from that stream and the monitored rows from a stream of
//! their own, so a run resumed from the checkpoint written after epoch `e` performs exactly
//! the updates that the uninterrupted run performed after epoch `e`, and on a deterministic
//! backend ends with bit-identical parameters.
//!
//! ```no_run
//! # use burn::backend::NdArray;
//! # use rbm_burn::{ContrastiveDivergence, ContrastiveDivergenceConfig, Rbm, RbmConfig};
//! # fn main() -> rbm_burn::Result<()> {
//! # let device = Default::default();
//! # let data = burn::tensor::Tensor::<NdArray, 2>::zeros([10, 4], &device);
//! let path = std::path::Path::new("rbm.ckpt");
//! let (learner, rbm) = if path.exists() {
//!     ContrastiveDivergence::<NdArray, Rbm<NdArray>>::load_checkpoint(path, &device)?
//! } else {
//!     let rbm = RbmConfig::new(4, 3).init(&device)?;
//!     (ContrastiveDivergenceConfig::new().with_epochs(100).init()?, rbm)
//! };
//! // Writes `rbm.ckpt` (atomically) after every 5th epoch and after the last one.
//! let mut learner = learner.with_checkpoints(path, 5)?;
//! let (rbm, _history) = learner.fit(rbm, &data)?;
//! # Ok(())
//! # }
//! ```

use std::time::Instant;

use burn::config::Config;
use burn::tensor::{backend::Backend, ElementConversion, Tensor};
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::{index::sample, SliceRandom};
use rand::SeedableRng;

use crate::data::{check_width, TrainingData};
use crate::error::{self, RbmError};
use crate::metrics::{EpochMetrics, TrainingHistory};
use crate::model::{CdModel, Phase};
use crate::observer::{Progress, TrainingObserver};
use crate::params;
use crate::rbm::Rbm;

pub mod centring;
pub(crate) mod checkpoint;
pub mod tempering;
pub(crate) mod update;

pub use centring::{CentredRbm, CentringConfig, Offsets};
pub use checkpoint::CdCheckpointRecord;
pub use tempering::TemperingConfig;
pub use update::UpdatePath;

use checkpoint::{Checkpoints, MONITOR_SALT};
use update::{TrainingState, UpdateSettings, UpdateStep};

/// A penalty that keeps each hidden unit's mean activity near `target` (Hinton's practical
/// guide, section 11).
///
/// The learner keeps a running mean `q ← decay·q + (1 − decay)·⟨p(h | v)⟩` of the data phase's
/// hidden means and subtracts `cost·(q − target)` from every parameter's gradient that
/// multiplies a hidden unit: the hidden biases' gradient, `cost·⟨v⟩(q − target)ᵀ` from the
/// weights' (with `v / σ` for Gaussian units), and for a conditional RBM
/// `cost·⟨u⟩(q − target)ᵀ` from the context-to-hidden weights'. Updates only:
/// [`ContrastiveDivergence::estimate_gradient`] leaves it out.
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
    /// Train the model centred (Melchior et al. 2016; see [`centring`]): binary RBMs only.
    #[config(default = "None")]
    pub centring: Option<CentringConfig>,
    /// Sample the negative phase by parallel tempering (see [`tempering`]) instead of CD-k or
    /// PCD: persistent chains at several temperatures (`persistent` is then implied), `k`
    /// Gibbs steps at each per update; binary RBMs only.
    #[config(default = "None")]
    pub tempering: Option<TemperingConfig>,
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
        if let Some(centring) = &self.centring {
            centring.validate()?;
        }
        if let Some(tempering) = &self.tempering {
            tempering.validate()?;
        }
        Ok(())
    }

    /// A learner with these (validated) hyperparameters for models of type `M` (an [`Rbm`]
    /// unless the model it is given says otherwise). The update step is chosen here, once:
    /// the accelerated step of the backend and model where this build has one (the fused host
    /// update of binary RBMs on `NdArray<f32>`), Burn tensor operations otherwise.
    ///
    /// # Errors
    /// As [`ContrastiveDivergenceConfig::validate`].
    pub fn init<B: Backend, M: CdModel<B>>(&self) -> error::Result<ContrastiveDivergence<B, M>> {
        self.validate()?;
        Ok(ContrastiveDivergence {
            config: self.clone(),
            rng: Xoshiro256PlusPlus::seed_from_u64(self.seed),
            epoch: 0,
            batch: 0,
            state: None,
            checkpoints: None,
            accelerated: update::accelerated::<B, M>(),
            last_path: None,
        })
    }
}

/// A contrastive-divergence learner: the hyperparameters plus the state that persists between
/// updates (momentum velocities, persistent chains, the sparsity running mean, the random
/// stream and the epoch counter that drives the momentum schedule), for models of type `M`.
///
/// Works for any backend, `Autodiff<_>` included: every tensor it computes with is detached, so
/// no autodiff graph is built, and the updated parameters keep their gradient requirement.
#[derive(Debug)]
pub struct ContrastiveDivergence<B: Backend, M: CdModel<B> = Rbm<B>> {
    config: ContrastiveDivergenceConfig,
    rng: Xoshiro256PlusPlus,
    epoch: usize,
    batch: usize,
    state: Option<TrainingState<B, M>>,
    /// Where and how often `fit` writes checkpoints (not part of the checkpoint itself).
    checkpoints: Option<Checkpoints>,
    /// The accelerated update step chosen at `init`, if any.
    accelerated: Option<Box<dyn UpdateStep<B, M>>>,
    /// Which path the last update took.
    last_path: Option<UpdatePath>,
}

impl<B: Backend, M: CdModel<B>> ContrastiveDivergence<B, M> {
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

    /// Computes every update in Burn tensor operations, even where an accelerated step exists
    /// for this backend and model (for comparing the two, or ruling one out).
    pub fn with_tensor_path(mut self) -> Self {
        self.accelerated = None;
        self
    }

    /// Which implementation computed the last update, `None` before the first.
    pub fn last_update_path(&self) -> Option<UpdatePath> {
        self.last_path
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
        crate::internal::linear_decay(
            self.config.learning_rate,
            self.config.final_learning_rate,
            self.config.epochs,
            self.epoch,
        )
    }

    /// The hidden states of the persistent chains ("fantasy particles"), once PCD has made an
    /// update. With parallel tempering, the chains of every temperature, stacked from `β = 1`
    /// to the hottest.
    ///
    /// # Shapes
    /// - output: `[chains, n_hidden]` (`[temperatures · chains, n_hidden]` when tempering)
    pub fn persistent_chains(&self) -> Option<Tensor<B, 2>> {
        self.state.as_ref().and_then(|state| state.chains.clone())
    }

    /// The offsets of centred training (see [`centring`]), once an update has set them.
    pub fn offsets(&self) -> Option<Offsets<B>> {
        self.state.as_ref().and_then(|state| state.offsets.clone())
    }

    /// The CD-k / PCD estimate of the log-likelihood gradient on `batch`, as a value of the
    /// model's type (one entry per parameter), without changing the parameters (persistent
    /// chains do advance). Averaging many estimates approaches the exact gradient as `k`
    /// grows (CD) or as the chains mix (PCD with a small learning rate).
    ///
    /// # Shapes
    /// - `batch`: `[batch, row_width]`, values the model's units take
    ///
    /// # Errors
    /// An empty batch, a width other than the model's, NaN/Inf or values its units cannot take.
    pub fn estimate_gradient(&mut self, model: &M, batch: Tensor<B, 2>) -> error::Result<M> {
        self.check_model(model)?;
        check_batch(model, &batch)?;
        let params = params::detached(model);
        let mut state = self
            .state
            .take()
            .unwrap_or_else(|| TrainingState::new(&params));
        let (gradient, _) = self.gradient(&params, &batch.detach(), 1.0, 0.0, false, &mut state);
        self.state = Some(state);
        Ok(gradient)
    }

    /// One update on `batch`, for users who run their own loop. The batch is checked first and
    /// the new parameters afterwards, which reads two small values back from the device per
    /// call; [`Self::fit`] checks once per data set and epoch instead.
    ///
    /// # Shapes
    /// - `batch`: `[batch, row_width]`, values the model's units take
    ///
    /// # Errors
    /// Invalid data as in [`Self::estimate_gradient`]; [`RbmError::Diverged`] if the update is
    /// not finite.
    pub fn step(&mut self, model: M, batch: Tensor<B, 2>) -> error::Result<M> {
        self.check_model(&model)?;
        check_batch(&model, &batch)?;
        let (epoch, batch_index) = (self.epoch, self.batch);
        let (model, health) = self.update(model, batch.detach());
        if !health.into_scalar().elem::<f64>().is_finite() {
            return Err(RbmError::Diverged {
                epoch,
                batch: batch_index,
            });
        }
        Ok(model)
    }

    /// Trains `model` on `data` from the current epoch ([`Self::epoch`], 0 for a new learner)
    /// up to `config.epochs`, writing checkpoints if [`Self::with_checkpoints`] asked for
    /// them. A learner that has finished its schedule returns `model` unchanged and an empty
    /// history.
    ///
    /// # Errors
    /// Invalid data (checked before the first update, or per batch for streamed datasets),
    /// [`RbmError::Diverged`] naming the first epoch and batch whose update was not finite, and
    /// [`RbmError::File`] when a checkpoint cannot be written.
    pub fn fit<D: TrainingData<B>>(
        &mut self,
        model: M,
        data: &D,
    ) -> error::Result<(M, TrainingHistory)> {
        self.fit_with(model, data, None, &mut ())
    }

    /// [`Self::fit`] with an optional validation set (its mean free energy is reported per
    /// epoch) and an observer that is told about every batch and epoch.
    ///
    /// # Shapes
    /// - `validation`: `[rows, row_width]`, values the model's units take
    ///
    /// # Errors
    /// As [`Self::fit`], and invalid validation data.
    pub fn fit_with<D: TrainingData<B>, O: TrainingObserver + ?Sized>(
        &mut self,
        model: M,
        data: &D,
        validation: Option<&Tensor<B, 2>>,
        observer: &mut O,
    ) -> error::Result<(M, TrainingHistory)> {
        self.fit_until(model, data, validation, observer, self.config.epochs)
    }

    /// [`Self::fit_with`] that stops once the epoch counter reaches `stop_epoch` (or the end of
    /// the schedule, if that comes first), so that a caller can do something between epochs
    /// — save its own checkpoint, say — and then call it again to go on with the schedule.
    ///
    /// # Errors
    /// As [`Self::fit_with`].
    pub fn fit_until<D: TrainingData<B>, O: TrainingObserver + ?Sized>(
        &mut self,
        mut model: M,
        data: &D,
        validation: Option<&Tensor<B, 2>>,
        observer: &mut O,
        stop_epoch: usize,
    ) -> error::Result<(M, TrainingHistory)> {
        self.check_model(&model)?;
        let width = model.row_width();
        let n_rows = data.n_rows();
        if n_rows == 0 {
            return Err(RbmError::EmptyData);
        }
        let columns = data.n_columns()?;
        if columns != width {
            return Err(RbmError::WidthMismatch {
                expected: width,
                actual: columns,
            });
        }
        let units = model.row_units();
        data.check_values(&units)?;
        if let Some(validation) = validation {
            check_width(validation.dims(), width)?;
            units.check_data(validation)?;
        }
        let device = model.device();
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
            let progress = |batch| Progress {
                layer: None,
                epoch,
                batch,
                batches: n_batches,
            };
            for (batch_index, indices) in order.chunks(batch_size).enumerate() {
                let batch = data.rows(indices, &units, &device)?;
                let (updated, batch_health) = self.update(model, batch.detach());
                model = updated;
                health.push(batch_health);
                observer.on_batch_end(progress(batch_index));
            }
            // One read-back per epoch: the first non-finite update names the batch.
            let health: Vec<f64> = Tensor::cat(health, 0).into_data().iter::<f64>().collect();
            if let Some(batch) = health.iter().position(|h| !h.is_finite()) {
                return Err(RbmError::Diverged { epoch, batch });
            }
            let seconds = started.elapsed().as_secs_f64();
            let metrics = self.epoch_metrics(
                &model, &monitor, validation, epoch, momentum, n_batches, seconds,
            );
            let last = progress(n_batches - 1);
            observer.on_epoch_end(last, &metrics);
            history.epochs.push(metrics);
            self.set_epoch(epoch + 1);
            if let Some(checkpoints) = &self.checkpoints {
                if checkpoints.due(self.epoch, self.config.epochs) {
                    let path = checkpoints.path.clone();
                    self.save_checkpoint(&model, &path)?;
                    observer.on_checkpoint(last, &path);
                }
            }
        }
        Ok((model, history))
    }

    #[allow(clippy::too_many_arguments)]
    fn epoch_metrics(
        &mut self,
        model: &M,
        monitor: &Tensor<B, 2>,
        validation: Option<&Tensor<B, 2>>,
        epoch: usize,
        momentum: f64,
        batches: usize,
        seconds: f64,
    ) -> EpochMetrics {
        let model = params::detached(model);
        let mut parts = vec![
            model.reconstruction_error(monitor),
            model.row_free_energy(monitor).mean(),
            model
                .row_pseudo_log_likelihood(monitor, &mut self.rng)
                .mean(),
        ];
        // (NaN for unit types without a pseudo-likelihood, as the metric documents.)
        if let Some(validation) = validation {
            parts.push(model.row_free_energy(validation).mean());
        }
        let swaps = self.state.as_mut().and_then(|state| {
            let attempts = std::mem::take(&mut state.swap_attempts).max(1) as f64;
            state.swaps.take().map(|accepted| accepted / attempts)
        });
        let n_parts = parts.len();
        if let Some(swaps) = swaps {
            parts.push(swaps);
        }
        let values: Vec<f64> = Tensor::cat(parts, 0).into_data().iter::<f64>().collect();
        let swap_rates = values[n_parts..].to_vec();
        EpochMetrics {
            epoch,
            reconstruction_error: values[0],
            free_energy_train: values[1],
            pseudo_log_likelihood: values[2],
            free_energy_validation: (n_parts > 3).then(|| values[3]),
            swap_rates,
            momentum,
            batches,
            seconds,
        }
    }

    /// The settings of the next update.
    fn update_settings(&self) -> UpdateSettings {
        let learning_rate = self.learning_rate();
        UpdateSettings {
            k: self.config.k,
            persistent: self.config.persistent,
            learning_rate,
            momentum: self.momentum(),
            decay: learning_rate * self.config.weight_decay,
            sparsity: self
                .config
                .sparsity
                .as_ref()
                .map(|s| (s.target, s.decay, s.cost)),
            plain: self.config.centring.is_none() && self.config.tempering.is_none(),
        }
    }

    /// One parameter update on a checked, detached batch. Returns the new model and the sum of
    /// all its parameters, left on the device so that callers decide when to read it (see
    /// [`params::sum`]).
    fn update(&mut self, model: M, batch: Tensor<B, 2>) -> (M, Tensor<B, 1>) {
        let settings = self.update_settings();
        let (model, batch) = match self.accelerated.as_mut() {
            Some(step) => {
                match step.update(model, &mut self.state, batch, &settings, &mut self.rng) {
                    Ok(updated) => {
                        self.last_path = Some(step.path());
                        self.batch += 1;
                        return updated;
                    }
                    Err(inputs) => *inputs,
                }
            }
            None => (model, batch),
        };
        let params = params::detached(&model);
        // The learning rate is folded into the statistics, so that the step below is as few
        // element-wise passes over the parameters as possible.
        let mut state = self
            .state
            .take()
            .unwrap_or_else(|| TrainingState::new(&params));
        // Centred training applies weight decay to the centred weights, in the step itself.
        let (centred_decay, plain_decay) = match self.config.centring {
            Some(_) => (settings.decay, 0.0),
            None => (0.0, settings.decay),
        };
        let (step, positive) = self.gradient(
            &params,
            &batch,
            settings.learning_rate,
            centred_decay,
            true,
            &mut state,
        );
        // The detached copy shares the parameters' buffers; without it the parameters are
        // unshared, and the momentum step updates them in place where the backend can.
        drop(params);
        let velocity = state.velocity;
        let (model, mut velocity, health) =
            params::momentum_step(model, velocity, step, settings.momentum, plain_decay);
        let mut offsets = state.offsets;
        if let (Some(centring), Some(current)) = (&self.config.centring, offsets.take()) {
            let moved = centring::follow_data(current, velocity, &positive, centring.offset_rate);
            (offsets, velocity) = (Some(moved.0), moved.1);
        }
        self.state = Some(TrainingState {
            velocity,
            offsets,
            ..state
        });
        self.last_path = Some(UpdatePath::Tensor);
        self.batch += 1;
        (model, health)
    }

    /// `scale` times the CD-k / PCD / tempered gradient estimate on `batch` (in tensor
    /// operations), advancing the persistent chains in `state`; with `apply_sparsity`, also
    /// the sparsity running mean, and the estimate includes the penalty. Centred training
    /// maps it to the centred step (starting the offsets at this batch's means), with weight
    /// decay `centred_decay`. Returns the estimate and the data phase.
    fn gradient(
        &mut self,
        params: &M,
        batch: &Tensor<B, 2>,
        scale: f64,
        centred_decay: f64,
        apply_sparsity: bool,
        state: &mut TrainingState<B, M>,
    ) -> (M, Phase<B>) {
        let positive = params.positive_phase(batch);
        let statistics = self.raw_gradient(params, batch, &positive, scale, apply_sparsity, state);
        let statistics = match &self.config.centring {
            Some(_) => {
                let offsets = state
                    .offsets
                    .get_or_insert_with(|| Offsets::of_phase(&positive));
                centring::centred_step(params, statistics, offsets, centred_decay)
            }
            None => statistics,
        };
        (statistics, positive)
    }

    /// The ordinary gradient estimate of [`Self::gradient`] from the data phase `positive`.
    fn raw_gradient(
        &mut self,
        params: &M,
        batch: &Tensor<B, 2>,
        positive: &Phase<B>,
        scale: f64,
        apply_sparsity: bool,
        state: &mut TrainingState<B, M>,
    ) -> M {
        let persistent = self.config.persistent;
        let penalty = match &self.config.sparsity {
            Some(sparsity) if apply_sparsity => {
                let current = crate::units::column_mean(positive.hidden.clone());
                let activity = match state.hidden_activity.take() {
                    Some(previous) => previous * sparsity.decay + current * (1.0 - sparsity.decay),
                    None => current,
                };
                state.hidden_activity = Some(activity.clone());
                Some((activity - sparsity.target) * sparsity.cost)
            }
            _ => None,
        };
        if !params.samples_negative_phase() {
            return params.statistics(batch, positive, positive, penalty.as_ref(), scale);
        }
        if let Some(tempering) = &self.config.tempering {
            let betas = tempering.betas();
            let start = match state.chains.take() {
                Some(chains) => chains,
                None => params
                    .sample_hidden(positive, &mut self.rng)
                    .repeat_dim(0, betas.len()),
            };
            let tempered = tempering::negative_phase(
                params,
                batch,
                start,
                &betas,
                self.config.k,
                &mut self.rng,
            );
            state.chains = Some(tempered.chains);
            state.swaps = Some(match state.swaps.take() {
                Some(total) => total + tempered.accepted,
                None => tempered.accepted,
            });
            state.swap_attempts += tempered.negative.visible.dims()[0];
            return params.statistics(batch, positive, &tempered.negative, penalty.as_ref(), scale);
        }
        let chains = if persistent {
            state.chains.take()
        } else {
            None
        };
        let mut hidden = Some(match chains {
            Some(chains) => chains,
            None => params.sample_hidden(positive, &mut self.rng),
        });
        let mut negative = None;
        for step in 0..self.config.k {
            let start = hidden
                .take()
                .expect("each step samples the next hidden state");
            // CD chains start at the data, so they keep its missing entries out; PCD chains
            // are free-running samples of the model and have none.
            let phase = params.gibbs_step(batch, start, !persistent, &mut self.rng);
            if step + 1 < self.config.k || persistent {
                hidden = Some(params.sample_hidden(&phase, &mut self.rng));
            }
            negative = Some(phase);
        }
        if persistent {
            state.chains = hidden;
        }
        let negative = negative.expect("k >= 1 is validated");
        params.statistics(batch, positive, &negative, penalty.as_ref(), scale)
    }

    /// The learner's state (momentum, chains) has the shape of the first model it trained; a
    /// learner is for one model structure.
    fn check_model(&self, model: &M) -> error::Result<()> {
        let unsupported = |operation| RbmError::UnsupportedUnits {
            operation,
            units: format!("this {} model (binary RBMs only)", M::KIND),
        };
        if self.config.centring.is_some() && !model.supports_centring() {
            return Err(unsupported("centred training"));
        }
        if self.config.tempering.is_some() && model.tempered(1.0).is_none() {
            return Err(unsupported("parallel tempering"));
        }
        let Some(state) = &self.state else {
            return Ok(());
        };
        let (expected, actual) = (params::shapes(&state.velocity), params::shapes(model));
        if expected == actual {
            return Ok(());
        }
        let first_difference = expected
            .iter()
            .zip(&actual)
            .find(|(e, a)| e != a)
            .map(|(e, a)| (e.1.clone(), a.1.clone()));
        let (expected, actual) =
            first_difference.unwrap_or_else(|| (vec![expected.len()], vec![actual.len()]));
        Err(RbmError::ShapeMismatch {
            what: "model parameters (this learner's state was built for another model)",
            expected,
            actual,
        })
    }
}

impl<B: Backend> ContrastiveDivergence<B, Rbm<B>> {
    /// The persistent chains' "fantasy particles" as pictures: the visible means
    /// `E[v | h]` of [`Self::persistent_chains`] under `rbm` (the model being trained).
    ///
    /// # Shapes
    /// - output: `[chains, n_visible]`
    pub fn fantasy_particles(&self, rbm: &Rbm<B>) -> Option<Tensor<B, 2>> {
        self.persistent_chains()
            .map(|hidden| params::detached(rbm).visible_probs(hidden))
    }
}

fn check_batch<B: Backend, M: CdModel<B>>(model: &M, batch: &Tensor<B, 2>) -> error::Result<()> {
    check_width(batch.dims(), model.row_width())?;
    model.row_units().check_data(batch)
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
            .init::<NdArray, Rbm<NdArray>>()
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
            .init::<NdArray, Rbm<NdArray>>()
            .unwrap();
        assert_eq!(constant.learning_rate(), 0.1);
    }
}
