//! Training metrics: reconstruction error, pseudo-log-likelihood, and the per-epoch record.

use burn::tensor::{activation::log_sigmoid, backend::Backend, Tensor, TensorData};
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use crate::model::CdModel;
use crate::rbm::Rbm;
use crate::units::{VisibleLayer, VisibleUnits};

/// Mean squared error between each row and its mean-field reconstruction
/// [`Rbm::reconstruct`], averaged over all elements (over the observed entries only for
/// softmax visible units with missing, all-zero groups).
///
/// Hinton's practical guide (section 5) warns that this is a poor measure of the model's
/// likelihood; it is cheap and shows whether learning is under way.
///
/// # Shapes
/// - `visible`: `[batch, n_visible]`
/// - output: `[1]`
pub fn reconstruction_error<B: Backend>(rbm: &Rbm<B>, visible: Tensor<B, 2>) -> Tensor<B, 1> {
    rbm.reconstruction_error(&visible)
}

/// [`reconstruction_error`] of `visible` against a given `reconstruction`, for a model whose
/// visible units are `layer`.
///
/// # Shapes
/// - `visible`, `reconstruction`: `[batch, n_visible]`, output: `[1]`
pub(crate) fn reconstruction_error_of<B: Backend>(
    layer: &VisibleLayer<B>,
    visible: Tensor<B, 2>,
    reconstruction: Tensor<B, 2>,
) -> Tensor<B, 1> {
    let squared = (visible.clone() - reconstruction).square();
    match layer.observed(&visible) {
        Some(observed) => (squared * observed.clone()).sum() / observed.sum().clamp_min(1.0),
        None => squared.mean(),
    }
}

/// The stochastic pseudo-log-likelihood of each row, exactly as scikit-learn's
/// `BernoulliRBM.score_samples`: one uniformly chosen unit `i` of each row is flipped to give
/// `ṽ`, and the score is `n_visible · log σ(F(ṽ) − F(v))`, an unbiased estimate (over `i`) of
/// the pseudo-log-likelihood `Σ_i log p(v_i | v_{−i})`.
///
/// It is defined for binary visible units only; for Gaussian and softmax visible units every
/// row's value is NaN.
///
/// # Shapes
/// - `visible`: `[batch, n_visible]`
/// - output: `[batch]`
pub fn pseudo_log_likelihood<B: Backend, R: Rng + ?Sized>(
    rbm: &Rbm<B>,
    visible: Tensor<B, 2>,
    rng: &mut R,
) -> Tensor<B, 1> {
    rbm.row_pseudo_log_likelihood(&visible, rng)
}

/// [`pseudo_log_likelihood`] for visible units of type `units` and any free energy of the
/// rows (a conditional model flips only the first `n_visible` columns of its rows: the
/// visible units, not the context).
///
/// # Shapes
/// - `rows`: `[batch, columns]`, output: `[batch]`
pub(crate) fn pseudo_log_likelihood_of<B: Backend, R: Rng + ?Sized>(
    units: VisibleUnits,
    rows: Tensor<B, 2>,
    free_energy: impl Fn(Tensor<B, 2>) -> Tensor<B, 1>,
    flipped_columns: usize,
    rng: &mut R,
) -> Tensor<B, 1> {
    let [batch, columns] = rows.dims();
    if units != VisibleUnits::Bernoulli {
        return Tensor::full([batch], f32::NAN, &rows.device());
    }
    let mut mask = vec![0.0f32; batch * columns];
    for row in 0..batch {
        mask[row * columns + rng.random_range(0..flipped_columns)] = 1.0;
    }
    let mask = Tensor::<B, 2>::from_data(TensorData::new(mask, [batch, columns]), &rows.device());
    // v + m (1 - 2v) flips exactly the masked units (1 - v for binary v, as scikit-learn does).
    let flipped = rows.clone() + mask * (rows.clone() * -2.0 + 1.0);
    let gap = free_energy(flipped) - free_energy(rows);
    log_sigmoid(gap) * flipped_columns as f64
}

/// What one epoch of training measured. Free energies and the pseudo-log-likelihood are means
/// over a fixed subset of the training rows (`monitor_size` of the learner's config) and over
/// the validation rows, evaluated with the parameters at the end of the epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch index (0-based, continuing across calls to `fit`).
    pub epoch: usize,
    /// [`reconstruction_error`] on the monitored training rows.
    pub reconstruction_error: f64,
    /// Mean free energy `F(v)` of the monitored training rows.
    pub free_energy_train: f64,
    /// Mean free energy of the validation rows, when a validation set was given.
    pub free_energy_validation: Option<f64>,
    /// Mean [`pseudo_log_likelihood`] of the monitored training rows.
    pub pseudo_log_likelihood: f64,
    /// Momentum used in this epoch.
    pub momentum: f64,
    /// Number of parameter updates in this epoch.
    pub batches: usize,
    /// Wall-clock seconds of the epoch's updates (metrics excluded).
    pub seconds: f64,
    /// With parallel tempering, the fraction of proposed swaps accepted in this epoch between
    /// each pair of neighbouring temperatures, from the coldest pair on; empty otherwise.
    #[serde(default)]
    pub swap_rates: Vec<f64>,
}

impl EpochMetrics {
    /// Validation minus training mean free energy. A gap that keeps growing means the model is
    /// over-fitting (Hinton's practical guide, section 6): the training data has become more
    /// probable than held-out data from the same distribution.
    pub fn free_energy_gap(&self) -> Option<f64> {
        self.free_energy_validation
            .map(|validation| validation - self.free_energy_train)
    }
}

/// The metrics of every epoch of a training run, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingHistory {
    /// One entry per epoch.
    pub epochs: Vec<EpochMetrics>,
}

impl TrainingHistory {
    /// The metrics of the last epoch, if any ran.
    pub fn last(&self) -> Option<&EpochMetrics> {
        self.epochs.last()
    }
}
