//! Deep Belief Networks for Burn: RBMs from [`rbm_burn`] pre-trained greedily, layer by layer,
//! and handed to the `Linear` layers of a Burn MLP for fine-tuning with autodiff.
//!
//! # The model
//! A DBN with layers `v = h⁰, h¹, …, hᴸ` is a generative model whose top two layers form an
//! RBM and whose lower layers are directed, top-down sigmoid belief networks:
//! `p(v, h¹, …, hᴸ) = p(hᴸ⁻¹, hᴸ) ∏ₗ p(hˡ⁻¹ | hˡ)` with `p(hˡ⁻¹ = 1 | hˡ) = σ(Wₗ hˡ + aₗ)`.
//!
//! # Greedy pre-training
//! Hinton, Osindero & Teh (2006) train it one layer at a time: an RBM on the data, then a
//! second RBM on the first one's hidden activities `p(h¹ | v)` (or samples of them), and so on.
//! The justification is a variational lower bound on `log p(v)`:
//! `log p(v) ≥ Σ_h q(h|v) [log p(h) + log p(v|h)] + H(q(·|v))`, with `q(h|v)` the bottom RBM's
//! posterior. Training the next RBM on samples of `q(h|v)` improves the prior `p(h)` term while
//! the others stay fixed; the bound is guaranteed not to fall only when the new layer starts
//! as the transpose of the one below (same sizes), which this crate does not do: layers start
//! from small random weights, as in common practice.
//! [`DbnConfig::pretrain`] does this with a contrastive-divergence learner per layer, streaming each
//! upper layer's data batch by batch through the layers below ([`PassUp`]).
//!
//! # Hand-over to a Burn MLP
//! The recognition weights of the stack initialise a feed-forward network: RBM `l` becomes
//! `Linear` layer `l` with weight `[n_visible, n_hidden]` = `Wₗ` and bias = its hidden bias,
//! followed by a sigmoid, so layer `l`'s output is exactly `p(hˡ = 1 | hˡ⁻¹)` of the mean-field
//! up-pass. [`Dbn::to_mlp`] adds a fresh output layer (the classic DBN classifier,
//! [`DbnClassifier`]); [`Dbn::load_linear`] loads the weights into the layers of your own
//! model. Fine-tuning then minimises cross-entropy with Burn's autodiff and optimizers
//! ([`FineTuneConfig`]).
//!
//! # Example
//! ```
//! use burn::backend::{Autodiff, NdArray};
//! use burn::module::AutodiffModule;
//! use dbn::{ClassDataset, DbnConfig, FineTuneConfig, Mlp};
//! use rbm_burn::ContrastiveDivergenceConfig;
//!
//! type B = NdArray;
//! let device = Default::default();
//! // Two classes of 8-pixel patterns: left half on, or right half on.
//! let features: Vec<f32> = (0..40)
//!     .flat_map(|i| (0..8).map(move |j| f32::from(u8::from((j < 4) == (i % 2 == 0)))))
//!     .collect();
//! let labels: Vec<usize> = (0..40).map(|i| i % 2).collect();
//! let train = ClassDataset::new(features, 8, labels)?;
//!
//! let config = DbnConfig::new(vec![8, 6, 4])
//!     .with_cd(vec![ContrastiveDivergenceConfig::new().with_epochs(5).with_batch_size(10)]);
//! let (dbn, _history) = config.pretrain::<B, _>(&train.features_tensor::<B>(&device), &device)?;
//!
//! // Pre-trained on `B`; fine-tuned on `Autodiff<B>`: the one-line move.
//! let mlp = Mlp::<Autodiff<B>>::from_inner(dbn.to_mlp(2, 0)?);
//! let (mlp, history) = FineTuneConfig::new()
//!     .with_epochs(20)
//!     .with_batch_size(10)
//!     .with_learning_rate(0.05)
//!     .fit(mlp, train.clone(), None, &mut ())?;
//! assert!(history.last().unwrap().train_loss < 0.2);
//! assert_eq!(dbn::accuracy(&mlp.valid(), &train, 40)?, 1.0);
//! # Ok::<(), dbn::DbnError>(())
//! ```

#![warn(missing_docs)]

pub mod config;
pub mod conv;
pub mod data;
pub mod dbn;
pub mod error;
pub mod finetune;
pub mod mlp;
mod observer;
pub mod pretrain;
mod propagate;
mod stack;

pub use config::{DbnConfig, PassUp};
pub use conv::{ConvDbn, ConvDbnConfig, ConvLayerConfig};
pub use data::{check_dataset, ClassBatch, ClassBatcher, ClassDataset, ClassItem};
pub use dbn::Dbn;
pub use error::{DbnError, Result};
pub use finetune::{accuracy, FineTuneConfig, FineTuneHistory, FineTuneMetrics, OptimizerChoice};
pub use mlp::{DbnClassifier, Mlp, MlpConfig};
pub use observer::PretrainHistory;
pub use rbm_burn;
