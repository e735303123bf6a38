//! The convolutional RBM with probabilistic max-pooling (Lee, Grosse, Ranganath & Ng 2009):
//! weights shared across positions, so that each hidden unit is a local feature detector.
//!
//! The visible layer is an image `v` of `C` channels, `H × W` pixels; the hidden layer has
//! `K` detection maps `h^k` of `(H − F + 1) × (W − F + 1)` units, one per filter `W^k`
//! (`[C, F, F]`), with one bias `b_k` per filter and one visible bias `c_ch` per channel. The
//! detection maps are split into blocks `α` of `P × P` units; at most one unit of a block is
//! on, and the block's pooling unit is on when one of them is. With `I^k = b_k + W^k ⋆ v`
//! (the valid cross-correlation of the image with the filter, [`burn::tensor::module::conv2d`]):
//!
//! ```text
//! E(v, h)      = −Σ_k h^k • I^k − Σ_ch c_ch Σ_ij v_ch,ij        (binary v; at most one h per block)
//! p(h^k_ij = 1 | v) = exp(I^k_ij) / (1 + Σ_{(i',j') ∈ α} exp(I^k_i'j'))
//! p(pool_α = 0 | v) = 1 / (1 + Σ_{(i',j') ∈ α} exp(I^k_i'j'))
//! p(v | h)     = σ(c + Σ_k W^k ∗ h^k)                            (the full convolution, conv_transpose2d)
//! F(v)         = −Σ_ch c_ch Σ_ij v_ch,ij − Σ_k Σ_α log(1 + Σ_{(i,j) ∈ α} exp(I^k_ij))
//! ```
//!
//! so each block with its "all off" state is one softmax of `P² + 1` states. Gaussian visible
//! units (unit variance, for whitened or standardised images) replace the visible terms by
//! `Σ (v − c)² / 2` and the visible conditional by `N(c + Σ_k W^k ∗ h^k, 1)`. With `P = 1` the
//! model is exactly the RBM whose dense weight matrix ties the filter's weights at every
//! position ([`ConvRbm::tied_rbm`]).
//!
//! The learner ([`crate::ContrastiveDivergence`]) trains it on rows of flattened images
//! (`[C · H · W]`, channel-major, as `Tensor::reshape` of `[n, C, H, W]` gives them); its
//! statistics are the correlations of the visible maps with the hidden maps,
//! `∂⟨log p⟩/∂W^k = ⟨v ⋆ h^k⟩_data − ⟨v ⋆ h^k⟩_model`. The learner's sparsity penalty applies
//! per detection unit; Lee et al.'s per-filter regularisation is its average over positions.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::module::{conv2d, conv_transpose2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{activation, backend::Backend, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

use crate::error::{self, RbmError};
use crate::metrics::pseudo_log_likelihood_of;
use crate::model::{CdModel, Phase};
use crate::params::{self, value_param};
use crate::persist::{load_model, save_model, value_records};
use crate::rbm::{penalised, weighted_phases, Rbm};
use crate::sampling;
use crate::units::{softmax::categorical, VisibleUnits};

/// Configuration of a [`ConvRbm`]: the image shape, the filters, the pooling blocks and the
/// visible units.
#[derive(Config, Debug, PartialEq)]
pub struct ConvRbmConfig {
    /// Channels `C` of the images.
    pub channels: usize,
    /// Image height `H` in pixels.
    pub height: usize,
    /// Image width `W` in pixels.
    pub width: usize,
    /// Number of filters `K` (detection maps).
    pub filters: usize,
    /// Side `F` of the square filters, at most the image's sides.
    pub filter_size: usize,
    /// Side `P` of the square pooling blocks; it must divide the detection maps' sides
    /// `H − F + 1` and `W − F + 1`. 1: no pooling.
    #[config(default = 1)]
    pub pool: usize,
    /// Standard deviation of the initial filter weights, drawn from `N(0, weight_std²)`;
    /// biases start at zero.
    #[config(default = 0.01)]
    pub weight_std: f64,
    /// Seed of the initial weights (drawn on the host).
    #[config(default = 0)]
    pub seed: u64,
    /// The visible units: binary, or Gaussian with fixed unit variance.
    #[config(default = "VisibleUnits::Bernoulli")]
    pub visible_units: VisibleUnits,
}

value_records!(ConvRbmConfig);

impl ConvRbmConfig {
    /// The sides of the detection maps, `[H − F + 1, W − F + 1]`.
    fn detection(&self) -> [usize; 2] {
        [
            self.height + 1 - self.filter_size,
            self.width + 1 - self.filter_size,
        ]
    }

    /// The shape of the pooled maps of a model of this config, `[K, (H − F + 1) / P,
    /// (W − F + 1) / P]`: the image shape of a layer stacked on it.
    ///
    /// # Errors
    /// As [`Self::validate`].
    pub fn pooled_shape(&self) -> error::Result<[usize; 3]> {
        self.validate()?;
        let [rows, columns] = self.detection();
        Ok([self.filters, rows / self.pool, columns / self.pool])
    }

    /// Checks the sizes and units.
    ///
    /// # Errors
    /// As [`Self::init`].
    pub fn validate(&self) -> error::Result<()> {
        let sizes = [
            ("channels", self.channels),
            ("height", self.height),
            ("width", self.width),
            ("filters", self.filters),
            ("filter_size", self.filter_size),
            ("pool", self.pool),
        ];
        for (name, value) in sizes {
            if value == 0 {
                return Err(RbmError::InvalidHyperparameter {
                    name,
                    value: "0".into(),
                    reason: "sizes must be at least 1",
                });
            }
        }
        let invalid = |name, value: usize, reason| RbmError::InvalidHyperparameter {
            name,
            value: value.to_string(),
            reason,
        };
        if self.filter_size > self.height.min(self.width) {
            return Err(invalid(
                "filter_size",
                self.filter_size,
                "filters must fit in the image",
            ));
        }
        let [rows, columns] = self.detection();
        if rows % self.pool != 0 || columns % self.pool != 0 {
            return Err(invalid(
                "pool",
                self.pool,
                "the pooling side must divide the detection maps' sides (H − F + 1, W − F + 1)",
            ));
        }
        let too_large = || invalid("height", self.height, "the model is too large to index");
        let visible = self
            .channels
            .checked_mul(self.height)
            .and_then(|x| x.checked_mul(self.width))
            .ok_or_else(too_large)?;
        self.filters
            .checked_mul(rows * columns)
            .and_then(|hidden| hidden.checked_mul(visible))
            .ok_or_else(too_large)?;
        if !(self.weight_std.is_finite() && self.weight_std >= 0.0) {
            return Err(RbmError::InvalidHyperparameter {
                name: "weight_std",
                value: self.weight_std.to_string(),
                reason: "must be finite and ≥ 0",
            });
        }
        match self.visible_units {
            VisibleUnits::Bernoulli | VisibleUnits::Gaussian { learn_sigma: false } => Ok(()),
            units => Err(RbmError::UnsupportedUnits {
                operation: "the convolutional RBM",
                units: format!("{units} (it takes binary or unit-variance Gaussian pixels)"),
            }),
        }
    }

    /// Builds a convolutional RBM on `device`.
    ///
    /// # Errors
    /// [`RbmError::InvalidHyperparameter`] for zero sizes, filters larger than the image, a
    /// pooling side that does not divide the detection maps, or an invalid `weight_std`;
    /// [`RbmError::UnsupportedUnits`] for softmax or learned-σ visible units.
    pub fn init<B: Backend>(&self, device: &B::Device) -> error::Result<ConvRbm<B>> {
        self.validate()?;
        let mut rng = StdRng::seed_from_u64(self.seed);
        let normal = Normal::new(0.0f32, self.weight_std as f32).map_err(|_| {
            RbmError::InvalidHyperparameter {
                name: "weight_std",
                value: self.weight_std.to_string(),
                reason: "not a valid std",
            }
        })?;
        let shape = [
            self.filters,
            self.channels,
            self.filter_size,
            self.filter_size,
        ];
        let values: Vec<f32> = (0..shape.iter().product::<usize>())
            .map(|_| normal.sample(&mut rng))
            .collect();
        Ok(ConvRbm {
            filters: Param::from_tensor(Tensor::from_data(TensorData::new(values, shape), device)),
            visible_bias: Param::from_tensor(Tensor::zeros([self.channels], device)),
            hidden_bias: Param::from_tensor(Tensor::zeros([self.filters], device)),
            config: self.clone(),
        })
    }
}

/// A convolutional RBM with probabilistic max-pooling (see the [module docs](self)).
#[derive(Module, Debug)]
pub struct ConvRbm<B: Backend> {
    /// The filters `W`, `[K, C, F, F]` (the layout of Burn's `Conv2d` weights).
    pub filters: Param<Tensor<B, 4>>,
    /// One bias per visible channel, `[C]`.
    pub visible_bias: Param<Tensor<B, 1>>,
    /// One bias per filter, `[K]`.
    pub hidden_bias: Param<Tensor<B, 1>>,
    /// The structure (image shape, pooling, units).
    #[module(skip)]
    config: ConvRbmConfig,
}

impl<B: Backend> ConvRbm<B> {
    /// A convolutional RBM with these filters and biases for `config`'s image shape, pooling
    /// and units (its `filters`, `filter_size` and `channels` must be those of the tensors).
    ///
    /// # Shapes
    /// - `filters`: `[K, C, F, F]`, `visible_bias`: `[C]`, `hidden_bias`: `[K]`
    ///
    /// # Errors
    /// [`RbmError::ShapeMismatch`] naming the tensor that does not fit `config`, and the
    /// errors of [`ConvRbmConfig::init`] for an invalid config.
    pub fn from_tensors(
        config: &ConvRbmConfig,
        filters: Tensor<B, 4>,
        visible_bias: Tensor<B, 1>,
        hidden_bias: Tensor<B, 1>,
    ) -> error::Result<Self> {
        config.validate()?;
        let expected = [
            config.filters,
            config.channels,
            config.filter_size,
            config.filter_size,
        ];
        let checks = [
            ("filters", filters.dims().to_vec(), expected.to_vec()),
            (
                "visible_bias",
                visible_bias.dims().to_vec(),
                vec![config.channels],
            ),
            (
                "hidden_bias",
                hidden_bias.dims().to_vec(),
                vec![config.filters],
            ),
        ];
        for (what, actual, expected) in checks {
            if actual != expected {
                return Err(RbmError::ShapeMismatch {
                    what,
                    expected,
                    actual,
                });
            }
        }
        Ok(Self {
            filters: Param::from_tensor(filters),
            visible_bias: Param::from_tensor(visible_bias),
            hidden_bias: Param::from_tensor(hidden_bias),
            config: config.clone(),
        })
    }

    /// The config that builds a model of this structure.
    pub fn config(&self) -> ConvRbmConfig {
        self.config.clone()
    }

    /// The image shape `[C, H, W]`.
    pub fn image_shape(&self) -> [usize; 3] {
        [self.config.channels, self.config.height, self.config.width]
    }

    /// The shape of the detection maps, `[K, H − F + 1, W − F + 1]`.
    pub fn detection_shape(&self) -> [usize; 3] {
        let [rows, columns] = self.config.detection();
        [self.config.filters, rows, columns]
    }

    /// The shape of the pooled maps, `[K, (H − F + 1) / P, (W − F + 1) / P]`.
    pub fn pooled_shape(&self) -> [usize; 3] {
        let [k, rows, columns] = self.detection_shape();
        [k, rows / self.config.pool, columns / self.config.pool]
    }

    /// Values per image, `C · H · W`: the width of a training row.
    pub fn n_visible(&self) -> usize {
        self.image_shape().iter().product()
    }

    /// Detection units per image, `K · (H − F + 1) · (W − F + 1)`.
    pub fn n_hidden(&self) -> usize {
        self.detection_shape().iter().product()
    }

    /// Rows of flattened images as images.
    fn images(&self, rows: Tensor<B, 2>) -> Tensor<B, 4> {
        let [c, h, w] = self.image_shape();
        let n = rows.dims()[0];
        rows.reshape([n, c, h, w])
    }

    /// Maps `[n, K, rows, columns]` as rows `[n, K · rows · columns]`.
    fn flat(maps: Tensor<B, 4>) -> Tensor<B, 2> {
        let [n, k, h, w] = maps.dims();
        maps.reshape([n, k * h * w])
    }

    /// Rows of flattened detection maps as maps.
    fn maps(&self, rows: Tensor<B, 2>) -> Tensor<B, 4> {
        let [k, h, w] = self.detection_shape();
        let n = rows.dims()[0];
        rows.reshape([n, k, h, w])
    }

    /// The detection units' inputs `I^k = b_k + W^k ⋆ v`.
    ///
    /// # Shapes
    /// - `images`: `[n, C, H, W]`, output: `[n, K, H − F + 1, W − F + 1]`
    fn detection_input(&self, images: Tensor<B, 4>) -> Tensor<B, 4> {
        conv2d(
            images,
            self.filters.val(),
            Some(self.hidden_bias.val()),
            ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
        )
    }

    /// Detection maps as one row per pooling block, `[n · K · blocks, P²]`.
    fn blocks(&self, maps: Tensor<B, 4>) -> Tensor<B, 2> {
        let p = self.config.pool;
        let [n, k, h, w] = maps.dims();
        maps.reshape([n, k, h / p, p, w / p, p])
            .swap_dims(3, 4)
            .reshape([n * k * (h / p) * (w / p), p * p])
    }

    /// The inverse of [`Self::blocks`].
    fn unblocks(&self, blocks: Tensor<B, 2>, n: usize) -> Tensor<B, 4> {
        let p = self.config.pool;
        let [k, h, w] = self.detection_shape();
        blocks
            .reshape([n, k, h / p, w / p, p, p])
            .swap_dims(3, 4)
            .reshape([n, k, h, w])
    }

    /// Each block's states' probabilities: its `P²` units, then "all off".
    ///
    /// # Shapes
    /// - `inputs`: `[n, K, rows, columns]`, output: `[n · K · blocks, P² + 1]`
    fn block_states(&self, inputs: Tensor<B, 4>) -> Tensor<B, 2> {
        let blocks = self.blocks(inputs);
        let off = Tensor::zeros([blocks.dims()[0], 1], &blocks.device());
        activation::softmax(Tensor::cat(vec![blocks, off], 1), 1)
    }

    /// `p(h^k_ij = 1 | v)` of every detection unit of each image.
    ///
    /// # Shapes
    /// - `images`: `[n, C, H, W]`, output: `[n, K, H − F + 1, W − F + 1]`
    ///
    /// # Errors
    /// As [`Self::pool`].
    pub fn detection_probs(&self, images: Tensor<B, 4>) -> error::Result<Tensor<B, 4>> {
        self.check_images(&images)?;
        let model = params::detached(self);
        Ok(model.probs_from_inputs(model.detection_input(images)))
    }

    /// `p(h^k_ij = 1 | v)` of every detection unit, from its inputs.
    fn probs_from_inputs(&self, inputs: Tensor<B, 4>) -> Tensor<B, 4> {
        let n = inputs.dims()[0];
        let p2 = self.config.pool * self.config.pool;
        self.unblocks(self.block_states(inputs).narrow(1, 0, p2), n)
    }

    /// The pooling units' probabilities `p(pool_α = 1 | v)`: the features of the images.
    ///
    /// # Shapes
    /// - `images`: `[n, C, H, W]`, output: `[n, K, (H − F + 1) / P, (W − F + 1) / P]`
    ///
    /// # Errors
    /// [`RbmError::EmptyData`] for no images, [`RbmError::ShapeMismatch`] for images of
    /// another shape.
    pub fn pool(&self, images: Tensor<B, 4>) -> error::Result<Tensor<B, 4>> {
        self.check_images(&images)?;
        let model = params::detached(self);
        let n = images.dims()[0];
        let [k, h, w] = self.pooled_shape();
        let p2 = self.config.pool * self.config.pool;
        let off = model
            .block_states(model.detection_input(images))
            .narrow(1, p2, 1);
        Ok((off.neg() + 1.0).reshape([n, k, h, w]))
    }

    /// Checks that `images` are a non-empty batch of this model's image shape.
    fn check_images(&self, images: &Tensor<B, 4>) -> error::Result<()> {
        let [n, c, h, w] = images.dims();
        if n == 0 {
            return Err(RbmError::EmptyData);
        }
        if [c, h, w] != self.image_shape() {
            return Err(RbmError::ShapeMismatch {
                what: "images [n, channels, height, width]",
                expected: [n].into_iter().chain(self.image_shape()).collect(),
                actual: vec![n, c, h, w],
            });
        }
        Ok(())
    }

    /// A sample of the detection units from their inputs: one state per block.
    fn sample_detection<R: Rng + ?Sized>(&self, inputs: Tensor<B, 4>, rng: &mut R) -> Tensor<B, 4> {
        let n = inputs.dims()[0];
        let p2 = self.config.pool * self.config.pool;
        let states = categorical(self.block_states(inputs), p2 + 1, rng);
        self.unblocks(states.narrow(1, 0, p2), n)
    }

    /// The visible units' input given the detection maps, `c + Σ_k W^k ∗ h^k`.
    ///
    /// # Shapes
    /// - `hidden`: `[n, K, rows, columns]`, output: `[n, C, H, W]`
    fn visible_input(&self, hidden: Tensor<B, 4>) -> Tensor<B, 4> {
        conv_transpose2d(
            hidden,
            self.filters.val(),
            Some(self.visible_bias.val()),
            ConvTransposeOptions::new([1, 1], [0, 0], [0, 0], [1, 1], 1),
        )
    }

    /// The visible means given detection maps, `E[v | h]`: `σ(c + Σ_k W^k ∗ h^k)` for binary
    /// pixels, the input itself for Gaussian ones.
    ///
    /// # Shapes
    /// - `hidden`: `[n, K, rows, columns]`, output: `[n, C, H, W]`
    ///
    /// # Errors
    /// [`RbmError::ShapeMismatch`] for maps of another shape, [`RbmError::EmptyData`] for none.
    pub fn visible_means(&self, hidden: Tensor<B, 4>) -> error::Result<Tensor<B, 4>> {
        self.check_maps(&hidden)?;
        Ok(params::detached(self).visible_mean(hidden))
    }

    /// Checks that `hidden` are a non-empty batch of this model's detection maps.
    fn check_maps(&self, hidden: &Tensor<B, 4>) -> error::Result<()> {
        let [n, k, h, w] = hidden.dims();
        if n == 0 {
            return Err(RbmError::EmptyData);
        }
        if [k, h, w] != self.detection_shape() {
            return Err(RbmError::ShapeMismatch {
                what: "hidden maps [n, filters, rows, columns]",
                expected: [n].into_iter().chain(self.detection_shape()).collect(),
                actual: vec![n, k, h, w],
            });
        }
        Ok(())
    }

    /// The visible means given the detection maps.
    fn visible_mean(&self, hidden: Tensor<B, 4>) -> Tensor<B, 4> {
        let input = self.visible_input(hidden);
        match self.config.visible_units {
            VisibleUnits::Gaussian { .. } => input,
            _ => activation::sigmoid(input),
        }
    }

    /// A visible sample given the detection maps, as rows.
    fn sample_visible<R: Rng + ?Sized>(&self, hidden: Tensor<B, 4>, rng: &mut R) -> Tensor<B, 2> {
        let mean = self.visible_mean(hidden);
        let [n, c, h, w] = mean.dims();
        let mean = mean.reshape([n, c * h * w]);
        match self.config.visible_units {
            VisibleUnits::Gaussian { .. } => {
                let noise = sampling::normal::<B, R, 2>(rng, [n, c * h * w], &mean.device());
                mean + noise
            }
            _ => sampling::bernoulli(mean, rng),
        }
    }

    /// The visible layer's energy term of each image: `−Σ c_ch v` (binary) or
    /// `Σ (v − c)² / 2` (Gaussian).
    fn visible_energy(&self, images: Tensor<B, 4>) -> Tensor<B, 1> {
        let n = images.dims()[0];
        let bias = self
            .visible_bias
            .val()
            .reshape([1, self.config.channels, 1, 1]);
        let terms = match self.config.visible_units {
            VisibleUnits::Gaussian { .. } => (images - bias).square() * 0.5,
            _ => (images * bias).neg(),
        };
        terms
            .reshape([n, self.n_visible()])
            .sum_dim(1)
            .squeeze_dim(1)
    }

    /// The energy `E(v, h)` of each image with detection maps that have at most one unit on
    /// per pooling block (others are not states of the model).
    ///
    /// # Shapes
    /// - `images`: `[n, C, H, W]`, `hidden`: `[n, K, rows, columns]`, output: `[n]`
    ///
    /// # Errors
    /// As [`Self::pool`], and [`RbmError::ShapeMismatch`] for hidden maps of another shape.
    pub fn energy(
        &self,
        images: Tensor<B, 4>,
        hidden: Tensor<B, 4>,
    ) -> error::Result<Tensor<B, 1>> {
        self.check_images(&images)?;
        self.check_maps(&hidden)?;
        let n = images.dims()[0];
        if hidden.dims()[0] != n {
            return Err(RbmError::ShapeMismatch {
                what: "hidden maps (one per image)",
                expected: [n].into_iter().chain(self.detection_shape()).collect(),
                actual: hidden.dims().to_vec(),
            });
        }
        let model = params::detached(self);
        let interaction = Self::flat(hidden * model.detection_input(images.clone()))
            .sum_dim(1)
            .reshape([n]);
        Ok(model.visible_energy(images) - interaction)
    }

    /// The free energy `F(v)` of each image: the detection units summed out block by block.
    ///
    /// # Shapes
    /// - `images`: `[n, C, H, W]`, output: `[n]`
    ///
    /// # Errors
    /// As [`Self::pool`].
    pub fn free_energy(&self, images: Tensor<B, 4>) -> error::Result<Tensor<B, 1>> {
        self.check_images(&images)?;
        Ok(params::detached(self).images_free_energy(images))
    }

    /// [`Self::free_energy`] of checked images.
    fn images_free_energy(&self, images: Tensor<B, 4>) -> Tensor<B, 1> {
        let n = images.dims()[0];
        let blocks = self.blocks(self.detection_input(images.clone()));
        let off = Tensor::zeros([blocks.dims()[0], 1], &blocks.device());
        let states = Tensor::cat(vec![blocks, off], 1);
        let max = states.clone().max_dim(1);
        let log_sum = (states - max.clone()).exp().sum_dim(1).log() + max;
        let per_image = log_sum.reshape([n, self.n_hidden() / self.config.pool.pow(2)]);
        self.visible_energy(images) - per_image.sum_dim(1).squeeze_dim(1)
    }

    /// The dense RBM whose weight matrix ties each filter's weights at every position
    /// (`[C · H · W, K · rows · columns]`, rows and columns in the flattened orders of images
    /// and detection maps), with the biases repeated over positions. With `pool = 1` it is the
    /// same model; with larger blocks the convolutional model also forbids two units of a block
    /// being on together.
    ///
    /// # Errors
    /// [`RbmError::InvalidHyperparameter`] when the dense matrix, or the `[C·H·W, C·H·W]`
    /// identity it is computed from, would have more than 2²⁶ entries.
    pub fn tied_rbm(&self) -> error::Result<Rbm<B>> {
        let (v, h) = (self.n_visible(), self.n_hidden());
        // The dense matrix, and the identity of basis images it is computed from.
        if v.saturating_mul(v.max(h)) > 1 << 26 {
            return Err(RbmError::InvalidHyperparameter {
                name: "height",
                value: self.config.height.to_string(),
                reason:
                    "the tied dense matrix (or its basis images) would have more than 2^26 entries",
            });
        }
        let model = params::detached(self);
        let device = model.filters.val().device();
        // Row i of the dense matrix is the detection input of the i-th basis image, less the
        // biases.
        let basis = self.images(Tensor::<B, 2>::eye(v, &device));
        let hidden_bias =
            Self::flat(model.detection_input(basis.clone().narrow(0, 0, 1).zeros_like()))
                .reshape([h]);
        let weights =
            Self::flat(model.detection_input(basis)) - hidden_bias.clone().unsqueeze_dim(0);
        let [c, rows, columns] = self.image_shape();
        let visible_bias = model
            .visible_bias
            .val()
            .reshape([c, 1])
            .repeat_dim(1, rows * columns)
            .reshape([v]);
        let rbm = Rbm::from_tensors(weights, visible_bias, hidden_bias)?;
        match self.config.visible_units {
            VisibleUnits::Bernoulli => Ok(rbm),
            units => rbm.with_units(units, crate::HiddenUnits::Bernoulli),
        }
    }

    /// The pooled features of rows of flattened images, flattened in turn: the training rows
    /// of a convolutional RBM stacked on this one ([`Self::stacked_config`]), a convolutional
    /// DBN's next layer.
    ///
    /// # Shapes
    /// - `rows`: `[n, C · H · W]`, output: `[n, K · (H − F + 1)/P · (W − F + 1)/P]`
    ///
    /// # Errors
    /// [`RbmError::EmptyData`] or [`RbmError::WidthMismatch`].
    pub fn pooled_rows(&self, rows: Tensor<B, 2>) -> error::Result<Tensor<B, 2>> {
        let [n, width] = rows.dims();
        if n == 0 {
            return Err(RbmError::EmptyData);
        }
        if width != self.n_visible() {
            return Err(RbmError::WidthMismatch {
                expected: self.n_visible(),
                actual: width,
            });
        }
        let pooled = self.pool(self.images(rows))?;
        let [k, h, w] = self.pooled_shape();
        Ok(pooled.reshape([n, k * h * w]))
    }

    /// The config of a convolutional RBM stacked on this one: its images are this model's
    /// pooled maps (`K` channels of binary pooling units), with `filters` new filters of
    /// `filter_size` and pooling blocks of `pool`.
    pub fn stacked_config(&self, filters: usize, filter_size: usize, pool: usize) -> ConvRbmConfig {
        let [k, h, w] = self.pooled_shape();
        ConvRbmConfig::new(k, h, w, filters, filter_size)
            .with_pool(pool)
            .with_weight_std(self.config.weight_std)
            .with_seed(self.config.seed.wrapping_add(1))
    }

    /// The filters and the detection biases as a Burn `Conv2d` layer (stride 1, no padding),
    /// for a network of your own: its output on images is the detection units' input `I`
    /// (`σ(I)` their probabilities when `pool = 1`). The layer's parameters are copies with
    /// fresh ids, trainable under `Autodiff<_>`.
    pub fn to_conv2d(&self) -> Conv2d<B> {
        let [k, c, f, _] = self.filters.dims();
        let device = self.filters.val().device();
        let mut conv = Conv2dConfig::new([c, k], [f, f]).init(&device);
        conv.weight = Param::from_tensor(self.filters.val().detach());
        conv.bias = Some(Param::from_tensor(self.hidden_bias.val().detach()));
        conv
    }

    /// Saves the model (structure and parameters) to `path` atomically.
    ///
    /// # Errors
    /// [`RbmError::File`] naming `path`.
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> error::Result<()> {
        save_model(self, path.as_ref())
    }

    /// Loads a model saved with [`ConvRbm::save`] onto `device`.
    ///
    /// # Errors
    /// [`RbmError::File`] naming `path` and what is wrong (see [`Rbm::load`]).
    pub fn load(path: impl AsRef<std::path::Path>, device: &B::Device) -> error::Result<Self> {
        load_model(path.as_ref(), device)
    }

    /// The phase of rows of images.
    fn phase_of(&self, rows: Tensor<B, 2>) -> Phase<B> {
        let inputs = self.detection_input(self.images(rows.clone()));
        let hidden = Self::flat(self.probs_from_inputs(inputs.clone()));
        Phase {
            visible: rows,
            activations: Self::flat(inputs),
            hidden,
        }
    }

    /// `⟨v ⋆ h^k⟩` summed over images with weights folded into `hidden`: the filters'
    /// statistic, `[K, C, F, F]`.
    fn correlation(&self, images: Tensor<B, 4>, hidden: Tensor<B, 4>) -> Tensor<B, 4> {
        conv2d(
            images.swap_dims(0, 1),
            hidden.swap_dims(0, 1),
            None,
            ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
        )
        .swap_dims(0, 1)
    }
}

impl<B: Backend> CdModel<B> for ConvRbm<B> {
    type Config = ConvRbmConfig;

    const KIND: &'static str = "conv-rbm";

    fn structure(&self) -> ConvRbmConfig {
        self.config()
    }

    fn from_structure(config: &ConvRbmConfig, device: &B::Device) -> error::Result<Self> {
        config.init(device)
    }

    fn device(&self) -> B::Device {
        self.filters.val().device()
    }

    fn row_width(&self) -> usize {
        self.n_visible()
    }

    fn n_hidden(&self) -> usize {
        ConvRbm::n_hidden(self)
    }

    fn row_units(&self) -> VisibleUnits {
        self.config.visible_units
    }

    fn positive_phase(&self, rows: &Tensor<B, 2>) -> Phase<B> {
        self.phase_of(rows.clone())
    }

    fn sample_hidden<R: Rng + ?Sized>(&self, phase: &Phase<B>, rng: &mut R) -> Tensor<B, 2> {
        Self::flat(self.sample_detection(self.maps(phase.activations.clone()), rng))
    }

    fn gibbs_step<R: Rng + ?Sized>(
        &self,
        _rows: &Tensor<B, 2>,
        hidden: Tensor<B, 2>,
        _keep_missing: bool,
        rng: &mut R,
    ) -> Phase<B> {
        let visible = self.sample_visible(self.maps(hidden), rng);
        self.phase_of(visible)
    }

    fn statistics(
        &self,
        _rows: &Tensor<B, 2>,
        positive: &Phase<B>,
        negative: &Phase<B>,
        penalty: Option<&Tensor<B, 1>>,
        scale: f64,
    ) -> Self {
        let (n, m) = (positive.visible.dims()[0], negative.visible.dims()[0]);
        let data_hidden = penalised(&positive.hidden, penalty);
        let hidden = weighted_phases(data_hidden, negative.hidden.clone(), scale);
        let images = self.images(Tensor::cat(
            vec![positive.visible.clone(), negative.visible.clone()],
            0,
        ));
        let filters = self.correlation(images.clone(), self.maps(hidden.clone()));
        let [k, rows, columns] = self.detection_shape();
        // Each filter's bias: its detection units' weighted sum over positions and images.
        let hidden_bias = hidden
            .reshape([n + m, k, rows * columns])
            .sum_dim(2)
            .sum_dim(0)
            .reshape([k]);
        // Each channel's bias: its pixels' weighted sum (the Gaussian `−c` terms cancel).
        let [c, h, w] = self.image_shape();
        let weights = Tensor::cat(
            vec![
                Tensor::full([n, 1], scale / n as f64, &images.device()),
                Tensor::full([m, 1], -scale / m as f64, &images.device()),
            ],
            0,
        );
        let visible_bias = (images
            .reshape([n + m, c, h * w])
            .sum_dim(2)
            .reshape([n + m, c])
            * weights)
            .sum_dim(0)
            .reshape([c]);
        Self {
            filters: value_param(filters),
            visible_bias: value_param(visible_bias),
            hidden_bias: value_param(hidden_bias),
            config: self.config.clone(),
        }
    }

    fn parameter_count(config: &ConvRbmConfig) -> Option<usize> {
        config
            .filters
            .checked_mul(config.channels)?
            .checked_mul(config.filter_size.checked_mul(config.filter_size)?)?
            .checked_add(config.channels)?
            .checked_add(config.filters)
    }

    fn check_loaded(&self) -> std::result::Result<(), String> {
        self.config.validate().map_err(|e| e.to_string())
    }

    fn reconstruction_error(&self, rows: &Tensor<B, 2>) -> Tensor<B, 1> {
        let phase = self.phase_of(rows.clone());
        let reconstruction = self.visible_mean(self.maps(phase.hidden));
        let n = rows.dims()[0];
        (reconstruction.reshape([n, self.n_visible()]) - rows.clone())
            .square()
            .mean()
    }

    fn row_free_energy(&self, rows: &Tensor<B, 2>) -> Tensor<B, 1> {
        self.images_free_energy(self.images(rows.clone()))
    }

    fn row_pseudo_log_likelihood<R: Rng + ?Sized>(
        &self,
        rows: &Tensor<B, 2>,
        rng: &mut R,
    ) -> Tensor<B, 1> {
        pseudo_log_likelihood_of(
            self.config.visible_units,
            rows.clone(),
            |rows| self.row_free_energy(&rows),
            self.n_visible(),
            rng,
        )
    }
}
