//! Restricted Boltzmann Machines for [Burn](https://burn.dev), generic over the backend.
//!
//! # The model
//!
//! A Bernoulli–Bernoulli RBM has binary visible units `v ∈ {0,1}^V`, binary hidden units
//! `h ∈ {0,1}^H`, weights `W ∈ ℝ^{V×H}` and biases `a ∈ ℝ^V`, `b ∈ ℝ^H`. It defines
//!
//! ```text
//! E(v, h) = −aᵀv − bᵀh − vᵀWh              (energy)
//! p(v, h) = exp(−E(v, h)) / Z,   Z = Σ_{v,h} exp(−E(v, h))
//! F(v)    = −aᵀv − Σ_j softplus(b_j + (vW)_j),   p(v) = exp(−F(v)) / Z   (free energy)
//! p(h_j = 1 | v) = σ(b_j + (vW)_j),   p(v_i = 1 | h) = σ(a_i + (Wh)_i)
//! ```
//!
//! so each layer is conditionally independent given the other, and block Gibbs sampling
//! alternates the two conditionals.
//!
//! # Other unit types
//!
//! The same [`Rbm`] also takes Gaussian (real-valued) or softmax (categorical) visible units and
//! noisy rectified linear hidden units, chosen by [`RbmConfig::visible_units`] /
//! [`RbmConfig::hidden_units`] (see [`units`] for each type's conditionals and free energy). The
//! Gaussian–Bernoulli RBM has energy
//!
//! ```text
//! E(v, h) = Σ_i (v_i − a_i)² / 2σ_i² − bᵀh − Σ_ij (v_i / σ_i) W_ij h_j
//! p(h_j = 1 | v) = σ(b_j + ((v/σ) W)_j),   p(v_i | h) = N(a_i + σ_i (Wh)_i, σ_i²)
//! ```
//!
//! # Learning
//!
//! The gradient of the average log-likelihood is `⟨v hᵀ⟩_data − ⟨v hᵀ⟩_model` (and likewise for
//! the biases). [`ContrastiveDivergence`] estimates the model term with `k` Gibbs steps started at
//! the data (CD-k) or from persistent chains (PCD) and applies the update directly, with
//! momentum, weight decay and an optional sparsity penalty: no autodiff graph is built, so it
//! runs on any `B: Backend`, `Autodiff<_>` included.
//!
//! # Exact quantities
//!
//! For models whose smaller layer has at most [`MAX_ENUMERATED_UNITS`] units,
//! [`Rbm::log_partition_exact`], [`Rbm::log_likelihood_exact`] and
//! [`exact_log_likelihood_gradient`] enumerate that layer's states on the backend, which makes
//! the model's numbers checkable.
//!
//! # Likelihoods and samples of large models
//!
//! Beyond enumeration, [`Rbm::ais_log_partition`] estimates `log Z` by annealed importance
//! sampling (see [`ais`]) and [`Rbm::average_log_likelihood`] turns it into the test-set
//! log-likelihood. [`Rbm::sample_chains`] runs long Gibbs chains, and [`Rbm::fill_in`] samples
//! missing units given the known ones (inpainting; see [`chains`]).
//!
//! # Example
//!
//! ```
//! use burn::backend::NdArray;
//! use rbm_burn::{rows_to_tensor, synthetic::bars_and_stripes, ContrastiveDivergenceConfig, RbmConfig};
//!
//! # fn main() -> rbm_burn::Result<()> {
//! let device = Default::default();
//! let data = rows_to_tensor::<NdArray, _>(&bars_and_stripes(3), &device)?;
//! let rbm = RbmConfig::new(9, 8).with_weight_std(0.1).init::<NdArray>(&device)?;
//! let before = rbm.log_likelihood_exact(data.clone())?.mean().into_scalar();
//! let mut learner = ContrastiveDivergenceConfig::new()
//!     .with_batch_size(14)
//!     .with_learning_rate(0.05)
//!     .with_weight_decay(0.0)
//!     .with_epochs(50)
//!     .init()?;
//! // Each image ten times per epoch: 500 updates in all.
//! let (rbm, history) = learner.fit(rbm, &data.clone().repeat_dim(0, 10))?;
//! let after = rbm.log_likelihood_exact(data)?.mean().into_scalar();
//! assert_eq!(history.epochs.len(), 50);
//! // From about -6.2 nats (uniform over 2^9 images) towards -2.64 (uniform over the 14).
//! assert!(after > before + 1.0, "{before} -> {after}");
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod ais;
pub mod cd;
pub mod chains;
pub mod class_rbm;
mod container;
pub mod conv_rbm;
pub mod crbm;
pub mod data;
pub mod error;
pub mod exact;
pub mod file;
mod kernels;
pub mod metrics;
pub mod model;
#[cfg(feature = "ndarray-kernels")]
mod ndarray;
pub mod observer;
mod params;
mod persist;
pub mod ratings;
mod rbm;
pub mod sampling;
pub mod synthetic;
pub mod units;

pub use ais::{
    AisConfig, AisEstimate, BetaSchedule, ReverseAisConfig, ReverseAisEstimate, ScheduleSegment,
};
pub use cd::{
    CdCheckpointRecord, CentredRbm, CentringConfig, ContrastiveDivergence,
    ContrastiveDivergenceConfig, Offsets, SparsityConfig, TemperingConfig, UpdatePath,
};
pub use chains::{ChainOutput, FillInConfig, GibbsChainConfig};
pub use class_rbm::{ClassRbm, ClassRbmConfig, Objective};
pub use conv_rbm::{ConvRbm, ConvRbmConfig};
pub use crbm::{sequence_windows, Crbm, CrbmConfig};
pub use data::{rows_to_tensor, DatasetSource, TrainingData};
pub use error::{RbmError, Result};
pub use exact::{exact_log_likelihood_gradient, EnumeratedLayer, MAX_ENUMERATED_UNITS};
pub use file::FileProblem;
pub use metrics::{pseudo_log_likelihood, reconstruction_error, EpochMetrics, TrainingHistory};
pub use model::{CdModel, Phase};
pub use observer::{Progress, TrainingObserver};
pub use persist::ModelRecord;
pub use rbm::{Rbm, RbmConfig, VISIBLE_BIAS_PROBABILITY_CLIP};
pub use units::{HiddenUnits, VisibleUnits};

/// For the other crates of this workspace (`dbn`, the examples and the benches), not for users:
/// the checked file container that `dbn`'s model and checkpoint files share with this crate's,
/// the generator record its checkpoints embed, the learner's linear learning-rate decay
/// (which fine-tuning shares), and the learner's matrix product that the
/// `cd_epoch` bench times. Nothing here is part of the supported API.
#[doc(hidden)]
pub mod internal {
    pub use crate::cd::checkpoint::RngRecord;
    pub use crate::container::{file_error, load_record, save_record};

    /// The rate of epoch `epoch` (0-based) of a schedule of `epochs` epochs that falls linearly
    /// from `initial` in the first epoch to `last` in the last one and stays there (exactly
    /// `last` from epoch `epochs − 1` on); `initial` throughout without `last` or with one epoch.
    /// The CD learner's learning rate and `dbn`'s fine-tuning rate.
    pub fn linear_decay(initial: f64, last: Option<f64>, epochs: usize, epoch: usize) -> f64 {
        let Some(last) = last else {
            return initial;
        };
        let span = epochs.saturating_sub(1).max(1);
        if epoch >= span {
            return last;
        }
        initial + (last - initial) * (epoch as f64 / span as f64)
    }

    /// The matrix product the learner uses (the host GEMM on `NdArray<f32>`).
    ///
    /// # Shapes
    /// - `a`: `[m, k]`, `b`: `[k, n]`, output: `[m, n]`
    pub fn matmul<B: burn::tensor::backend::Backend>(
        a: burn::tensor::Tensor<B, 2>,
        b: burn::tensor::Tensor<B, 2>,
    ) -> burn::tensor::Tensor<B, 2> {
        crate::kernels::matmul(a, b)
    }
}

/// The `rand` crate this API takes generators from (`rand::rngs::StdRng::seed_from_u64(…)`).
pub use rand;
