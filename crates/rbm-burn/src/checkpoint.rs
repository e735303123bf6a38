//! Checkpoints of contrastive-divergence training, and resuming from them.
//!
//! A checkpoint holds everything that the next update depends on: the RBM, the learner's
//! hyperparameters, its epoch counter, the exact position of its random stream (the state of
//! its xoshiro256++ generator), the momentum velocities, the persistent chains and the sparsity
//! running mean. Each epoch's visiting order is drawn afresh from that stream and the monitored
//! rows from a stream of their own, so a run resumed from the checkpoint written after epoch
//! `e` performs exactly the updates that the uninterrupted run performed after epoch `e`, and
//! on a deterministic backend ends with bit-identical parameters.
//!
//! ```no_run
//! # use burn::backend::NdArray;
//! # use rbm_burn::{ContrastiveDivergence, ContrastiveDivergenceConfig, RbmConfig};
//! # fn main() -> rbm_burn::Result<()> {
//! # let device = Default::default();
//! # let data = burn::tensor::Tensor::<NdArray, 2>::zeros([10, 4], &device);
//! let path = std::path::Path::new("rbm.ckpt");
//! let (mut learner, rbm) = if path.exists() {
//!     ContrastiveDivergence::<NdArray>::load_checkpoint(path, &device)?
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

use std::path::{Path, PathBuf};

use burn::record::{PrecisionSettings, Record};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use rand::rngs::Xoshiro256PlusPlus;

use crate::cd::{ContrastiveDivergence, ContrastiveDivergenceConfig, LearnerState};
use crate::error::{self, RbmError};
use crate::file::{file_error, load_record, save_record, FileProblem};
use crate::gradient::RbmGradient;
use crate::persist::{value_records, RbmFileRecord};
use crate::rbm::Rbm;

/// The content kind of learner checkpoints (see [`crate::file`]).
pub const CD_CHECKPOINT_KIND: &str = "cd-checkpoint";

/// Mixed into the seed of the stream that picks the monitored rows.
pub(crate) const MONITOR_SALT: u64 = 0x6d6f_6e69_746f_7273;

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

/// The learner's random generator as a record (its state is four 64-bit words).
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

/// The momentum velocities, as a record.
#[derive(Record)]
pub struct VelocityRecord<B: Backend> {
    weights: Tensor<B, 2>,
    visible_bias: Tensor<B, 1>,
    hidden_bias: Tensor<B, 1>,
    visible_log_variance: Option<Tensor<B, 1>>,
}

/// An RBM and the state of its learner: what a checkpoint file holds. Made by
/// [`ContrastiveDivergence::checkpoint_record`]; other records (DBN checkpoints) embed it.
#[derive(Record)]
pub struct CdCheckpointRecord<B: Backend> {
    rbm: RbmFileRecord<B>,
    /// The hyperparameters (as MessagePack numbers, which keep every bit of an `f64`).
    config: ContrastiveDivergenceConfig,
    epoch: usize,
    batch: usize,
    rng: RngRecord,
    velocity: Option<VelocityRecord<B>>,
    chains: Option<Tensor<B, 2>>,
    hidden_activity: Option<Tensor<B, 1>>,
}

impl<B: Backend> ContrastiveDivergence<B> {
    /// Makes [`Self::fit`] save a checkpoint of the RBM and this learner to `path` after every
    /// `every` epochs and after the last epoch, each time atomically replacing the previous
    /// one. Resume with [`Self::load_checkpoint`].
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

    /// Saves `rbm` and this learner's state to `path` atomically (see [`crate::checkpoint`]).
    ///
    /// # Errors
    /// [`RbmError::File`] naming `path`.
    pub fn save_checkpoint(&self, rbm: &Rbm<B>, path: impl AsRef<Path>) -> error::Result<()> {
        save_record(
            path.as_ref(),
            CD_CHECKPOINT_KIND,
            self.checkpoint_record(rbm),
        )
    }

    /// Loads a checkpoint saved by [`Self::save_checkpoint`] (or by `fit`): the learner, with
    /// its epoch counter, random stream, velocities and chains, and the RBM it was training.
    /// Calling [`Self::fit`] on them continues the schedule where it stopped.
    ///
    /// # Errors
    /// [`RbmError::File`] naming `path`: the problems of [`Rbm::load`], and state that does not
    /// fit the RBM or hyperparameters that do not validate ([`FileProblem::Mismatch`]).
    pub fn load_checkpoint(
        path: impl AsRef<Path>,
        device: &B::Device,
    ) -> error::Result<(Self, Rbm<B>)> {
        let path = path.as_ref();
        let record = load_record::<B, CdCheckpointRecord<B>>(path, CD_CHECKPOINT_KIND, device)?;
        Self::from_checkpoint_record(record, path)
    }

    /// The record of `rbm` and this learner's state (sharing their buffers).
    pub fn checkpoint_record(&self, rbm: &Rbm<B>) -> CdCheckpointRecord<B> {
        let state = self.state.as_ref();
        CdCheckpointRecord {
            rbm: RbmFileRecord::of(rbm),
            config: self.config.clone(),
            epoch: self.epoch,
            batch: self.batch,
            rng: RngRecord(self.rng.clone()),
            velocity: state.map(|state| VelocityRecord {
                weights: state.velocity.weights.clone(),
                visible_bias: state.velocity.visible_bias.clone(),
                hidden_bias: state.velocity.hidden_bias.clone(),
                visible_log_variance: state.velocity.visible_log_variance.clone(),
            }),
            chains: state.and_then(|state| state.chains.clone()),
            hidden_activity: state.and_then(|state| state.hidden_activity.clone()),
        }
    }

    /// The learner and RBM of a checkpoint record read from `path`, after checking that the
    /// parts fit together.
    ///
    /// # Errors
    /// As [`Self::load_checkpoint`].
    pub fn from_checkpoint_record(
        record: CdCheckpointRecord<B>,
        path: &Path,
    ) -> error::Result<(Self, Rbm<B>)> {
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
        let rbm = record.rbm.into_rbm(path)?;
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
        let (n_visible, n_hidden) = (rbm.n_visible(), rbm.n_hidden());
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
                check(
                    "the weight velocity's shape",
                    &[n_visible, n_hidden],
                    &velocity.weights.dims(),
                )?;
                check(
                    "the visible-bias velocity's shape",
                    &[n_visible],
                    &velocity.visible_bias.dims(),
                )?;
                check(
                    "the hidden-bias velocity's shape",
                    &[n_hidden],
                    &velocity.hidden_bias.dims(),
                )?;
                if let Some(z) = &velocity.visible_log_variance {
                    check("the log-variance velocity's shape", &[n_visible], &z.dims())?;
                }
                if let Some(chains) = &record.chains {
                    check(
                        "the persistent chains' width",
                        &[n_hidden],
                        &chains.dims()[1..],
                    )?;
                }
                if let Some(activity) = &record.hidden_activity {
                    check("the hidden activity's shape", &[n_hidden], &activity.dims())?;
                }
                Some(LearnerState {
                    velocity: RbmGradient {
                        weights: velocity.weights,
                        visible_bias: velocity.visible_bias,
                        hidden_bias: velocity.hidden_bias,
                        visible_log_variance: velocity.visible_log_variance,
                    },
                    chains: record.chains,
                    hidden_activity: record.hidden_activity,
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
            workspace: Default::default(),
        };
        Ok((learner, rbm))
    }
}
