//! The convolutional DBN (Lee, Grosse, Ranganath & Ng 2009): convolutional RBMs with
//! probabilistic max-pooling ([`ConvRbm`]) stacked greedily, each trained on the pooling units
//! of the one below, and handed to the `Conv2d` layers of a Burn network.
//!
//! Layer `l + 1` sees the pooled maps of layer `l` as an image of `K_l` channels: with
//! [`PassUp::Probabilities`] the probabilities `p(pool = 1 | v)`, with [`PassUp::Samples`]
//! binary samples of them (the pooling units of different blocks are independent given the
//! image, so sampling each from its probability is exact). Pre-training, checkpoints and
//! resuming are the DBN's (see [`crate::pretrain`]): the same loop over the same learner.
//!
//! # Hand-over to a Burn network
//! [`ConvDbn::to_conv2d`] gives each layer's filters and detection biases as a `Conv2d` (stride
//! 1, no padding): its output on the layer's input is the detection units' input `I`, so
//! `sigmoid` of it is `p(h = 1 | v)` without pooling, and a `P × P` max-pool after it is the
//! usual deterministic stand-in for probabilistic max-pooling. [`ConvDbn::load_conv2d`] loads
//! a layer into a `Conv2d` of your own network, keeping its parameter ids and device.

use std::path::Path;

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::record::{PrecisionSettings, Record};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use rand::Rng;
use rbm_burn::sampling::bernoulli;
use rbm_burn::{
    ContrastiveDivergenceConfig, ConvRbm, ConvRbmConfig, FileProblem, TrainingData,
    TrainingObserver, VisibleUnits,
};

use crate::config::{layer_cd, validate_cd, PassUp};
use crate::error::DbnError;

use crate::mlp::trainable;
use crate::observer::PretrainHistory;
use crate::stack::{load_stack, save_stack, Checkpointing, StackLayer, StackSpec};

/// The content kind of convolutional DBN files.
const CONV_DBN_KIND: &str = "conv-dbn";
/// The content kind of its pre-training checkpoints.
const CONV_CHECKPOINT_KIND: &str = "conv-dbn-pretrain-checkpoint";

/// One convolutional layer of a [`ConvDbnConfig`]: its filters and pooling blocks.
#[derive(Config, Debug, PartialEq)]
pub struct ConvLayerConfig {
    /// Number of filters `K` (the channels it passes up).
    pub filters: usize,
    /// Side `F` of the square filters.
    pub filter_size: usize,
    /// Side `P` of the pooling blocks; it must divide the detection maps' sides.
    #[config(default = 1)]
    pub pool: usize,
}

/// Configuration of a [`ConvDbn`]: the input images, the layers, and how each is pre-trained.
#[derive(Config, Debug)]
pub struct ConvDbnConfig {
    /// Channels of the input images.
    pub channels: usize,
    /// Height of the input images in pixels.
    pub height: usize,
    /// Width of the input images in pixels.
    pub width: usize,
    /// The layers, bottom first; layer `l + 1`'s images are layer `l`'s pooled maps.
    pub layers: Vec<ConvLayerConfig>,
    /// Contrastive-divergence settings: one entry shared by every layer, or one per layer.
    /// Layer `i`'s learner is seeded with its entry's seed plus `i`.
    #[config(default = "vec![ContrastiveDivergenceConfig::new()]")]
    pub cd: Vec<ContrastiveDivergenceConfig>,
    /// What each trained layer passes up: pooling probabilities or samples.
    #[config(default = "PassUp::Probabilities")]
    pub pass_up: PassUp,
    /// The units of the input pixels: binary, or unit-variance Gaussian. The layers above
    /// are binary.
    #[config(default = "VisibleUnits::Bernoulli")]
    pub visible_units: VisibleUnits,
    /// Standard deviation of the initial filter weights.
    #[config(default = 0.01)]
    pub weight_std: f64,
    /// Seed of the initial weights (layer `i` uses `seed + i`).
    #[config(default = 0)]
    pub seed: u64,
}

impl<B: Backend> Record<B> for ConvDbnConfig {
    type Item<S: PrecisionSettings> = ConvDbnConfig;

    fn into_item<S: PrecisionSettings>(self) -> Self::Item<S> {
        self
    }

    fn from_item<S: PrecisionSettings>(item: Self::Item<S>, _: &B::Device) -> Self {
        item
    }
}

impl ConvDbnConfig {
    /// The config of every layer, bottom first, each checked before the next is derived from
    /// its pooled shape.
    ///
    /// # Errors
    /// [`DbnError::NoLayers`] without layers; a layer's invalid sizes or units as
    /// [`DbnError::Layer`].
    pub fn layer_configs(&self) -> crate::Result<Vec<ConvRbmConfig>> {
        if self.layers.is_empty() {
            return Err(DbnError::NoLayers { got: 1 });
        }
        let mut image = [self.channels, self.height, self.width];
        let mut configs = Vec::with_capacity(self.layers.len());
        for (layer, spec) in self.layers.iter().enumerate() {
            let [channels, height, width] = image;
            let units = match layer {
                0 => self.visible_units,
                _ => VisibleUnits::Bernoulli,
            };
            let config =
                ConvRbmConfig::new(channels, height, width, spec.filters, spec.filter_size)
                    .with_pool(spec.pool)
                    .with_weight_std(self.weight_std)
                    .with_seed(self.seed.wrapping_add(layer as u64))
                    .with_visible_units(units);
            image = config
                .pooled_shape()
                .map_err(|source| DbnError::Layer { layer, source })?;
            configs.push(config);
        }
        Ok(configs)
    }

    /// Checks every layer's sizes and units and every learner's hyperparameters.
    ///
    /// # Errors
    /// As [`Self::layer_configs`], and [`DbnError::LayerCount`] or the learners' errors for
    /// `cd`.
    pub fn validate(&self) -> crate::Result<()> {
        self.layer_configs()?;
        validate_cd(&self.cd, self.layers.len())
    }

    /// The contrastive-divergence settings of layer `layer`, with its seed offset applied.
    ///
    /// # Panics
    /// If `cd` is empty; [`Self::validate`] rejects that.
    pub fn layer_cd(&self, layer: usize) -> ContrastiveDivergenceConfig {
        layer_cd(&self.cd, layer)
    }

    /// Builds the untrained stack on `device`.
    ///
    /// # Errors
    /// As [`Self::validate`].
    pub fn init<B: Backend>(&self, device: &B::Device) -> crate::Result<ConvDbn<B>> {
        self.validate()?;
        let layers = self
            .layer_configs()?
            .iter()
            .enumerate()
            .map(|(layer, config)| {
                config
                    .init(device)
                    .map_err(|source| DbnError::Layer { layer, source })
            })
            .collect::<crate::Result<Vec<_>>>()?;
        ConvDbn::from_layers(layers)
    }

    /// Builds the stack on `device` and pre-trains it greedily on `data`, rows of flattened
    /// images (`[C · H · W]`, channel-major, as `Tensor::reshape` of `[n, C, H, W]` gives
    /// them), reporting progress to `observer` (every event carries the layer).
    ///
    /// # Errors
    /// An invalid config, [`DbnError::InputWidth`] for rows of another width,
    /// [`DbnError::EmptyData`], and the learners' errors as [`DbnError::Layer`].
    pub fn pretrain_with<B: Backend, D: TrainingData<B>, O: TrainingObserver + ?Sized>(
        &self,
        data: &D,
        observer: &mut O,
        device: &B::Device,
    ) -> crate::Result<(ConvDbn<B>, PretrainHistory)> {
        self.train(self.init(device)?, data, observer, None)
    }

    /// [`Self::pretrain_with`] that saves a checkpoint to `path` after every `every` epochs of
    /// each layer and after each layer's last epoch; [`Self::resume_pretraining`] continues
    /// from it.
    ///
    /// # Errors
    /// As [`Self::pretrain_with`], [`DbnError::InvalidHyperparameter`] when `every` is 0, and
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
    ) -> crate::Result<(ConvDbn<B>, PretrainHistory)> {
        let checkpoints = Checkpointing::new(path.as_ref(), every)?;
        self.train(self.init(device)?, data, observer, Some(checkpoints))
    }

    /// Continues pre-training from the checkpoint at `path`, which
    /// [`Self::pretrain_with_checkpoints`] wrote with this config and the same data, writing
    /// checkpoints there every `every` epochs. The history covers every epoch.
    ///
    /// # Errors
    /// As [`Self::pretrain_with_checkpoints`], and [`DbnError::Rbm`] with
    /// [`rbm_burn::RbmError::File`] naming `path` for a checkpoint that is missing, damaged,
    /// of another kind, or written with other settings.
    pub fn resume_pretraining<B: Backend, D: TrainingData<B>, O: TrainingObserver + ?Sized>(
        &self,
        path: impl AsRef<Path>,
        data: &D,
        observer: &mut O,
        every: usize,
        device: &B::Device,
    ) -> crate::Result<(ConvDbn<B>, PretrainHistory)> {
        let (layers, history) = self.resume_stack(path.as_ref(), data, observer, every, device)?;
        Ok((ConvDbn { layers }, history))
    }

    /// Trains `dbn` from its first layer on.
    fn train<B: Backend, D: TrainingData<B>, O: TrainingObserver + ?Sized>(
        &self,
        dbn: ConvDbn<B>,
        data: &D,
        observer: &mut O,
        checkpoints: Option<Checkpointing<'_>>,
    ) -> crate::Result<(ConvDbn<B>, PretrainHistory)> {
        let (layers, history) = self.train_stack(dbn.layers, data, observer, checkpoints)?;
        Ok((ConvDbn { layers }, history))
    }
}

impl<B: Backend> StackLayer<B> for ConvRbm<B> {
    fn output_width(&self) -> usize {
        self.pooled_shape().iter().product()
    }

    fn pass_up<R: Rng + ?Sized>(
        &self,
        rows: Tensor<B, 2>,
        how: PassUp,
        rng: &mut R,
    ) -> rbm_burn::Result<Tensor<B, 2>> {
        let pooled = self.pooled_rows(rows)?;
        Ok(match how {
            PassUp::Probabilities => pooled,
            PassUp::Samples => bernoulli(pooled, rng),
        })
    }
}

impl<B: Backend> StackSpec<B> for ConvDbnConfig {
    type Layer = ConvRbm<B>;

    const CHECKPOINT_KIND: &'static str = CONV_CHECKPOINT_KIND;

    fn layer_cd(&self, layer: usize) -> ContrastiveDivergenceConfig {
        ConvDbnConfig::layer_cd(self, layer)
    }

    fn pass_up(&self) -> PassUp {
        self.pass_up
    }

    fn check_settings(&self) -> crate::Result<()> {
        self.validate()
    }

    fn input_width(&self) -> usize {
        self.channels * self.height * self.width
    }

    fn input_units(&self) -> &VisibleUnits {
        &self.visible_units
    }

    fn check_layers(&self, layers: &[ConvRbm<B>]) -> std::result::Result<(), FileProblem> {
        let expected = self.layer_configs().map_err(|e| FileProblem::Corrupt {
            reason: e.to_string(),
        })?;
        let found: Vec<_> = layers.iter().map(ConvRbm::config).collect();
        if found != expected {
            return Err(FileProblem::Mismatch {
                what: "the layers".into(),
                expected: format!("{expected:?}"),
                found: format!("{found:?}"),
            });
        }
        Ok(())
    }
}

/// A convolutional DBN: convolutional RBMs stacked so that the pooled maps of each are the
/// image of the next (see the [module docs](self)). Build and pre-train it with
/// [`ConvDbnConfig::pretrain_with`].
#[derive(Module, Debug)]
pub struct ConvDbn<B: Backend> {
    /// The convolutional RBMs, bottom (input) first.
    pub layers: Vec<ConvRbm<B>>,
}

impl<B: Backend> ConvDbn<B> {
    /// Stacks trained or untrained convolutional RBMs, bottom first.
    ///
    /// # Errors
    /// [`DbnError::NoLayers`] for an empty list; [`DbnError::LayerMismatch`] when a layer's
    /// image shape is not the pooled shape of the one below; [`DbnError::UnsupportedUnits`]
    /// for non-binary visible units above the bottom layer.
    pub fn from_layers(layers: Vec<ConvRbm<B>>) -> crate::Result<Self> {
        if layers.is_empty() {
            return Err(DbnError::NoLayers { got: 0 });
        }
        for layer in 1..layers.len() {
            let model = &layers[layer];
            if model.config().visible_units != VisibleUnits::Bernoulli {
                return Err(DbnError::UnsupportedUnits {
                    layer,
                    units: model.config().visible_units.to_string(),
                    reason: "only the bottom layer may have non-binary visible units",
                });
            }
            let below = layers[layer - 1].pooled_shape();
            if model.image_shape() != below {
                return Err(DbnError::LayerMismatch {
                    layer,
                    expected: format!("images of shape {below:?} (the pooled maps below)"),
                    actual: format!("images of shape {:?}", model.image_shape()),
                });
            }
        }
        Ok(Self { layers })
    }

    /// Number of layers.
    pub fn n_layers(&self) -> usize {
        self.layers.len()
    }

    /// The pooling probabilities of the top layer for `images`, passed up through every layer
    /// as in pre-training with [`PassUp::Probabilities`]: features for a classifier.
    ///
    /// # Shapes
    /// - `images`: `[n, C, H, W]` of the bottom layer, output: `[n, K, h, w]` of the top
    ///   layer's pooled maps
    ///
    /// # Errors
    /// [`DbnError::Rbm`] for no images or images of another shape.
    pub fn features(&self, images: Tensor<B, 4>) -> crate::Result<Tensor<B, 4>> {
        let mut maps = images;
        for layer in &self.layers {
            maps = layer.pool(maps)?;
        }
        Ok(maps)
    }

    /// Every layer as a Burn `Conv2d` (see [`ConvRbm::to_conv2d`] and the [module
    /// docs](self)), bottom first.
    pub fn to_conv2d(&self) -> Vec<Conv2d<B>> {
        self.layers.iter().map(ConvRbm::to_conv2d).collect()
    }

    /// Loads layer `layer`'s filters and detection biases into `conv`, a layer of your own
    /// network, keeping its parameter ids and device:
    /// `model.conv1 = dbn.load_conv2d(0, model.conv1)?;`
    ///
    /// # Errors
    /// [`DbnError::NoSuchLayer`]; [`DbnError::LayerMismatch`] when `conv`'s weight is not
    /// `[K, C, F, F]` of that layer, or it is not a stride-1, unpadded, undilated, ungrouped
    /// convolution; [`DbnError::MissingBias`] for a layer built without a bias.
    pub fn load_conv2d(&self, layer: usize, conv: Conv2d<B>) -> crate::Result<Conv2d<B>> {
        let model = self.layers.get(layer).ok_or(DbnError::NoSuchLayer {
            layer,
            n_layers: self.layers.len(),
        })?;
        let pretrained = model.to_conv2d();
        let (expected, actual) = (pretrained.weight.dims(), conv.weight.dims());
        if actual != expected {
            return Err(DbnError::LayerMismatch {
                layer,
                expected: format!("a Conv2d weight of shape {expected:?} [K, C, F, F]"),
                actual: format!("{actual:?}"),
            });
        }
        let geometry = |c: &Conv2d<B>| {
            format!(
                "stride {:?}, dilation {:?}, groups {}, padding {:?}",
                c.stride, c.dilation, c.groups, c.padding
            )
        };
        if geometry(&conv) != geometry(&pretrained) {
            return Err(DbnError::LayerMismatch {
                layer,
                expected: format!("a Conv2d with {}", geometry(&pretrained)),
                actual: geometry(&conv),
            });
        }
        let (Some(old_bias), Some(new_bias)) = (conv.bias.as_ref(), pretrained.bias.as_ref())
        else {
            return Err(DbnError::MissingBias { layer });
        };
        let device = conv.weight.device();
        let bias = trainable(old_bias.id, new_bias.val().to_device(&device));
        Ok(Conv2d {
            weight: trainable(conv.weight.id, pretrained.weight.val().to_device(&device)),
            bias: Some(bias),
            ..conv
        })
    }

    /// Saves every layer (structure and parameters) to `path` atomically.
    ///
    /// # Errors
    /// [`DbnError::Rbm`] with [`rbm_burn::RbmError::File`] naming `path`.
    pub fn save(&self, path: impl AsRef<Path>) -> crate::Result<()> {
        save_stack(&self.layers, CONV_DBN_KIND, path.as_ref())
    }

    /// Loads a convolutional DBN saved with [`ConvDbn::save`] onto `device`.
    ///
    /// # Errors
    /// [`DbnError::Rbm`] with [`rbm_burn::RbmError::File`] naming `path` and what is wrong
    /// (missing, damaged, another kind of file, or layers that do not stack).
    pub fn load(path: impl AsRef<Path>, device: &B::Device) -> crate::Result<Self> {
        let path = path.as_ref();
        Self::from_layers(load_stack(path, CONV_DBN_KIND, device)?).map_err(|e| {
            DbnError::Rbm(rbm_burn::internal::file_error(
                path,
                FileProblem::Corrupt {
                    reason: format!("the layers do not form a convolutional DBN: {e}"),
                },
            ))
        })
    }
}
