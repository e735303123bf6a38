//! The log-likelihood gradient of an RBM, exact or estimated.

use burn::tensor::{backend::Backend, Tensor};

use crate::host;
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

/// A weight statistic `Σ_t c_t · visible_tᵀ · hidden_t` kept as its factors, so that a learner
/// can add it straight into a buffer of its own (the momentum velocity) instead of building a
/// `[n_visible, n_hidden]` tensor for it first.
#[derive(Debug, Clone)]
pub(crate) struct WeightStatistic<B: Backend> {
    /// `(visible_t, hidden_t, c_t)`, of shapes `[rows_t, n_visible]` and `[rows_t, n_hidden]`.
    terms: Vec<(Tensor<B, 2>, Tensor<B, 2>, f64)>,
}

impl<B: Backend> WeightStatistic<B> {
    /// This statistic minus the outer product `column ⊗ row`.
    ///
    /// # Shapes
    /// - `column`: `[n_visible]`, `row`: `[n_hidden]`
    pub(crate) fn minus_outer(mut self, column: Tensor<B, 1>, row: Tensor<B, 1>) -> Self {
        self.terms.push((column.unsqueeze(), row.unsqueeze(), -1.0));
        self
    }

    /// The statistic as a tensor: one matrix product of the stacked factors,
    /// `[visible_1; visible_2; …]ᵀ · [c_1 hidden_1; c_2 hidden_2; …]`, whose scaling touches
    /// only `[rows, n_hidden]` tensors.
    ///
    /// # Shapes
    /// - output: `[n_visible, n_hidden]`
    pub(crate) fn into_tensor(self) -> Tensor<B, 2> {
        let (visible, hidden): (Vec<_>, Vec<_>) = self
            .terms
            .into_iter()
            .map(|(visible, hidden, c)| (visible, hidden * c))
            .unzip();
        matmul(Tensor::cat(visible, 0).transpose(), Tensor::cat(hidden, 0))
    }

    /// `alpha · acc` plus the statistic. On `NdArray<f32>` each term is one GEMM that adds
    /// `c_t · visible_tᵀ · hidden_t` into `acc`'s own buffer ([`host::matmul_accumulate`]), with
    /// no stacking, scaling or `[n_visible, n_hidden]` temporary; other backends build the
    /// statistic with [`Self::into_tensor`].
    ///
    /// # Shapes
    /// - `acc`: `[n_visible, n_hidden]`, output: the same
    pub(crate) fn added_to(self, acc: Tensor<B, 2>, alpha: f64) -> Tensor<B, 2> {
        let (mut acc, mut alpha) = (acc, alpha);
        let mut rest = Vec::new();
        for (visible, hidden, c) in self.terms {
            match host::matmul_accumulate(acc, alpha, visible.transpose(), hidden, c) {
                Ok(sum) => (acc, alpha) = (sum, 1.0),
                Err([same, visible_transposed, hidden]) => {
                    acc = same;
                    rest.push((visible_transposed.transpose(), hidden, c));
                }
            }
        }
        if rest.is_empty() {
            acc
        } else {
            acc * alpha + Self { terms: rest }.into_tensor()
        }
    }
}

/// A gradient estimate whose weight part is still a [`WeightStatistic`].
#[derive(Debug, Clone)]
pub(crate) struct GradientEstimate<B: Backend> {
    pub(crate) weights: WeightStatistic<B>,
    pub(crate) visible_bias: Tensor<B, 1>,
    pub(crate) hidden_bias: Tensor<B, 1>,
    pub(crate) visible_log_variance: Option<Tensor<B, 1>>,
}

impl<B: Backend> GradientEstimate<B> {
    /// `scale` times the data ("positive") minus the model ("negative") statistics, each
    /// averaged over its own rows (see [`RbmGradient`]).
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
        let (data_coefficient, model_coefficient) = (scale / n, -scale / m);
        let visible_bias = (data_visible.clone().sum_dim(0) * data_coefficient
            + model_visible.clone().sum_dim(0) * model_coefficient)
            .squeeze_dim::<1>(0);
        let hidden_bias = (data_hidden.clone().sum_dim(0) * data_coefficient
            + model_hidden.clone().sum_dim(0) * model_coefficient)
            .squeeze_dim::<1>(0);
        Self {
            weights: WeightStatistic {
                terms: vec![
                    (data_visible, data_hidden, data_coefficient),
                    (model_visible, model_hidden, model_coefficient),
                ],
            },
            visible_bias,
            hidden_bias,
            visible_log_variance: None,
        }
    }

    /// The estimate with its weight statistic built.
    pub(crate) fn into_gradient(self) -> RbmGradient<B> {
        RbmGradient {
            weights: self.weights.into_tensor(),
            visible_bias: self.visible_bias,
            hidden_bias: self.hidden_bias,
            visible_log_variance: self.visible_log_variance,
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
