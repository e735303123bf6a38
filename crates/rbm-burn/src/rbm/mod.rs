//! The RBM module: parameters, conditionals, sampling and energies, for every unit type.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{backend::Backend, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

use crate::data::check_width;
use crate::error::{self, RbmError};
use crate::kernels::{matmul, matmul_add_row};
use crate::units::{HiddenLayer, HiddenUnits, VisibleLayer, VisibleUnits};

pub use crate::units::VISIBLE_BIAS_PROBABILITY_CLIP;

mod training;

pub(crate) use training::{check_sigma, penalised, weighted_phases};

/// Configuration of an [`Rbm`].
#[derive(Config, Debug, PartialEq)]
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
        self.visible_units.validate(self.n_visible)?;
        let mut rng = StdRng::seed_from_u64(self.seed);
        let weights: Vec<f32> = (0..n_weights).map(|_| normal.sample(&mut rng)).collect();
        let sigma = self
            .visible_units
            .is_gaussian()
            .then(|| Tensor::full([self.n_visible], sigma, device));
        Ok(Rbm {
            weights: Param::from_tensor(Tensor::from_data(
                TensorData::new(weights, [self.n_visible, self.n_hidden]),
                device,
            )),
            visible: self
                .visible_units
                .layer(Tensor::zeros([self.n_visible], device), sigma),
            hidden: HiddenLayer::new(self.hidden_units, Tensor::zeros([self.n_hidden], device)),
        })
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
/// units `h`, energy `E(v, h) = -vᵀa - hᵀb - vᵀWh` (a = the visible biases, b = the hidden
/// biases). Other unit types ([`VisibleUnits`], [`HiddenUnits`]) change the conditionals and
/// the visible energy term as described in [`crate::units`]; each layer holds its unit type
/// with that type's parameters, so a Gaussian layer always has its standard deviations.
///
/// The sizes and unit types are part of the module's structure, not of its record, as with
/// Burn's own modules: build the model from the same [`RbmConfig`] before loading a record
/// into it (or use [`Rbm::save`] / [`Rbm::load`], which keep both).
///
/// The weight layout `[n_visible, n_hidden]` is that of [`burn::nn::Linear`], so `weights` and
/// the hidden biases can be handed to a `Linear` layer as they are.
///
/// The inference methods are plain tensor functions in the manner of `Linear::forward`: they
/// panic (through Burn's shape checks) if the input width is not `n_visible` / `n_hidden`.
/// Entry points that take user data — training, exact likelihoods, bias initialisation — check
/// it and return [`RbmError`] instead.
#[derive(Module, Debug)]
pub struct Rbm<B: Backend> {
    /// Weights `W`, shape `[n_visible, n_hidden]`.
    pub weights: Param<Tensor<B, 2>>,
    /// The visible units with their biases `a` (`[n_visible]`) and, for Gaussian units, their
    /// standard deviations.
    pub visible: VisibleLayer<B>,
    /// The hidden units with their biases `b` (`[n_hidden]`).
    pub hidden: HiddenLayer<B>,
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
            visible: VisibleUnits::Bernoulli.layer(visible_bias, None),
            hidden: HiddenLayer::new(HiddenUnits::Bernoulli, hidden_bias),
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
        visible.validate(self.n_visible())?;
        let visible = match (visible, self.visible) {
            (units, old) if units == old.units() => old,
            (VisibleUnits::Gaussian { .. }, VisibleLayer::Gaussian(old)) => {
                visible.layer(old.bias.val(), Some(old.sigma()))
            }
            (_, old) => visible.layer(old.bias(), None),
        };
        let hidden = if hidden == self.hidden.units() {
            self.hidden
        } else {
            HiddenLayer::new(hidden, self.hidden.bias())
        };
        Ok(Self {
            weights: self.weights,
            visible,
            hidden,
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
        let VisibleLayer::Gaussian(units) = self.visible else {
            return Err(RbmError::UnsupportedUnits {
                operation: "setting σ",
                units: self.visible.units().to_string(),
            });
        };
        let [n] = sigma.dims();
        if n != self.weights.lazy_shape().dims::<2>()[0] {
            return Err(RbmError::ShapeMismatch {
                what: "sigma",
                expected: vec![self.weights.lazy_shape().dims::<2>()[0]],
                actual: vec![n],
            });
        }
        Ok(Self {
            visible: VisibleLayer::Gaussian(units.with_sigma(sigma)?),
            ..self
        })
    }

    /// The standard deviations `σ_i` of Gaussian visible units, `None` for other types.
    ///
    /// # Shapes
    /// - output: `[n_visible]`
    pub fn sigma(&self) -> Option<Tensor<B, 1>> {
        self.visible.sigma()
    }

    /// The visible biases `a`.
    ///
    /// # Shapes
    /// - output: `[n_visible]`
    pub fn visible_bias(&self) -> Tensor<B, 1> {
        self.visible.bias()
    }

    /// The hidden biases `b`.
    ///
    /// # Shapes
    /// - output: `[n_hidden]`
    pub fn hidden_bias(&self) -> Tensor<B, 1> {
        self.hidden.bias()
    }

    /// The type of the visible units.
    pub fn visible_units(&self) -> VisibleUnits {
        self.visible.units()
    }

    /// The type of the hidden units.
    pub fn hidden_units(&self) -> HiddenUnits {
        self.hidden.units()
    }

    /// The config that builds a model of this structure (sizes and unit types; the
    /// initialisation fields are the defaults).
    pub fn config(&self) -> RbmConfig {
        RbmConfig::new(self.n_visible(), self.n_hidden())
            .with_visible_units(self.visible_units())
            .with_hidden_units(self.hidden_units())
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
        self.visible_units().check_data(data)?;
        let bias = self.visible.bias_from_data(data);
        Ok(Self {
            visible: self.visible.with_bias(bias),
            ..self
        })
    }

    /// The visible layer as the hidden layer sees it: `v / σ` for Gaussian units, `v` for the
    /// others.
    ///
    /// # Shapes
    /// - `visible`: `[batch, n_visible]`, output: the same
    pub(crate) fn scaled_visible(&self, visible: Tensor<B, 2>) -> Tensor<B, 2> {
        self.visible.scaled(visible)
    }

    /// `(v/σ) W + b`, plus a per-row shift of the hidden biases when given (the dynamic
    /// biases of a conditional model).
    ///
    /// # Shapes
    /// - `visible`: `[rows, n_visible]`, `shift`: `[rows, n_hidden]`, output: `[rows, n_hidden]`
    pub(crate) fn hidden_input(
        &self,
        visible: Tensor<B, 2>,
        shift: Option<&Tensor<B, 2>>,
    ) -> Tensor<B, 2> {
        let input = matmul_add_row(
            self.scaled_visible(visible),
            self.weights.val(),
            self.hidden.bias(),
        );
        match shift {
            Some(shift) => input + shift.clone(),
            None => input,
        }
    }

    /// `hWᵀ + a` (for Gaussian units the mean `a + σ ⊙ hWᵀ`), plus a per-row shift of the
    /// visible biases when given.
    ///
    /// # Shapes
    /// - `hidden`: `[rows, n_hidden]`, `shift`: `[rows, n_visible]`, output: `[rows, n_visible]`
    pub(crate) fn visible_input(
        &self,
        hidden: Tensor<B, 2>,
        shift: Option<&Tensor<B, 2>>,
    ) -> Tensor<B, 2> {
        let weights = self.weights.val().transpose();
        let input = match self.sigma() {
            Some(sigma) => {
                matmul(hidden, weights) * sigma.unsqueeze::<2>()
                    + self.visible_bias().unsqueeze::<2>()
            }
            None => matmul_add_row(hidden, weights, self.visible_bias()),
        };
        match shift {
            Some(shift) => input + shift.clone(),
            None => input,
        }
    }

    /// Total input to each hidden unit, `vW + b` (`(v / σ) W + b` for Gaussian visible
    /// units).
    ///
    /// # Shapes
    /// - `visible`: `[batch, n_visible]`
    /// - output: `[batch, n_hidden]`
    pub fn hidden_activations(&self, visible: Tensor<B, 2>) -> Tensor<B, 2> {
        self.hidden_input(visible, None)
    }

    /// Total input to each visible unit, `hWᵀ + a`; for Gaussian visible units the mean
    /// `a + σ ⊙ hWᵀ`.
    ///
    /// # Shapes
    /// - `hidden`: `[batch, n_hidden]`
    /// - output: `[batch, n_visible]`
    pub fn visible_activations(&self, hidden: Tensor<B, 2>) -> Tensor<B, 2> {
        self.visible_input(hidden, None)
    }

    /// The mean of the hidden units given the visible units: `p(h_j = 1 | v) = σ((vW + b)_j)`
    /// for binary hidden units, `max(0, (vW + b)_j)` for ReLU units.
    ///
    /// # Shapes
    /// - `visible`: `[batch, n_visible]`
    /// - output: `[batch, n_hidden]`
    pub fn hidden_probs(&self, visible: Tensor<B, 2>) -> Tensor<B, 2> {
        self.hidden.mean(self.hidden_activations(visible))
    }

    /// The mean of the visible units given the hidden units: `p(v_i = 1 | h) = σ((hWᵀ + a)_i)`
    /// for binary units, the probabilities of each softmax group, or the Gaussian mean.
    ///
    /// # Shapes
    /// - `hidden`: `[batch, n_hidden]`
    /// - output: `[batch, n_visible]`
    pub fn visible_probs(&self, hidden: Tensor<B, 2>) -> Tensor<B, 2> {
        self.visible.mean(self.visible_activations(hidden))
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
        let mean = self.hidden.mean(activations.clone());
        self.hidden.sample(activations, mean, rng)
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
        self.visible.sample(self.visible_probs(hidden), rng)
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
            .matmul(self.hidden_bias().unsqueeze_dim::<2>(1))
            .squeeze_dim::<1>(1);
        self.visible.energy(visible, None) - hidden_term - interaction
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
        self.shifted_free_energy(visible, [None, None])
    }

    /// [`Self::free_energy`] with the visible and hidden biases shifted row by row (a
    /// conditional model's dynamic biases).
    ///
    /// # Shapes
    /// - `visible`: `[rows, n_visible]`, shifts `[rows, n_visible]` and `[rows, n_hidden]`,
    ///   output: `[rows]`
    pub(crate) fn shifted_free_energy(
        &self,
        visible: Tensor<B, 2>,
        [visible_shift, hidden_shift]: [Option<&Tensor<B, 2>>; 2],
    ) -> Tensor<B, 1> {
        let hidden_term = self
            .hidden
            .log_partition_terms(self.hidden_input(visible.clone(), hidden_shift));
        self.visible.energy(visible, visible_shift) - hidden_term
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;
    use burn::tensor::TensorData;

    type B = NdArray;

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

    /// Gaussian units always carry their standard deviations: from the config, through a
    /// change of unit types, and when switched back and forth.
    #[test]
    fn gaussian_units_always_have_sigma() {
        let device = Default::default();
        let gaussian = VisibleUnits::Gaussian { learn_sigma: false };
        let rbm = RbmConfig::new(4, 3)
            .with_visible_units(gaussian)
            .with_initial_sigma(2.0)
            .init::<B>(&device)
            .unwrap();
        let sigma: Vec<f32> = rbm.sigma().unwrap().into_data().to_vec().unwrap();
        assert!(sigma.iter().all(|&s| (s - 2.0).abs() < 1e-6), "{sigma:?}");
        let binary = rbm
            .with_units(VisibleUnits::Bernoulli, HiddenUnits::Bernoulli)
            .unwrap();
        assert!(binary.sigma().is_none());
        let back = binary.with_units(gaussian, HiddenUnits::Bernoulli).unwrap();
        let sigma: Vec<f32> = back.sigma().unwrap().into_data().to_vec().unwrap();
        assert!(sigma.iter().all(|&s| s == 1.0), "{sigma:?}");
        assert!(matches!(
            RbmConfig::new(4, 3)
                .init::<B>(&device)
                .unwrap()
                .with_sigma(Tensor::ones([4], &device)),
            Err(RbmError::UnsupportedUnits { .. })
        ));
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
        assert_eq!(rbm.visible_bias().abs().sum().into_scalar(), 0.0);
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
        rbm.visible_bias()
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
