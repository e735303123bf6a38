//! The RBM module: parameters, conditionals, sampling and energies, for every unit type.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{backend::Backend, ElementConversion, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

use crate::data::check_width;
use crate::error::{self, RbmError};
use crate::units::{HiddenUnits, VisibleUnits};

/// Visible marginals are clipped to `[CLIP, 1 - CLIP]` before `log(p / (1 - p))` so that a pixel
/// that is always off (or on) gets a large finite bias (about ∓6.9) rather than ∓∞.
pub const VISIBLE_BIAS_PROBABILITY_CLIP: f64 = 1e-3;

/// Configuration of an [`Rbm`].
#[derive(Config, Debug)]
pub struct RbmConfig {
    /// Number of visible units.
    pub n_visible: usize,
    /// Number of hidden units.
    pub n_hidden: usize,
    /// Standard deviation of the initial weights, drawn from N(0, weight_std²); biases start at
    /// zero. The default 0.01 is the one recommended in Hinton's practical guide (section 8).
    #[config(default = 0.01)]
    pub weight_std: f64,
    /// Seed of the initial weights. They are drawn on the host from this seed, so the same
    /// config gives the same model on every backend and in every thread.
    #[config(default = 0)]
    pub seed: u64,
    /// The type of the visible units (binary by default).
    #[config(default = "VisibleUnits::Bernoulli")]
    pub visible_units: VisibleUnits,
    /// The type of the hidden units (binary by default).
    #[config(default = "HiddenUnits::Bernoulli")]
    pub hidden_units: HiddenUnits,
    /// Initial standard deviation of Gaussian visible units (ignored for other types): 1 for
    /// standardised data.
    #[config(default = 1.0)]
    pub initial_sigma: f64,
}

impl RbmConfig {
    /// Builds an RBM on `device`.
    ///
    /// # Errors
    /// [`RbmError::ZeroLayerSize`] if either layer has no units,
    /// [`RbmError::InvalidHyperparameter`] if `weight_std` is negative or not finite, a softmax
    /// group size does not divide `n_visible`, or `initial_sigma` is not positive and finite.
    pub fn init<B: Backend>(&self, device: &B::Device) -> error::Result<Rbm<B>> {
        check_layer_sizes(self.n_visible, self.n_hidden)?;
        let invalid = |name, value: String, reason| RbmError::InvalidHyperparameter {
            name,
            value,
            reason,
        };
        let std = self.weight_std as f32;
        if !(std.is_finite() && std >= 0.0) {
            return Err(invalid(
                "weight_std",
                self.weight_std.to_string(),
                "must be >= 0 and finite as an f32",
            ));
        }
        let normal = Normal::new(0.0f32, std)
            .map_err(|_| invalid("weight_std", self.weight_std.to_string(), "not a valid std"))?;
        let n_weights = self.n_visible.checked_mul(self.n_hidden).ok_or_else(|| {
            invalid(
                "n_visible * n_hidden",
                format!("{} * {}", self.n_visible, self.n_hidden),
                "too many weights",
            )
        })?;
        let sigma = self.initial_sigma as f32;
        if !(sigma.is_finite() && sigma > 0.0) {
            return Err(invalid(
                "initial_sigma",
                self.initial_sigma.to_string(),
                "must be > 0 and finite as an f32",
            ));
        }
        let mut rng = StdRng::seed_from_u64(self.seed);
        let weights: Vec<f32> = (0..n_weights).map(|_| normal.sample(&mut rng)).collect();
        let rbm = Rbm::from_tensors(
            Tensor::from_data(
                TensorData::new(weights, [self.n_visible, self.n_hidden]),
                device,
            ),
            Tensor::zeros([self.n_visible], device),
            Tensor::zeros([self.n_hidden], device),
        )?
        .with_units(self.visible_units, self.hidden_units)?;
        if self.visible_units.is_gaussian() {
            return rbm.with_sigma(Tensor::full([self.n_visible], sigma, device));
        }
        Ok(rbm)
    }
}

fn check_layer_sizes(n_visible: usize, n_hidden: usize) -> error::Result<()> {
    if n_visible == 0 || n_hidden == 0 {
        return Err(RbmError::ZeroLayerSize {
            n_visible,
            n_hidden,
        });
    }
    Ok(())
}

/// A restricted Boltzmann machine, by default with binary visible units `v` and binary hidden
/// units `h`, energy `E(v, h) = -vᵀa - hᵀb - vᵀWh` (a = `visible_bias`, b = `hidden_bias`).
/// Other unit types ([`VisibleUnits`], [`HiddenUnits`]) change the conditionals and the
/// visible energy term as described in [`crate::units`].
///
/// The unit types are part of the module but not of its record, as with the hyperparameters
/// of Burn's own modules: build the model from the same [`RbmConfig`] before loading a record
/// into it.
///
/// The weight layout `[n_visible, n_hidden]` is that of [`burn::nn::Linear`], so `weights` and
/// `hidden_bias` can be handed to a `Linear` layer as they are.
///
/// The inference methods are plain tensor functions in the manner of `Linear::forward`: they
/// panic (through Burn's shape checks) if the input width is not `n_visible` / `n_hidden`.
/// Entry points that take user data — training, exact likelihoods, bias initialisation — check
/// it and return [`RbmError`] instead.
#[derive(Module, Debug)]
pub struct Rbm<B: Backend> {
    /// Weights `W`, shape `[n_visible, n_hidden]`.
    pub weights: Param<Tensor<B, 2>>,
    /// Visible biases `a`, shape `[n_visible]`.
    pub visible_bias: Param<Tensor<B, 1>>,
    /// Hidden biases `b`, shape `[n_hidden]`.
    pub hidden_bias: Param<Tensor<B, 1>>,
    /// For Gaussian visible units, `z_i = ln σ_i²`, shape `[n_visible]`; `None` otherwise.
    pub visible_log_variance: Option<Param<Tensor<B, 1>>>,
    /// The type of the visible units.
    pub visible_units: VisibleUnits,
    /// The type of the hidden units.
    pub hidden_units: HiddenUnits,
}

impl<B: Backend> Rbm<B> {
    /// Builds a Bernoulli–Bernoulli RBM from given parameter tensors, checking that their
    /// shapes agree ([`Self::with_units`] changes the unit types).
    ///
    /// # Shapes
    /// - `weights`: `[n_visible, n_hidden]`
    /// - `visible_bias`: `[n_visible]`
    /// - `hidden_bias`: `[n_hidden]`
    ///
    /// # Errors
    /// [`RbmError::ZeroLayerSize`] for an empty layer, [`RbmError::ShapeMismatch`] when a bias
    /// does not match the weights.
    pub fn from_tensors(
        weights: Tensor<B, 2>,
        visible_bias: Tensor<B, 1>,
        hidden_bias: Tensor<B, 1>,
    ) -> error::Result<Self> {
        let [n_visible, n_hidden] = weights.dims();
        check_layer_sizes(n_visible, n_hidden)?;
        for (what, expected, actual) in [
            ("visible_bias", n_visible, visible_bias.dims()[0]),
            ("hidden_bias", n_hidden, hidden_bias.dims()[0]),
        ] {
            if expected != actual {
                return Err(RbmError::ShapeMismatch {
                    what,
                    expected: vec![expected],
                    actual: vec![actual],
                });
            }
        }
        Ok(Self {
            weights: Param::from_tensor(weights),
            visible_bias: Param::from_tensor(visible_bias),
            hidden_bias: Param::from_tensor(hidden_bias),
            visible_log_variance: None,
            visible_units: VisibleUnits::Bernoulli,
            hidden_units: HiddenUnits::Bernoulli,
        })
    }

    /// The same parameters with other unit types. Switching to Gaussian visible units adds
    /// standard deviations `σ = 1` (unless they are already there); switching away from them
    /// drops the standard deviations.
    ///
    /// # Errors
    /// [`RbmError::InvalidHyperparameter`] for a softmax group size below 2 or one that does
    /// not divide `n_visible`.
    pub fn with_units(self, visible: VisibleUnits, hidden: HiddenUnits) -> error::Result<Self> {
        let n_visible = self.n_visible();
        visible.validate(n_visible)?;
        let device = self.device();
        let visible_log_variance = match (visible.is_gaussian(), self.visible_log_variance) {
            (false, _) => None,
            (true, Some(existing)) => Some(existing),
            (true, None) => Some(Param::from_tensor(Tensor::zeros([n_visible], &device))),
        };
        Ok(Self {
            visible_log_variance,
            visible_units: visible,
            hidden_units: hidden,
            ..self
        })
    }

    /// Sets the standard deviations of Gaussian visible units.
    ///
    /// # Shapes
    /// - `sigma`: `[n_visible]`, values positive and finite
    ///
    /// # Errors
    /// [`RbmError::UnsupportedUnits`] if the visible units are not Gaussian,
    /// [`RbmError::ShapeMismatch`] for a wrong length, [`RbmError::ValueOutOfRange`] for a
    /// value that is not positive and finite.
    pub fn with_sigma(self, sigma: Tensor<B, 1>) -> error::Result<Self> {
        let Some(old) = self.visible_log_variance.clone() else {
            return Err(RbmError::UnsupportedUnits {
                operation: "setting σ",
                units: self.visible_units.to_string(),
            });
        };
        let [n] = sigma.dims();
        if n != self.n_visible() {
            return Err(RbmError::ShapeMismatch {
                what: "sigma",
                expected: vec![self.n_visible()],
                actual: vec![n],
            });
        }
        let log_variance = sigma.log() * 2.0;
        let worst = log_variance.clone().abs().max().into_scalar().elem::<f64>();
        if !worst.is_finite() {
            return Err(RbmError::ValueOutOfRange {
                value: worst,
                row: None,
            });
        }
        Ok(Self {
            visible_log_variance: Some(old.map(|z| keep_require_grad(&z, log_variance))),
            ..self
        })
    }

    /// The standard deviations `σ_i` of Gaussian visible units, `None` for other types.
    ///
    /// # Shapes
    /// - output: `[n_visible]`
    pub fn sigma(&self) -> Option<Tensor<B, 1>> {
        self.visible_log_variance
            .as_ref()
            .map(|z| (z.val() * 0.5).exp())
    }

    /// A copy whose parameters are detached from any autodiff graph, so that computing with it
    /// records nothing (used by the learner, which never calls `backward`).
    pub(crate) fn detached(&self) -> Self {
        Self {
            weights: self.weights.clone().map(|t| t.detach()),
            visible_bias: self.visible_bias.clone().map(|t| t.detach()),
            hidden_bias: self.hidden_bias.clone().map(|t| t.detach()),
            visible_log_variance: self
                .visible_log_variance
                .clone()
                .map(|z| z.map(|t| t.detach())),
            visible_units: self.visible_units,
            hidden_units: self.hidden_units,
        }
    }

    /// The visible layer as the hidden layer sees it: `v / σ` for Gaussian units, `v` for the
    /// others.
    ///
    /// # Shapes
    /// - `visible`: `[batch, n_visible]`, output: the same
    pub(crate) fn scaled_visible(&self, visible: Tensor<B, 2>) -> Tensor<B, 2> {
        match &self.visible_log_variance {
            Some(z) => visible * (z.val() * -0.5).exp().unsqueeze::<2>(),
            None => visible,
        }
    }

    /// Number of visible units.
    pub fn n_visible(&self) -> usize {
        self.weights.lazy_shape().dims::<2>()[0]
    }

    /// Number of hidden units.
    pub fn n_hidden(&self) -> usize {
        self.weights.lazy_shape().dims::<2>()[1]
    }

    /// The device the parameters live on.
    pub fn device(&self) -> B::Device {
        self.weights.val().device()
    }

    /// Sets the visible biases so that, with zero weights, the model reproduces the data's
    /// marginals, which is where learning should start (Hinton's practical guide, section 8):
    /// - binary units: `log(p / (1 - p))`, where `p` is each unit's mean over `data`, clipped
    ///   to `[VISIBLE_BIAS_PROBABILITY_CLIP, 1 - VISIBLE_BIAS_PROBABILITY_CLIP]`;
    /// - softmax units: `log p` with `p` the clipped mean over the rows where the group is
    ///   observed;
    /// - Gaussian units: the mean of each column.
    ///
    /// # Shapes
    /// - `data`: `[n_samples, n_visible]`, values the visible units can take
    ///
    /// # Errors
    /// Empty data, a width other than `n_visible`, or values the units cannot take.
    pub fn init_visible_bias_from_data(self, data: &Tensor<B, 2>) -> error::Result<Self> {
        check_width(data.dims(), self.n_visible())?;
        self.visible_units.check_data(data)?;
        let clip = VISIBLE_BIAS_PROBABILITY_CLIP;
        let mean = |x: Tensor<B, 2>| x.mean_dim(0).squeeze_dim::<1>(0);
        let logit = match self.visible_units {
            VisibleUnits::Bernoulli => {
                let p = mean(data.clone()).clamp(clip, 1.0 - clip);
                p.clone().log() - p.neg().log1p()
            }
            VisibleUnits::Gaussian { .. } => mean(data.clone()),
            VisibleUnits::Softmax { .. } => {
                let observed = self
                    .visible_units
                    .observed(data)
                    .expect("softmax units have a mask");
                let counts = mean(observed).clamp_min(f64::MIN_POSITIVE);
                (mean(data.clone()) / counts).clamp(clip, 1.0).log()
            }
        };
        let visible_bias = self.visible_bias.map(|old| keep_require_grad(&old, logit));
        Ok(Self {
            visible_bias,
            ..self
        })
    }

    /// Total input to each hidden unit, `vW + b` (`(v / σ) W + b` for Gaussian visible
    /// units).
    ///
    /// # Shapes
    /// - `visible`: `[batch, n_visible]`
    /// - output: `[batch, n_hidden]`
    pub fn hidden_activations(&self, visible: Tensor<B, 2>) -> Tensor<B, 2> {
        self.hidden_activations_of_scaled(self.scaled_visible(visible))
    }

    /// `sW + b` for visible units already scaled by [`Self::scaled_visible`].
    ///
    /// # Shapes
    /// - `scaled_visible`: `[batch, n_visible]`, output: `[batch, n_hidden]`
    pub(crate) fn hidden_activations_of_scaled(
        &self,
        scaled_visible: Tensor<B, 2>,
    ) -> Tensor<B, 2> {
        matmul_add_row(scaled_visible, self.weights.val(), self.hidden_bias.val())
    }

    /// Total input to each visible unit, `hWᵀ + a`; for Gaussian visible units the mean
    /// `a + σ ⊙ hWᵀ`.
    ///
    /// # Shapes
    /// - `hidden`: `[batch, n_hidden]`
    /// - output: `[batch, n_visible]`
    pub fn visible_activations(&self, hidden: Tensor<B, 2>) -> Tensor<B, 2> {
        let weights = self.weights.val().transpose();
        match self.sigma() {
            Some(sigma) => {
                matmul(hidden, weights) * sigma.unsqueeze::<2>()
                    + self.visible_bias.val().unsqueeze::<2>()
            }
            None => matmul_add_row(hidden, weights, self.visible_bias.val()),
        }
    }

    /// The mean of the hidden units given the visible units: `p(h_j = 1 | v) = σ((vW + b)_j)`
    /// for binary hidden units, `max(0, (vW + b)_j)` for ReLU units.
    ///
    /// # Shapes
    /// - `visible`: `[batch, n_visible]`
    /// - output: `[batch, n_hidden]`
    pub fn hidden_probs(&self, visible: Tensor<B, 2>) -> Tensor<B, 2> {
        self.hidden_units.mean(self.hidden_activations(visible))
    }

    /// The mean of the visible units given the hidden units: `p(v_i = 1 | h) = σ((hWᵀ + a)_i)`
    /// for binary units, the probabilities of each softmax group, or the Gaussian mean.
    ///
    /// # Shapes
    /// - `hidden`: `[batch, n_hidden]`
    /// - output: `[batch, n_visible]`
    pub fn visible_probs(&self, hidden: Tensor<B, 2>) -> Tensor<B, 2> {
        self.visible_units.mean(self.visible_activations(hidden))
    }

    /// A sample of the hidden units given the visible units (binary, or noisy rectified for
    /// ReLU units).
    ///
    /// # Shapes
    /// - `visible`: `[batch, n_visible]`
    /// - output: `[batch, n_hidden]`
    pub fn sample_hidden<R: Rng + ?Sized>(
        &self,
        visible: Tensor<B, 2>,
        rng: &mut R,
    ) -> Tensor<B, 2> {
        let activations = self.hidden_activations(visible);
        let mean = self.hidden_units.mean(activations.clone());
        self.hidden_units.sample(activations, mean, rng)
    }

    /// A sample of the visible units given the hidden units: binary, one unit per softmax
    /// group, or Gaussian.
    ///
    /// # Shapes
    /// - `hidden`: `[batch, n_hidden]`
    /// - output: `[batch, n_visible]`
    pub fn sample_visible<R: Rng + ?Sized>(
        &self,
        hidden: Tensor<B, 2>,
        rng: &mut R,
    ) -> Tensor<B, 2> {
        self.visible_units
            .sample(self.visible_probs(hidden), self.sigma(), rng)
    }

    /// `k` full steps of block Gibbs sampling `v → h → v`, starting from `visible`; returns the
    /// visible sample after the last step (scikit-learn's `BernoulliRBM.gibbs` for `k = 1`).
    /// `k = 0` returns the input.
    ///
    /// # Shapes
    /// - `visible`: `[batch, n_visible]`
    /// - output: `[batch, n_visible]`
    pub fn gibbs<R: Rng + ?Sized>(
        &self,
        visible: Tensor<B, 2>,
        k: usize,
        rng: &mut R,
    ) -> Tensor<B, 2> {
        (0..k).fold(visible, |v, _| {
            let h = self.sample_hidden(v, rng);
            self.sample_visible(h, rng)
        })
    }

    /// Mean-field reconstruction `p(v | h = p(h | v))`: one deterministic up-down pass.
    ///
    /// # Shapes
    /// - `visible`: `[batch, n_visible]`
    /// - output: `[batch, n_visible]`
    pub fn reconstruct(&self, visible: Tensor<B, 2>) -> Tensor<B, 2> {
        self.visible_probs(self.hidden_probs(visible))
    }

    /// The learned features `p(h = 1 | v)` (scikit-learn's name for [`Rbm::hidden_probs`]).
    ///
    /// # Shapes
    /// - `visible`: `[batch, n_visible]`
    /// - output: `[batch, n_hidden]`
    pub fn transform(&self, visible: Tensor<B, 2>) -> Tensor<B, 2> {
        self.hidden_probs(visible)
    }

    /// The energy `E(v, h) = -vᵀa - hᵀb - vᵀWh` of each row pair; for Gaussian visible units
    /// `Σ (v_i − a_i)² / 2σ_i² − hᵀb − (v/σ)ᵀWh`. (For ReLU hidden units this is the energy
    /// with `h_j` read as the number of active stepped-sigmoid copies, without their offsets.)
    ///
    /// # Shapes
    /// - `visible`: `[batch, n_visible]`
    /// - `hidden`: `[batch, n_hidden]`
    /// - output: `[batch]`
    pub fn energy(&self, visible: Tensor<B, 2>, hidden: Tensor<B, 2>) -> Tensor<B, 1> {
        let interaction = (self
            .scaled_visible(visible.clone())
            .matmul(self.weights.val())
            * hidden.clone())
        .sum_dim(1)
        .squeeze_dim::<1>(1);
        let hidden_term = hidden
            .matmul(self.hidden_bias.val().unsqueeze_dim::<2>(1))
            .squeeze_dim::<1>(1);
        self.visible_energy(visible) - hidden_term - interaction
    }

    /// The free energy `F(v) = -log Σ_h exp(-E(v, h))` of each row, so that
    /// `p(v) = exp(-F(v)) / Z`: for binary hidden units `-vᵀa - Σ_j softplus((vW + b)_j)`
    /// (with the Gaussian visible term `Σ (v_i − a_i)² / 2σ_i²` and `v / σ` in place of `v` for
    /// Gaussian visible units); ReLU hidden units contribute the stepped-sigmoid series of
    /// [`crate::units`].
    ///
    /// The softplus is evaluated as `max(x, 0) + ln(1 + exp(-|x|))`, which cannot overflow for
    /// any activation and is accurate to 2⁻²⁴ absolute plus 2⁻²⁴ relative per hidden unit.
    ///
    /// # Shapes
    /// - `visible`: `[batch, n_visible]`
    /// - output: `[batch]`
    pub fn free_energy(&self, visible: Tensor<B, 2>) -> Tensor<B, 1> {
        let hidden_term = self
            .hidden_units
            .log_partition_terms(self.hidden_activations(visible.clone()));
        self.visible_energy(visible) - hidden_term
    }

    /// The visible-only energy term of each row.
    ///
    /// # Shapes
    /// - `visible`: `[batch, n_visible]`, output: `[batch]`
    fn visible_energy(&self, visible: Tensor<B, 2>) -> Tensor<B, 1> {
        self.visible_units
            .energy_term(visible, self.visible_bias.val(), self.sigma())
    }
}

/// The logistic function `1 / (1 + exp(-x))`.
///
/// One `exp` and one division per element instead of the two `exp`s and a `log` of Burn's
/// generic `sigmoid` (which, with `recip` in place of the division, measured three times
/// faster on `NdArray`); it cannot produce NaN: for `x → -∞`, `exp(-x) = ∞`
/// and the result is exactly 0.
///
/// # Shapes
/// - `x`: any, output: the same
///
/// On `NdArray<f32>` it runs on the host instead ([`crate::host`]), to at most 4 roundings.
pub(crate) fn sigmoid<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    match crate::host::logistic(x) {
        Ok(y) => y,
        Err(x) => sigmoid_generic(x),
    }
}

/// The matrix product `a · b` as this crate computes it: Burn's `matmul`, except on
/// `NdArray<f32>`, where it runs on the host with the `gemm` crate, which reads transposed and
/// sliced views without copying them and is 2–3× faster than NdArray's own product on the
/// shapes of an RBM (see the README's performance section).
///
/// Like Burn's `matmul` it panics when the inner sizes differ.
///
/// # Shapes
/// - `a`: `[m, k]`, `b`: `[k, n]`, output: `[m, n]`
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
///
/// let device = Default::default();
/// let a = Tensor::<NdArray, 2>::from_floats([[1.0, 2.0], [3.0, 4.0]], &device);
/// let product = rbm_burn::matmul(a.clone(), a.transpose());
/// product.into_data().assert_eq(&Tensor::<NdArray, 2>::from_floats([[5.0, 11.0], [11.0, 25.0]], &device).into_data(), true);
/// ```
pub fn matmul<B: Backend>(a: Tensor<B, 2>, b: Tensor<B, 2>) -> Tensor<B, 2> {
    crate::host::matmul(a, b).unwrap_or_else(|(a, b)| a.matmul(b))
}

/// `a · b + row`, the row added to every row of the product: one pass on `NdArray<f32>`
/// ([`crate::host::matmul_add_row`]), Burn's `matmul` and a broadcast addition otherwise.
///
/// # Shapes
/// - `a`: `[m, k]`, `b`: `[k, n]`, `row`: `[n]`, output: `[m, n]`
pub(crate) fn matmul_add_row<B: Backend>(
    a: Tensor<B, 2>,
    b: Tensor<B, 2>,
    row: Tensor<B, 1>,
) -> Tensor<B, 2> {
    match crate::host::matmul_add_row(a, b, Some(&row)) {
        Ok(product) => product,
        Err((a, b)) => a.matmul(b) + row.unsqueeze::<2>(),
    }
}

/// [`sigmoid`] in backend tensor operations.
fn sigmoid_generic<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    // A true division, not `recip`: NdArray's SIMD `recip` is an approximate reciprocal
    // (about 17 bits), and whether it is used depends on the buffer's layout, so the same
    // input could give different probabilities from one allocation to the next.
    let denominator = x.neg().exp() + 1.0;
    denominator.ones_like() / denominator
}

/// `log(1 + exp(x))` without overflow: `max(x, 0) + ln(1 + exp(-|x|))`.
///
/// `ln(1 + e)` rather than `log1p(e)`: for `e < 2⁻²⁴` it returns 0 instead of `≈ e`, an absolute
/// error below 6·10⁻⁸ that no sum of softplus terms can notice, and it is twice as fast on
/// `NdArray`, which matters when exact enumeration evaluates it 2^24 · n times.
///
/// # Shapes
/// - `x`: any, output: the same
pub(crate) fn softplus<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    x.clone().clamp_min(0.0) + (x.abs().neg().exp() + 1.0).log()
}

/// `new` as a parameter value with the gradient requirement of `old`: under `Autodiff<_>` a
/// trainable parameter stays a trainable leaf, and no graph links it to the computation that
/// produced `new`.
pub(crate) fn keep_require_grad<B: Backend, const D: usize>(
    old: &Tensor<B, D>,
    new: Tensor<B, D>,
) -> Tensor<B, D> {
    as_parameter(new, old.is_require_grad())
}

/// `value` detached from any graph, as a leaf that requires a gradient when `require_grad`.
fn as_parameter<B: Backend, const D: usize>(
    value: Tensor<B, D>,
    require_grad: bool,
) -> Tensor<B, D> {
    value.detach().set_require_grad(require_grad)
}

/// `param + change` as a parameter value with the gradient requirement of `param`
/// ([`keep_require_grad`]). `param` is detached, not cloned, so backends that can (NdArray)
/// add in place into its unshared buffer.
pub(crate) fn advanced<B: Backend, const D: usize>(
    param: Tensor<B, D>,
    change: Tensor<B, D>,
) -> Tensor<B, D> {
    let require_grad = param.is_require_grad();
    as_parameter(param.detach() + change, require_grad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;
    use burn::tensor::TensorData;

    type B = NdArray;

    #[test]
    fn softplus_is_stable_and_accurate() {
        let device = Default::default();
        let x = Tensor::<B, 1>::from_floats([-200.0, -30.0, -1.0, 0.0, 1.0, 30.0, 200.0], &device);
        let expected: Vec<f32> = [-200.0f64, -30.0, -1.0, 0.0, 1.0, 30.0, 200.0]
            .iter()
            .map(|&x| {
                if x > 0.0 {
                    x + (-x).exp().ln_1p()
                } else {
                    x.exp().ln_1p()
                }
            })
            .map(|y| y as f32)
            .collect();
        let got: Vec<f32> = softplus(x).into_data().to_vec().unwrap();
        for (g, e) in got.iter().zip(&expected) {
            // The documented absolute accuracy 2^-24, plus f32 rounding of values up to 200.
            assert!((g - e).abs() <= 6e-8 + e.abs() * 1.2e-7, "{g} vs {e}");
        }
    }

    #[test]
    fn sigmoid_matches_its_definition_everywhere() {
        let xs = [-1e4f32, -100.0, -20.0, -1.0, 0.0, 0.5, 20.0, 100.0, 1e4];
        let got: Vec<f32> = sigmoid(Tensor::<B, 1>::from_floats(xs, &Default::default()))
            .into_data()
            .to_vec()
            .unwrap();
        for (x, g) in xs.iter().zip(got) {
            let expected = 1.0 / (1.0 + (-(*x as f64)).exp());
            assert!(
                (g as f64 - expected).abs() < 1e-7,
                "σ({x}) = {g}, expected {expected}"
            );
        }
    }

    /// On a large contiguous tensor (the SIMD path of NdArray's element-wise kernels) the
    /// logistic function is accurate to f32 rounding, and so reproducible across layouts.
    #[test]
    fn sigmoid_is_accurate_on_large_tensors() {
        let n = 10_000;
        let xs: Vec<f32> = (0..n).map(|i| -20.0 + 40.0 * i as f32 / n as f32).collect();
        let tensor =
            Tensor::<B, 1>::from_data(TensorData::new(xs.clone(), [n]), &Default::default());
        let host: Vec<f32> = sigmoid(tensor.clone()).into_data().to_vec().unwrap();
        let generic: Vec<f32> = sigmoid_generic(tensor).into_data().to_vec().unwrap();
        for (x, g) in xs.iter().cycle().zip(host.into_iter().chain(generic)) {
            let expected = 1.0 / (1.0 + (-(*x as f64)).exp());
            // exp (≤ 2 ulps on the host path, 1 otherwise), add and divide: 4 · 2⁻²⁴.
            assert!(
                (g as f64 - expected).abs() <= 4.0 * expected / (1u32 << 24) as f64,
                "σ({x}) = {g}, expected {expected}"
            );
        }
    }

    /// Binary visible samples are drawn through the transposed product `W hᵀ`; their
    /// frequencies must still be `visible_probs`, row by row and unit by unit.
    #[test]
    fn binary_visible_samples_follow_their_probabilities() {
        let device = Default::default();
        let rbm = RbmConfig::new(6, 3)
            .with_weight_std(1.0)
            .init::<B>(&device)
            .unwrap();
        let rows = 20_000;
        // Two different hidden states, alternating, so that rows are not interchangeable.
        let states = Tensor::<B, 2>::from_floats([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]], &device);
        let hidden = states.clone().repeat_dim(0, rows / 2);
        let samples = rbm.sample_visible(hidden, &mut StdRng::seed_from_u64(5));
        assert_eq!(samples.dims(), [rows, 6]);
        let samples: Vec<f32> = samples.into_data().to_vec().unwrap();
        let probs: Vec<f32> = rbm.visible_probs(states).into_data().to_vec().unwrap();
        for state in 0..2 {
            for unit in 0..6 {
                let p = probs[state * 6 + unit] as f64;
                let hits = (state..rows)
                    .step_by(2)
                    .filter(|&row| samples[row * 6 + unit] == 1.0)
                    .count();
                let frequency = hits as f64 / (rows / 2) as f64;
                // 5 standard errors of a frequency over 10 000 rows.
                let tolerance = 5.0 * (p * (1.0 - p) / (rows / 2) as f64).sqrt() + 1e-9;
                assert!(
                    (frequency - p).abs() <= tolerance,
                    "state {state}, unit {unit}: p = {p}, frequency {frequency}"
                );
            }
        }
        assert!(samples.iter().all(|&x| x == 0.0 || x == 1.0));
    }

    #[test]
    fn from_tensors_checks_shapes() {
        let device = Default::default();
        let w = Tensor::<B, 2>::zeros([3, 2], &device);
        let bad = Rbm::from_tensors(
            w.clone(),
            Tensor::zeros([2], &device),
            Tensor::zeros([2], &device),
        );
        assert_eq!(
            bad.unwrap_err(),
            RbmError::ShapeMismatch {
                what: "visible_bias",
                expected: vec![3],
                actual: vec![2]
            }
        );
        let bad = Rbm::from_tensors(
            w.clone(),
            Tensor::zeros([3], &device),
            Tensor::zeros([3], &device),
        );
        assert!(matches!(
            bad,
            Err(RbmError::ShapeMismatch {
                what: "hidden_bias",
                ..
            })
        ));
        let empty = Rbm::from_tensors(
            Tensor::<B, 2>::zeros([0, 2], &device),
            Tensor::zeros([0], &device),
            Tensor::zeros([2], &device),
        );
        assert!(matches!(
            empty,
            Err(RbmError::ZeroLayerSize { n_visible: 0, .. })
        ));
        let rbm =
            Rbm::from_tensors(w, Tensor::zeros([3], &device), Tensor::zeros([2], &device)).unwrap();
        assert_eq!((rbm.n_visible(), rbm.n_hidden()), (3, 2));
    }

    #[test]
    fn config_rejects_empty_layers() {
        let device = Default::default();
        for (v, h) in [(0, 3), (3, 0), (0, 0)] {
            let err = RbmConfig::new(v, h).init::<B>(&device).unwrap_err();
            assert_eq!(
                err,
                RbmError::ZeroLayerSize {
                    n_visible: v,
                    n_hidden: h
                }
            );
        }
    }

    #[test]
    fn init_is_seeded_and_checked() {
        let device = Default::default();
        let weights = |config: RbmConfig| -> Vec<f32> {
            config
                .init::<B>(&device)
                .unwrap()
                .weights
                .val()
                .into_data()
                .to_vec()
                .unwrap()
        };
        assert_eq!(weights(RbmConfig::new(5, 4)), weights(RbmConfig::new(5, 4)));
        assert_ne!(
            weights(RbmConfig::new(5, 4)),
            weights(RbmConfig::new(5, 4).with_seed(1))
        );
        for std in [-1.0, f64::NAN, f64::INFINITY, 1e300] {
            let error = RbmConfig::new(5, 4)
                .with_weight_std(std)
                .init::<B>(&device)
                .unwrap_err();
            assert!(matches!(
                error,
                RbmError::InvalidHyperparameter {
                    name: "weight_std",
                    ..
                }
            ));
        }
    }

    #[test]
    fn default_init_has_the_documented_scale() {
        let rbm = RbmConfig::new(400, 250)
            .init::<B>(&Default::default())
            .unwrap();
        let w: Vec<f32> = rbm.weights.val().into_data().to_vec().unwrap();
        let n = w.len() as f64;
        let mean = w.iter().map(|&x| x as f64).sum::<f64>() / n;
        let std = (w.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
        // 100 000 draws of N(0, 0.01²): the sample std is within 1% of 0.01 with overwhelming probability.
        assert!((std - 0.01).abs() < 1e-4, "std {std}");
        assert!(mean.abs() < 1e-3 * 0.5, "mean {mean}");
        assert_eq!(rbm.visible_bias.val().abs().sum().into_scalar(), 0.0);
    }

    #[test]
    fn visible_bias_from_data_reproduces_marginals() {
        let device = Default::default();
        // Column means 0.25, 0.5, 1.0 (clipped), 0.0 (clipped).
        let data = Tensor::<B, 2>::from_floats(
            [
                [1.0, 1.0, 1.0, 0.0],
                [0.0, 0.0, 1.0, 0.0],
                [0.0, 1.0, 1.0, 0.0],
                [0.0, 0.0, 1.0, 0.0],
            ],
            &device,
        );
        let rbm = RbmConfig::new(4, 3)
            .init::<B>(&device)
            .unwrap()
            .init_visible_bias_from_data(&data)
            .unwrap();
        let c = VISIBLE_BIAS_PROBABILITY_CLIP;
        let expected: Vec<f32> = [0.25, 0.5, 1.0 - c, c]
            .iter()
            .map(|&p: &f64| (p / (1.0 - p)).ln() as f32)
            .collect();
        rbm.visible_bias
            .val()
            .into_data()
            .assert_approx_eq::<f32>(&TensorData::from(expected.as_slice()), Default::default());
        let wrong = Tensor::<B, 2>::ones([2, 5], &device);
        let rbm = RbmConfig::new(4, 3).init::<B>(&device).unwrap();
        assert_eq!(
            rbm.init_visible_bias_from_data(&wrong).unwrap_err(),
            RbmError::WidthMismatch {
                expected: 4,
                actual: 5
            }
        );
    }
}
