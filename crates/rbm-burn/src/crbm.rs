//! The conditional RBM (Taylor, Hinton & Roweis 2007): an RBM over the current frame of a
//! sequence whose biases are linear functions of the previous `n` frames.
//!
//! With the context `u = [v_{t−1}, v_{t−2}, …, v_{t−n}]` (the previous frames, most recent
//! first, `n · n_visible` values), autoregressive weights `A` (`[n · n_visible, n_visible]`)
//! and context-to-hidden weights `B` (`[n · n_visible, n_hidden]`), the model is the RBM of
//! [`crate::Rbm`] over `v = v_t` with the dynamic biases
//!
//! ```text
//! â = a + u A,   b̂ = b + u B
//! E(v, h | u) = E_rbm(v, h) with a → â, b → b̂
//! p(v | u) = exp(−F(v | u)) / Z(u)
//! ```
//!
//! so for a fixed context it *is* an RBM ([`Crbm::conditioned`]): its conditionals, free energy,
//! exact likelihood and exact gradient are the RBM's with shifted biases, and the gradient for
//! `A` and `B` is the context times the gradient for the biases it shifts,
//! `∂⟨log p⟩/∂A = ⟨uᵀ ∂(−E)/∂â⟩_data − ⟨uᵀ ∂(−E)/∂â⟩_model` (and likewise `B` with `h`).
//! Every unit type of the RBM works: binary frames (bouncing balls) or Gaussian ones (motion
//! capture, Taylor's use).
//!
//! A training row is a window of the sequence, `[v_t | v_{t−1} | … | v_{t−n}]`
//! ([`sequence_windows`]); the same learner as for the RBM trains it
//! ([`crate::ContrastiveDivergence`], CD-k or PCD). PCD's chains take the context of the batch
//! row they are paired with (chain `i` of `m`: row `i mod n`). [`Crbm::generate`] samples a
//! sequence frame by frame, each frame given the ones before it.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{backend::Backend, Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

use crate::data::check_width;
use crate::error::{self, RbmError};
use crate::exact::exact_log_likelihood_gradient;
use crate::kernels::matmul;
use crate::metrics::{pseudo_log_likelihood_of, reconstruction_error_of};
use crate::model::{CdModel, Phase};
use crate::params::{self, value_param};
use crate::persist::{load_model, save_model, value_records};
use crate::rbm::{check_sigma, penalised, weighted_phases, Rbm, RbmConfig};
use crate::units::VisibleUnits;

/// Configuration of a [`Crbm`]: the RBM over one frame, and how many frames of context shift
/// its biases.
#[derive(Config, Debug, PartialEq)]
pub struct CrbmConfig {
    /// The RBM over one frame: units per frame (`n_visible`), hidden units, unit types, and the
    /// initialisation of `W`, whose `weight_std` and `seed` also initialise `A` and `B`.
    pub frame: RbmConfig,
    /// Frames of context `n ≥ 1` (the model's order).
    pub order: usize,
}

value_records!(CrbmConfig);

impl CrbmConfig {
    /// Builds a conditional RBM on `device`.
    ///
    /// # Errors
    /// Those of [`RbmConfig::init`], and [`RbmError::InvalidHyperparameter`] for `order = 0` or
    /// a context too large to index.
    pub fn init<B: Backend>(&self, device: &B::Device) -> error::Result<Crbm<B>> {
        let frame = &self.frame;
        let rbm = frame.init(device)?;
        let context = self
            .order
            .checked_mul(frame.n_visible)
            .filter(|&c| c > 0 && c.checked_mul(frame.n_visible.max(frame.n_hidden)).is_some())
            .ok_or_else(|| RbmError::InvalidHyperparameter {
                name: "order",
                value: self.order.to_string(),
                reason: "at least one frame of context, and order · n_visible weights per unit",
            })?;
        // A stream of its own, so that W is the RBM's for the same seed.
        let mut rng = StdRng::seed_from_u64(frame.seed ^ 0x6372_626d);
        let normal = Normal::new(0.0f32, frame.weight_std as f32).map_err(|_| {
            RbmError::InvalidHyperparameter {
                name: "weight_std",
                value: frame.weight_std.to_string(),
                reason: "not a valid std",
            }
        })?;
        let mut draw = |columns: usize| {
            let values: Vec<f32> = (0..context * columns)
                .map(|_| normal.sample(&mut rng))
                .collect();
            Param::from_tensor(Tensor::from_data(
                TensorData::new(values, [context, columns]),
                device,
            ))
        };
        Ok(Crbm {
            autoregressive: draw(frame.n_visible),
            context_hidden: draw(frame.n_hidden),
            rbm,
        })
    }
}

/// A conditional restricted Boltzmann machine over frames of `n_visible` units given the
/// previous `order` frames (see the [module docs](self)).
#[derive(Module, Debug)]
pub struct Crbm<B: Backend> {
    /// The RBM over the current frame: its weights `W`, units and static biases `a`, `b`.
    pub rbm: Rbm<B>,
    /// Autoregressive weights `A`, `[order · n_visible, n_visible]`: the context's shift of
    /// the visible biases.
    pub autoregressive: Param<Tensor<B, 2>>,
    /// Context-to-hidden weights `B`, `[order · n_visible, n_hidden]`: the context's shift of
    /// the hidden biases.
    pub context_hidden: Param<Tensor<B, 2>>,
}

impl<B: Backend> Crbm<B> {
    /// A conditional RBM from its parts: the RBM over one frame and the context weights,
    /// checking that their shapes agree.
    ///
    /// # Shapes
    /// - `autoregressive`: `[order · n_visible, n_visible]`
    /// - `context_hidden`: `[order · n_visible, n_hidden]`
    ///
    /// # Errors
    /// [`RbmError::ShapeMismatch`] naming the tensor that does not fit.
    pub fn from_parts(
        rbm: Rbm<B>,
        autoregressive: Tensor<B, 2>,
        context_hidden: Tensor<B, 2>,
    ) -> error::Result<Self> {
        let (v, h) = (rbm.n_visible(), rbm.n_hidden());
        let [context, columns] = autoregressive.dims();
        if context == 0 || context % v != 0 || columns != v {
            return Err(RbmError::ShapeMismatch {
                what: "autoregressive (order · n_visible rows, n_visible columns)",
                expected: vec![v * (context / v).max(1), v],
                actual: vec![context, columns],
            });
        }
        if context_hidden.dims() != [context, h] {
            return Err(RbmError::ShapeMismatch {
                what: "context_hidden",
                expected: vec![context, h],
                actual: context_hidden.dims().to_vec(),
            });
        }
        Ok(Self {
            rbm,
            autoregressive: Param::from_tensor(autoregressive),
            context_hidden: Param::from_tensor(context_hidden),
        })
    }

    /// Units per frame.
    pub fn n_visible(&self) -> usize {
        self.rbm.n_visible()
    }

    /// Number of hidden units.
    pub fn n_hidden(&self) -> usize {
        self.rbm.n_hidden()
    }

    /// Frames of context.
    pub fn order(&self) -> usize {
        self.autoregressive.lazy_shape().dims::<2>()[0] / self.n_visible()
    }

    /// Width of a training row: the current frame and its context, `(order + 1) · n_visible`.
    pub fn row_width(&self) -> usize {
        (self.order() + 1) * self.n_visible()
    }

    /// The config that builds a model of this structure.
    pub fn config(&self) -> CrbmConfig {
        CrbmConfig::new(self.rbm.config(), self.order())
    }

    /// The current frames and the contexts of `rows`.
    ///
    /// # Shapes
    /// - `rows`: `[n, row_width]`; outputs `[n, n_visible]`, `[n, order · n_visible]`
    fn split(&self, rows: &Tensor<B, 2>) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let v = self.n_visible();
        let context = self.order() * v;
        (
            rows.clone().narrow(1, 0, v),
            rows.clone().narrow(1, v, context),
        )
    }

    /// The dynamic shifts `u A` and `u B` of the visible and hidden biases.
    ///
    /// # Shapes
    /// - `context`: `[n, order · n_visible]`; outputs `[n, n_visible]`, `[n, n_hidden]`
    fn shifts(&self, context: &Tensor<B, 2>) -> [Tensor<B, 2>; 2] {
        [
            matmul(context.clone(), self.autoregressive.val()),
            matmul(context.clone(), self.context_hidden.val()),
        ]
    }

    /// The contexts of `m` chains paired with the `n` rows of `context`: chain `i` takes row
    /// `i mod n`.
    fn chain_context(context: Tensor<B, 2>, m: usize) -> Tensor<B, 2> {
        let n = context.dims()[0];
        if m == n {
            return context;
        }
        let indices: Vec<i64> = (0..m).map(|i| (i % n) as i64).collect();
        let indices =
            Tensor::<B, 1, Int>::from_data(TensorData::new(indices, [m]), &context.device());
        context.select(0, indices)
    }

    /// The RBM that the model is for one context: the visible and hidden biases shifted by
    /// `u A` and `u B`.
    ///
    /// # Shapes
    /// - `context`: `[1, order · n_visible]`
    ///
    /// # Errors
    /// [`RbmError::ShapeMismatch`] for another shape.
    pub fn conditioned(&self, context: Tensor<B, 2>) -> error::Result<Rbm<B>> {
        let expected = [1, self.order() * self.n_visible()];
        if context.dims() != expected {
            return Err(RbmError::ShapeMismatch {
                what: "context",
                expected: expected.to_vec(),
                actual: context.dims().to_vec(),
            });
        }
        let [visible, hidden] = self.shifts(&context);
        let visible_bias = self.rbm.visible_bias() + visible.squeeze_dim::<1>(0);
        let hidden_bias = self.rbm.hidden_bias() + hidden.squeeze_dim::<1>(0);
        let rbm = params::detached(&self.rbm);
        Ok(Rbm {
            visible: rbm.visible.with_bias(visible_bias),
            hidden: rbm.hidden.with_bias(hidden_bias),
            weights: rbm.weights,
        })
    }

    /// The exact `log p(v_t | u_t)` of each row, by enumerating the smaller layer of each
    /// row's conditioned RBM ([`Crbm::conditioned`], [`Rbm::log_likelihood_exact`]).
    ///
    /// # Shapes
    /// - `rows`: `[n, row_width]`, the frames in states the units can take; output: `[n]`
    ///
    /// # Errors
    /// Empty data, a width other than [`Self::row_width`], values the units cannot take, or
    /// a model too large to enumerate.
    pub fn log_likelihood_exact(&self, rows: Tensor<B, 2>) -> error::Result<Tensor<B, 1>> {
        check_width(rows.dims(), self.row_width())?;
        let (visible, context) = self.split(&rows);
        let per_row = (0..rows.dims()[0])
            .map(|row| {
                self.conditioned(context.clone().narrow(0, row, 1))?
                    .log_likelihood_exact(visible.clone().narrow(0, row, 1))
            })
            .collect::<error::Result<Vec<_>>>()?;
        Ok(Tensor::cat(per_row, 0))
    }

    /// The exact gradient of the average `log p(v_t | u_t)` of `rows`, as a value of the
    /// model's type: each row's conditioned RBM's exact gradient
    /// ([`exact_log_likelihood_gradient`]), averaged, and for `A` and `B` the context times
    /// that row's bias gradients.
    ///
    /// # Shapes
    /// - `rows`: `[n, row_width]`, binary
    ///
    /// # Errors
    /// As [`Self::log_likelihood_exact`], and [`RbmError::UnsupportedUnits`] for units other
    /// than binary ones.
    pub fn exact_log_likelihood_gradient(&self, rows: Tensor<B, 2>) -> error::Result<Self> {
        check_width(rows.dims(), self.row_width())?;
        let (visible, context) = self.split(&rows);
        let n = rows.dims()[0];
        let mut total: Option<[Tensor<B, 2>; 5]> = None;
        for row in 0..n {
            let u = context.clone().narrow(0, row, 1);
            let gradient = exact_log_likelihood_gradient(
                &self.conditioned(u.clone())?,
                visible.clone().narrow(0, row, 1),
            )?;
            let (a, b) = (
                gradient.visible_bias().unsqueeze::<2>(),
                gradient.hidden_bias().unsqueeze::<2>(),
            );
            let parts = [
                gradient.weights.val(),
                a.clone(),
                b.clone(),
                u.clone().transpose().matmul(a),
                u.transpose().matmul(b),
            ];
            total = Some(match total {
                None => parts,
                Some(total) => {
                    let mut sum = total.into_iter().zip(parts).map(|(t, p)| t + p);
                    std::array::from_fn(|_| sum.next().expect("five parts"))
                }
            });
        }
        let [w, a, b, autoregressive, context_hidden] =
            total.ok_or(RbmError::EmptyData)?.map(|t| t / n as f64);
        let rbm = Rbm::from_tensors(w, a.squeeze_dim::<1>(0), b.squeeze_dim::<1>(0))?;
        Ok(Self {
            rbm: params::detached(&rbm),
            autoregressive: value_param(autoregressive),
            context_hidden: value_param(context_hidden),
        })
    }

    /// The conditional means `E[v_t | h, u]` after `steps` mean-field up–down passes started
    /// at the last frame of each context: a deterministic one-step prediction.
    ///
    /// # Shapes
    /// - `context`: `[n, order · n_visible]` (most recent frame first); output `[n, n_visible]`
    pub fn predict(&self, context: Tensor<B, 2>, steps: usize) -> Tensor<B, 2> {
        let model = params::detached(self);
        let [visible_shift, hidden_shift] = model.shifts(&context);
        let mut visible = context.narrow(1, 0, model.n_visible());
        for _ in 0..steps.max(1) {
            let hidden = model
                .rbm
                .hidden
                .mean(model.rbm.hidden_input(visible, Some(&hidden_shift)));
            visible = model
                .rbm
                .visible
                .mean(model.rbm.visible_input(hidden, Some(&visible_shift)));
        }
        visible
    }

    /// Generates `frames` new frames after `start`, each by `gibbs_steps` steps of alternating
    /// Gibbs sampling given the `order` frames before it, started at the last frame: the
    /// hidden units are sampled and the visible units kept at their conditional means, whose
    /// last value is the frame (as in Taylor, Hinton & Roweis's generation code: noise added
    /// to every generated frame would accumulate along the sequence).
    ///
    /// # Shapes
    /// - `start`: `[k, n_visible]`, `k ≥ order` frames in time order (the last `order` are the
    ///   first context); output: `[frames, n_visible]`
    ///
    /// # Errors
    /// [`RbmError::ShapeMismatch`] for too few or too narrow start frames,
    /// [`RbmError::InvalidHyperparameter`] for `gibbs_steps = 0`, invalid start values.
    pub fn generate<R: Rng + ?Sized>(
        &self,
        start: Tensor<B, 2>,
        frames: usize,
        gibbs_steps: usize,
        rng: &mut R,
    ) -> error::Result<Tensor<B, 2>> {
        let (order, v) = (self.order(), self.n_visible());
        let [k, width] = start.dims();
        if k < order || width != v {
            return Err(RbmError::ShapeMismatch {
                what: "start frames (at least `order` frames of n_visible units)",
                expected: vec![order, v],
                actual: vec![k, width],
            });
        }
        if gibbs_steps == 0 {
            return Err(RbmError::InvalidHyperparameter {
                name: "gibbs_steps",
                value: "0".into(),
                reason: "at least one Gibbs step per frame",
            });
        }
        self.rbm.visible_units().check_data(&start)?;
        let model = params::detached(self);
        // The history, most recent frame first.
        let mut history: Vec<Tensor<B, 2>> = (0..order)
            .map(|lag| start.clone().narrow(0, k - 1 - lag, 1))
            .collect();
        let mut generated = Vec::with_capacity(frames);
        for _ in 0..frames {
            let context = Tensor::cat(history.clone(), 1);
            let [visible_shift, hidden_shift] = model.shifts(&context);
            let mut mean = history[0].clone();
            for _ in 0..gibbs_steps {
                let phase = model.rbm.phase(mean, Some(&hidden_shift));
                let hidden = model
                    .rbm
                    .hidden
                    .sample(phase.activations, phase.hidden, rng);
                mean = model
                    .rbm
                    .visible
                    .mean(model.rbm.visible_input(hidden, Some(&visible_shift)));
            }
            history.pop();
            history.insert(0, mean.clone());
            generated.push(mean);
        }
        if generated.is_empty() {
            return Ok(Tensor::zeros([0, v], &self.rbm.device()));
        }
        Ok(Tensor::cat(generated, 0))
    }

    /// Saves the model (structure and parameters) to `path` atomically.
    ///
    /// # Errors
    /// [`RbmError::File`] naming `path`.
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> error::Result<()> {
        save_model(self, path.as_ref())
    }

    /// Loads a model saved with [`Crbm::save`] onto `device`.
    ///
    /// # Errors
    /// [`RbmError::File`] naming `path` and what is wrong (see [`Rbm::load`]).
    pub fn load(path: impl AsRef<std::path::Path>, device: &B::Device) -> error::Result<Self> {
        load_model(path.as_ref(), device)
    }
}

/// The training rows of a conditional model of `order`: for every frame `t ≥ order` of every
/// sequence, the window `[v_t | v_{t−1} | … | v_{t−order}]`. No window spans two sequences.
///
/// # Shapes
/// - `sequences`: each `[frames, n_visible]` with more than `order` frames, all of one width
/// - output: `[Σ (frames − order), (order + 1) · n_visible]`
///
/// # Errors
/// [`RbmError::EmptyData`] for no windows, [`RbmError::InvalidHyperparameter`] for `order = 0`,
/// [`RbmError::WidthMismatch`] for sequences of different widths.
pub fn sequence_windows<B: Backend>(
    sequences: &[Tensor<B, 2>],
    order: usize,
) -> error::Result<Tensor<B, 2>> {
    if order == 0 {
        return Err(RbmError::InvalidHyperparameter {
            name: "order",
            value: "0".into(),
            reason: "at least one frame of context",
        });
    }
    let width = sequences.first().ok_or(RbmError::EmptyData)?.dims()[1];
    let mut windows = Vec::new();
    for sequence in sequences {
        let [frames, columns] = sequence.dims();
        if columns != width {
            return Err(RbmError::WidthMismatch {
                expected: width,
                actual: columns,
            });
        }
        if frames <= order {
            continue;
        }
        let rows = frames - order;
        let lags: Vec<_> = (0..=order)
            .map(|lag| sequence.clone().narrow(0, order - lag, rows))
            .collect();
        windows.push(Tensor::cat(lags, 1));
    }
    if windows.is_empty() {
        return Err(RbmError::EmptyData);
    }
    Ok(Tensor::cat(windows, 0))
}

impl<B: Backend> CdModel<B> for Crbm<B> {
    type Config = CrbmConfig;

    const KIND: &'static str = "crbm";

    fn structure(&self) -> CrbmConfig {
        self.config()
    }

    fn from_structure(config: &CrbmConfig, device: &B::Device) -> error::Result<Self> {
        config.init(device)
    }

    fn device(&self) -> B::Device {
        self.rbm.device()
    }

    fn row_width(&self) -> usize {
        Crbm::row_width(self)
    }

    fn n_hidden(&self) -> usize {
        self.rbm.n_hidden()
    }

    fn row_units(&self) -> VisibleUnits {
        self.rbm.visible_units()
    }

    fn positive_phase(&self, rows: &Tensor<B, 2>) -> Phase<B> {
        let (visible, context) = self.split(rows);
        let [_, hidden_shift] = self.shifts(&context);
        self.rbm.phase(visible, Some(&hidden_shift))
    }

    fn sample_hidden<R: Rng + ?Sized>(&self, phase: &Phase<B>, rng: &mut R) -> Tensor<B, 2> {
        self.rbm
            .hidden
            .sample(phase.activations.clone(), phase.hidden.clone(), rng)
    }

    fn gibbs_step<R: Rng + ?Sized>(
        &self,
        rows: &Tensor<B, 2>,
        hidden: Tensor<B, 2>,
        keep_missing: bool,
        rng: &mut R,
    ) -> Phase<B> {
        let (visible, context) = self.split(rows);
        let m = hidden.dims()[0];
        let [visible_shift, hidden_shift] = self.shifts(&Self::chain_context(context, m));
        let missing_from = (keep_missing && m == visible.dims()[0]).then_some(&visible);
        let sample = self
            .rbm
            .visible_sample(hidden, Some(&visible_shift), missing_from, rng);
        self.rbm.phase(sample, Some(&hidden_shift))
    }

    fn statistics(
        &self,
        rows: &Tensor<B, 2>,
        positive: &Phase<B>,
        negative: &Phase<B>,
        penalty: Option<&Tensor<B, 1>>,
        scale: f64,
    ) -> Self {
        let (_, context) = self.split(rows);
        let m = negative.visible.dims()[0];
        let negative_context = Self::chain_context(context.clone(), m);
        let [positive_shift, _] = self.shifts(&context);
        let [negative_shift, _] = self.shifts(&negative_context);
        let rbm = self.rbm.phase_statistics(
            positive,
            negative,
            [Some(&positive_shift), Some(&negative_shift)],
            penalty,
            scale,
        );
        // [u₀; u_k]ᵀ [(ε/n) g₀; −(ε/m) g_k] for the visible (g = ∂(−E)/∂â) and hidden sides.
        let contexts = Tensor::cat(vec![context, negative_context], 0).transpose();
        let stacked = |data, model| weighted_phases(data, model, scale);
        let visible = &self.rbm.visible;
        let autoregressive = matmul(
            contexts.clone(),
            stacked(
                visible.bias_statistic(positive.visible.clone(), Some(&positive_shift)),
                visible.bias_statistic(negative.visible.clone(), Some(&negative_shift)),
            ),
        );
        let context_hidden = matmul(
            contexts,
            stacked(
                penalised(&positive.hidden, penalty),
                negative.hidden.clone(),
            ),
        );
        Self {
            rbm,
            autoregressive: value_param(autoregressive),
            context_hidden: value_param(context_hidden),
        }
    }

    fn parameter_count(config: &CrbmConfig) -> Option<usize> {
        let frame = &config.frame;
        let rbm = Rbm::<B>::parameter_count(frame)?;
        let context = config.order.checked_mul(frame.n_visible)?;
        let weights = context.checked_mul(frame.n_visible.checked_add(frame.n_hidden)?)?;
        rbm.checked_add(weights)
    }

    fn check_loaded(&self) -> std::result::Result<(), String> {
        check_sigma(&self.rbm)
    }

    fn reconstruction_error(&self, rows: &Tensor<B, 2>) -> Tensor<B, 1> {
        let (visible, context) = self.split(rows);
        let [visible_shift, hidden_shift] = self.shifts(&context);
        let hidden = self
            .rbm
            .hidden
            .mean(self.rbm.hidden_input(visible.clone(), Some(&hidden_shift)));
        let reconstruction = self
            .rbm
            .visible
            .mean(self.rbm.visible_input(hidden, Some(&visible_shift)));
        reconstruction_error_of(&self.rbm.visible, visible, reconstruction)
    }

    fn row_free_energy(&self, rows: &Tensor<B, 2>) -> Tensor<B, 1> {
        let (visible, context) = self.split(rows);
        let [visible_shift, hidden_shift] = self.shifts(&context);
        self.rbm
            .shifted_free_energy(visible, [Some(&visible_shift), Some(&hidden_shift)])
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
            self.n_visible(),
            rng,
        )
    }
}
