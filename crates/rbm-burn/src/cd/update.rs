//! The learner's state between updates, and the seam for accelerated update steps.
//!
//! The learner computes an update in Burn tensor operations ([`super::ContrastiveDivergence`]'s
//! own code) unless an [`UpdateStep`] for the backend and model was chosen when it was built.
//! An accelerated step computes the same update from the same random numbers, in the same
//! order, and keeps the same [`TrainingState`], so a learner can be checkpointed on one path
//! and resumed on the other. [`accelerated`] is the one place where steps are chosen.

use std::any::Any;

use burn::tensor::{backend::Backend, Tensor};
use rand::rngs::Xoshiro256PlusPlus;

use crate::model::CdModel;
use crate::params;

/// Which implementation computed an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdatePath {
    /// Burn tensor operations (every backend and model).
    Tensor,
    /// The fused host update of binary RBMs on `NdArray<f32>` (`src/ndarray/`).
    NdArrayFused,
}

/// What the learner keeps between updates.
#[derive(Debug)]
pub(crate) struct TrainingState<B: Backend, M> {
    /// The momentum velocity: a value of the model's own type.
    pub(crate) velocity: M,
    /// Hidden states of the persistent chains, `[chains, n_hidden]`.
    pub(crate) chains: Option<Tensor<B, 2>>,
    /// Running mean activity of each hidden unit, `[n_hidden]`.
    pub(crate) hidden_activity: Option<Tensor<B, 1>>,
    /// The offsets of centred training.
    pub(crate) offsets: Option<super::Offsets<B>>,
    /// Accepted swaps of each pair of neighbouring temperatures since the last epoch's
    /// metrics, `[temperatures − 1]` (not checkpointed: checkpoints fall between epochs).
    pub(crate) swaps: Option<Tensor<B, 1>>,
    /// Swaps proposed to each pair since the last epoch's metrics.
    pub(crate) swap_attempts: usize,
}

impl<B: Backend, M: CdModel<B>> TrainingState<B, M> {
    /// Zero velocities of `model`'s shapes, no chains, no activity average.
    pub(crate) fn new(model: &M) -> Self {
        Self {
            velocity: params::zeros_like(model),
            chains: None,
            hidden_activity: None,
            offsets: None,
            swaps: None,
            swap_attempts: 0,
        }
    }
}

/// The hyperparameters of one update.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UpdateSettings {
    /// Gibbs steps `k ≥ 1`.
    pub(crate) k: usize,
    /// Persistent chains (PCD) rather than chains started at the data (CD).
    pub(crate) persistent: bool,
    /// The learning rate `ε` of this update.
    pub(crate) learning_rate: f64,
    /// The momentum `μ` of this update.
    pub(crate) momentum: f64,
    /// `ε` times the weight decay.
    pub(crate) decay: f64,
    /// `(target, decay, cost)` of the sparsity penalty, if any.
    pub(crate) sparsity: Option<(f64, f64, f64)>,
    /// Neither centred nor tempered: the plain CD-k / PCD update that accelerated steps
    /// implement (they decline the others).
    pub(crate) plain: bool,
}

/// The inputs of an update, handed back by a step that does not take them.
pub(crate) type Declined<B, M> = Box<(M, Tensor<B, 2>)>;

/// An accelerated implementation of one contrastive-divergence update for one backend and
/// model type.
pub(crate) trait UpdateStep<B: Backend, M>: std::fmt::Debug + Send + Sync {
    /// The path this step reports.
    fn path(&self) -> UpdatePath;

    /// The update of `model` on a checked, detached `batch` (the learner's semantics: see
    /// [`super::ContrastiveDivergence`]), creating `state` on the first update; returns the
    /// new model and the sum of its parameters. `Err` with the inputs when this step does not
    /// take them (another unit type, say), for the tensor path to compute instead.
    fn update(
        &mut self,
        model: M,
        state: &mut Option<TrainingState<B, M>>,
        batch: Tensor<B, 2>,
        settings: &UpdateSettings,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Result<(M, Tensor<B, 1>), Declined<B, M>>;
}

/// The accelerated step for backend `B` and model `M`, if this build has one.
pub(crate) fn accelerated<B: Backend, M: CdModel<B>>() -> Option<Box<dyn UpdateStep<B, M>>> {
    #[cfg(feature = "ndarray-kernels")]
    if let Some(step) = as_step_of::<B, M, _, _>(crate::ndarray::fused_step()) {
        return Some(step);
    }
    None
}

/// `step` as a step for `B` and `M`, when those are its own backend and model types.
#[cfg_attr(not(feature = "ndarray-kernels"), allow(dead_code))]
fn as_step_of<B: Backend, M: CdModel<B>, StepBackend: Backend, StepModel: 'static>(
    step: Box<dyn UpdateStep<StepBackend, StepModel>>,
) -> Option<Box<dyn UpdateStep<B, M>>> {
    let step: Box<dyn Any> = Box::new(step);
    step.downcast::<Box<dyn UpdateStep<B, M>>>()
        .ok()
        .map(|step| *step)
}
