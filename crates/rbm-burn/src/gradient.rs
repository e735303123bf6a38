//! The log-likelihood gradient of an RBM, exact or estimated.

use burn::tensor::{backend::Backend, Tensor};

use crate::rbm::matmul;

/// A gradient of the average log-likelihood with respect to the RBM's parameters, in the
/// direction of ascent:
///
/// `∂⟨log p(v)⟩/∂W = ⟨v hᵀ⟩_data − ⟨v hᵀ⟩_model`, and likewise `⟨v⟩_data − ⟨v⟩_model` for the
/// visible biases and `⟨h⟩_data − ⟨h⟩_model` for the hidden biases, where the data term uses
/// `p(h | v)` for `h`.
///
/// Produced exactly by [`crate::exact_log_likelihood_gradient`] and estimated by the
/// contrastive-divergence learner ([`crate::ContrastiveDivergence::estimate_gradient`]).
#[derive(Debug, Clone)]
pub struct RbmGradient<B: Backend> {
    /// Gradient for the weights, shape `[n_visible, n_hidden]`.
    pub weights: Tensor<B, 2>,
    /// Gradient for the visible biases, shape `[n_visible]`.
    pub visible_bias: Tensor<B, 1>,
    /// Gradient for the hidden biases, shape `[n_hidden]`.
    pub hidden_bias: Tensor<B, 1>,
    /// Gradient for `z = ln σ²` of Gaussian visible units whose standard deviations are
    /// learned, shape `[n_visible]`; `None` otherwise.
    pub visible_log_variance: Option<Tensor<B, 1>>,
}

impl<B: Backend> RbmGradient<B> {
    /// `scale` times the data ("positive") minus the model ("negative") statistics, each
    /// averaged over its own rows.
    ///
    /// The two weight statistics are one matrix product,
    /// `[v₀; v_k]ᵀ · [p₀ · scale/n; −p_k · scale/m]`, so the scaling touches only `[rows, H]`
    /// tensors and no `[V, H]` tensor is built twice.
    ///
    /// # Shapes
    /// - `data_visible`: `[n, n_visible]`, `data_hidden`: `[n, n_hidden]`
    /// - `model_visible`: `[m, n_visible]`, `model_hidden`: `[m, n_hidden]`
    pub(crate) fn from_statistics(
        data_visible: Tensor<B, 2>,
        data_hidden: Tensor<B, 2>,
        model_visible: Tensor<B, 2>,
        model_hidden: Tensor<B, 2>,
        scale: f64,
    ) -> Self {
        let n = data_visible.dims()[0] as f64;
        let m = model_visible.dims()[0] as f64;
        let data_hidden = data_hidden * (scale / n);
        let model_hidden = model_hidden * (-scale / m);
        let visible_bias = (data_visible.clone().sum_dim(0) * (scale / n)
            - model_visible.clone().sum_dim(0) * (scale / m))
            .squeeze_dim::<1>(0);
        let hidden_bias =
            (data_hidden.clone().sum_dim(0) + model_hidden.clone().sum_dim(0)).squeeze_dim::<1>(0);
        let weights = matmul(
            Tensor::cat(vec![data_visible, model_visible], 0).transpose(),
            Tensor::cat(vec![data_hidden, model_hidden], 0),
        );
        Self {
            weights,
            visible_bias,
            hidden_bias,
            visible_log_variance: None,
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
