//! Greedy layer-wise pre-training of a stack of models on the shared contrastive-divergence
//! learner, written once for every kind of stack ([`crate::Dbn`] of RBMs, [`crate::ConvDbn`]
//! of convolutional RBMs): the loop, its checkpoints and resuming from them, and the stack's
//! files.
//!
//! What a checkpoint holds, and why resuming repeats an uninterrupted run exactly, is in
//! [`crate::pretrain`].

use std::cell::RefCell;
use std::fmt::Display;
use std::marker::PhantomData;
use std::path::Path;

use burn::record::Record;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng};
use rbm_burn::internal::{file_error, load_record, save_record, RngRecord};
use rbm_burn::{
    CdCheckpointRecord, CdModel, ContrastiveDivergence, ContrastiveDivergenceConfig, FileProblem,
    ModelRecord, Progress, TrainingData, TrainingHistory, TrainingObserver, VisibleUnits,
};

use crate::config::PassUp;
use crate::error::{DbnError, Result};
use crate::observer::{LayerObserver, PretrainHistory};
use crate::propagate::Propagated;

/// A model that can be a layer of a stack: trained by the shared learner on rows, it passes
/// rows up to the layer above.
pub(crate) trait StackLayer<B: Backend>: CdModel<B> + Clone {
    /// Width of the rows it passes up.
    fn output_width(&self) -> usize;

    /// `rows` (its training rows) passed up: the probabilities of the units the layer above
    /// sees, or samples of them drawn from `rng`.
    ///
    /// # Shapes
    /// - `rows`: `[n, row_width]`, output: `[n, output_width]`
    fn pass_up<R: Rng + ?Sized>(
        &self,
        rows: Tensor<B, 2>,
        how: PassUp,
        rng: &mut R,
    ) -> rbm_burn::Result<Tensor<B, 2>>;
}

/// The settings of a kind of stack: how each layer is trained and what a loaded stack must be.
pub(crate) trait StackSpec<B: Backend>: Record<B> + Clone + Display {
    /// The model of every layer.
    type Layer: StackLayer<B>;

    /// The content kind of this stack's pre-training checkpoints.
    const CHECKPOINT_KIND: &'static str;

    /// The learner's settings for `layer`.
    fn layer_cd(&self, layer: usize) -> ContrastiveDivergenceConfig;

    /// What each trained layer passes up.
    fn pass_up(&self) -> PassUp;

    /// The bottom layer as its training starts (the DBN initialises its visible biases from
    /// the data); unchanged by default.
    ///
    /// # Errors
    /// Invalid data.
    fn prepare_bottom<D: TrainingData<B>>(
        &self,
        layer: Self::Layer,
        _data: &D,
        _device: &B::Device,
    ) -> rbm_burn::Result<Self::Layer> {
        Ok(layer)
    }

    /// Checks that `layers`, read from a file, are a stack these settings build.
    ///
    /// # Errors
    /// What is wrong with them, as a file problem.
    fn check_layers(&self, layers: &[Self::Layer]) -> std::result::Result<(), FileProblem>;

    /// Checks the settings.
    ///
    /// # Errors
    /// What is invalid in them.
    fn check_settings(&self) -> Result<()>;

    /// Width of the stack's input rows.
    fn input_width(&self) -> usize;

    /// The bottom layer's visible units.
    fn input_units(&self) -> &VisibleUnits;

    /// Checks that `data` is what the bottom layer takes: rows of its width, with values its
    /// units allow (streamed sources check each batch as it is read instead).
    ///
    /// # Errors
    /// [`DbnError::EmptyData`], [`DbnError::InputWidth`], and invalid values as
    /// [`DbnError::Layer`] 0.
    fn check_data<D: TrainingData<B>>(&self, data: &D) -> Result<()> {
        if data.n_rows() == 0 {
            return Err(DbnError::EmptyData);
        }
        let (expected, actual) = (self.input_width(), data.n_columns()?);
        if actual != expected {
            return Err(DbnError::InputWidth { expected, actual });
        }
        data.check_values(self.input_units())
            .map_err(|source| DbnError::Layer { layer: 0, source })
    }

    /// Trains `layers` from the bottom one on, after checking `data`; returns them trained.
    ///
    /// # Errors
    /// Invalid data and the learners' errors.
    fn train_stack<D: TrainingData<B>, O: TrainingObserver + ?Sized>(
        &self,
        layers: Vec<Self::Layer>,
        data: &D,
        observer: &mut O,
        checkpoints: Option<Checkpointing<'_>>,
    ) -> Result<(Vec<Self::Layer>, PretrainHistory)> {
        self.check_data(data)?;
        Stack::start(layers, self).run(self, data, observer, checkpoints)
    }

    /// Continues training from the checkpoint at `path`, writing checkpoints there every
    /// `every` epochs; returns the trained layers.
    ///
    /// # Errors
    /// Invalid settings or data, a missing, damaged or foreign checkpoint, and the learners'
    /// errors.
    fn resume_stack<D: TrainingData<B>, O: TrainingObserver + ?Sized>(
        &self,
        path: &Path,
        data: &D,
        observer: &mut O,
        every: usize,
        device: &B::Device,
    ) -> Result<(Vec<Self::Layer>, PretrainHistory)> {
        let checkpoints = Checkpointing::new(path, every)?;
        self.check_settings()?;
        self.check_data(data)?;
        let stack = Stack::load(checkpoints.path, self, device)?;
        stack.run(self, data, observer, Some(checkpoints))
    }
}

/// A stack as a record: its models, bottom first.
#[derive(Record)]
pub(crate) struct StackFileRecord<B: Backend, M: CdModel<B>> {
    layers: Vec<ModelRecord<B, M>>,
}

/// Saves `layers` to `path` atomically as a file of `kind`.
pub(crate) fn save_stack<B: Backend, M: CdModel<B>>(
    layers: &[M],
    kind: &str,
    path: &Path,
) -> Result<()> {
    let record = StackFileRecord {
        layers: layers.iter().map(ModelRecord::of).collect(),
    };
    Ok(save_record(path, kind, record)?)
}

/// The models of a file of `kind` that [`save_stack`] wrote, on `device`.
pub(crate) fn load_stack<B: Backend, M: CdModel<B>>(
    path: &Path,
    kind: &str,
    device: &B::Device,
) -> Result<Vec<M>> {
    let record = load_record::<B, StackFileRecord<B, M>>(path, kind, device)?;
    Ok(record
        .layers
        .into_iter()
        .map(|layer| layer.into_model(path, device))
        .collect::<rbm_burn::Result<Vec<_>>>()?)
}

/// What a pre-training checkpoint holds (see the [module docs](self)).
#[derive(Record)]
pub(crate) struct PretrainCheckpointRecord<B: Backend, C: StackSpec<B>> {
    /// The settings.
    config: C,
    /// Every model of the stack; the one in training is in `learner`.
    layers: Vec<ModelRecord<B, C::Layer>>,
    /// The layer in training.
    layer: usize,
    learner: CdCheckpointRecord<B, C::Layer>,
    pass_up_rng: RngRecord,
    history: Vec<TrainingHistory>,
}

/// Where and how often checkpoints are written.
pub(crate) struct Checkpointing<'a> {
    pub(crate) path: &'a Path,
    pub(crate) every: usize,
}

impl<'a> Checkpointing<'a> {
    /// Checkpoints to `path` every `every` epochs.
    ///
    /// # Errors
    /// [`DbnError::InvalidHyperparameter`] when `every` is 0.
    pub(crate) fn new(path: &'a Path, every: usize) -> Result<Self> {
        if every == 0 {
            return Err(crate::error::invalid(
                "checkpoint every",
                every,
                "must be at least 1 epoch",
            ));
        }
        Ok(Self { path, every })
    }
}

/// Mixed into a layer's seed for the stream that samples its monitored rows.
const MONITOR_PASS_UP_SALT: u64 = 0x6d6f_6e69_746f_7221;

/// The stream that samples the data passed up to `layer`.
fn pass_up_rng<B: Backend, S: StackSpec<B>>(spec: &S, layer: usize) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(spec.layer_cd(layer).seed ^ 0x9E37_79B9_7F4A_7C15)
}

/// Where pre-training progress stands.
pub(crate) struct Stack<B: Backend, M: StackLayer<B>> {
    layers: Vec<M>,
    /// The layer in training.
    layer: usize,
    /// Its learner and model, once its training started.
    current: Option<(ContrastiveDivergence<B, M>, M)>,
    /// The stream that samples the data passed up to `layer`.
    pass_up_rng: Xoshiro256PlusPlus,
    history: PretrainHistory,
}

impl<B: Backend, M: StackLayer<B>> Stack<B, M> {
    /// Nothing trained yet.
    pub(crate) fn start<S: StackSpec<B, Layer = M>>(layers: Vec<M>, spec: &S) -> Self {
        Self {
            layers,
            layer: 0,
            current: None,
            pass_up_rng: pass_up_rng(spec, 0),
            history: PretrainHistory::default(),
        }
    }

    /// Trains the rest of the stack, writing checkpoints if asked to; returns the trained
    /// layers.
    pub(crate) fn run<S, D, O>(
        mut self,
        spec: &S,
        data: &D,
        observer: &mut O,
        checkpoints: Option<Checkpointing<'_>>,
    ) -> Result<(Vec<M>, PretrainHistory)>
    where
        S: StackSpec<B, Layer = M>,
        D: TrainingData<B>,
        O: TrainingObserver + ?Sized,
    {
        let device = self.layers[0].device();
        let n_layers = self.layers.len();
        while self.layer < n_layers {
            let layer = self.layer;
            let wrap = |source| DbnError::Layer { layer, source };
            let (mut learner, mut model) = match self.current.take() {
                Some(current) => current,
                None => {
                    let learner = spec.layer_cd(layer).init().map_err(wrap)?;
                    let model = self.layers[layer].clone();
                    let model = if layer == 0 {
                        spec.prepare_bottom(model, data, &device).map_err(wrap)?
                    } else {
                        model
                    };
                    (learner, model)
                }
            };
            observer.on_layer_start(layer, n_layers, model.row_width(), model.n_hidden());
            if self.history.layers.len() <= layer {
                self.history.layers.push(TrainingHistory::default());
            }
            let total = learner.config().epochs;
            let source = Propagated {
                data,
                below: &self.layers[..layer],
                pass_up: spec.pass_up(),
                rng: RefCell::new(self.pass_up_rng.clone()),
                backend: PhantomData,
                monitor_seed: spec.layer_cd(layer).seed ^ MONITOR_PASS_UP_SALT,
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
                    .fit_until(model, &source, None, &mut layer_observer, stop)
                    .map_err(wrap)?;
                model = trained;
                self.history.layers[layer].epochs.extend(history.epochs);
                if let Some(c) = &checkpoints {
                    let record = PretrainCheckpointRecord::<B, S> {
                        config: spec.clone(),
                        layers: self.layers.iter().map(ModelRecord::of).collect(),
                        layer,
                        learner: learner.checkpoint_record(&model),
                        pass_up_rng: RngRecord::new(source.rng.borrow().clone()),
                        history: self.history.layers.clone(),
                    };
                    save_record(c.path, S::CHECKPOINT_KIND, record)?;
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
            self.layers[layer] = model;
            self.layer += 1;
            self.pass_up_rng = pass_up_rng(spec, self.layer);
        }
        Ok((self.layers, self.history))
    }

    /// The progress saved at `path`, which must have been written with the settings `spec`.
    pub(crate) fn load<S: StackSpec<B, Layer = M>>(
        path: &Path,
        spec: &S,
        device: &B::Device,
    ) -> Result<Self> {
        let record =
            load_record::<B, PretrainCheckpointRecord<B, S>>(path, S::CHECKPOINT_KIND, device)?;
        let problem = |problem| DbnError::Rbm(file_error(path, problem));
        let mismatch = |what: &str, expected: String, found: String| {
            problem(FileProblem::Mismatch {
                what: what.into(),
                expected,
                found,
            })
        };
        // (Both serialised by the same code: equal settings give equal text.)
        if record.config.to_string() != spec.to_string() {
            return Err(mismatch(
                "the pre-training settings",
                format!("the settings given, {spec}"),
                record.config.to_string(),
            ));
        }
        let layers = record
            .layers
            .into_iter()
            .map(|layer| layer.into_model(path, device))
            .collect::<rbm_burn::Result<Vec<M>>>()?;
        spec.check_layers(&layers).map_err(problem)?;
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
        let (learner, model) =
            ContrastiveDivergence::from_checkpoint_record(record.learner, path, device)?;
        let expected = layers[layer].structure();
        if model.structure() != expected {
            return Err(mismatch(
                "the structure of the layer in training",
                format!("{expected:?}"),
                format!("{:?}", model.structure()),
            ));
        }
        Ok(Self {
            layers,
            layer,
            current: Some((learner, model)),
            pass_up_rng: record.pass_up_rng.into_inner(),
            history: PretrainHistory {
                layers: record.history,
            },
        })
    }
}

/// The unit type of the input of a stack whose bottom layer is `bottom` (binary without one).
pub(crate) fn input_units<B: Backend, M: StackLayer<B>>(bottom: Option<&M>) -> VisibleUnits {
    bottom.map_or(VisibleUnits::Bernoulli, CdModel::row_units)
}
