//! The greedy layer-wise pre-training loop, its checkpoints and resuming from them.
//!
//! A pre-training checkpoint holds the whole stack (the layers below trained, the layer in
//! training as far as it got, the layers above untouched), which layer is in training, its
//! learner's complete state ([`rbm_burn::CdCheckpointRecord`]), the position of the random stream that
//! samples the data passed up to it (for [`PassUp::Samples`](crate::PassUp::Samples)), the
//! history so far, and the settings. Reading the monitored rows of a layer draws nothing from
//! that stream ([`TrainingData::monitor_rows`]), so how often checkpoints are written does not
//! change the updates either. Resuming from the checkpoint written after an epoch therefore
//! repeats exactly the updates of an uninterrupted run.

use std::cell::RefCell;
use std::path::Path;

use burn::record::{PrecisionSettings, Record};
use burn::tensor::backend::Backend;
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;
use rbm_burn::internal::{file_error, load_record, save_record, RngRecord};
use rbm_burn::FileProblem;
use rbm_burn::{
    CdCheckpointRecord, ContrastiveDivergence, ModelRecord, Progress, Rbm, TrainingData,
    TrainingHistory, TrainingObserver,
};

use crate::config::DbnConfig;
use crate::dbn::{init_visible_bias, Dbn};
use crate::error::{DbnError, Result};
use crate::observer::{LayerObserver, PretrainHistory};
use crate::propagate::Propagated;

/// The content kind of DBN files (see `rbm_burn::file`).
pub const DBN_KIND: &str = "dbn";
/// The content kind of pre-training checkpoints.
pub const PRETRAIN_CHECKPOINT_KIND: &str = "dbn-pretrain-checkpoint";

/// A DBN as a record: its RBMs, bottom first.
#[derive(Record)]
pub struct DbnFileRecord<B: Backend> {
    layers: Vec<ModelRecord<B, Rbm<B>>>,
}

impl<B: Backend> Record<B> for DbnConfig {
    type Item<S: PrecisionSettings> = DbnConfig;

    fn into_item<S: PrecisionSettings>(self) -> Self::Item<S> {
        self
    }

    fn from_item<S: PrecisionSettings>(item: Self::Item<S>, _: &B::Device) -> Self {
        item
    }
}

/// What a pre-training checkpoint holds (see the [module docs](self)).
#[derive(Record)]
pub struct PretrainCheckpointRecord<B: Backend> {
    /// The settings.
    config: DbnConfig,
    /// Every RBM of the stack; the one in training is in `learner`.
    layers: Vec<ModelRecord<B, Rbm<B>>>,
    /// The RBM in training.
    layer: usize,
    learner: CdCheckpointRecord<B, Rbm<B>>,
    pass_up_rng: RngRecord,
    history: Vec<TrainingHistory>,
}

/// Where pre-training progress stands.
pub(crate) struct Stack<B: Backend> {
    layers: Vec<Rbm<B>>,
    /// The layer in training.
    layer: usize,
    /// Its learner and RBM, once its training started.
    current: Option<(ContrastiveDivergence<B>, Rbm<B>)>,
    /// The stream that samples the data passed up to `layer`.
    pass_up_rng: Xoshiro256PlusPlus,
    history: PretrainHistory,
}

/// Where and how often checkpoints are written.
struct Checkpointing<'a> {
    path: &'a Path,
    every: usize,
}

impl Checkpointing<'_> {
    fn check(every: usize) -> Result<()> {
        if every == 0 {
            return Err(crate::error::invalid(
                "checkpoint every",
                every,
                "must be at least 1 epoch",
            ));
        }
        Ok(())
    }
}

/// Mixed into a layer's seed for the stream that samples its monitored rows.
const MONITOR_PASS_UP_SALT: u64 = 0x6d6f_6e69_746f_7221;

/// The stream that samples the data passed up to `layer`.
fn pass_up_rng(config: &DbnConfig, layer: usize) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(config.layer_cd(layer).seed ^ 0x9E37_79B9_7F4A_7C15)
}

impl<B: Backend> Stack<B> {
    /// Nothing trained yet.
    fn start(dbn: Dbn<B>, config: &DbnConfig) -> Self {
        Self {
            layers: dbn.layers,
            layer: 0,
            current: None,
            pass_up_rng: pass_up_rng(config, 0),
            history: PretrainHistory::default(),
        }
    }

    /// Trains the rest of the stack, writing checkpoints if asked to.
    fn run<D: TrainingData<B>, O: TrainingObserver + ?Sized>(
        mut self,
        config: &DbnConfig,
        data: &D,
        observer: &mut O,
        checkpoints: Option<Checkpointing<'_>>,
    ) -> Result<(Dbn<B>, PretrainHistory)> {
        let device = self.layers[0].device();
        let n_layers = self.layers.len();
        while self.layer < n_layers {
            let layer = self.layer;
            let wrap = |source| DbnError::Layer { layer, source };
            let (mut learner, mut rbm) = match self.current.take() {
                Some(current) => current,
                None => {
                    let learner = config.layer_cd(layer).init().map_err(wrap)?;
                    let rbm = self.layers[layer].clone();
                    let rbm = if layer == 0 && config.init_visible_bias {
                        init_visible_bias(rbm, data, &device).map_err(wrap)?
                    } else {
                        rbm
                    };
                    (learner, rbm)
                }
            };
            observer.on_layer_start(layer, n_layers, rbm.n_visible(), rbm.n_hidden());
            if self.history.layers.len() <= layer {
                self.history.layers.push(TrainingHistory::default());
            }
            let total = learner.config().epochs;
            let source = Propagated {
                data,
                below: &self.layers[..layer],
                pass_up: config.pass_up,
                rng: RefCell::new(self.pass_up_rng.clone()),
                monitor_seed: config.layer_cd(layer).seed ^ MONITOR_PASS_UP_SALT,
            };
            loop {
                let stop = match &checkpoints {
                    Some(c) => (learner.epoch() / c.every + 1) * c.every,
                    None => total,
                };
                let mut layer_observer = LayerObserver {
                    layer,
                    inner: &mut *observer,
                };
                let (trained, history) = learner
                    .fit_until(rbm, &source, None, &mut layer_observer, stop)
                    .map_err(wrap)?;
                rbm = trained;
                self.history.layers[layer].epochs.extend(history.epochs);
                if let Some(c) = &checkpoints {
                    let record = PretrainCheckpointRecord {
                        config: config.clone(),
                        layers: self.layers.iter().map(ModelRecord::of).collect(),
                        layer,
                        learner: learner.checkpoint_record(&rbm),
                        pass_up_rng: RngRecord::new(source.rng.borrow().clone()),
                        history: self.history.layers.clone(),
                    };
                    save_record(c.path, PRETRAIN_CHECKPOINT_KIND, record)?;
                    let batches = data.n_rows().div_ceil(learner.config().batch_size);
                    let progress = Progress {
                        layer: Some(layer),
                        epoch: learner.epoch().saturating_sub(1),
                        batch: batches.saturating_sub(1),
                        batches,
                    };
                    observer.on_checkpoint(progress, c.path);
                }
                if learner.epoch() >= total {
                    break;
                }
            }
            self.layers[layer] = rbm;
            self.layer += 1;
            self.pass_up_rng = pass_up_rng(config, self.layer);
        }
        Ok((
            Dbn {
                layers: self.layers,
            },
            self.history,
        ))
    }

    /// The progress saved at `path`, which must have been written with the settings `config`.
    fn load(path: &Path, config: &DbnConfig, device: &B::Device) -> Result<Self> {
        let record =
            load_record::<B, PretrainCheckpointRecord<B>>(path, PRETRAIN_CHECKPOINT_KIND, device)?;
        let mismatch = |what: &str, expected: String, found: String| {
            DbnError::Rbm(file_error(
                path,
                FileProblem::Mismatch {
                    what: what.into(),
                    expected,
                    found,
                },
            ))
        };
        // (Both serialised by the same code: equal settings give equal text.)
        if record.config.to_string() != config.to_string() {
            return Err(mismatch(
                "the pre-training settings",
                format!("the settings given, {config}"),
                record.config.to_string(),
            ));
        }
        let layers = record
            .layers
            .into_iter()
            .map(|layer| layer.into_model(path, device))
            .collect::<rbm_burn::Result<Vec<_>>>()?;
        let layers = Dbn::from_layers(layers)
            .map_err(|e| {
                DbnError::Rbm(file_error(
                    path,
                    FileProblem::Corrupt {
                        reason: format!("the layers do not form a DBN: {e}"),
                    },
                ))
            })?
            .layers;
        let sizes = Dbn {
            layers: layers.clone(),
        }
        .sizes();
        if sizes != config.layers {
            return Err(mismatch(
                "the layer sizes",
                format!("{:?}", config.layers),
                format!("{sizes:?}"),
            ));
        }
        let layer = record.layer;
        if layer >= layers.len() || record.history.len() != layer + 1 {
            return Err(mismatch(
                "the layer in training",
                format!(
                    "one of the {} layers, with a history per layer so far",
                    layers.len()
                ),
                format!("layer {layer} with {} histories", record.history.len()),
            ));
        }
        let (learner, rbm) =
            ContrastiveDivergence::from_checkpoint_record(record.learner, path, device)?;
        let expected = (layers[layer].n_visible(), layers[layer].n_hidden());
        if (rbm.n_visible(), rbm.n_hidden()) != expected {
            return Err(mismatch(
                "the size of the RBM in training",
                format!("{} × {}", expected.0, expected.1),
                format!("{} × {}", rbm.n_visible(), rbm.n_hidden()),
            ));
        }
        Ok(Self {
            layers,
            layer,
            current: Some((learner, rbm)),
            pass_up_rng: record.pass_up_rng.into_inner(),
            history: PretrainHistory {
                layers: record.history,
            },
        })
    }
}

impl DbnConfig {
    /// Builds the stack on `device` and pre-trains it greedily, layer by layer (Hinton,
    /// Osindero & Teh 2006): RBM 0 is trained on `data`, and every RBM above on the output of
    /// the trained layers below it ([`DbnConfig::pass_up`]), each with its own
    /// contrastive-divergence learner ([`DbnConfig::layer_cd`]).
    ///
    /// `data` is anything the RBM learner reads: a tensor on the device, or a Burn dataset
    /// through [`rbm_burn::DatasetSource`]. The upper layers' data is computed batch by batch
    /// from it, so the transformed data set is never held in full.
    ///
    /// # Errors
    /// An invalid config, [`DbnError::InputWidth`] when the data's width is not the input
    /// layer's, [`DbnError::EmptyData`], and the learners' errors (invalid data, divergence)
    /// as [`DbnError::Layer`] naming the layer.
    pub fn pretrain<B: Backend, D: TrainingData<B>>(
        &self,
        data: &D,
        device: &B::Device,
    ) -> Result<(Dbn<B>, PretrainHistory)> {
        self.pretrain_with(data, &mut (), device)
    }

    /// [`Self::pretrain`], reporting progress to `observer` (every event carries the layer in
    /// [`Progress::layer`]).
    ///
    /// # Errors
    /// As [`Self::pretrain`].
    pub fn pretrain_with<B: Backend, D: TrainingData<B>, O: TrainingObserver + ?Sized>(
        &self,
        data: &D,
        observer: &mut O,
        device: &B::Device,
    ) -> Result<(Dbn<B>, PretrainHistory)> {
        let dbn = self.init(device)?;
        check_data(self, data)?;
        Stack::start(dbn, self).run(self, data, observer, None)
    }

    /// [`Self::pretrain_with`] that saves a checkpoint to `path` after every `every` epochs of
    /// each layer and after each layer's last epoch, each time atomically replacing the
    /// previous one (see [`crate::pretrain`]). After a crash, [`Self::resume_pretraining`]
    /// continues from the last checkpoint.
    ///
    /// # Errors
    /// As [`Self::pretrain`], [`DbnError::InvalidHyperparameter`] when `every` is 0, and
    /// [`DbnError::Rbm`] with [`rbm_burn::RbmError::File`] when a checkpoint cannot be written.
    pub fn pretrain_with_checkpoints<
        B: Backend,
        D: TrainingData<B>,
        O: TrainingObserver + ?Sized,
    >(
        &self,
        data: &D,
        observer: &mut O,
        path: impl AsRef<Path>,
        every: usize,
        device: &B::Device,
    ) -> Result<(Dbn<B>, PretrainHistory)> {
        Checkpointing::check(every)?;
        let dbn = self.init(device)?;
        check_data(self, data)?;
        let checkpoints = Checkpointing {
            path: path.as_ref(),
            every,
        };
        Stack::start(dbn, self).run(self, data, observer, Some(checkpoints))
    }

    /// Pre-trains a stack of your own — loaded from a file, or assembled with
    /// [`Dbn::from_layers`] — with this config's learners, as [`Self::pretrain_with`] does a
    /// fresh one.
    ///
    /// # Errors
    /// As [`Self::pretrain`], and [`DbnError::LayerMismatch`] when the stack's sizes or input
    /// units are not this config's.
    pub fn pretrain_stack<B: Backend, D: TrainingData<B>, O: TrainingObserver + ?Sized>(
        &self,
        dbn: Dbn<B>,
        data: &D,
        observer: &mut O,
    ) -> Result<(Dbn<B>, PretrainHistory)> {
        self.validate()?;
        if self.layers != dbn.sizes() {
            return Err(DbnError::LayerMismatch {
                layer: 0,
                expected: format!("the configured sizes {:?}", self.layers),
                actual: format!("a DBN with sizes {:?}", dbn.sizes()),
            });
        }
        if self.visible_units != dbn.layers[0].visible_units() {
            return Err(DbnError::LayerMismatch {
                layer: 0,
                expected: format!("{} input units (as configured)", self.visible_units),
                actual: format!("{} input units", dbn.layers[0].visible_units()),
            });
        }
        check_data(self, data)?;
        Stack::start(dbn, self).run(self, data, observer, None)
    }

    /// Continues pre-training from the checkpoint at `path`, which
    /// [`Self::pretrain_with_checkpoints`] wrote with this config and the same data, and goes
    /// on writing checkpoints there every `every` epochs. The returned history covers every
    /// epoch, those before the checkpoint included.
    ///
    /// # Errors
    /// As [`Self::pretrain_with_checkpoints`], and [`DbnError::Rbm`] with
    /// [`rbm_burn::RbmError::File`] naming `path` for a checkpoint that is missing, damaged,
    /// of another kind, or written with other settings or sizes
    /// ([`rbm_burn::FileProblem::Mismatch`]).
    pub fn resume_pretraining<B: Backend, D: TrainingData<B>, O: TrainingObserver + ?Sized>(
        &self,
        path: impl AsRef<Path>,
        data: &D,
        observer: &mut O,
        every: usize,
        device: &B::Device,
    ) -> Result<(Dbn<B>, PretrainHistory)> {
        Checkpointing::check(every)?;
        self.validate()?;
        check_data(self, data)?;
        let path = path.as_ref();
        let stack = Stack::<B>::load(path, self, device)?;
        let checkpoints = Checkpointing { path, every };
        stack.run(self, data, observer, Some(checkpoints))
    }
}

/// Checks that `data` is what the input layer of `config` takes: rows of its width, with
/// values its units allow (streamed sources check each batch as it is read instead).
fn check_data<B: Backend, D: TrainingData<B>>(config: &DbnConfig, data: &D) -> Result<()> {
    if data.n_rows() == 0 {
        return Err(DbnError::EmptyData);
    }
    let (expected, actual) = (config.layers[0], data.n_columns()?);
    if actual != expected {
        return Err(DbnError::InputWidth { expected, actual });
    }
    data.check_values(&config.visible_units)
        .map_err(|source| DbnError::Layer { layer: 0, source })
}

impl<B: Backend> Dbn<B> {
    /// Saves every layer (parameters and unit types) to `path` atomically, in the checked
    /// container of [`rbm_burn::file`].
    ///
    /// # Errors
    /// [`DbnError::Rbm`] with [`rbm_burn::RbmError::File`] naming `path`.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let record = DbnFileRecord {
            layers: self.layers.iter().map(ModelRecord::of).collect(),
        };
        Ok(save_record(path.as_ref(), DBN_KIND, record)?)
    }

    /// Loads a DBN saved with [`Dbn::save`] onto `device`.
    ///
    /// # Errors
    /// [`DbnError::Rbm`] with [`rbm_burn::RbmError::File`] naming `path` and what is wrong
    /// (missing, truncated, damaged, another kind of file such as a single RBM, or layers that
    /// do not stack).
    pub fn load(path: impl AsRef<Path>, device: &B::Device) -> Result<Self> {
        let path = path.as_ref();
        let record = load_record::<B, DbnFileRecord<B>>(path, DBN_KIND, device)?;
        let layers = record
            .layers
            .into_iter()
            .map(|layer| layer.into_model(path, device))
            .collect::<rbm_burn::Result<Vec<_>>>()?;
        Dbn::from_layers(layers).map_err(|e| {
            DbnError::Rbm(file_error(
                path,
                FileProblem::Corrupt {
                    reason: format!("the layers do not form a DBN: {e}"),
                },
            ))
        })
    }
}
