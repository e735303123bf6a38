//! Annealed importance sampling (AIS) estimates of `log Z`, and the average log-likelihood it
//! makes computable for models too large to enumerate.
//!
//! # The method (Salakhutdinov & Murray 2008, after Neal 2001)
//!
//! AIS moves from a base model `A` whose partition function is known in closed form to the
//! model `B` through the intermediate distributions
//!
//! ```text
//! p_β(v, h) ∝ exp(−(1 − β) E_A(v) − β E_B(v, h)),   0 = β_0 < β_1 < … < β_K = 1.
//! ```
//!
//! The base model is the *base-rate* model: no weights, and visible biases `b_A` that give the
//! data's marginals (the biases of [`Rbm::init_visible_bias_from_data`]); it keeps `B`'s
//! `n_hidden` hidden units, which at `β = 0` are free fair coins. Summing `h` out gives the
//! unnormalised marginals
//!
//! ```text
//! log p*_β(v) = −(1 − β) E_A(v) − β E_vis(v) + Σ_j softplus(β y_j(v)),   y(v) = (v/σ) W + b,
//! log Z_A     = n_hidden · ln 2 + log Σ_v exp(−E_A(v)),
//! ```
//!
//! where `E_vis` is `B`'s visible energy term. Each of `M` runs draws `v_1 ~ A`, then alternates
//! a weight update `log w += log p*_{β_k}(v_k) − log p*_{β_{k−1}}(v_k)` with one Gibbs step
//! `v_{k+1} ~ T_k(· | v_k)` that leaves `p_{β_k}` invariant. Then `E[w] = Z_B / Z_A`, so
//!
//! ```text
//! log Ẑ_B = log Z_A + log((1/M) Σ_m w_m),
//! ```
//!
//! computed stably as a log-mean-exp. The estimate is unbiased for `Z` but, by Jensen's
//! inequality, tends to *under*-estimate `log Z` when the runs are too few or the schedule too
//! short: the average log-likelihood it gives then errs on the optimistic side, which is why
//! the spread is reported and why the default schedule is the paper's long one.
//!
//! The Gibbs step at `β` samples `h_j ~ Bernoulli(σ(β y_j))` and then each visible unit from
//! its own type's conditional given the input `(1 − β) b_A + β x_B(h)`, where `x_B(h)` is `B`'s
//! visible input ([`Rbm::visible_activations`]). That one formula covers binary units
//! (sigmoid), softmax groups (softmax) and Gaussian units: the base model of Gaussian units is
//! `N(μ, σ²)` with the data's means `μ` and `B`'s `σ`, and mixing two Gaussians' energies of
//! the same `σ` gives a Gaussian of mean `(1 − β) μ + β (a + σ Wh)`. ReLU hidden units are not
//! supported: their stepped-sigmoid offsets do not scale with `β` in this form.
//!
//! # Precision
//!
//! The weight increment of a hidden unit is evaluated as
//! `softplus(β₁ y) − softplus(β₀ y) = Δ max(y, 0) + log1p(σ(−β₀|y|) (exp(−Δ|y|) − 1))` with
//! `Δ = β₁ − β₀`, which cannot overflow. On `NdArray<f32>` it is one host pass whose `expm1` and
//! `log1p` are accurate relative to `Δ|y|`, so the error is a few units of `f32`'s last place
//! of each increment. Burn's generic operations (other backends) compute `exp(−Δ|y|) − 1`,
//! whose rounding error is about `2⁻²⁴ ≈ 6·10⁻⁸` per unit and step, unbiased, where a plain difference of two `f32`
//! softplus values errs by about `|y| · 6·10⁻⁸`: for 500 hidden units and 14 500 steps the
//! random sum stays near `6·10⁻⁸ · √(500 · 14 500) ≈ 2·10⁻⁴` nats. Increments are summed on the device for
//! [`HOST_ACCUMULATION_STEPS`] steps at a time and then added to an `f64` total on the host.

use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::data::check_width;
use crate::error::{self, RbmError};
use crate::kernels::{logistic_sample, matmul, softplus_gain};
use crate::params;
use crate::rbm::Rbm;
use crate::units::{HiddenUnits, VisibleLayer, VisibleUnits};

/// Annealing steps whose weight increments are summed on the device before the sum is read
/// back and added to the `f64` total on the host.
pub const HOST_ACCUMULATION_STEPS: usize = 250;

/// The largest number of intermediate distributions a schedule may have.
pub const MAX_SCHEDULE_STEPS: usize = 10_000_000;

/// One piece of a β schedule: equal steps of `step` from the end of the previous segment (or
/// from 0) up to `until`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScheduleSegment {
    /// Where the segment ends, in `(0, 1]`.
    pub until: f64,
    /// The spacing of its β values, `> 0`. The number of steps is rounded to the nearest
    /// integer (at least one), and the segment's steps are then spaced exactly evenly.
    pub step: f64,
}

/// The inverse temperatures `0 = β_0 < β_1 < … < β_K = 1` of an AIS run, as segments of equal
/// steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BetaSchedule {
    /// Consecutive segments; the last must end at 1.
    pub segments: Vec<ScheduleSegment>,
}

impl BetaSchedule {
    /// The schedule of Salakhutdinov & Murray (2008): steps of 10⁻³ up to 0.5, 10⁻⁴ up to 0.9
    /// and 10⁻⁵ up to 1, 14 500 intermediate distributions in all.
    pub fn salakhutdinov_murray() -> Self {
        Self {
            segments: vec![
                ScheduleSegment {
                    until: 0.5,
                    step: 1e-3,
                },
                ScheduleSegment {
                    until: 0.9,
                    step: 1e-4,
                },
                ScheduleSegment {
                    until: 1.0,
                    step: 1e-5,
                },
            ],
        }
    }

    /// `steps` equal steps from 0 to 1 (at least one).
    pub fn uniform(steps: usize) -> Self {
        Self {
            segments: vec![ScheduleSegment {
                until: 1.0,
                step: 1.0 / steps.max(1) as f64,
            }],
        }
    }

    /// Checks the segments: increasing ends in `(0, 1]` with the last at 1, positive finite
    /// steps, and at most [`MAX_SCHEDULE_STEPS`] steps in all.
    ///
    /// # Errors
    /// [`RbmError::InvalidHyperparameter`] naming what is wrong.
    pub fn validate(&self) -> error::Result<()> {
        self.betas().map(|_| ())
    }

    /// All β values, starting at 0 and ending at exactly 1.
    ///
    /// # Errors
    /// As [`Self::validate`].
    pub fn betas(&self) -> error::Result<Vec<f64>> {
        let invalid = |value: String, reason| RbmError::InvalidHyperparameter {
            name: "schedule",
            value,
            reason,
        };
        let Some(last) = self.segments.last() else {
            return Err(invalid("[]".into(), "needs at least one segment"));
        };
        if last.until != 1.0 {
            return Err(invalid(
                last.until.to_string(),
                "the last segment must end at 1",
            ));
        }
        let mut betas = vec![0.0];
        let mut start = 0.0;
        for segment in &self.segments {
            let ScheduleSegment { until, step } = *segment;
            if !(until > start && until <= 1.0) {
                return Err(invalid(
                    until.to_string(),
                    "segment ends must increase within (0, 1]",
                ));
            }
            if !(step.is_finite() && step > 0.0) {
                return Err(invalid(step.to_string(), "steps must be finite and > 0"));
            }
            let steps = ((until - start) / step).round().max(1.0);
            if betas.len() as f64 + steps > MAX_SCHEDULE_STEPS as f64 {
                return Err(invalid(
                    step.to_string(),
                    "the schedule has more than MAX_SCHEDULE_STEPS steps",
                ));
            }
            let steps = steps as usize;
            betas.extend((1..=steps).map(|i| start + (until - start) * i as f64 / steps as f64));
            start = until;
        }
        Ok(betas)
    }
}

impl Default for BetaSchedule {
    fn default() -> Self {
        Self::salakhutdinov_murray()
    }
}

/// Settings of an AIS estimate of `log Z`.
#[derive(Config, Debug, PartialEq)]
pub struct AisConfig {
    /// Independent annealing runs, all advanced together as the rows of one tensor (≥ 2).
    /// The paper uses 100.
    #[config(default = 100)]
    pub runs: usize,
    /// The inverse temperatures (by default the paper's 14 500-step schedule).
    #[config(default = "BetaSchedule::salakhutdinov_murray()")]
    pub schedule: BetaSchedule,
    /// Seed of the runs' random numbers (drawn on the host, so every backend gives the same
    /// estimate up to floating-point rounding).
    #[config(default = 1)]
    pub seed: u64,
}

impl AisConfig {
    /// Checks the number of runs and the schedule.
    ///
    /// # Errors
    /// [`RbmError::InvalidHyperparameter`] naming the invalid field.
    pub fn validate(&self) -> error::Result<()> {
        if self.runs < 2 {
            return Err(RbmError::InvalidHyperparameter {
                name: "runs",
                value: self.runs.to_string(),
                reason: "at least 2 runs are needed for a spread",
            });
        }
        self.schedule.validate()
    }
}

/// An AIS estimate of `log Z` with what is needed to judge it.
#[derive(Debug, Clone, PartialEq)]
pub struct AisEstimate {
    /// `log Ẑ = log Z_A + log mean(w)`.
    pub log_z: f64,
    /// `log Z_A` of the base-rate model.
    pub log_z_base: f64,
    /// `log w` of each run.
    pub log_weights: Vec<f64>,
    /// The standard error of `log Ẑ` by the delta method, `sd(w) / (mean(w) √M)`.
    pub std_error: f64,
    /// `log(mean(w) − 3 sd(w)/√M) + log Z_A`, the paper's lower end of the spread (`−∞` when
    /// that difference is not positive).
    pub log_z_low: f64,
    /// `log(mean(w) + 3 sd(w)/√M) + log Z_A`, the upper end of the spread.
    pub log_z_high: f64,
    /// `(Σ w)² / Σ w²`: how many of the runs effectively carry the estimate. A value near 1
    /// means one run dominates and the schedule is too short.
    pub effective_sample_size: f64,
    /// Intermediate distributions visited, `K`.
    pub steps: usize,
}

impl AisEstimate {
    fn from_log_weights(log_z_base: f64, log_weights: Vec<f64>, steps: usize) -> Self {
        let max = log_weights
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let m = log_weights.len() as f64;
        let scaled: Vec<f64> = log_weights.iter().map(|w| (w - max).exp()).collect();
        let mean = scaled.iter().sum::<f64>() / m;
        let variance = scaled.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (m - 1.0);
        let spread = 3.0 * (variance / m).sqrt();
        let shift = log_z_base + max;
        Self {
            log_z: shift + mean.ln(),
            log_z_base,
            std_error: variance.sqrt() / (mean * m.sqrt()),
            log_z_low: if mean > spread {
                shift + (mean - spread).ln()
            } else {
                f64::NEG_INFINITY
            },
            log_z_high: shift + (mean + spread).ln(),
            effective_sample_size: scaled.iter().sum::<f64>().powi(2)
                / scaled.iter().map(|r| r * r).sum::<f64>(),
            steps,
            log_weights,
        }
    }
}

/// Settings of a reverse AIS (RAISE) estimate of the log-likelihood of given rows.
#[derive(Config, Debug, PartialEq)]
pub struct ReverseAisConfig {
    /// Reverse runs per row (≥ 1), averaged in `ŵ` before the logarithm; Burda et al. use one
    /// or a few.
    #[config(default = 1)]
    pub runs_per_row: usize,
    /// The inverse temperatures, walked from 1 back to 0 (by default the 14 500-step schedule
    /// of Salakhutdinov & Murray, as for AIS).
    #[config(default = "BetaSchedule::salakhutdinov_murray()")]
    pub schedule: BetaSchedule,
    /// Rows annealed together as one tensor (memory: `chunk_rows · runs_per_row` states).
    #[config(default = 1000)]
    pub chunk_rows: usize,
    /// Seed of the runs' random numbers.
    #[config(default = 1)]
    pub seed: u64,
}

impl ReverseAisConfig {
    /// Checks the number of runs, the chunk size and the schedule.
    ///
    /// # Errors
    /// [`RbmError::InvalidHyperparameter`] naming the invalid field.
    pub fn validate(&self) -> error::Result<()> {
        if self.runs_per_row == 0 {
            return Err(RbmError::InvalidHyperparameter {
                name: "runs_per_row",
                value: "0".into(),
                reason: "at least one run per row is needed",
            });
        }
        if self.chunk_rows == 0 {
            return Err(RbmError::InvalidHyperparameter {
                name: "chunk_rows",
                value: "0".into(),
                reason: "at least one row per chunk is needed",
            });
        }
        self.schedule.validate()
    }
}

/// A reverse AIS estimate of an average log-likelihood: the pessimistic end of a bracket whose
/// optimistic end AIS gives.
#[derive(Debug, Clone, PartialEq)]
pub struct ReverseAisEstimate {
    /// The mean over the rows of `log mean ŵ(v)`.
    pub log_likelihood: f64,
    /// `log mean ŵ(v)` of each row.
    pub per_row: Vec<f64>,
    /// The standard error of the mean over the rows, `sd / √rows`.
    pub std_error: f64,
    /// Intermediate distributions visited, `K`.
    pub steps: usize,
}

impl ReverseAisEstimate {
    fn from_rows(per_row: Vec<f64>, steps: usize) -> Self {
        let n = per_row.len() as f64;
        let mean = per_row.iter().sum::<f64>() / n;
        let variance = per_row.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
        Self {
            log_likelihood: mean,
            std_error: (variance / n).sqrt(),
            steps,
            per_row,
        }
    }
}

impl<B: Backend> Rbm<B> {
    /// Estimates `log Z` by annealed importance sampling from the base-rate model of `data`
    /// (see the [module docs](crate::ais)).
    ///
    /// The cost is `2 · runs · n_visible · n_hidden` multiply-adds per step: with the default
    /// 14 500 steps and 100 runs, a 784–500 model takes about a minute on a 2-core CPU.
    ///
    /// # Shapes
    /// - `data`: `[rows, n_visible]`, values the visible units can take (the training data,
    ///   whose marginals define the base model)
    ///
    /// # Errors
    /// An invalid config, data that does not fit the model, [`RbmError::UnsupportedUnits`]
    /// for ReLU hidden units, and [`RbmError::ValueOutOfRange`] carrying the offending log
    /// weight when a run's weight is not finite (parameters so large that the energies
    /// overflow `f32`).
    pub fn ais_log_partition(
        &self,
        data: &Tensor<B, 2>,
        config: &AisConfig,
    ) -> error::Result<AisEstimate> {
        config.validate()?;
        let betas = config.schedule.betas()?;
        let path = Annealing::new(self, data)?;
        let runs = config.runs;
        let base_input = path.base_input(runs);
        let mut rng = StdRng::seed_from_u64(config.seed);
        let visible = path.base.sample(path.base.mean(base_input), &mut rng);
        let mut state = State::new(&path.rbm, visible);
        let mut log_weights = Accumulator::new(runs, &path.rbm.device());
        let n_steps = betas.len() - 1;
        for (k, pair) in betas.windows(2).enumerate() {
            log_weights.add(path.log_gain(&state, pair[0], pair[1]));
            if k + 1 < n_steps {
                state = path.transition(state, pair[1], &mut rng);
            }
        }
        Ok(AisEstimate::from_log_weights(
            path.log_z_base,
            log_weights.finish()?,
            n_steps,
        ))
    }

    /// A conservative estimate of the average log-likelihood of the rows of `visible`: the
    /// reverse AIS estimator (RAISE) of Burda, Grosse & Salakhutdinov (2015), with the same
    /// base-rate model (from `data`) and the same transitions as
    /// [`Rbm::ais_log_partition`] (see the [module docs](crate::ais)).
    ///
    /// Where AIS tends to *over*-estimate the log-likelihood (its `log Ẑ` is too small in
    /// expectation), RAISE tends to *under*-estimate it: for each row `v`, runs go backwards
    /// along the schedule from `x_K = v` (`x_{k−1} ~ T_k(· | x_k)`, the transition at `β_k`,
    /// which is reversible), and
    ///
    /// ```text
    /// log ŵ(v) = log p*_1(v) − log Z_A − Σ_{k=0}^{K−1} (log p*_{β_{k+1}}(x_k) − log p*_{β_k}(x_k))
    /// ```
    ///
    /// is an unbiased estimate (in `ŵ`) of `q(v)`, the probability of `v` under the forward
    /// annealing process (`x_0 ~ A`, `x_k ~ T_k(· | x_{k−1})`), a normalised model that tends
    /// to `p(v)` as the schedule lengthens. So `E[log mean ŵ] ≤ log q(v)`: the average of
    /// `log mean ŵ(v)` over the rows is a stochastic lower bound. Together with
    /// [`Rbm::ais_log_partition`] it brackets the log-likelihood — as long as the annealing
    /// path visits every mode of the model: a mode that the runs from the rows never reach
    /// (a spurious near-blank mode of an MNIST RBM, say) is missing from `q` too, and then
    /// this estimate lies *above* the true value. AIS's effective number of runs shows it.
    ///
    /// The cost is that of AIS with `rows · runs_per_row` runs: evaluate a subset of a large
    /// test set (rows are processed in chunks of [`ReverseAisConfig::chunk_rows`]).
    ///
    /// # Shapes
    /// - `data`: `[rows, n_visible]` (the training data, as for AIS)
    /// - `visible`: `[n, n_visible]`, states the visible units can take
    ///
    /// # Errors
    /// As [`Rbm::ais_log_partition`], and rows that are not valid states.
    pub fn reverse_ais_log_likelihood(
        &self,
        data: &Tensor<B, 2>,
        visible: &Tensor<B, 2>,
        config: &ReverseAisConfig,
    ) -> error::Result<ReverseAisEstimate> {
        config.validate()?;
        check_width(visible.dims(), self.n_visible())?;
        self.visible_units().check_states(visible)?;
        let betas = config.schedule.betas()?;
        let path = Annealing::new(self, data)?;
        let runs = config.runs_per_row;
        let mut rng = StdRng::seed_from_u64(config.seed);
        let rows = visible.dims()[0];
        let mut per_row = Vec::with_capacity(rows);
        let chunk_rows = config.chunk_rows;
        for start in (0..rows).step_by(chunk_rows) {
            let chunk = visible
                .clone()
                .narrow(0, start, (rows - start).min(chunk_rows));
            let n = chunk.dims()[0];
            // Row i's runs are rows i·runs … i·runs + runs − 1.
            let visible = chunk
                .repeat_dim(1, runs)
                .reshape([n * runs, self.n_visible()]);
            let target = path.rbm.free_energy(visible.clone()).neg();
            let mut state = State::new(&path.rbm, visible);
            let mut log_weights = Accumulator::new(n * runs, &path.rbm.device());
            log_weights.add(target);
            for pair in betas.windows(2).rev() {
                state = path.transition(state, pair[1], &mut rng);
                log_weights.add(path.log_gain(&state, pair[0], pair[1]).neg());
            }
            let log_weights = log_weights.finish()?;
            per_row.extend(
                log_weights
                    .chunks(runs)
                    .map(|runs| log_mean_exp(runs) - path.log_z_base),
            );
        }
        Ok(ReverseAisEstimate::from_rows(per_row, betas.len() - 1))
    }

    /// The average log-likelihood `(1/N) Σ_n log p(v_n) = −mean F(v) − log Z` of the rows of
    /// `visible`, given `log Z` (exact from [`Rbm::log_partition_exact`], or estimated by
    /// [`Rbm::ais_log_partition`]). For Gaussian visible units it is a log-density.
    ///
    /// The rows are evaluated in chunks of 1 000 and the mean is taken on the host in `f64`.
    ///
    /// # Shapes
    /// - `visible`: `[rows, n_visible]`, values the visible units can take as states (0/1 for
    ///   binary units, complete one-hot groups for softmax units)
    ///
    /// # Errors
    /// Empty data, a width other than `n_visible`, values the units cannot take, or a
    /// non-finite `log_z`.
    pub fn average_log_likelihood(&self, visible: &Tensor<B, 2>, log_z: f64) -> error::Result<f64> {
        check_width(visible.dims(), self.n_visible())?;
        self.visible_units().check_states(visible)?;
        if !log_z.is_finite() {
            return Err(RbmError::ValueOutOfRange {
                value: log_z,
                row: None,
            });
        }
        let rows = visible.dims()[0];
        let mut total = 0.0;
        for start in (0..rows).step_by(1000) {
            let chunk = visible.clone().narrow(0, start, (rows - start).min(1000));
            total -= self.free_energy(chunk).sum().into_scalar_f64();
        }
        Ok(total / rows as f64 - log_z)
    }
}

/// The runs' visible states with their hidden inputs `vW + b`, which both the step's weight
/// ([`Annealing::log_gain`]) and its transition need: computed once per step.
struct State<B: Backend> {
    /// `[runs, n_visible]`
    visible: Tensor<B, 2>,
    /// `[runs, n_hidden]`
    hidden_input: Tensor<B, 2>,
}

impl<B: Backend> State<B> {
    /// The state of `visible` under `rbm`.
    ///
    /// # Shapes
    /// - `visible`: `[runs, n_visible]`
    fn new(rbm: &Rbm<B>, visible: Tensor<B, 2>) -> Self {
        let hidden_input = rbm.hidden_activations(visible.clone());
        Self {
            visible,
            hidden_input,
        }
    }
}

/// The annealing path shared by AIS and RAISE: the model, its base-rate model, and the
/// weight increments and transitions between intermediate distributions.
struct Annealing<B: Backend> {
    rbm: Rbm<B>,
    /// The visible layer with the base rates as biases.
    base: VisibleLayer<B>,
    base_bias: Tensor<B, 1>,
    /// `a − b_A` as a column (`[n_visible, 1]`), for binary visible units, whose energies
    /// are linear.
    bias_gap: Option<Tensor<B, 2>>,
    log_z_base: f64,
}

impl<B: Backend> Annealing<B> {
    fn new(rbm: &Rbm<B>, data: &Tensor<B, 2>) -> error::Result<Self> {
        if rbm.hidden_units() != HiddenUnits::Bernoulli {
            return Err(RbmError::UnsupportedUnits {
                operation: "AIS from a base-rate model",
                units: rbm.hidden_units().to_string(),
            });
        }
        let rbm = params::detached(rbm);
        let base_bias = rbm
            .clone()
            .init_visible_bias_from_data(data)?
            .visible_bias();
        let base = rbm.visible.clone().with_bias(base_bias.clone());
        let log_z_base =
            rbm.n_hidden() as f64 * std::f64::consts::LN_2 + base.independent_log_partition();
        let bias_gap = (rbm.visible_units() == VisibleUnits::Bernoulli)
            .then(|| (rbm.visible_bias() - base_bias.clone()).unsqueeze_dim::<2>(1));
        Ok(Self {
            rbm,
            base,
            base_bias,
            bias_gap,
            log_z_base,
        })
    }

    /// The base biases repeated for `runs` rows.
    fn base_input(&self, runs: usize) -> Tensor<B, 2> {
        self.base_bias.clone().unsqueeze::<2>().repeat_dim(0, runs)
    }

    /// `log p*_{β₁}(v) − log p*_{β₀}(v)` of each row.
    ///
    /// # Shapes
    /// - `state`: `runs` rows, output: `[runs]`
    fn log_gain(&self, state: &State<B>, beta_0: f64, beta_1: f64) -> Tensor<B, 1> {
        let (visible, hidden_input) = (&state.visible, state.hidden_input.clone());
        // −(β₁ − β₀) (E_vis(v) − E_A(v)) for the visible part: for binary units
        // E_A(v) − E_vis(v) = v·(a − b_A), one matrix-vector product.
        let visible_gap = match &self.bias_gap {
            Some(gap) => matmul(visible.clone(), gap.clone()).squeeze_dim::<1>(1),
            None => {
                self.base.energy(visible.clone(), None)
                    - self.rbm.visible.energy(visible.clone(), None)
            }
        };
        let delta = beta_1 - beta_0;
        let hidden_gain = softplus_gain(hidden_input, beta_0, beta_1);
        visible_gap * delta + hidden_gain
    }

    /// One Gibbs step `T_β` from each row, which leaves `p_β` invariant (and is reversible
    /// with respect to it).
    ///
    /// # Shapes
    /// - `state`, output: `runs` rows
    fn transition<R: rand::Rng + Send + ?Sized>(
        &self,
        state: State<B>,
        beta: f64,
        rng: &mut R,
    ) -> State<B> {
        let hidden = logistic_sample(state.hidden_input * beta, rng);
        let base = self.base_bias.clone().unsqueeze::<2>() * (1.0 - beta);
        let input = self.rbm.visible_activations(hidden) * beta + base;
        let model = &self.rbm.visible;
        let visible = match model.units() {
            VisibleUnits::Bernoulli => logistic_sample(input, rng),
            _ => model.sample(model.mean(input), rng),
        };
        State::new(&self.rbm, visible)
    }
}

/// Per-run log weights, summed on the device for [`HOST_ACCUMULATION_STEPS`] steps at a time
/// and then added to `f64` totals on the host.
struct Accumulator<B: Backend> {
    pending: Tensor<B, 1>,
    steps: usize,
    totals: Vec<f64>,
}

impl<B: Backend> Accumulator<B> {
    fn new(runs: usize, device: &B::Device) -> Self {
        Self {
            pending: Tensor::zeros([runs], device),
            steps: 0,
            totals: vec![0.0; runs],
        }
    }

    fn add(&mut self, increment: Tensor<B, 1>) {
        self.pending = self.pending.clone() + increment;
        self.steps += 1;
        if self.steps.is_multiple_of(HOST_ACCUMULATION_STEPS) {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let device = self.pending.device();
        let pending = std::mem::replace(
            &mut self.pending,
            Tensor::zeros([self.totals.len()], &device),
        );
        for (total, value) in self
            .totals
            .iter_mut()
            .zip(pending.into_data().iter::<f64>())
        {
            *total += value;
        }
    }

    /// The totals, or [`RbmError::ValueOutOfRange`] carrying the first that is not finite
    /// (parameters so large that the energies overflow `f32`).
    fn finish(mut self) -> error::Result<Vec<f64>> {
        self.flush();
        if let Some(bad) = self.totals.iter().find(|w| !w.is_finite()) {
            return Err(RbmError::ValueOutOfRange {
                value: *bad,
                row: None,
            });
        }
        Ok(self.totals)
    }
}

/// `log((1/n) Σ exp(x_i))`, computed stably.
fn log_mean_exp(values: &[f64]) -> f64 {
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    max + (values.iter().map(|x| (x - max).exp()).sum::<f64>() / values.len() as f64).ln()
}

/// Reading a one-element tensor as `f64`.
trait IntoScalarF64 {
    fn into_scalar_f64(self) -> f64;
}

impl<B: Backend> IntoScalarF64 for Tensor<B, 1> {
    fn into_scalar_f64(self) -> f64 {
        use burn::tensor::ElementConversion;
        self.into_scalar().elem::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_is_the_papers() {
        let betas = BetaSchedule::default().betas().unwrap();
        assert_eq!(betas.len(), 14_501);
        assert_eq!(betas[0], 0.0);
        assert_eq!(*betas.last().unwrap(), 1.0);
        assert!((betas[500] - 0.5).abs() < 1e-12);
        assert!((betas[4500] - 0.9).abs() < 1e-12);
        assert!(betas.windows(2).all(|w| w[1] > w[0]));
        assert!((betas[4501] - betas[4500] - 1e-5).abs() < 1e-12);
    }

    #[test]
    fn bad_schedules_are_rejected() {
        let segment = |until, step| ScheduleSegment { until, step };
        for segments in [
            vec![],
            vec![segment(0.5, 0.1)],
            vec![segment(0.5, 0.1), segment(0.4, 0.1), segment(1.0, 0.1)],
            vec![segment(1.0, 0.0)],
            vec![segment(1.0, f64::NAN)],
            vec![segment(1.0, 1e-9)],
        ] {
            let schedule = BetaSchedule { segments };
            assert!(
                matches!(
                    schedule.validate(),
                    Err(RbmError::InvalidHyperparameter {
                        name: "schedule",
                        ..
                    })
                ),
                "{schedule:?}"
            );
        }
        assert!(AisConfig::new().with_runs(1).validate().is_err());
    }

    #[test]
    fn the_estimate_is_a_stable_log_mean_exp() {
        // Weights e^1000 and e^1000 · 3: log mean = 1000 + ln 2, with no overflow.
        let estimate = AisEstimate::from_log_weights(5.0, vec![1000.0, 1000.0 + 3f64.ln()], 10);
        assert!((estimate.log_z - (1005.0 + 2f64.ln())).abs() < 1e-9);
        // Scaled weights 1/3 and 1: ESS = (4/3)² / (10/9) = 1.6.
        assert!((estimate.effective_sample_size - 1.6).abs() < 1e-12);
        assert!(estimate.log_z_low < estimate.log_z && estimate.log_z < estimate.log_z_high);
        // sd of (1/3, 1) is √2/3, mean 2/3: std error (√2/3) / (2/3 · √2) = 1/2.
        assert!((estimate.std_error - 0.5).abs() < 1e-12);
    }
}
