//! [`Dbn`]: a stack of RBMs, its greedy pre-training, and sampling from it.

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use rand::{Rng, RngExt};
use rbm_burn::{HiddenUnits, Rbm, TrainingData, VisibleUnits};

use crate::error::{invalid, DbnError, Result};
use crate::propagate::column_means;

/// Rows read at a time when the bottom layer's visible biases are initialised from the data.
const MEAN_CHUNK_ROWS: usize = 1024;

/// A Deep Belief Network: RBMs stacked so that the hidden layer of each is the visible layer of
/// the next. Build and pre-train it with [`crate::DbnConfig::pretrain`] (or build it untrained
/// with [`crate::DbnConfig::init`]), then hand it to a Burn MLP with [`Dbn::to_mlp`] or
/// [`Dbn::load_linear`].
#[derive(Module, Debug)]
pub struct Dbn<B: Backend> {
    /// The RBMs, bottom (input) first.
    pub layers: Vec<Rbm<B>>,
}

impl<B: Backend> Dbn<B> {
    /// Stacks trained or untrained RBMs, bottom first.
    ///
    /// # Errors
    /// [`DbnError::NoLayers`] for an empty list, [`DbnError::LayerMismatch`] when an RBM's
    /// visible layer is not the hidden layer of the one below, and
    /// [`DbnError::UnsupportedUnits`] for hidden units other than binary ones, or visible units
    /// other than binary ones above the bottom layer.
    pub fn from_layers(layers: Vec<Rbm<B>>) -> Result<Self> {
        if layers.is_empty() {
            return Err(DbnError::NoLayers { got: 0 });
        }
        for (layer, rbm) in layers.iter().enumerate() {
            if rbm.hidden_units() != HiddenUnits::Bernoulli {
                return Err(DbnError::UnsupportedUnits {
                    layer,
                    units: rbm.hidden_units().to_string(),
                    reason: "the hidden layers of a DBN are binary (sigmoid units in the MLP)",
                });
            }
            if layer > 0 {
                if rbm.visible_units() != VisibleUnits::Bernoulli {
                    return Err(DbnError::UnsupportedUnits {
                        layer,
                        units: rbm.visible_units().to_string(),
                        reason: "only the bottom RBM may have non-binary visible units",
                    });
                }
                let below = layers[layer - 1].n_hidden();
                if rbm.n_visible() != below {
                    return Err(DbnError::LayerMismatch {
                        layer,
                        expected: format!("{below} visible units (the hidden units below)"),
                        actual: format!("{} visible units", rbm.n_visible()),
                    });
                }
            }
        }
        Ok(Self { layers })
    }

    /// Number of RBM layers.
    pub fn n_layers(&self) -> usize {
        self.layers.len()
    }

    /// Layer sizes from the input up (`n_layers + 1` entries).
    pub fn sizes(&self) -> Vec<usize> {
        std::iter::once(self.layers[0].n_visible())
            .chain(self.layers.iter().map(Rbm::n_hidden))
            .collect()
    }

    /// Width of the input layer.
    pub fn n_input(&self) -> usize {
        self.layers[0].n_visible()
    }

    /// The device of the parameters.
    pub fn device(&self) -> B::Device {
        self.layers[0].device()
    }

    /// The RBM at `layer` (0 is the bottom one).
    ///
    /// # Errors
    /// [`DbnError::NoSuchLayer`].
    pub fn layer(&self, layer: usize) -> Result<&Rbm<B>> {
        self.layers.get(layer).ok_or(DbnError::NoSuchLayer {
            layer,
            n_layers: self.n_layers(),
        })
    }

    /// The deterministic up-pass: `p(h | v)` of each layer fed to the next, through the first
    /// `depth` layers (`depth = n_layers` gives the top-level features).
    ///
    /// # Shapes
    /// - `input`: `[batch, n_input]`
    /// - output: `[batch, sizes()[depth]]`
    ///
    /// # Errors
    /// [`DbnError::NoSuchLayer`] when `depth > n_layers`, [`DbnError::InputWidth`].
    pub fn up(&self, input: Tensor<B, 2>, depth: usize) -> Result<Tensor<B, 2>> {
        if depth > self.n_layers() {
            return Err(DbnError::NoSuchLayer {
                layer: depth,
                n_layers: self.n_layers(),
            });
        }
        self.check_input_width(input.dims()[1])?;
        Ok(self.layers[..depth]
            .iter()
            .fold(input, |v, rbm| rbm.hidden_probs(v)))
    }

    /// Draws `n` samples from the DBN as a generative model: `gibbs_steps` steps of block Gibbs
    /// sampling in the top RBM, started from uniformly random binary states, then one
    /// top-down pass through the directed lower layers (binary samples of each layer given the
    /// one above). Returns the mean of the input units given the last sampled layer, which
    /// for binary inputs is the usual way to show samples as grey-level images.
    ///
    /// # Shapes
    /// - output: `[n, n_input]`
    ///
    /// # Errors
    /// [`DbnError::InvalidHyperparameter`] when `n` or `gibbs_steps` is zero.
    pub fn sample<R: Rng + ?Sized>(
        &self,
        n: usize,
        gibbs_steps: usize,
        rng: &mut R,
    ) -> Result<Tensor<B, 2>> {
        if n == 0 {
            return Err(invalid("n", n, "at least one sample"));
        }
        if gibbs_steps == 0 {
            return Err(invalid("gibbs_steps", gibbs_steps, "at least one step"));
        }
        let device = self.device();
        let top = &self.layers[self.n_layers() - 1];
        let states: Vec<f32> = (0..n * top.n_visible())
            .map(|_| f32::from(u8::from(rng.random::<bool>())))
            .collect();
        let start = Tensor::<B, 2>::from_data(
            burn::tensor::TensorData::new(states, [n, top.n_visible()]),
            &device,
        );
        let mut hidden = top.sample_hidden(start, rng);
        for _ in 1..gibbs_steps {
            let visible = top.sample_visible(hidden, rng);
            hidden = top.sample_hidden(visible, rng);
        }
        let mut state = hidden;
        for (layer, rbm) in self.layers.iter().enumerate().rev() {
            state = if layer == 0 {
                rbm.visible_probs(state)
            } else {
                rbm.sample_visible(state, rng)
            };
        }
        Ok(state)
    }

    pub(crate) fn check_input_width(&self, width: usize) -> Result<()> {
        if width != self.n_input() {
            return Err(DbnError::InputWidth {
                expected: self.n_input(),
                actual: width,
            });
        }
        Ok(())
    }
}

/// Sets the visible biases of the bottom RBM from the data's column means (binary and
/// Gaussian units; softmax units keep theirs).
pub(crate) fn init_visible_bias<B: Backend, D: TrainingData<B>>(
    rbm: Rbm<B>,
    data: &D,
    device: &B::Device,
) -> rbm_burn::Result<Rbm<B>> {
    let units = rbm.visible_units();
    if matches!(units, VisibleUnits::Softmax { .. }) {
        return Ok(rbm);
    }
    data.check_values(&units)?;
    let means = column_means(data, &units, MEAN_CHUNK_ROWS, device)?;
    rbm.init_visible_bias_from_data(&means)
}
