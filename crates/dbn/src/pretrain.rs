//! Greedy layer-wise pre-training of a [`Dbn`], its checkpoints and resuming from them (the
//! loop itself, shared with the convolutional DBN, is `crate::stack`'s).
//!
//! A pre-training checkpoint holds the whole stack (the layers below trained, the layer in
//! training as far as it got, the layers above untouched), which layer is in training, its
//! learner's complete state ([`rbm_burn::CdCheckpointRecord`]), the position of the random stream that
//! samples the data passed up to it (for [`PassUp::Samples`](crate::PassUp::Samples)), the
//! history so far, and the settings. Reading the monitored rows of a layer draws nothing from
//! that stream ([`TrainingData::monitor_rows`]), so how often checkpoints are written does not
//! change the updates either. Resuming from the checkpoint written after an epoch therefore
//! repeats exactly the updates of an uninterrupted run.

use std::path::Path;

use burn::record::{PrecisionSettings, Record};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use rand::Rng;
use rbm_burn::{
    ContrastiveDivergenceConfig, FileProblem, Rbm, TrainingData, TrainingObserver, VisibleUnits,
};

use crate::config::{DbnConfig, PassUp};
use crate::dbn::{init_visible_bias, Dbn};
use crate::error::{DbnError, Result};
use crate::observer::PretrainHistory;
use crate::stack::{load_stack, save_stack, Checkpointing, StackLayer, StackSpec};

/// The content kind of DBN files (see `rbm_burn::file`).
pub const DBN_KIND: &str = "dbn";
/// The content kind of pre-training checkpoints.
pub const PRETRAIN_CHECKPOINT_KIND: &str = "dbn-pretrain-checkpoint";

impl<B: Backend> Record<B> for DbnConfig {
    type Item<S: PrecisionSettings> = DbnConfig;

    fn into_item<S: PrecisionSettings>(self) -> Self::Item<S> {
        self
    }

    fn from_item<S: PrecisionSettings>(item: Self::Item<S>, _: &B::Device) -> Self {
        item
    }
}

impl<B: Backend> StackLayer<B> for Rbm<B> {
    fn output_width(&self) -> usize {
        self.n_hidden()
    }

    fn pass_up<R: Rng + ?Sized>(
        &self,
        rows: Tensor<B, 2>,
        how: PassUp,
        rng: &mut R,
    ) -> rbm_burn::Result<Tensor<B, 2>> {
        Ok(match how {
            PassUp::Probabilities => self.hidden_probs(rows),
            PassUp::Samples => self.sample_hidden(rows, rng),
        })
    }
}

impl<B: Backend> StackSpec<B> for DbnConfig {
    type Layer = Rbm<B>;

    const CHECKPOINT_KIND: &'static str = PRETRAIN_CHECKPOINT_KIND;

    fn layer_cd(&self, layer: usize) -> ContrastiveDivergenceConfig {
        DbnConfig::layer_cd(self, layer)
    }

    fn pass_up(&self) -> PassUp {
        self.pass_up
    }

    fn check_settings(&self) -> Result<()> {
        self.validate()
    }

    fn input_width(&self) -> usize {
        self.layers[0]
    }

    fn input_units(&self) -> &VisibleUnits {
        &self.visible_units
    }

    fn prepare_bottom<D: TrainingData<B>>(
        &self,
        layer: Rbm<B>,
        data: &D,
        device: &B::Device,
    ) -> rbm_burn::Result<Rbm<B>> {
        match self.init_visible_bias {
            true => init_visible_bias(layer, data, device),
            false => Ok(layer),
        }
    }

    fn check_layers(&self, layers: &[Rbm<B>]) -> std::result::Result<(), FileProblem> {
        let dbn = Dbn::from_layers(layers.to_vec()).map_err(|e| FileProblem::Corrupt {
            reason: format!("the layers do not form a DBN: {e}"),
        })?;
        if dbn.sizes() != self.layers {
            return Err(FileProblem::Mismatch {
                what: "the layer sizes".into(),
                expected: format!("{:?}", self.layers),
                found: format!("{:?}", dbn.sizes()),
            });
        }
        Ok(())
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
        self.train(dbn, data, observer, None)
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
        let checkpoints = Checkpointing::new(path.as_ref(), every)?;
        let dbn = self.init(device)?;
        self.train(dbn, data, observer, Some(checkpoints))
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
        self.train(dbn, data, observer, None)
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
        let (layers, history) = self.resume_stack(path.as_ref(), data, observer, every, device)?;
        Ok((Dbn { layers }, history))
    }

    /// Trains `dbn` from its first layer on.
    fn train<B: Backend, D: TrainingData<B>, O: TrainingObserver + ?Sized>(
        &self,
        dbn: Dbn<B>,
        data: &D,
        observer: &mut O,
        checkpoints: Option<Checkpointing<'_>>,
    ) -> Result<(Dbn<B>, PretrainHistory)> {
        let (layers, history) = self.train_stack(dbn.layers, data, observer, checkpoints)?;
        Ok((Dbn { layers }, history))
    }
}

impl<B: Backend> Dbn<B> {
    /// Saves every layer (parameters and unit types) to `path` atomically, in the checked
    /// container of [`rbm_burn::file`].
    ///
    /// # Errors
    /// [`DbnError::Rbm`] with [`rbm_burn::RbmError::File`] naming `path`.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        save_stack(&self.layers, DBN_KIND, path.as_ref())
    }

    /// Loads a DBN saved with [`Dbn::save`] onto `device`.
    ///
    /// # Errors
    /// [`DbnError::Rbm`] with [`rbm_burn::RbmError::File`] naming `path` and what is wrong
    /// (missing, truncated, damaged, another kind of file such as a single RBM, or layers that
    /// do not stack).
    pub fn load(path: impl AsRef<Path>, device: &B::Device) -> Result<Self> {
        let path = path.as_ref();
        Dbn::from_layers(load_stack(path, DBN_KIND, device)?).map_err(|e| {
            DbnError::Rbm(rbm_burn::internal::file_error(
                path,
                FileProblem::Corrupt {
                    reason: format!("the layers do not form a DBN: {e}"),
                },
            ))
        })
    }
}
