//! Checkpoints of contrastive-divergence training, and resuming from them (see
//! [`crate::cd`]).

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::record::{PrecisionSettings, Record};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use rand::rngs::Xoshiro256PlusPlus;

use super::update::{self, TrainingState};
use super::{ContrastiveDivergence, ContrastiveDivergenceConfig, Offsets};
use crate::container::{file_error, load_record, save_record, FileProblem};
use crate::error::{self, RbmError};
use crate::model::CdModel;
use crate::params;
use crate::persist::{value_records, ModelRecord};

/// Mixed into the seed of the stream that picks the monitored rows.
pub(crate) const MONITOR_SALT: u64 = 0x6d6f_6e69_746f_7273;

/// The content kind of the checkpoints of a learner of `M`.
fn checkpoint_kind<B: Backend, M: CdModel<B>>() -> String {
    format!("{} cd-checkpoint", M::KIND)
}

/// Where and how often [`ContrastiveDivergence::fit`] writes checkpoints.
#[derive(Debug, Clone)]
pub(crate) struct Checkpoints {
    pub(crate) path: PathBuf,
    every: usize,
}

impl Checkpoints {
    /// Whether a checkpoint is written once `epochs_done` of `total` epochs are done: every
    /// `every` epochs and after the last one.
    pub(crate) fn due(&self, epochs_done: usize, total: usize) -> bool {
        epochs_done.is_multiple_of(self.every) || epochs_done == total
    }
}

/// A random generator's exact state as a record (xoshiro256++: four 64-bit words).
#[derive(Debug, Clone)]
pub struct RngRecord(Xoshiro256PlusPlus);

impl<B: Backend> Record<B> for RngRecord {
    type Item<S: PrecisionSettings> = Xoshiro256PlusPlus;

    fn into_item<S: PrecisionSettings>(self) -> Self::Item<S> {
        self.0
    }

    fn from_item<S: PrecisionSettings>(item: Self::Item<S>, _device: &B::Device) -> Self {
        Self(item)
    }
}

impl RngRecord {
    /// The record of `rng`'s current state.
    pub fn new(rng: Xoshiro256PlusPlus) -> Self {
        Self(rng)
    }

    /// The generator, at the recorded position.
    pub fn into_inner(self) -> Xoshiro256PlusPlus {
        self.0
    }
}

value_records!(ContrastiveDivergenceConfig);

/// A model and the state of its learner: what a checkpoint file holds. Made by
/// [`ContrastiveDivergence::checkpoint_record`]; other records (DBN checkpoints) embed it.
#[derive(Record)]
pub struct CdCheckpointRecord<B: Backend, M: CdModel<B>> {
    model: ModelRecord<B, M>,
    /// The hyperparameters (as MessagePack numbers, which keep every bit of an `f64`).
    config: ContrastiveDivergenceConfig,
    epoch: usize,
    batch: usize,
    rng: RngRecord,
    velocity: Option<<M as Module<B>>::Record>,
    chains: Option<Tensor<B, 2>>,
    hidden_activity: Option<Tensor<B, 1>>,
    visible_offset: Option<Tensor<B, 1>>,
    hidden_offset: Option<Tensor<B, 1>>,
}

impl<B: Backend, M: CdModel<B>> ContrastiveDivergence<B, M> {
    /// Makes [`Self::fit`] save a checkpoint of the model and this learner to `path` after
    /// every `every` epochs and after the last epoch, each time atomically replacing the
    /// previous one. Resume with [`Self::load_checkpoint`].
    ///
    /// # Errors
    /// [`RbmError::InvalidHyperparameter`] when `every` is 0.
    pub fn with_checkpoints(
        mut self,
        path: impl Into<PathBuf>,
        every: usize,
    ) -> error::Result<Self> {
        if every == 0 {
            return Err(RbmError::InvalidHyperparameter {
                name: "checkpoint every",
                value: every.to_string(),
                reason: "must be at least 1 epoch",
            });
        }
        self.checkpoints = Some(Checkpoints {
            path: path.into(),
            every,
        });
        Ok(self)
    }

    /// Saves `model` and this learner's state to `path` atomically (see
    /// [`crate::cd`]).
    ///
    /// # Errors
    /// [`RbmError::File`] naming `path`.
    pub fn save_checkpoint(&self, model: &M, path: impl AsRef<Path>) -> error::Result<()> {
        save_record(
            path.as_ref(),
            &checkpoint_kind::<B, M>(),
            self.checkpoint_record(model),
        )
    }

    /// Loads a checkpoint saved by [`Self::save_checkpoint`] (or by `fit`): the learner, with
    /// its epoch counter, random stream, velocities and chains, and the model it was training.
    /// Calling [`Self::fit`] on them continues the schedule where it stopped.
    ///
    /// # Errors
    /// [`RbmError::File`] naming `path`: the problems of [`crate::Rbm::load`], and state that
    /// does not fit the model or hyperparameters that do not validate
    /// ([`FileProblem::Mismatch`]).
    pub fn load_checkpoint(path: impl AsRef<Path>, device: &B::Device) -> error::Result<(Self, M)> {
        let path = path.as_ref();
        let record =
            load_record::<B, CdCheckpointRecord<B, M>>(path, &checkpoint_kind::<B, M>(), device)?;
        Self::from_checkpoint_record(record, path, device)
    }

    /// The record of `model` and this learner's state (sharing their buffers).
    pub fn checkpoint_record(&self, model: &M) -> CdCheckpointRecord<B, M> {
        let state = self.state.as_ref();
        CdCheckpointRecord {
            model: ModelRecord::of(model),
            config: self.config.clone(),
            epoch: self.epoch,
            batch: self.batch,
            rng: RngRecord(self.rng.clone()),
            velocity: state
                .map(|state| params::with_new_ids(state.velocity.clone(), true).into_record()),
            chains: state.and_then(|state| state.chains.clone()),
            hidden_activity: state.and_then(|state| state.hidden_activity.clone()),
            visible_offset: state.and_then(|state| Some(state.offsets.as_ref()?.visible.clone())),
            hidden_offset: state.and_then(|state| Some(state.offsets.as_ref()?.hidden.clone())),
        }
    }

    /// The learner and model of a checkpoint record read from `path`, after checking that the
    /// parts fit together.
    ///
    /// # Errors
    /// As [`Self::load_checkpoint`].
    pub fn from_checkpoint_record(
        record: CdCheckpointRecord<B, M>,
        path: &Path,
        device: &B::Device,
    ) -> error::Result<(Self, M)> {
        let mismatch = |what: &str, expected: String, found: String| {
            file_error(
                path,
                FileProblem::Mismatch {
                    what: what.into(),
                    expected,
                    found,
                },
            )
        };
        let model = record.model.into_model(path, device)?;
        let config = record.config;
        config.validate().map_err(|e| {
            mismatch(
                "the learner's hyperparameters",
                "valid hyperparameters".into(),
                e.to_string(),
            )
        })?;
        if record.epoch > config.epochs {
            return Err(mismatch(
                "the epoch counter",
                format!("at most the {} epochs of the schedule", config.epochs),
                record.epoch.to_string(),
            ));
        }
        let n_hidden = model.n_hidden();
        let check = |what: &str, expected: &[usize], found: &[usize]| {
            if expected == found {
                Ok(())
            } else {
                Err(mismatch(
                    what,
                    format!("{expected:?}"),
                    format!("{found:?}"),
                ))
            }
        };
        let state = match record.velocity {
            None => None,
            Some(velocity) => {
                let zeros = params::zeros_like(&model);
                let expected = params::shapes(&zeros);
                let velocity = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    zeros.load_record(velocity)
                }))
                .map_err(|_| {
                    mismatch(
                        "the velocity",
                        "a velocity of the model's unit types".into(),
                        "another structure".into(),
                    )
                })?;
                let found = params::shapes(&velocity);
                if found != expected {
                    return Err(mismatch(
                        "the velocity's shapes",
                        format!("{expected:?}"),
                        format!("{found:?}"),
                    ));
                }
                if let Some(chains) = &record.chains {
                    check(
                        "the persistent chains' width",
                        &[n_hidden],
                        &chains.dims()[1..],
                    )?;
                    if chains.dims()[0] == 0 {
                        return Err(mismatch(
                            "the persistent chains",
                            "at least one chain".into(),
                            "none".into(),
                        ));
                    }
                }
                if let Some(activity) = &record.hidden_activity {
                    check("the hidden activity's shape", &[n_hidden], &activity.dims())?;
                }
                let offsets = match (record.visible_offset, record.hidden_offset) {
                    (Some(visible), Some(hidden)) => {
                        check(
                            "the visible offsets' shape",
                            &[model.row_width()],
                            &visible.dims(),
                        )?;
                        check("the hidden offsets' shape", &[n_hidden], &hidden.dims())?;
                        Some(Offsets { visible, hidden })
                    }
                    (None, None) => None,
                    _ => {
                        return Err(mismatch(
                            "the offsets",
                            "both visible and hidden offsets, or neither".into(),
                            "only one of them".into(),
                        ))
                    }
                };
                Some(TrainingState {
                    velocity: params::detached(&velocity),
                    chains: record.chains,
                    hidden_activity: record.hidden_activity,
                    offsets,
                    swaps: None,
                    swap_attempts: 0,
                })
            }
        };
        let learner = Self {
            config,
            rng: record.rng.0,
            epoch: record.epoch,
            batch: record.batch,
            state,
            checkpoints: None,
            accelerated: update::accelerated::<B, M>(),
            last_path: None,
        };
        Ok((learner, model))
    }
}
