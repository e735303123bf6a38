//! The hand-over to Burn: an MLP of `Linear` layers initialised from the pre-trained RBMs.

use burn::config::Config;
use burn::module::{Module, Param, ParamId};
use burn::nn::Linear;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::dbn::Dbn;
use crate::error::DbnError;

/// A multilayer perceptron for classification: sigmoid hidden layers and a linear output
/// layer whose logits feed a softmax / cross-entropy loss.
///
/// With the hidden layers taken from a pre-trained [`Dbn`] ([`Dbn::to_mlp`]) this is the
/// classic DBN classifier; with none it is multinomial logistic regression.
#[derive(Module, Debug)]
pub struct Mlp<B: Backend> {
    /// The hidden layers, input first; each is followed by the logistic sigmoid.
    pub hidden: Vec<Linear<B>>,
    /// The output layer, producing one logit per class.
    pub output: Linear<B>,
}

/// The classifier a DBN becomes after hand-over (the same type as [`Mlp`]).
pub type DbnClassifier<B> = Mlp<B>;

/// Configuration of a randomly initialised [`Mlp`]: the baseline a pre-trained one is
/// compared with, or a plain classifier on any features.
#[derive(Config, Debug)]
pub struct MlpConfig {
    /// Layer sizes from the input up, without the output layer: `[784, 500, 500]` has two
    /// hidden layers, `[784]` none.
    pub layers: Vec<usize>,
    /// Number of classes (output units).
    pub n_classes: usize,
    /// Seed of the initial weights, drawn on the host (the same model on every backend).
    #[config(default = 0)]
    pub seed: u64,
}

impl MlpConfig {
    /// Builds the MLP with every layer initialised like Burn's `Linear` default,
    /// `U(−k, k)` with `k = 1/√n_in`, drawn from `seed`.
    ///
    /// # Errors
    /// [`DbnError::NoLayers`] without an input size, [`DbnError::ZeroLayerSize`] for a layer
    /// (or `n_classes`) of zero.
    pub fn init<B: Backend>(&self, device: &B::Device) -> crate::Result<Mlp<B>> {
        if self.layers.is_empty() {
            return Err(DbnError::NoLayers { got: 0 });
        }
        if let Some(layer) = self.layers.iter().position(|&n| n == 0) {
            return Err(DbnError::ZeroLayerSize { layer });
        }
        if self.n_classes == 0 {
            return Err(DbnError::ZeroLayerSize {
                layer: self.layers.len(),
            });
        }
        let mut rng = StdRng::seed_from_u64(self.seed);
        let hidden = self
            .layers
            .windows(2)
            .map(|pair| random_linear(pair[0], pair[1], &mut rng, device))
            .collect();
        let last = self.layers[self.layers.len() - 1];
        let output = random_linear(last, self.n_classes, &mut rng, device);
        Ok(Mlp { hidden, output })
    }
}

/// A `Linear` layer `n_in → n_out` with weights and bias from `U(−k, k)`, `k = 1/√n_in`.
fn random_linear<B: Backend>(
    n_in: usize,
    n_out: usize,
    rng: &mut StdRng,
    device: &B::Device,
) -> Linear<B> {
    let k = 1.0 / (n_in as f32).sqrt();
    let mut draw = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|_| rng.random_range(-k..k))
            .collect::<Vec<f32>>()
    };
    let weight =
        Tensor::<B, 2>::from_data(TensorData::new(draw(n_in * n_out), [n_in, n_out]), device);
    let bias = Tensor::<B, 1>::from_data(TensorData::new(draw(n_out), [n_out]), device);
    linear_from(weight, bias)
}

/// A `Linear` layer holding exactly `weight` (`[n_in, n_out]`) and `bias` (`[n_out]`).
fn linear_from<B: Backend>(weight: Tensor<B, 2>, bias: Tensor<B, 1>) -> Linear<B> {
    Linear {
        weight: trainable(ParamId::new(), weight),
        bias: Some(trainable(ParamId::new(), bias)),
    }
}

/// A parameter holding `value` that stays trainable after `AutodiffModule::from_inner`.
///
/// `Param::from_tensor` on a backend without autodiff records `require_grad = false` (the
/// tensor cannot track gradients there), and `from_inner` keeps that flag, which would freeze
/// the hand-over's weights. A lazily initialised parameter carries the flag explicitly, as
/// Burn's own `Linear` initialisation does.
pub(crate) fn trainable<B: Backend, const D: usize>(
    id: ParamId,
    value: Tensor<B, D>,
) -> Param<Tensor<B, D>> {
    let (device, shape) = (value.device(), value.shape());
    Param::uninitialized(
        id,
        move |_, require_grad| value.clone().set_require_grad(require_grad),
        device,
        true,
        shape,
    )
}

impl<B: Backend> Mlp<B> {
    /// Logits for each class.
    ///
    /// # Shapes
    /// - `input`: `[batch, n_input]`
    /// - output: `[batch, n_classes]`
    pub fn forward(&self, input: Tensor<B, 2>) -> Tensor<B, 2> {
        let features = self.features(input, self.hidden.len());
        self.output.forward(features)
    }

    /// The output of the first `depth` hidden layers (`depth = 0` returns the input).
    /// After [`Dbn::to_mlp`], `features(x, d)` equals the DBN's up-pass [`Dbn::up`]`(x, d)`.
    ///
    /// # Shapes
    /// - `input`: `[batch, n_input]`
    /// - output: `[batch, layer width]`
    ///
    /// # Panics
    /// If `depth` exceeds the number of hidden layers.
    pub fn features(&self, input: Tensor<B, 2>, depth: usize) -> Tensor<B, 2> {
        self.hidden_fold(input, depth, |x| x)
    }

    /// [`Mlp::features`] with `between` applied to each hidden layer's output (fine-tuning's
    /// dropout).
    ///
    /// # Shapes
    /// - `input`: `[batch, n_input]`
    /// - `between`: `[batch, layer width]` to the same shape
    /// - output: `[batch, layer width]`
    ///
    /// # Panics
    /// As [`Mlp::features`], when `depth` exceeds the number of hidden layers.
    pub(crate) fn hidden_fold(
        &self,
        input: Tensor<B, 2>,
        depth: usize,
        mut between: impl FnMut(Tensor<B, 2>) -> Tensor<B, 2>,
    ) -> Tensor<B, 2> {
        self.hidden[..depth].iter().fold(input, |x, layer| {
            between(burn::tensor::activation::sigmoid(layer.forward(x)))
        })
    }

    /// The most probable class of each row.
    ///
    /// # Shapes
    /// - `input`: `[batch, n_input]`
    /// - output: `[batch]`
    pub fn predict(&self, input: Tensor<B, 2>) -> Tensor<B, 1, Int> {
        self.forward(input).argmax(1).squeeze_dim::<1>(1)
    }

    /// Width of the input layer.
    pub fn n_input(&self) -> usize {
        self.hidden.first().unwrap_or(&self.output).weight.dims()[0]
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.output.weight.dims()[1]
    }
}

impl<B: Backend> Dbn<B> {
    /// RBM `layer` as a Burn `Linear` layer computing its hidden activations: weight
    /// `[n_visible, n_hidden]` = the RBM's `W` (divided row-wise by `σ` for Gaussian visible
    /// units), bias = its hidden bias. A sigmoid after it gives `p(h = 1 | v)`.
    ///
    /// # Errors
    /// [`DbnError::NoSuchLayer`].
    pub fn linear(&self, layer: usize) -> crate::Result<Linear<B>> {
        let rbm = self.layer(layer)?;
        let weight = rbm.weights.val();
        let weight = match rbm.sigma() {
            Some(sigma) => weight / sigma.unsqueeze_dim::<2>(1),
            None => weight,
        };
        Ok(linear_from(weight, rbm.hidden_bias()))
    }

    /// Loads RBM `layer` into `linear`, a layer of the user's own model, keeping its device:
    /// `model.fc1 = dbn.load_linear(0, model.fc1)?;`
    ///
    /// # Errors
    /// [`DbnError::NoSuchLayer`]; [`DbnError::LayerMismatch`] when the weight is not
    /// `[n_visible, n_hidden]` of that RBM; [`DbnError::MissingBias`] for a layer built without
    /// a bias.
    pub fn load_linear(&self, layer: usize, linear: Linear<B>) -> crate::Result<Linear<B>> {
        let rbm = self.layer(layer)?;
        let expected = [rbm.n_visible(), rbm.n_hidden()];
        let actual = linear.weight.dims();
        if actual != expected {
            return Err(DbnError::LayerMismatch {
                layer,
                expected: format!("a Linear weight of shape {expected:?} (n_visible, n_hidden)"),
                actual: format!("{actual:?}"),
            });
        }
        if linear.bias.is_none() {
            return Err(DbnError::MissingBias { layer });
        }
        let device = linear.weight.device();
        let pretrained = self.linear(layer)?;
        let bias = pretrained
            .bias
            .as_ref()
            .map(Param::val)
            .expect("`Dbn::linear` always sets a bias");
        Ok(Linear {
            weight: trainable(linear.weight.id, pretrained.weight.val().to_device(&device)),
            bias: linear
                .bias
                .map(|old| trainable(old.id, bias.to_device(&device))),
        })
    }

    /// The ready classifier: one sigmoid hidden layer per RBM ([`Self::linear`]) and a fresh
    /// output layer to `n_classes`, initialised from `seed` like [`MlpConfig::init`].
    ///
    /// To fine-tune with autodiff, pre-train on `B` and move the classifier with one line:
    /// `let mlp = Mlp::<Autodiff<B>>::from_inner(dbn.to_mlp(10, seed)?);`
    /// (`from_inner` is Burn's `AutodiffModule::from_inner`).
    ///
    /// # Errors
    /// [`DbnError::ZeroLayerSize`] when `n_classes` is zero.
    pub fn to_mlp(&self, n_classes: usize, seed: u64) -> crate::Result<Mlp<B>> {
        if n_classes == 0 {
            return Err(DbnError::ZeroLayerSize {
                layer: self.n_layers() + 1,
            });
        }
        let hidden = (0..self.n_layers())
            .map(|layer| self.linear(layer))
            .collect::<crate::Result<Vec<_>>>()?;
        let mut rng = StdRng::seed_from_u64(seed);
        let top = self.sizes()[self.n_layers()];
        let output = random_linear(top, n_classes, &mut rng, &self.device());
        Ok(Mlp { hidden, output })
    }
}
