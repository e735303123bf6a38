//! The classification RBM (Larochelle & Bengio 2008): a joint model `p(x, y)` of an input `x`
//! and its label `y`, the label a one-hot softmax group connected to the hidden layer.
//!
//! With input weights `W` (`[n_inputs, n_hidden]`), label weights `U` (`[n_classes,
//! n_hidden]`), input biases `b`, hidden biases `c` and label biases `d`, and `e_y` the one-hot
//! vector of class `y`:
//!
//! ```text
//! E(x, y, h) = −bᵀx − cᵀh − dᵀe_y − xᵀW h − e_yᵀU h
//! o_y(x)     = c + xᵀW + U_y                     (the hidden inputs given x and class y)
//! p(y | x)   = exp(d_y + Σ_j softplus(o_yj(x))) / Σ_y* exp(d_y* + Σ_j softplus(o_y*j(x)))
//! ```
//!
//! `p(y | x)` is exact and costs one product `xW` and `n_classes · n_hidden` softplus terms per
//! row ([`ClassRbm::predict_proba`], [`ClassRbm::predict`]). For Gaussian inputs `x` stands
//! for `x / σ` in the products, as in [`crate::Rbm`].
//!
//! # Training objectives ([`Objective`])
//! - **generative**: the log-likelihood `log p(x, y)`, by contrastive divergence on rows
//!   `[x | e_y]`: the label group is sampled in the negative phase like any visible unit;
//! - **discriminative**: `log p(y | x)`, whose gradient is exact and needs no sampling. With
//!   `s_y* = σ(o_y*(x))` and `t = e_y − p(· | x)`:
//!
//!   ```text
//!   ∂/∂d = t          ∂/∂c = Σ_y* t_y* s_y*      ∂/∂W = x (Σ_y* t_y* s_y*)ᵀ
//!   ∂/∂U_y* = t_y* s_y*                         ∂/∂b = 0
//!   ```
//!
//!   It is computed directly, in tensor operations, rather than through Burn's autodiff: it
//!   is closed-form and cheap, it is the statistic the contrastive-divergence learner adds to
//!   its momentum step (so the same learner, schedule, checkpoints and backends serve all
//!   three objectives), and it needs no `Autodiff<_>` backend;
//! - **hybrid**: `log p(y | x) + α log p(x, y)`, the sum of the two estimates (Larochelle &
//!   Bengio found `α` around 0.01 best on MNIST).
//!
//! The learner ([`crate::ContrastiveDivergence`]) trains every objective; for the
//! discriminative one it skips the negative phase ([`crate::CdModel::samples_negative_phase`]).
//! Sparsity subtracts its penalty from the data phase's hidden means in every objective.
//!
//! The hidden units are binary (the softplus above is theirs); the inputs are binary or
//! Gaussian (with fixed σ for the objectives with a discriminative part, whose gradient for σ
//! this model does not compute).

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{activation, backend::Backend, ElementConversion, Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use crate::data::check_width;
use crate::error::{self, RbmError};
use crate::kernels::matmul;
use crate::metrics::{pseudo_log_likelihood_of, reconstruction_error_of};
use crate::model::{CdModel, Phase};
use crate::params::{self, value_param};
use crate::persist::{load_model, save_model, value_records};
use crate::rbm::{check_sigma, penalised, weighted_phases, Rbm, RbmConfig};
use crate::units::{column_mean, HiddenUnits, Softmax, VisibleUnits};

/// What training maximises (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Objective {
    /// `log p(x, y)`, by contrastive divergence.
    Generative,
    /// `log p(y | x)`, by its exact gradient.
    Discriminative,
    /// `log p(y | x) + α log p(x, y)`.
    Hybrid {
        /// The weight `α ≥ 0` of the generative part.
        alpha: f64,
    },
}

/// Configuration of a [`ClassRbm`]: the RBM over the inputs, the number of classes, and the
/// training objective.
#[derive(Config, Debug, PartialEq)]
pub struct ClassRbmConfig {
    /// The RBM over the inputs: `n_visible` inputs, hidden units (binary), input unit type
    /// (binary or Gaussian), and the initialisation of `W`, whose `weight_std` and `seed` also
    /// initialise `U`.
    pub features: RbmConfig,
    /// Number of classes, ≥ 2.
    pub n_classes: usize,
    /// What training maximises.
    #[config(default = "Objective::Generative")]
    pub objective: Objective,
}

value_records!(ClassRbmConfig);

impl ClassRbmConfig {
    /// Builds a classification RBM on `device`: `W` and `U` drawn from `N(0, weight_std²)`,
    /// biases zero.
    ///
    /// # Errors
    /// Those of [`RbmConfig::init`]; [`RbmError::InvalidHyperparameter`] for fewer than two
    /// classes or an invalid objective; [`RbmError::UnsupportedUnits`] for hidden units other
    /// than binary, softmax inputs, or learned σ with a discriminative part.
    pub fn init<B: Backend>(&self, device: &B::Device) -> error::Result<ClassRbm<B>> {
        let features = &self.features;
        let classes = self.n_classes;
        if classes < 2 || classes.checked_mul(features.n_hidden).is_none() {
            return Err(RbmError::InvalidHyperparameter {
                name: "n_classes",
                value: classes.to_string(),
                reason: "at least two classes",
            });
        }
        check_structure(
            features.visible_units,
            features.hidden_units,
            self.objective,
        )?;
        let rbm = features.init(device)?;
        // A stream of its own, so that W is the RBM's for the same seed.
        let mut rng = StdRng::seed_from_u64(features.seed ^ 0x636c_6173);
        let normal = Normal::new(0.0f32, features.weight_std as f32).map_err(|_| {
            RbmError::InvalidHyperparameter {
                name: "weight_std",
                value: features.weight_std.to_string(),
                reason: "not a valid std",
            }
        })?;
        let values: Vec<f32> = (0..classes * features.n_hidden)
            .map(|_| normal.sample(&mut rng))
            .collect();
        Ok(ClassRbm {
            rbm,
            label_weights: Param::from_tensor(Tensor::from_data(
                TensorData::new(values, [classes, features.n_hidden]),
                device,
            )),
            labels: Softmax::new(Tensor::zeros([classes], device), classes),
            objective: self.objective,
        })
    }
}

/// The unit types and objectives this model supports.
fn check_structure(
    visible: VisibleUnits,
    hidden: HiddenUnits,
    objective: Objective,
) -> error::Result<()> {
    let unsupported = |units: String| RbmError::UnsupportedUnits {
        operation: "the classification RBM",
        units,
    };
    if hidden != HiddenUnits::Bernoulli {
        return Err(unsupported(format!(
            "{hidden} (it needs binary hidden units)"
        )));
    }
    match (visible, objective) {
        (VisibleUnits::Softmax { .. }, _) => Err(unsupported(format!(
            "{visible} (its inputs are binary or Gaussian)"
        ))),
        (VisibleUnits::Gaussian { learn_sigma: true }, o) if o != Objective::Generative => {
            Err(unsupported(format!(
                "{visible} with a discriminative objective (σ must be fixed)"
            )))
        }
        (_, Objective::Hybrid { alpha }) if !(alpha.is_finite() && alpha >= 0.0) => {
            Err(RbmError::InvalidHyperparameter {
                name: "alpha",
                value: alpha.to_string(),
                reason: "the generative weight must be finite and ≥ 0",
            })
        }
        _ => Ok(()),
    }
}

/// A classification restricted Boltzmann machine (see the [module docs](self)).
#[derive(Module, Debug)]
pub struct ClassRbm<B: Backend> {
    /// The RBM over the inputs: `W`, the input biases `b` and the hidden biases `c`.
    pub rbm: Rbm<B>,
    /// The label weights `U`, `[n_classes, n_hidden]`.
    pub label_weights: Param<Tensor<B, 2>>,
    /// The label group: one softmax group of `n_classes` units and its biases `d`.
    pub labels: Softmax<B>,
    /// What training maximises.
    #[module(skip)]
    objective: Objective,
}

impl<B: Backend> ClassRbm<B> {
    /// A classification RBM from its parts, checking that their shapes agree.
    ///
    /// # Shapes
    /// - `label_weights`: `[n_classes, n_hidden]`, `label_bias`: `[n_classes]`
    ///
    /// # Errors
    /// [`RbmError::ShapeMismatch`] naming the tensor that does not fit, and the errors of
    /// [`ClassRbmConfig::init`] for unsupported units or objectives.
    pub fn from_parts(
        rbm: Rbm<B>,
        label_weights: Tensor<B, 2>,
        label_bias: Tensor<B, 1>,
        objective: Objective,
    ) -> error::Result<Self> {
        let [classes, hidden] = label_weights.dims();
        if classes < 2 || hidden != rbm.n_hidden() {
            return Err(RbmError::ShapeMismatch {
                what: "label_weights (n_classes ≥ 2 rows, n_hidden columns)",
                expected: vec![classes.max(2), rbm.n_hidden()],
                actual: vec![classes, hidden],
            });
        }
        if label_bias.dims() != [classes] {
            return Err(RbmError::ShapeMismatch {
                what: "label_bias",
                expected: vec![classes],
                actual: label_bias.dims().to_vec(),
            });
        }
        check_structure(rbm.visible_units(), rbm.hidden_units(), objective)?;
        Ok(Self {
            rbm,
            label_weights: Param::from_tensor(label_weights),
            labels: Softmax::new(label_bias, classes),
            objective,
        })
    }

    /// Number of inputs.
    pub fn n_inputs(&self) -> usize {
        self.rbm.n_visible()
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.labels.group_size()
    }

    /// Number of hidden units.
    pub fn n_hidden(&self) -> usize {
        self.rbm.n_hidden()
    }

    /// What training maximises.
    pub fn objective(&self) -> Objective {
        self.objective
    }

    /// The same model trained for `objective` from now on.
    ///
    /// # Errors
    /// As [`ClassRbmConfig::init`] for an objective these units do not support.
    pub fn with_objective(self, objective: Objective) -> error::Result<Self> {
        check_structure(self.rbm.visible_units(), self.rbm.hidden_units(), objective)?;
        Ok(Self { objective, ..self })
    }

    /// The label biases `d`.
    ///
    /// # Shapes
    /// - output: `[n_classes]`
    pub fn label_bias(&self) -> Tensor<B, 1> {
        self.labels.bias.val()
    }

    /// Width of a training row: the inputs, then the one-hot label, `n_inputs + n_classes`.
    pub fn row_width(&self) -> usize {
        self.n_inputs() + self.n_classes()
    }

    /// The config that builds a model of this structure.
    pub fn config(&self) -> ClassRbmConfig {
        ClassRbmConfig::new(self.rbm.config(), self.n_classes()).with_objective(self.objective)
    }

    /// The training rows `[x | e_y]` of inputs and their labels.
    ///
    /// # Shapes
    /// - `inputs`: `[n, n_inputs]`, `labels`: `n` classes; output `[n, row_width]`
    ///
    /// # Errors
    /// [`RbmError::EmptyData`], [`RbmError::WidthMismatch`], [`RbmError::ShapeMismatch`] for
    /// another number of labels, [`RbmError::InvalidLabel`] for a label `≥ n_classes`.
    pub fn rows(&self, inputs: Tensor<B, 2>, labels: &[usize]) -> error::Result<Tensor<B, 2>> {
        check_width(inputs.dims(), self.n_inputs())?;
        let one_hot = self.one_hot(labels, inputs.dims()[0], &inputs.device())?;
        Ok(Tensor::cat(vec![inputs, one_hot], 1))
    }

    /// The one-hot rows of `labels`, checked.
    fn one_hot(
        &self,
        labels: &[usize],
        rows: usize,
        device: &B::Device,
    ) -> error::Result<Tensor<B, 2>> {
        let classes = self.n_classes();
        if labels.len() != rows {
            return Err(RbmError::ShapeMismatch {
                what: "labels (one per input row)",
                expected: vec![rows],
                actual: vec![labels.len()],
            });
        }
        let mut values = vec![0.0f32; rows * classes];
        for (row, &label) in labels.iter().enumerate() {
            if label >= classes {
                return Err(RbmError::InvalidLabel {
                    label,
                    n_classes: classes,
                    row,
                });
            }
            values[row * classes + label] = 1.0;
        }
        Ok(Tensor::from_data(
            TensorData::new(values, [rows, classes]),
            device,
        ))
    }

    /// The inputs and the one-hot labels of `rows`.
    ///
    /// # Shapes
    /// - `rows`: `[n, row_width]`; outputs `[n, n_inputs]`, `[n, n_classes]`
    fn split(&self, rows: &Tensor<B, 2>) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let inputs = self.n_inputs();
        (
            rows.clone().narrow(1, 0, inputs),
            rows.clone().narrow(1, inputs, self.n_classes()),
        )
    }

    /// The hidden inputs `o_y(x)` of every row for every class, and the classes' log-odds
    /// `d_y + Σ_j softplus(o_yj(x))`.
    ///
    /// # Shapes
    /// - `inputs`: `[n, n_inputs]`; outputs `[n, n_classes, n_hidden]` and `[n, n_classes]`
    fn class_inputs(&self, inputs: Tensor<B, 2>) -> (Tensor<B, 3>, Tensor<B, 2>) {
        let (n, classes, hidden) = (inputs.dims()[0], self.n_classes(), self.n_hidden());
        let base = self.rbm.hidden_input(inputs, None);
        let per_class = base.unsqueeze_dim::<3>(1) + self.label_weights.val().unsqueeze_dim(0);
        let terms = self
            .rbm
            .hidden
            .log_partition_terms(per_class.clone().reshape([n * classes, hidden]))
            .reshape([n, classes]);
        (per_class, terms + self.label_bias().unsqueeze_dim(0))
    }

    /// Checks inputs for prediction: the width and the values the input units can take.
    fn check_inputs(&self, inputs: &Tensor<B, 2>) -> error::Result<()> {
        check_width(inputs.dims(), self.n_inputs())?;
        self.rbm.visible_units().check_data(inputs)
    }

    /// `log p(y | x)` of every class for each row.
    ///
    /// # Shapes
    /// - `inputs`: `[n, n_inputs]`, output: `[n, n_classes]`
    ///
    /// # Errors
    /// Empty inputs, another width, values the input units cannot take.
    pub fn log_proba(&self, inputs: Tensor<B, 2>) -> error::Result<Tensor<B, 2>> {
        self.check_inputs(&inputs)?;
        let (_, logits) = params::detached(self).class_inputs(inputs);
        Ok(activation::log_softmax(logits, 1))
    }

    /// `p(y | x)` of every class for each row: exact, each row summing to one.
    ///
    /// # Shapes
    /// - `inputs`: `[n, n_inputs]`, output: `[n, n_classes]`
    ///
    /// # Errors
    /// As [`Self::log_proba`].
    pub fn predict_proba(&self, inputs: Tensor<B, 2>) -> error::Result<Tensor<B, 2>> {
        Ok(self.log_proba(inputs)?.exp())
    }

    /// The most probable class of each row, `argmax_y p(y | x)`.
    ///
    /// # Shapes
    /// - `inputs`: `[n, n_inputs]`, output: `[n]`
    ///
    /// # Errors
    /// As [`Self::log_proba`].
    pub fn predict(&self, inputs: Tensor<B, 2>) -> error::Result<Tensor<B, 1, Int>> {
        self.check_inputs(&inputs)?;
        let (_, logits) = params::detached(self).class_inputs(inputs);
        Ok(logits.argmax(1).squeeze_dim::<1>(1))
    }

    /// The fraction of rows whose predicted class is not their label.
    ///
    /// # Shapes
    /// - `inputs`: `[n, n_inputs]`, `labels`: `n` classes
    ///
    /// # Errors
    /// As [`Self::log_proba`] and [`Self::rows`].
    pub fn error_rate(&self, inputs: Tensor<B, 2>, labels: &[usize]) -> error::Result<f64> {
        let n = inputs.dims()[0];
        let one_hot = self.one_hot(labels, n, &inputs.device())?;
        let predicted = self.predict(inputs)?;
        let hits = one_hot
            .argmax(1)
            .squeeze_dim::<1>(1)
            .equal(predicted)
            .int()
            .sum()
            .into_scalar();
        Ok(1.0 - hits.elem::<f64>() / n as f64)
    }

    /// The exact gradient of the average `log p(y | x)` over `rows` (`[x | e_y]`), as a value
    /// of the model's type (the input biases' entry is zero).
    ///
    /// # Shapes
    /// - `rows`: `[n, row_width]`
    ///
    /// # Errors
    /// Empty rows, another width, values the units cannot take.
    pub fn discriminative_gradient(&self, rows: Tensor<B, 2>) -> error::Result<Self> {
        check_width(rows.dims(), self.row_width())?;
        let (inputs, one_hot) = self.split(&rows);
        self.check_inputs(&inputs)?;
        VisibleUnits::Softmax {
            group_size: self.n_classes(),
        }
        .check_states(&one_hot)?;
        Ok(params::detached(self).discriminative_statistics(&rows, None, 1.0))
    }

    /// `scale` times the gradient of the average `log p(y | x)` of `rows`, with `penalty`
    /// subtracted from the hidden means (the sparsity penalty's gradient) where given.
    fn discriminative_statistics(
        &self,
        rows: &Tensor<B, 2>,
        penalty: Option<&Tensor<B, 1>>,
        scale: f64,
    ) -> Self {
        let (inputs, one_hot) = self.split(rows);
        let n = inputs.dims()[0];
        let (per_class, logits) = self.class_inputs(inputs.clone());
        let [_, classes, hidden] = per_class.dims();
        let means = self
            .rbm
            .hidden
            .mean(per_class.reshape([n * classes, hidden]))
            .reshape([n, classes, hidden]);
        // t = e_y − p(·|x); the hidden statistic of each row is Σ_y* t_y* s_y*.
        let t = one_hot.clone() - activation::softmax(logits, 1);
        let weighted = t.clone().unsqueeze_dim::<3>(2) * means;
        let label_weights = weighted.clone().sum_dim(0).reshape([classes, hidden]);
        let hidden_rows = weighted.sum_dim(1).reshape([n, hidden]);
        // The penalty enters as in the generative statistics: subtracted from the hidden
        // statistic of every data row, and so `Σ_n e_{y_n} ⊗ penalty` from `U`'s.
        let (hidden_rows, label_weights) = match penalty {
            Some(penalty) => (
                penalised(&hidden_rows, Some(penalty)),
                label_weights
                    + matmul(
                        one_hot.transpose(),
                        penalised(&hidden_rows.zeros_like(), Some(penalty)),
                    ),
            ),
            None => (hidden_rows, label_weights),
        };
        let per_row = scale / n as f64;
        let weights = matmul(
            self.rbm.scaled_visible(inputs).transpose(),
            hidden_rows.clone() * per_row,
        );
        let rbm = &self.rbm;
        Self {
            rbm: Rbm {
                weights: value_param(weights),
                visible: params::zeros_like(&rbm.visible),
                hidden: rbm
                    .hidden
                    .gradient([hidden_rows.clone(), hidden_rows.zeros_like()], scale),
            },
            label_weights: value_param(label_weights * per_row),
            labels: self.labels.gradient(column_mean(t) * scale),
            objective: self.objective,
        }
    }

    /// `scale` times the contrastive-divergence estimate of the gradient of the average
    /// `log p(x, y)`: the data phase `positive` minus the model phase `negative`.
    fn generative_statistics(
        &self,
        positive: &Phase<B>,
        negative: &Phase<B>,
        penalty: Option<&Tensor<B, 1>>,
        scale: f64,
    ) -> Self {
        let (inputs_0, labels_0) = self.split(&positive.visible);
        let (inputs_k, labels_k) = self.split(&negative.visible);
        let input_phase = |phase: &Phase<B>, inputs| Phase {
            visible: inputs,
            activations: phase.activations.clone(),
            hidden: phase.hidden.clone(),
        };
        let rbm = self.rbm.phase_statistics(
            &input_phase(positive, inputs_0),
            &input_phase(negative, inputs_k),
            [None, None],
            penalty,
            scale,
        );
        let label_weights = matmul(
            Tensor::cat(vec![labels_0.clone(), labels_k.clone()], 0).transpose(),
            weighted_phases(
                penalised(&positive.hidden, penalty),
                negative.hidden.clone(),
                scale,
            ),
        );
        let label_bias = (column_mean(labels_0) - column_mean(labels_k)) * scale;
        Self {
            rbm,
            label_weights: value_param(label_weights),
            labels: self.labels.gradient(label_bias),
            objective: self.objective,
        }
    }

    /// The phase of inputs `x` with one-hot labels: the hidden inputs `c + xW + e_yᵀU` and
    /// means; its visible states are the whole rows.
    fn phase_of(&self, inputs: Tensor<B, 2>, one_hot: Tensor<B, 2>) -> Phase<B> {
        let shift = matmul(one_hot.clone(), self.label_weights.val());
        let phase = self.rbm.phase(inputs.clone(), Some(&shift));
        Phase {
            visible: Tensor::cat(vec![inputs, one_hot], 1),
            ..phase
        }
    }

    /// Saves the model (structure, objective and parameters) to `path` atomically.
    ///
    /// # Errors
    /// [`RbmError::File`] naming `path`.
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> error::Result<()> {
        save_model(self, path.as_ref())
    }

    /// Loads a model saved with [`ClassRbm::save`] onto `device`.
    ///
    /// # Errors
    /// [`RbmError::File`] naming `path` and what is wrong (see [`Rbm::load`]).
    pub fn load(path: impl AsRef<std::path::Path>, device: &B::Device) -> error::Result<Self> {
        load_model(path.as_ref(), device)
    }
}

impl<B: Backend> CdModel<B> for ClassRbm<B> {
    type Config = ClassRbmConfig;

    const KIND: &'static str = "class-rbm";

    fn structure(&self) -> ClassRbmConfig {
        self.config()
    }

    fn from_structure(config: &ClassRbmConfig, device: &B::Device) -> error::Result<Self> {
        config.init(device)
    }

    fn device(&self) -> B::Device {
        self.rbm.device()
    }

    fn row_width(&self) -> usize {
        ClassRbm::row_width(self)
    }

    fn n_hidden(&self) -> usize {
        self.rbm.n_hidden()
    }

    fn row_units(&self) -> VisibleUnits {
        // Binary inputs: the one-hot labels are binary too; Gaussian inputs: any finite value.
        self.rbm.visible_units()
    }

    fn samples_negative_phase(&self) -> bool {
        self.objective != Objective::Discriminative
    }

    fn positive_phase(&self, rows: &Tensor<B, 2>) -> Phase<B> {
        let (inputs, one_hot) = self.split(rows);
        self.phase_of(inputs, one_hot)
    }

    fn sample_hidden<R: Rng + ?Sized>(&self, phase: &Phase<B>, rng: &mut R) -> Tensor<B, 2> {
        self.rbm
            .hidden
            .sample(phase.activations.clone(), phase.hidden.clone(), rng)
    }

    fn gibbs_step<R: Rng + ?Sized>(
        &self,
        _rows: &Tensor<B, 2>,
        hidden: Tensor<B, 2>,
        _keep_missing: bool,
        rng: &mut R,
    ) -> Phase<B> {
        let inputs = self.rbm.visible_sample(hidden.clone(), None, None, rng);
        let label_input = matmul(hidden, self.label_weights.val().transpose())
            + self.label_bias().unsqueeze_dim(0);
        let one_hot = self
            .labels
            .sample_visible(self.labels.mean(label_input), rng);
        self.phase_of(inputs, one_hot)
    }

    fn statistics(
        &self,
        rows: &Tensor<B, 2>,
        positive: &Phase<B>,
        negative: &Phase<B>,
        penalty: Option<&Tensor<B, 1>>,
        scale: f64,
    ) -> Self {
        match self.objective {
            Objective::Generative => self.generative_statistics(positive, negative, penalty, scale),
            Objective::Discriminative => self.discriminative_statistics(rows, penalty, scale),
            Objective::Hybrid { alpha } => {
                // The penalty once, with the discriminative part.
                let generative =
                    self.generative_statistics(positive, negative, None, alpha * scale);
                let discriminative = self.discriminative_statistics(rows, penalty, scale);
                params::add(discriminative, generative)
            }
        }
    }

    fn parameter_count(config: &ClassRbmConfig) -> Option<usize> {
        let rbm = Rbm::<B>::parameter_count(&config.features)?;
        let labels = config
            .n_classes
            .checked_mul(config.features.n_hidden.checked_add(1)?)?;
        rbm.checked_add(labels)
    }

    fn check_loaded(&self) -> std::result::Result<(), String> {
        check_sigma(&self.rbm)
    }

    fn reconstruction_error(&self, rows: &Tensor<B, 2>) -> Tensor<B, 1> {
        let phase = self.positive_phase(rows);
        let (inputs, _) = self.split(rows);
        let reconstruction = self
            .rbm
            .visible
            .mean(self.rbm.visible_input(phase.hidden, None));
        reconstruction_error_of(&self.rbm.visible, inputs, reconstruction)
    }

    fn row_free_energy(&self, rows: &Tensor<B, 2>) -> Tensor<B, 1> {
        let (inputs, one_hot) = self.split(rows);
        let shift = matmul(one_hot.clone(), self.label_weights.val());
        let label_term = (one_hot * self.label_bias().unsqueeze_dim(0))
            .sum_dim(1)
            .squeeze_dim::<1>(1);
        self.rbm.shifted_free_energy(inputs, [None, Some(&shift)]) - label_term
    }

    fn row_pseudo_log_likelihood<R: Rng + ?Sized>(
        &self,
        rows: &Tensor<B, 2>,
        rng: &mut R,
    ) -> Tensor<B, 1> {
        pseudo_log_likelihood_of(
            self.rbm.visible_units(),
            rows.clone(),
            |rows| self.row_free_energy(&rows),
            self.n_inputs(),
            rng,
        )
    }
}
