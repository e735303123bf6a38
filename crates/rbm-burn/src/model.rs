//! The seam between the contrastive-divergence learner and the models it trains.
//!
//! From the learner's side a model trained by contrastive divergence needs only three things:
//! its **positive phase** on a batch (the hidden means given the data), a **Gibbs step** (a
//! visible sample given a hidden state, and the hidden means given that sample), and its
//! **sufficient statistics** — data minus model — in the shape of the model itself. A model
//! provides them by implementing [`CdModel`]; everything else is written once in
//! [`crate::cd`] for every model: the schedule, momentum, weight decay, sparsity, the
//! divergence check, streamed data, observers, checkpoints and exact resuming. The learner's
//! velocity is a value of the model's own type, so a model's parameter set is written once,
//! in its struct, and its records, checkpoints and velocities come from Burn's `Module`
//! derive.
//!
//! Training rows are one tensor per batch, `[rows, row_width]`: the visible units, followed by
//! whatever else the model conditions on (the previous frames of a conditional RBM). The
//! models of this crate: [`crate::Rbm`] (every unit type), [`crate::Crbm`] and
//! [`crate::ClassRbm`].

use burn::module::Module;
use burn::record::Record;
use burn::tensor::{backend::Backend, Tensor};
use rand::Rng;

use crate::cd::centring::Offsets;
use crate::error::Result;
use crate::units::VisibleUnits;

/// One phase of a contrastive-divergence update: visible states and what the hidden layer
/// makes of them.
#[derive(Debug, Clone)]
pub struct Phase<B: Backend> {
    /// The visible states, `[rows, n_visible]`.
    pub visible: Tensor<B, 2>,
    /// The hidden units' total inputs given them, `[rows, n_hidden]`.
    pub activations: Tensor<B, 2>,
    /// The hidden means given them (`p(h = 1 | v)` for binary units), `[rows, n_hidden]`.
    pub hidden: Tensor<B, 2>,
}

/// A model that the contrastive-divergence learner ([`crate::ContrastiveDivergence`]) trains.
///
/// The learner calls, per update on a batch of `rows`:
/// 1. [`Self::positive_phase`] of the rows;
/// 2. [`Self::sample_hidden`] of it (CD), or the persistent chains' hidden states (PCD);
/// 3. `k` times [`Self::gibbs_step`], sampling the hidden units of each step but the last;
/// 4. [`Self::statistics`] of both phases (with the sparsity penalty, if any), which it turns
///    into the momentum step of every parameter (weight decay on the parameters of rank 2 and
///    more).
///
/// Every random number comes from the `rng` it passes, in this order, so a seed gives one
/// trajectory on every backend. The methods take detached models and tensors: implementations
/// need not care about autodiff.
pub trait CdModel<B: Backend>: Module<B> + Sized + 'static {
    /// What rebuilds the model's structure (sizes, unit types) to load a record into; it is
    /// saved beside the record in model files and checkpoints.
    type Config: Clone
        + std::fmt::Debug
        + PartialEq
        + serde::Serialize
        + serde::de::DeserializeOwned
        + Record<B>;

    /// The content kind of this model's files (`"rbm"`, `"crbm"`).
    const KIND: &'static str;

    /// The config of this model's structure.
    fn structure(&self) -> Self::Config;

    /// A model of `config`'s structure on `device` (its parameter values are then replaced
    /// by a record's).
    ///
    /// # Errors
    /// An invalid config.
    fn from_structure(config: &Self::Config, device: &B::Device) -> Result<Self>;

    /// The device of the parameters.
    fn device(&self) -> B::Device;

    /// Width of a training row: the visible units, plus the conditioning input of a
    /// conditional model.
    fn row_width(&self) -> usize;

    /// Number of hidden units.
    fn n_hidden(&self) -> usize;

    /// The unit type that every column of a training row must be valid for (the data checks).
    fn row_units(&self) -> VisibleUnits;

    /// Whether [`Self::statistics`] reads the model phase. A model trained by an exact
    /// gradient that needs no samples (the discriminative objective of
    /// [`crate::ClassRbm`]) returns `false`: the learner then draws nothing and passes the
    /// positive phase as the negative one. `true` by default.
    fn samples_negative_phase(&self) -> bool {
        true
    }

    /// The positive phase: the rows' visible part and the hidden means given the rows.
    ///
    /// # Shapes
    /// - `rows`: `[n, row_width]`
    fn positive_phase(&self, rows: &Tensor<B, 2>) -> Phase<B>;

    /// A sample of the hidden units of `phase`.
    ///
    /// # Shapes
    /// - output: `[rows, n_hidden]`
    fn sample_hidden<R: Rng + ?Sized>(&self, phase: &Phase<B>, rng: &mut R) -> Tensor<B, 2>;

    /// One step of block Gibbs sampling from `hidden`: a visible sample given it (and given
    /// the conditioning input of `rows`, for conditional models: chain `i` takes row
    /// `i mod n`), then the hidden means given that sample. With `keep_missing`, entries
    /// missing in `rows` (all-zero softmax groups) stay missing in the sample.
    ///
    /// # Shapes
    /// - `rows`: `[n, row_width]`, `hidden`: `[m, n_hidden]`
    fn gibbs_step<R: Rng + ?Sized>(
        &self,
        rows: &Tensor<B, 2>,
        hidden: Tensor<B, 2>,
        keep_missing: bool,
        rng: &mut R,
    ) -> Phase<B>;

    /// `scale` times the data statistics of `positive` minus the model statistics of
    /// `negative`, each averaged over its own rows: the log-likelihood gradient estimate, as
    /// a value of the model's own type (one entry per parameter).
    ///
    /// `penalty` (`[n_hidden]`), when given, is subtracted from every row of the data phase's
    /// hidden means in the statistics of the parameters that multiply a hidden unit (the
    /// sparsity penalty's gradient, `cost·(q − target)`), and only there.
    fn statistics(
        &self,
        rows: &Tensor<B, 2>,
        positive: &Phase<B>,
        negative: &Phase<B>,
        penalty: Option<&Tensor<B, 1>>,
        scale: f64,
    ) -> Self;

    /// The mean squared error of each row's visible units against their mean-field
    /// reconstruction, averaged (over the observed entries only, for softmax units).
    ///
    /// # Shapes
    /// - `rows`: `[n, row_width]`, output: `[1]`
    fn reconstruction_error(&self, rows: &Tensor<B, 2>) -> Tensor<B, 1>;

    /// The free energy of each row (given its conditioning input).
    ///
    /// # Shapes
    /// - `rows`: `[n, row_width]`, output: `[n]`
    fn row_free_energy(&self, rows: &Tensor<B, 2>) -> Tensor<B, 1>;

    /// scikit-learn's stochastic pseudo-log-likelihood of each row (NaN for unit types that
    /// do not define it).
    ///
    /// # Shapes
    /// - `rows`: `[n, row_width]`, output: `[n]`
    fn row_pseudo_log_likelihood<R: Rng + ?Sized>(
        &self,
        rows: &Tensor<B, 2>,
        rng: &mut R,
    ) -> Tensor<B, 1>;

    /// How many parameter values a model of `config`'s structure has (`None` when the count
    /// overflows): the loader refuses a structure that needs more values than its file holds
    /// before building it.
    fn parameter_count(config: &Self::Config) -> Option<usize>;

    /// Checks a model rebuilt from a file (beyond its parameters' shapes, which the loader
    /// compares with [`Self::from_structure`]'s, and their finiteness): by default nothing.
    ///
    /// # Errors
    /// What is inconsistent, as a message.
    fn check_loaded(&self) -> std::result::Result<(), String> {
        Ok(())
    }

    /// Whether the learner can train this model centred ([`crate::cd::centring`]): its energy
    /// is bilinear in one visible and one hidden layer of units whose values the offsets are
    /// subtracted from. `false` by default; then the two methods below are never called.
    fn supports_centring(&self) -> bool {
        false
    }

    /// `step` (a value of this model's type, in the ordinary parameters) with its weights
    /// replaced by the centred weight step `G_W − μ G_bᵀ − G_a λᵀ − decay·W`, where `G` is
    /// `step`, `W` this model's weights and `(μ, λ)` the `offsets`. Called only when
    /// [`Self::supports_centring`].
    fn centred_weights(&self, step: Self, offsets: &Offsets<B>, decay: f64) -> Self {
        let _ = (offsets, decay);
        step
    }

    /// `value` with its biases shifted by its own weights, `(W, a − W λ, b − Wᵀ μ)` for
    /// `(μ, λ) = shift`: how a step of the centred parameters moves the ordinary ones. Called
    /// only when [`Self::supports_centring`].
    fn shift_biases(value: Self, shift: &Offsets<B>) -> Self {
        let _ = shift;
        value
    }

    /// This model at inverse temperature `beta` (its energy times `beta`), for parallel
    /// tempering; `None` (the default) where tempering does not apply. A model that tempers
    /// takes a visible sample as a row ([`Self::positive_phase`] of a sample is its phase)
    /// and defines [`Self::joint_energy`].
    fn tempered(&self, beta: f64) -> Option<Self> {
        let _ = beta;
        None
    }

    /// The energy `E(v, h)` of each pair of visible and hidden states; `None` (the default)
    /// for models that do not temper.
    ///
    /// # Shapes
    /// - `visible`: `[rows, n_visible]`, `hidden`: `[rows, n_hidden]`, output: `[rows]`
    fn joint_energy(&self, visible: Tensor<B, 2>, hidden: Tensor<B, 2>) -> Option<Tensor<B, 1>> {
        let _ = (visible, hidden);
        None
    }
}
