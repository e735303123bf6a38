//! Unit types: what values each layer takes, its conditional distribution given the other
//! layer, what it contributes to the energy and the free energy, and its statistics for
//! contrastive divergence.
//!
//! Every unit type below keeps the RBM's bipartite energy, so both conditionals factorise and
//! block Gibbs sampling works unchanged; only the per-unit distribution differs.
//!
//! | visible units | values | `p(v_i \| h)` given the input `x = a + hWᵀ` | visible energy term |
//! |---|---|---|---|
//! | [`Bernoulli`] | `{0, 1}` (data in `[0, 1]`) | `Bernoulli(σ(x_i))` | `−aᵀv` |
//! | [`Gaussian`] | real | `N(a_i + σ_i (hWᵀ)_i, σ_i²)` | `Σ (v_i − a_i)² / 2σ_i²` |
//! | [`Softmax`] | one-hot groups of `K` | `softmax` of `x` over the group | `−aᵀv` |
//!
//! Gaussian units enter the hidden layer's input scaled, as `(v / σ) W + b` (the energy
//! `Σ (v_i − a_i)² / 2σ_i² − bᵀh − Σ (v_i / σ_i) W_ij h_j`).
//!
//! | hidden units | values | `h_j` given the input `y = vW + b` | free-energy term |
//! |---|---|---|---|
//! | [`Bernoulli`] | `{0, 1}` | `Bernoulli(σ(y_j))` | `−Σ softplus(y_j)` |
//! | [`Relu`] | `[0, ∞)` | `max(0, y_j + N(0, σ(y_j)))` | `−Σ_j Σ_{n≥1} softplus(y_j − n + ½)` |
//!
//! Noisy rectified linear units (Nair & Hinton 2010) approximate an infinite set of binary
//! copies of a unit with shared weights and biases offset by `−½, −1½, −2½, …` ("stepped
//! sigmoid units"); their sampling uses the approximation and their free energy is the exact
//! one of the stepped sigmoid units, summed in closed form up to terms below `e⁻²⁰`.
//!
//! # Where each piece lives
//!
//! Each unit type is a small Burn module in a file of its own that holds its parameters (the
//! biases, and for Gaussian units `ln σ²`) and its whole behaviour: conditional mean and
//! sample, energy term, log-normaliser, sufficient statistics and the checks of the data it
//! can take. [`VisibleLayer`] and [`HiddenLayer`] hold one of them per layer of an RBM, so a
//! Gaussian layer cannot exist without its standard deviations; [`VisibleUnits`] and
//! [`HiddenUnits`] name the types in configs and files. The match from a layer to its unit
//! type is made here and nowhere else.

use std::fmt;

use burn::module::Module;
use burn::tensor::{backend::Backend, Bool, Tensor};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::Result;

mod bernoulli;
mod gaussian;
mod relu;
pub(crate) mod softmax;

pub use bernoulli::{Bernoulli, VISIBLE_BIAS_PROBABILITY_CLIP};
pub use gaussian::Gaussian;
pub use relu::Relu;
pub(crate) use softmax::group_sums;
pub use softmax::{Softmax, GROUP_SUM_TOLERANCE};

/// The type of the visible units, as configs and files name it.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub enum VisibleUnits {
    /// Binary units; data may be probabilities in `[0, 1]` (the default).
    #[default]
    Bernoulli,
    /// Real-valued units with Gaussian conditionals of standard deviation `σ_i` (the
    /// Gaussian–Bernoulli RBM). With `learn_sigma: false` the standard deviations stay at
    /// their initial value (standardise the data and keep `σ = 1`, Hinton's practical guide,
    /// section 13.2); with `true` they are learned as `z_i = ln σ_i²` (Cho, Ilin & Raiko 2011).
    ///
    /// Gaussian visible units need a learning rate one or two orders of magnitude smaller than
    /// binary ones (e.g. 0.001–0.01 rather than 0.1): their reconstructions are unbounded, and
    /// a large step makes the weights explode.
    Gaussian {
        /// Learn the standard deviations of the visible units.
        learn_sigma: bool,
    },
    /// Categorical units: the visible layer is split into `n_visible / group_size` consecutive
    /// groups of `group_size` units, each one-hot (one of `K` values, e.g. a rating of 1–5).
    /// A group that is all zeros is a missing entry: it is left out of the positive statistics
    /// and of the reconstruction error, and kept out of the negative phase of CD-k, as in RBM
    /// collaborative filtering (Salakhutdinov, Mnih & Hinton 2007).
    Softmax {
        /// Units per group, `K ≥ 2`; it must divide `n_visible`.
        group_size: usize,
    },
}

/// The type of the hidden units, as configs and files name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum HiddenUnits {
    /// Binary units (the default).
    #[default]
    Bernoulli,
    /// Noisy rectified linear units (Nair & Hinton 2010): `max(0, y + N(0, σ(y)))` when
    /// sampled, `max(0, y)` as the mean-field value.
    Relu,
}

impl fmt::Display for VisibleUnits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bernoulli => write!(f, "Bernoulli visible units"),
            Self::Gaussian { learn_sigma: false } => write!(f, "Gaussian visible units (fixed σ)"),
            Self::Gaussian { learn_sigma: true } => {
                write!(f, "Gaussian visible units (learned σ)")
            }
            Self::Softmax { group_size } => {
                write!(f, "softmax visible units (groups of {group_size})")
            }
        }
    }
}

impl fmt::Display for HiddenUnits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bernoulli => write!(f, "Bernoulli hidden units"),
            Self::Relu => write!(f, "ReLU hidden units"),
        }
    }
}

impl VisibleUnits {
    /// Checks that this unit type fits a layer of `n_visible` units.
    ///
    /// # Errors
    /// [`crate::RbmError::InvalidHyperparameter`] for a softmax group size below 2 or one that
    /// does not divide `n_visible`.
    pub fn validate(&self, n_visible: usize) -> Result<()> {
        match *self {
            Self::Softmax { group_size } => softmax::validate(group_size, n_visible),
            _ => Ok(()),
        }
    }

    /// Whether these are Gaussian units.
    pub fn is_gaussian(&self) -> bool {
        matches!(self, Self::Gaussian { .. })
    }

    /// The layer of this type with biases `bias` and, for Gaussian units, standard deviations
    /// `sigma` (1 when `None`).
    ///
    /// # Shapes
    /// - `bias`, `sigma`: `[n_visible]`
    pub(crate) fn layer<B: Backend>(
        &self,
        bias: Tensor<B, 1>,
        sigma: Option<Tensor<B, 1>>,
    ) -> VisibleLayer<B> {
        match *self {
            Self::Bernoulli => VisibleLayer::Bernoulli(Bernoulli::new(bias)),
            Self::Gaussian { learn_sigma } => {
                let sigma = sigma.unwrap_or_else(|| bias.ones_like());
                VisibleLayer::Gaussian(Gaussian::new(bias, sigma, learn_sigma))
            }
            Self::Softmax { group_size } => VisibleLayer::Softmax(Softmax::new(bias, group_size)),
        }
    }

    /// Checks training data on the device against what these units take: finite for Gaussian
    /// units, in `[0, 1]` for binary units, and valid groups (in `[0, 1]`, each summing to 1
    /// or all zero) for softmax units.
    ///
    /// # Shapes
    /// - `data`: `[rows, columns]`
    pub(crate) fn check_data<B: Backend>(&self, data: &Tensor<B, 2>) -> Result<()> {
        match *self {
            Self::Bernoulli => bernoulli::check_data(data),
            Self::Gaussian { .. } => gaussian::check_data(data),
            Self::Softmax { group_size } => softmax::check_data(data, group_size),
        }
    }

    /// Checks data for an exact likelihood: binary for binary units, complete one-hot groups
    /// for softmax units, finite for Gaussian units.
    ///
    /// # Shapes
    /// - `data`: `[rows, columns]`
    pub(crate) fn check_states<B: Backend>(&self, data: &Tensor<B, 2>) -> Result<()> {
        match *self {
            Self::Bernoulli => bernoulli::check_states(data),
            Self::Gaussian { .. } => gaussian::check_data(data),
            Self::Softmax { group_size } => softmax::check_states(data, group_size),
        }
    }

    /// Checks one row on the host, as [`Self::check_data`] does on the device.
    pub(crate) fn check_row(&self, values: &[f32], row: usize) -> Result<()> {
        match *self {
            Self::Bernoulli => bernoulli::check_row(values, row),
            Self::Gaussian { .. } => gaussian::check_row(values, row),
            Self::Softmax { group_size } => softmax::check_row(values, row, group_size),
        }
    }
}

/// Calls the same method on whichever unit type a layer holds.
macro_rules! each_unit_type {
    ($layer:expr, $units:ident => $call:expr) => {
        match $layer {
            VisibleLayer::Bernoulli($units) => $call,
            VisibleLayer::Gaussian($units) => $call,
            VisibleLayer::Softmax($units) => $call,
        }
    };
}

macro_rules! each_hidden_type {
    ($layer:expr, $units:ident => $call:expr) => {
        match $layer {
            HiddenLayer::Bernoulli($units) => $call,
            HiddenLayer::Relu($units) => $call,
        }
    };
}

/// The visible layer of an RBM: its unit type with that type's parameters.
#[derive(Module, Debug)]
pub enum VisibleLayer<B: Backend> {
    /// Binary units.
    Bernoulli(Bernoulli<B>),
    /// Gaussian units with their standard deviations.
    Gaussian(Gaussian<B>),
    /// Softmax groups.
    Softmax(Softmax<B>),
}

/// The hidden layer of an RBM: its unit type with that type's parameters.
#[derive(Module, Debug)]
pub enum HiddenLayer<B: Backend> {
    /// Binary units.
    Bernoulli(Bernoulli<B>),
    /// Noisy rectified linear units.
    Relu(Relu<B>),
}

impl<B: Backend> VisibleLayer<B> {
    /// The unit type.
    pub fn units(&self) -> VisibleUnits {
        match self {
            Self::Bernoulli(_) => VisibleUnits::Bernoulli,
            Self::Gaussian(units) => VisibleUnits::Gaussian {
                learn_sigma: units.learns_sigma(),
            },
            Self::Softmax(units) => VisibleUnits::Softmax {
                group_size: units.group_size(),
            },
        }
    }

    /// The biases `a`.
    ///
    /// # Shapes
    /// - output: `[n_visible]`
    pub fn bias(&self) -> Tensor<B, 1> {
        each_unit_type!(self, units => units.bias.val())
    }

    /// The standard deviations `σ` of Gaussian units, `None` for the other types.
    ///
    /// # Shapes
    /// - output: `[n_visible]`
    pub fn sigma(&self) -> Option<Tensor<B, 1>> {
        match self {
            Self::Gaussian(units) => Some(units.sigma()),
            _ => None,
        }
    }

    /// The same layer with biases `bias`, which keep the gradient requirement of the old ones.
    pub(crate) fn with_bias(self, bias: Tensor<B, 1>) -> Self {
        match self {
            Self::Bernoulli(units) => Self::Bernoulli(units.with_bias(bias)),
            Self::Gaussian(units) => Self::Gaussian(units.with_bias(bias)),
            Self::Softmax(units) => Self::Softmax(units.with_bias(bias)),
        }
    }

    /// The visible states as the hidden layer sees them: `v / σ` for Gaussian units, `v`
    /// otherwise.
    ///
    /// # Shapes
    /// - `visible`: `[rows, n_visible]`, output: the same
    pub(crate) fn scaled(&self, visible: Tensor<B, 2>) -> Tensor<B, 2> {
        match self {
            Self::Gaussian(units) => units.scaled(visible),
            _ => visible,
        }
    }

    /// The mean of each unit given its total input (for Gaussian units the input already is
    /// the mean).
    ///
    /// # Shapes
    /// - `activations`: `[rows, n_visible]`, output: the same
    pub(crate) fn mean(&self, activations: Tensor<B, 2>) -> Tensor<B, 2> {
        each_unit_type!(self, units => units.mean(activations))
    }

    /// A sample of the units given their mean.
    ///
    /// # Shapes
    /// - `mean`: `[rows, n_visible]`, output: the same
    pub(crate) fn sample<R: Rng + ?Sized>(&self, mean: Tensor<B, 2>, rng: &mut R) -> Tensor<B, 2> {
        each_unit_type!(self, units => units.sample_visible(mean, rng))
    }

    /// The part of the energy that involves the visible units alone (`−aᵀv`, or
    /// `Σ (v_i − a_i)² / 2σ_i²`), with the biases shifted by `shift` row by row when given
    /// (the dynamic biases of a conditional model).
    ///
    /// # Shapes
    /// - `visible`: `[rows, n_visible]`, `shift`: `[rows, n_visible]`, output: `[rows]`
    pub(crate) fn energy(
        &self,
        visible: Tensor<B, 2>,
        shift: Option<&Tensor<B, 2>>,
    ) -> Tensor<B, 1> {
        each_unit_type!(self, units => units.visible_energy(visible, shift))
    }

    /// `Σ_i log Σ_{v_i} exp(…)` over the layer given the inputs from a hidden state (see each
    /// unit type), for free energies over the hidden layer and exact enumeration.
    ///
    /// # Shapes
    /// - `inputs`: `[rows, n_visible]`, output: `[rows]`
    pub(crate) fn log_partition_terms(&self, inputs: Tensor<B, 2>) -> Tensor<B, 1> {
        each_unit_type!(self, units => units.log_partition_terms(inputs))
    }

    /// What summing this layer out of `exp(−E)` for a fixed hidden state needs besides
    /// [`Self::log_partition_terms`]: the bias to add to the hidden state's field `hWᵀ`, and a
    /// constant (both from the Gaussian integral for Gaussian units; `a` and 0 otherwise).
    pub(crate) fn summed_out(&self) -> (Tensor<B, 1>, f64) {
        match self {
            Self::Gaussian(units) => units.summed_out(),
            _ => (self.bias(), 0.0),
        }
    }

    /// `log Σ_v exp(−E_vis(v))`, the log-normaliser of the layer on its own (no weights):
    /// the base model of annealed importance sampling.
    pub(crate) fn independent_log_partition(&self) -> f64 {
        each_unit_type!(self, units => units.independent_log_partition())
    }

    /// The 0/1 mask of observed entries (softmax groups that are not all zero), or `None`
    /// when every entry counts.
    ///
    /// # Shapes
    /// - `visible`: `[rows, n_visible]`, output: the same
    pub(crate) fn observed(&self, visible: &Tensor<B, 2>) -> Option<Tensor<B, 2>> {
        match self {
            Self::Softmax(units) => Some(units.observed(visible)),
            _ => None,
        }
    }

    /// Checks a mask of known units for clamped sampling: softmax groups must be known
    /// entirely or not at all.
    ///
    /// # Shapes
    /// - `known`: `[rows, n_visible]`
    pub(crate) fn check_known(&self, known: &Tensor<B, 2, Bool>) -> Result<()> {
        match self {
            Self::Softmax(units) => units.check_known(known),
            _ => Ok(()),
        }
    }

    /// Random states to start chains from: fair coin flips, a uniformly chosen unit per
    /// softmax group, or `N(a, σ²)` draws.
    ///
    /// # Shapes
    /// - output: `[rows, n_visible]`
    pub(crate) fn random_states<R: Rng + ?Sized>(&self, rows: usize, rng: &mut R) -> Tensor<B, 2> {
        each_unit_type!(self, units => units.random_states(rows, rng))
    }

    /// The biases that make the layer on its own reproduce the data's marginals (see
    /// [`crate::Rbm::init_visible_bias_from_data`]).
    ///
    /// # Shapes
    /// - `data`: `[rows, n_visible]`, checked; output: `[n_visible]`
    pub(crate) fn bias_from_data(&self, data: &Tensor<B, 2>) -> Tensor<B, 1> {
        each_unit_type!(self, units => units.bias_from_data(data))
    }

    /// Whether the statistics of this layer need the field `hWᵀ` of each phase (learned
    /// Gaussian standard deviations).
    pub(crate) fn needs_field(&self) -> bool {
        matches!(self, Self::Gaussian(units) if units.learns_sigma())
    }

    /// `∂(−E)/∂a` for each row: `v`, or for Gaussian units `(v − â)/σ²` with the biases
    /// `â = a + shift` shifted row by row, and `v / σ²` without a shift (the term `−a/σ²`
    /// is the same in both phases and cancels).
    ///
    /// # Shapes
    /// - `visible`, `shift`: `[rows, n_visible]`, output: the same
    pub(crate) fn bias_statistic(
        &self,
        visible: Tensor<B, 2>,
        shift: Option<&Tensor<B, 2>>,
    ) -> Tensor<B, 2> {
        match self {
            Self::Gaussian(units) => units.bias_statistic(visible, shift),
            _ => visible,
        }
    }

    /// The layer-shaped gradient of one CD update: `scale` times the data minus the model
    /// statistics, each averaged over its rows.
    ///
    /// - `data`, `model`: the visible states of each phase, `[rows, n_visible]`;
    /// - `shifts`: each phase's dynamic bias shift (conditional models), or `None`;
    /// - `fields`: each phase's `hWᵀ`, needed when [`Self::needs_field`].
    pub(crate) fn gradient(
        &self,
        [data, model]: [Tensor<B, 2>; 2],
        shifts: [Option<&Tensor<B, 2>>; 2],
        fields: Option<[Tensor<B, 2>; 2]>,
        scale: f64,
    ) -> Self {
        let difference = |data: Tensor<B, 2>, model: Tensor<B, 2>| {
            (column_mean(data) - column_mean(model)) * scale
        };
        let bias = difference(
            self.bias_statistic(data.clone(), shifts[0]),
            self.bias_statistic(model.clone(), shifts[1]),
        );
        match (self, fields) {
            (Self::Gaussian(units), Some([data_field, model_field])) => {
                let log_variance = difference(
                    units.log_variance_statistic(data, shifts[0], data_field),
                    units.log_variance_statistic(model, shifts[1], model_field),
                );
                Self::Gaussian(units.gradient(bias, Some(log_variance)))
            }
            (Self::Gaussian(units), None) => Self::Gaussian(units.gradient(bias, None)),
            (Self::Bernoulli(units), _) => Self::Bernoulli(units.gradient(bias)),
            (Self::Softmax(units), _) => Self::Softmax(units.gradient(bias)),
        }
    }
}

impl<B: Backend> HiddenLayer<B> {
    /// The layer of `units` with biases `bias`.
    ///
    /// # Shapes
    /// - `bias`: `[n_hidden]`
    pub(crate) fn new(units: HiddenUnits, bias: Tensor<B, 1>) -> Self {
        match units {
            HiddenUnits::Bernoulli => Self::Bernoulli(Bernoulli::new(bias)),
            HiddenUnits::Relu => Self::Relu(Relu::new(bias)),
        }
    }

    /// The unit type.
    pub fn units(&self) -> HiddenUnits {
        match self {
            Self::Bernoulli(_) => HiddenUnits::Bernoulli,
            Self::Relu(_) => HiddenUnits::Relu,
        }
    }

    /// The biases `b`.
    ///
    /// # Shapes
    /// - output: `[n_hidden]`
    pub fn bias(&self) -> Tensor<B, 1> {
        each_hidden_type!(self, units => units.bias.val())
    }

    /// The same layer with biases `bias`, which keep the gradient requirement of the old ones.
    pub(crate) fn with_bias(self, bias: Tensor<B, 1>) -> Self {
        match self {
            Self::Bernoulli(units) => Self::Bernoulli(units.with_bias(bias)),
            Self::Relu(units) => Self::Relu(units.with_bias(bias)),
        }
    }

    /// The mean-field value of each unit given its input `y`: `σ(y)` for binary units,
    /// `max(0, y)` for ReLU units.
    ///
    /// # Shapes
    /// - `activations`: `[rows, n_hidden]`, output: the same
    pub(crate) fn mean(&self, activations: Tensor<B, 2>) -> Tensor<B, 2> {
        each_hidden_type!(self, units => units.mean(activations))
    }

    /// A sample of the units given their input and mean-field value.
    ///
    /// # Shapes
    /// - `activations`, `mean`: `[rows, n_hidden]`, output: the same
    pub(crate) fn sample<R: Rng + ?Sized>(
        &self,
        activations: Tensor<B, 2>,
        mean: Tensor<B, 2>,
        rng: &mut R,
    ) -> Tensor<B, 2> {
        each_hidden_type!(self, units => units.sample_hidden(activations, mean, rng))
    }

    /// `log Σ_h exp(hᵀy)` summed over the units, the negative of their free-energy term.
    ///
    /// # Shapes
    /// - `activations`: `[rows, n_hidden]`, output: `[rows]`
    pub(crate) fn log_partition_terms(&self, activations: Tensor<B, 2>) -> Tensor<B, 1> {
        each_hidden_type!(self, units => units.log_partition_terms(activations))
    }

    /// The layer-shaped gradient of one CD update for the biases: `scale` times the data
    /// minus the model means, each averaged over its rows.
    ///
    /// # Shapes
    /// - `data`, `model`: `[rows, n_hidden]`
    pub(crate) fn gradient(&self, [data, model]: [Tensor<B, 2>; 2], scale: f64) -> Self {
        let bias = (column_mean(data) - column_mean(model)) * scale;
        match self {
            Self::Bernoulli(units) => Self::Bernoulli(units.gradient(bias)),
            Self::Relu(units) => Self::Relu(units.gradient(bias)),
        }
    }
}

/// The mean of each column.
///
/// # Shapes
/// - `x`: `[n, d]`, output: `[d]`
pub(crate) fn column_mean<B: Backend>(x: Tensor<B, 2>) -> Tensor<B, 1> {
    x.mean_dim(0).squeeze_dim::<1>(0)
}
