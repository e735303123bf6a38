//! Exact quantities of small RBMs by enumerating every state of one layer.
//!
//! Summing the other layer out analytically leaves a sum over the `2^m` states `s` of the
//! enumerated layer (`m` units, weights `U` to the other layer, biases `c` on `s` and `d` on the
//! other layer):
//!
//! `log Z = log Σ_s exp(cᵀs + Σ_o softplus((sU + d)_o))`.
//!
//! For other unit types of the summed-out layer the softplus becomes that layer's own log
//! normaliser (see [`crate::units`]): a log-sum-exp per softmax group, the stepped-sigmoid
//! series for ReLU units, and for Gaussian visible units the Gaussian integral
//! `∫ exp(−(v − a)²/2σ² + v c/σ) dv = √(2π) σ exp(a c/σ + c²/2)` with `c = (Wh)_i`, which is
//! `u²/2` in `u = c + a/σ` plus the constant `ln(√(2π) σ) − a²/2σ²`. The enumerated layer must
//! be binary: a Gaussian–Bernoulli or softmax RBM is enumerated over its hidden layer.
//!
//! States are enumerated in chunks on the backend (each chunk is a matrix product and a
//! softplus), and the log-sum-exp over chunks is accumulated on the host in `f64`, so the
//! result does not lose precision for large `Z`. Enumerating the smaller layer gives the same
//! `Z` at the lowest cost.

use burn::tensor::{backend::Backend, Tensor, TensorData};

use crate::data::{check_binary, check_width};
use crate::error::{RbmError, Result};
use crate::kernels::sigmoid;
use crate::params::value_param;
use crate::rbm::Rbm;
use crate::units::{column_mean, HiddenLayer, HiddenUnits, VisibleLayer, VisibleUnits};

/// The largest number of units that exact enumeration accepts in the enumerated (smaller)
/// layer: `2^26` states. The cost is proportional to `2^units · n_other`: on a 2-core CPU,
/// 24 units with 24 in the other layer take about 6 s, with 784 in the other layer minutes.
/// Each further unit doubles the time, so beyond this limit the functions return
/// [`RbmError::EnumerationTooLarge`] instead of running for hours.
pub const MAX_ENUMERATED_UNITS: usize = 26;

/// Elements of the largest intermediate `[states, other units]` tensor built per chunk.
const CHUNK_ELEMENTS: usize = 1 << 22;

/// Which layer's states are enumerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnumeratedLayer {
    /// Sum over all `2^n_visible` visible vectors.
    Visible,
    /// Sum over all `2^n_hidden` hidden vectors.
    Hidden,
}

impl EnumeratedLayer {
    /// The layer to enumerate: the only binary one when the other is not (Gaussian or
    /// softmax visible units, ReLU hidden units), otherwise the smaller layer (visible on a
    /// tie), which is the cheaper one.
    pub fn smaller<B: Backend>(rbm: &Rbm<B>) -> Self {
        if rbm.visible_units() != VisibleUnits::Bernoulli {
            return Self::Hidden;
        }
        if rbm.hidden_units() != HiddenUnits::Bernoulli {
            return Self::Visible;
        }
        if rbm.n_visible() <= rbm.n_hidden() {
            Self::Visible
        } else {
            Self::Hidden
        }
    }
}

impl<B: Backend> Rbm<B> {
    /// The exact log partition function `log Z`, enumerating the smaller layer.
    ///
    /// # Errors
    /// [`RbmError::EnumerationTooLarge`] when the smaller layer has more than
    /// [`MAX_ENUMERATED_UNITS`] units.
    pub fn log_partition_exact(&self) -> Result<f64> {
        self.log_partition_enumerating(EnumeratedLayer::smaller(self))
    }

    /// The exact `log Z`, enumerating the given layer (both give the same value; this is for
    /// checking one against the other).
    ///
    /// # Errors
    /// [`RbmError::EnumerationTooLarge`] when that layer has more than
    /// [`MAX_ENUMERATED_UNITS`] units, [`RbmError::UnsupportedUnits`] when its units are not
    /// binary.
    pub fn log_partition_enumerating(&self, layer: EnumeratedLayer) -> Result<f64> {
        let enumeration = Enumeration::new(self, layer)?;
        let mut total = LogSumExp::default();
        for chunk in 0..enumeration.n_chunks {
            let (_, log_weights) = enumeration.chunk(chunk);
            for value in log_weights.into_data().iter::<f64>() {
                total.add(value);
            }
        }
        Ok(total.value())
    }

    /// The exact log-probability `log p(v) = -F(v) - log Z` of each row (a log-density for
    /// Gaussian visible units).
    ///
    /// # Shapes
    /// - `visible`: `[batch, n_visible]`, values in `{0, 1}` (complete one-hot groups for
    ///   softmax units, finite values for Gaussian units)
    /// - output: `[batch]`
    ///
    /// # Errors
    /// Empty data, a width other than `n_visible`, values the units cannot take, or a model too
    /// large to enumerate.
    pub fn log_likelihood_exact(&self, visible: Tensor<B, 2>) -> Result<Tensor<B, 1>> {
        check_width(visible.dims(), self.n_visible())?;
        self.visible_units().check_states(&visible)?;
        let log_z = self.log_partition_exact()?;
        Ok(self.free_energy(visible).neg() - log_z)
    }
}

/// The exact gradient of the average log-likelihood of `visible` (data statistics by a matrix
/// product, model statistics by enumerating the smaller layer), as a value of the model's own
/// type: `weights` holds `∂⟨log p(v)⟩/∂W = ⟨v hᵀ⟩_data − ⟨v hᵀ⟩_model` and the layers' biases
/// `⟨v⟩_data − ⟨v⟩_model` and `⟨h⟩_data − ⟨h⟩_model`, where the data term uses `p(h | v)` for
/// `h`. ([`crate::ContrastiveDivergence::estimate_gradient`] estimates the same value.)
///
/// # Shapes
/// - `visible`: `[batch, n_visible]`, values in `{0, 1}`
///
/// # Errors
/// As [`Rbm::log_likelihood_exact`], and [`RbmError::UnsupportedUnits`] for an RBM that is not
/// Bernoulli–Bernoulli.
pub fn exact_log_likelihood_gradient<B: Backend>(
    rbm: &Rbm<B>,
    visible: Tensor<B, 2>,
) -> Result<Rbm<B>> {
    let (VisibleLayer::Bernoulli(visible_units), HiddenLayer::Bernoulli(hidden_units)) =
        (&rbm.visible, &rbm.hidden)
    else {
        return Err(RbmError::UnsupportedUnits {
            operation: "the exact log-likelihood gradient",
            units: format!("{} with {}", rbm.visible_units(), rbm.hidden_units()),
        });
    };
    check_width(visible.dims(), rbm.n_visible())?;
    check_binary(&visible)?;
    let layer = EnumeratedLayer::smaller(rbm);
    let log_z = rbm.log_partition_enumerating(layer)? as f32;
    let enumeration = Enumeration::new(rbm, layer)?;
    let device = rbm.device();
    let [m, n_other] = enumeration.weights.dims();
    let mut cross = Tensor::<B, 2>::zeros([m, n_other], &device);
    let mut mean_states = Tensor::<B, 1>::zeros([m], &device);
    let mut mean_other = Tensor::<B, 1>::zeros([n_other], &device);
    for chunk in 0..enumeration.n_chunks {
        let states = enumeration.states(chunk);
        let (activations, log_weights) = enumeration.chunk(chunk);
        let probability = (log_weights - log_z).exp().unsqueeze_dim::<2>(1);
        let other = sigmoid(activations);
        let weighted_states = states * probability.clone();
        cross = cross + weighted_states.clone().transpose().matmul(other.clone());
        mean_states = mean_states + weighted_states.sum_dim(0).squeeze_dim::<1>(0);
        mean_other = mean_other + (other * probability).sum_dim(0).squeeze_dim::<1>(0);
    }
    let (model_vh, model_v, model_h) = match layer {
        EnumeratedLayer::Visible => (cross, mean_states, mean_other),
        EnumeratedLayer::Hidden => (cross.transpose(), mean_other, mean_states),
    };
    let n = visible.dims()[0] as f64;
    let data_hidden = rbm.hidden_probs(visible.clone());
    Ok(Rbm {
        weights: value_param(
            visible.clone().transpose().matmul(data_hidden.clone()) / n - model_vh,
        ),
        visible: VisibleLayer::Bernoulli(visible_units.gradient(column_mean(visible) - model_v)),
        hidden: HiddenLayer::Bernoulli(hidden_units.gradient(column_mean(data_hidden) - model_h)),
    })
}

/// The states of one layer in chunks of `2^low_bits` consecutive states.
///
/// State `t · 2^low_bits + r` has its low bits from row `r` of `low_states` and its high bits
/// from the binary digits of the chunk index `t`; the per-chunk work is then one row-vector
/// product for the high bits plus the precomputed low-bit activations.
struct Enumeration<B: Backend> {
    /// `U`: rows are the enumerated units, shape `[m, n_other]`.
    weights: Tensor<B, 2>,
    /// Biases of the enumerated units, shape `[m]`.
    bias: Tensor<B, 1>,
    /// All `2^low_bits` settings of the low units, shape `[2^low_bits, low_bits]`.
    low_states: Tensor<B, 2>,
    /// `low_states · U_low + d`, shape `[2^low_bits, n_other]`.
    low_activations: Tensor<B, 2>,
    /// `low_states · c_low`, shape `[2^low_bits]`.
    low_linear: Tensor<B, 1>,
    low_bits: usize,
    n_chunks: usize,
    /// The units of the layer that is summed out.
    other: OtherLayer<B>,
    /// A constant added to every state's log weight (the Gaussian integral's).
    constant: f64,
}

/// The layer that is summed out analytically.
#[derive(Debug, Clone)]
enum OtherLayer<B: Backend> {
    Visible(VisibleLayer<B>),
    Hidden(HiddenLayer<B>),
}

impl<B: Backend> Enumeration<B> {
    fn new(rbm: &Rbm<B>, layer: EnumeratedLayer) -> Result<Self> {
        let unsupported = |units: String| RbmError::UnsupportedUnits {
            operation: "exact enumeration of this layer",
            units,
        };
        let mut constant = 0.0;
        let (weights, bias, other_bias, other) = match layer {
            EnumeratedLayer::Visible => {
                if rbm.visible_units() != VisibleUnits::Bernoulli {
                    return Err(unsupported(rbm.visible_units().to_string()));
                }
                (
                    rbm.weights.val(),
                    rbm.visible_bias(),
                    rbm.hidden_bias(),
                    OtherLayer::Hidden(rbm.hidden.clone()),
                )
            }
            EnumeratedLayer::Hidden => {
                if rbm.hidden_units() != HiddenUnits::Bernoulli {
                    return Err(unsupported(rbm.hidden_units().to_string()));
                }
                // For Gaussian units the integral's inputs have the bias a/σ and a constant.
                let (other_bias, summed_out_constant) = rbm.visible.summed_out();
                constant = summed_out_constant;
                (
                    rbm.weights.val().transpose(),
                    rbm.hidden_bias(),
                    other_bias,
                    OtherLayer::Visible(rbm.visible.clone()),
                )
            }
        };
        let (weights, bias, other_bias) = (weights.detach(), bias.detach(), other_bias.detach());
        let [m, n_other] = weights.dims();
        if m > MAX_ENUMERATED_UNITS {
            return Err(RbmError::EnumerationTooLarge {
                units: m,
                limit: MAX_ENUMERATED_UNITS,
            });
        }
        let rows_budget = (CHUNK_ELEMENTS / (n_other + m)).max(1);
        // At least one low bit: `narrow` cannot take empty slices.
        let low_bits = m.min((rows_budget.ilog2() as usize).max(1));
        let device = weights.device();
        let low_states = binary_states::<B>(0, 1 << low_bits, low_bits, &device);
        let low_weights = weights.clone().narrow(0, 0, low_bits);
        let low_bias = bias.clone().narrow(0, 0, low_bits);
        let low_activations = low_states.clone().matmul(low_weights) + other_bias.unsqueeze::<2>();
        let low_linear = low_states
            .clone()
            .matmul(low_bias.unsqueeze_dim::<2>(1))
            .squeeze_dim::<1>(1);
        Ok(Self {
            weights,
            bias,
            low_states,
            low_activations,
            low_linear,
            low_bits,
            n_chunks: 1 << (m - low_bits),
            other,
            constant,
        })
    }

    /// The total inputs to the other layer given each state of chunk `index`, and each state's
    /// unnormalised log-probability `cᵀs + Σ_o softplus(activation_o)` (or the other layer's
    /// own log normaliser, plus [`Self::constant`]).
    ///
    /// # Shapes
    /// - outputs: `[rows, n_other]`, `[rows]` with `rows = 2^low_bits`
    fn chunk(&self, index: usize) -> (Tensor<B, 2>, Tensor<B, 1>) {
        let (activations, linear) = match self.high_bits(index) {
            None => (self.low_activations.clone(), self.low_linear.clone()),
            Some(high) => {
                let [m, _] = self.weights.dims();
                let high_weights = self
                    .weights
                    .clone()
                    .narrow(0, self.low_bits, m - self.low_bits);
                let high_bias = self
                    .bias
                    .clone()
                    .narrow(0, self.low_bits, m - self.low_bits);
                let offset = high.clone().matmul(high_weights);
                let high_linear = high.matmul(high_bias.unsqueeze_dim::<2>(1)).reshape([1]);
                (
                    self.low_activations.clone() + offset,
                    self.low_linear.clone() + high_linear,
                )
            }
        };
        let log_normaliser = match &self.other {
            OtherLayer::Visible(layer) => layer.log_partition_terms(activations.clone()),
            OtherLayer::Hidden(layer) => layer.log_partition_terms(activations.clone()),
        };
        (activations, linear + log_normaliser + self.constant)
    }

    /// The states of chunk `index`.
    ///
    /// # Shapes
    /// - output: `[2^low_bits, m]`
    fn states(&self, index: usize) -> Tensor<B, 2> {
        match self.high_bits(index) {
            None => self.low_states.clone(),
            Some(high) => {
                let rows = 1usize << self.low_bits;
                Tensor::cat(vec![self.low_states.clone(), high.repeat_dim(0, rows)], 1)
            }
        }
    }

    /// The high units' setting shared by all states of chunk `index` (`[1, m - low_bits]`), or
    /// `None` when one chunk covers every state.
    fn high_bits(&self, index: usize) -> Option<Tensor<B, 2>> {
        let [m, _] = self.weights.dims();
        (m > self.low_bits)
            .then(|| binary_states::<B>(index, 1, m - self.low_bits, &self.weights.device()))
    }
}

/// Rows `start..start + count` of the binary counting sequence over `bits` units: bit `j` of
/// row `r` is `(r >> j) & 1`.
///
/// # Shapes
/// - output: `[count, bits]`
fn binary_states<B: Backend>(
    start: usize,
    count: usize,
    bits: usize,
    device: &B::Device,
) -> Tensor<B, 2> {
    let values: Vec<f32> = (start..start + count)
        .flat_map(|r| (0..bits).map(move |j| ((r >> j) & 1) as f32))
        .collect();
    Tensor::from_data(TensorData::new(values, [count, bits]), device)
}

/// A streaming, overflow-free `log Σ exp(x)` in `f64`.
#[derive(Debug, Clone, Copy)]
struct LogSumExp {
    max: f64,
    /// `Σ exp(x - max)`.
    scaled_sum: f64,
}

impl Default for LogSumExp {
    fn default() -> Self {
        Self {
            max: f64::NEG_INFINITY,
            scaled_sum: 0.0,
        }
    }
}

impl LogSumExp {
    fn add(&mut self, x: f64) {
        if x <= self.max {
            self.scaled_sum += (x - self.max).exp();
        } else {
            self.scaled_sum = self.scaled_sum * (self.max - x).exp() + 1.0;
            self.max = x;
        }
    }

    fn value(&self) -> f64 {
        self.max + self.scaled_sum.ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_sum_exp_does_not_overflow() {
        let mut acc = LogSumExp::default();
        for x in [1000.0, 1000.0, -5.0, 999.0] {
            acc.add(x);
        }
        let expected = 1000.0 + (2.0 + (-1005.0f64).exp() + (-1.0f64).exp()).ln();
        assert!((acc.value() - expected).abs() < 1e-12);
    }
}
