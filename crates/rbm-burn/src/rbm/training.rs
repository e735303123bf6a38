//! The RBM's side of contrastive divergence ([`CdModel`]): its phases and its statistics.
//!
//! The pieces take per-row shifts of the biases, so that a conditional model, which is an RBM
//! whose biases depend on a context ([`crate::Crbm`]), runs the same code.

use burn::tensor::{backend::Backend, Tensor};
use rand::Rng;

use crate::cd::centring::Offsets;
use crate::error::Result;
use crate::kernels::matmul;
use crate::metrics::{pseudo_log_likelihood_of, reconstruction_error_of};
use crate::model::{CdModel, Phase};
use crate::params::{keep_require_grad, value_param};
use crate::units::{HiddenLayer, VisibleLayer, VisibleUnits};

use super::{Rbm, RbmConfig};

/// Per-row shifts of the visible biases (`[rows, n_visible]`) and of the hidden biases
/// (`[rows, n_hidden]`): a conditional model's dynamic biases. `None` for a plain RBM.
type Shifts<'a, B> = [Option<&'a Tensor<B, 2>>; 2];

impl<B: Backend> Rbm<B> {
    /// The phase of `visible`: the hidden inputs (with the hidden shift) and means.
    ///
    /// # Shapes
    /// - `visible`: `[rows, n_visible]`, `hidden_shift`: `[rows, n_hidden]`
    pub(crate) fn phase(
        &self,
        visible: Tensor<B, 2>,
        hidden_shift: Option<&Tensor<B, 2>>,
    ) -> Phase<B> {
        let activations = self.hidden_input(visible.clone(), hidden_shift);
        let hidden = self.hidden.mean(activations.clone());
        Phase {
            visible,
            activations,
            hidden,
        }
    }

    /// A visible sample given `hidden` (with the visible shift), with the entries that are
    /// missing in `missing_from` kept missing when given.
    ///
    /// # Shapes
    /// - `hidden`: `[rows, n_hidden]`, `visible_shift`, `missing_from`: `[rows, n_visible]`
    pub(crate) fn visible_sample<R: Rng + ?Sized>(
        &self,
        hidden: Tensor<B, 2>,
        visible_shift: Option<&Tensor<B, 2>>,
        missing_from: Option<&Tensor<B, 2>>,
        rng: &mut R,
    ) -> Tensor<B, 2> {
        let mean = self.visible.mean(self.visible_input(hidden, visible_shift));
        let sample = self.visible.sample(mean, rng);
        match missing_from.and_then(|rows| self.visible.observed(rows)) {
            Some(mask) => sample * mask,
            None => sample,
        }
    }

    /// The statistics of [`CdModel::statistics`] for this RBM, with the visible biases of
    /// each phase shifted by `visible_shifts` (which only learned Gaussian standard
    /// deviations read) and the data phase's hidden means lowered by `penalty` for `W` and
    /// `b` (and for nothing else: the learned standard deviations' statistic uses the means).
    ///
    /// The weight statistic `(ε/n) s₀ᵀp₀ − (ε/m) s_kᵀp_k` (`s = v / σ` for Gaussian units) is
    /// one matrix product of the stacked phases, `[s₀; s_k]ᵀ [(ε/n) p₀; −(ε/m) p_k]`.
    pub(crate) fn phase_statistics(
        &self,
        positive: &Phase<B>,
        negative: &Phase<B>,
        visible_shifts: Shifts<'_, B>,
        penalty: Option<&Tensor<B, 1>>,
        scale: f64,
    ) -> Self {
        let data_hidden = penalised(&positive.hidden, penalty);
        let scaled = Tensor::cat(
            vec![
                self.scaled_visible(positive.visible.clone()),
                self.scaled_visible(negative.visible.clone()),
            ],
            0,
        );
        let hidden = weighted_phases(data_hidden.clone(), negative.hidden.clone(), scale);
        let weights = matmul(scaled.transpose(), hidden);
        let fields = self.visible.needs_field().then(|| {
            let transposed = self.weights.val().transpose();
            [
                matmul(positive.hidden.clone(), transposed.clone()),
                matmul(negative.hidden.clone(), transposed),
            ]
        });
        Self {
            weights: value_param(weights),
            visible: self.visible.gradient(
                [positive.visible.clone(), negative.visible.clone()],
                visible_shifts,
                fields,
                scale,
            ),
            hidden: self
                .hidden
                .gradient([data_hidden, negative.hidden.clone()], scale),
        }
    }
}

/// `[(ε/n) data; −(ε/m) model]`: the rows of both phases stacked, each weighted so that one
/// product with the stacked other factor gives `ε (⟨·⟩_data − ⟨·⟩_model)`.
///
/// # Shapes
/// - `data`: `[n, d]`, `model`: `[m, d]`, output: `[n + m, d]`
pub(crate) fn weighted_phases<B: Backend>(
    data: Tensor<B, 2>,
    model: Tensor<B, 2>,
    scale: f64,
) -> Tensor<B, 2> {
    let (n, m) = (data.dims()[0] as f64, model.dims()[0] as f64);
    Tensor::cat(vec![data * (scale / n), model * (-scale / m)], 0)
}

/// `hidden` with `penalty` subtracted from every row.
///
/// # Shapes
/// - `hidden`: `[rows, n_hidden]`, `penalty`: `[n_hidden]`
pub(crate) fn penalised<B: Backend>(
    hidden: &Tensor<B, 2>,
    penalty: Option<&Tensor<B, 1>>,
) -> Tensor<B, 2> {
    match penalty {
        Some(penalty) => hidden.clone() - penalty.clone().unsqueeze::<2>(),
        None => hidden.clone(),
    }
}

impl<B: Backend> CdModel<B> for Rbm<B> {
    type Config = RbmConfig;

    const KIND: &'static str = "rbm";

    fn structure(&self) -> RbmConfig {
        self.config()
    }

    fn from_structure(config: &RbmConfig, device: &B::Device) -> Result<Self> {
        config.init(device)
    }

    fn device(&self) -> B::Device {
        Rbm::device(self)
    }

    fn row_width(&self) -> usize {
        self.n_visible()
    }

    fn n_hidden(&self) -> usize {
        Rbm::n_hidden(self)
    }

    fn row_units(&self) -> VisibleUnits {
        self.visible_units()
    }

    fn positive_phase(&self, rows: &Tensor<B, 2>) -> Phase<B> {
        self.phase(rows.clone(), None)
    }

    fn sample_hidden<R: Rng + ?Sized>(&self, phase: &Phase<B>, rng: &mut R) -> Tensor<B, 2> {
        self.hidden
            .sample(phase.activations.clone(), phase.hidden.clone(), rng)
    }

    fn gibbs_step<R: Rng + ?Sized>(
        &self,
        rows: &Tensor<B, 2>,
        hidden: Tensor<B, 2>,
        keep_missing: bool,
        rng: &mut R,
    ) -> Phase<B> {
        let visible = self.visible_sample(hidden, None, keep_missing.then_some(rows), rng);
        self.phase(visible, None)
    }

    fn statistics(
        &self,
        _rows: &Tensor<B, 2>,
        positive: &Phase<B>,
        negative: &Phase<B>,
        penalty: Option<&Tensor<B, 1>>,
        scale: f64,
    ) -> Self {
        self.phase_statistics(positive, negative, [None, None], penalty, scale)
    }

    fn parameter_count(config: &RbmConfig) -> Option<usize> {
        let (v, h) = (config.n_visible, config.n_hidden);
        let biases = if config.visible_units.is_gaussian() {
            2 * v
        } else {
            v
        };
        v.checked_mul(h)?.checked_add(biases)?.checked_add(h)
    }

    fn check_loaded(&self) -> std::result::Result<(), String> {
        check_sigma(self)
    }

    fn supports_centring(&self) -> bool {
        self.is_binary()
    }

    fn centred_weights(&self, step: Self, offsets: &Offsets<B>, decay: f64) -> Self {
        let outer = |column: Tensor<B, 1>, row: Tensor<B, 1>| {
            matmul(column.unsqueeze_dim::<2>(1), row.unsqueeze::<2>())
        };
        let weights = step.weights.val()
            - outer(offsets.visible.clone(), step.hidden_bias())
            - outer(step.visible_bias(), offsets.hidden.clone());
        let weights = if decay > 0.0 {
            weights - self.weights.val() * decay
        } else {
            weights
        };
        Self {
            weights: step.weights.map(|old| keep_require_grad(&old, weights)),
            ..step
        }
    }

    fn shift_biases(value: Self, shift: &Offsets<B>) -> Self {
        let weights = value.weights.val();
        let visible = value.visible_bias()
            - matmul(weights.clone(), shift.hidden.clone().unsqueeze_dim::<2>(1)).squeeze_dim(1);
        let hidden = value.hidden_bias()
            - matmul(shift.visible.clone().unsqueeze::<2>(), weights).squeeze_dim(0);
        Self {
            weights: value.weights,
            visible: value.visible.with_bias(visible),
            hidden: value.hidden.with_bias(hidden),
        }
    }

    fn tempered(&self, beta: f64) -> Option<Self> {
        self.is_binary().then(|| Self {
            weights: self.weights.clone().map(|w| w * beta),
            visible: self.visible.clone().with_bias(self.visible_bias() * beta),
            hidden: HiddenLayer::new(self.hidden_units(), self.hidden_bias() * beta),
        })
    }

    fn joint_energy(&self, visible: Tensor<B, 2>, hidden: Tensor<B, 2>) -> Option<Tensor<B, 1>> {
        Some(self.energy(visible, hidden))
    }

    fn reconstruction_error(&self, rows: &Tensor<B, 2>) -> Tensor<B, 1> {
        reconstruction_error_of(&self.visible, rows.clone(), self.reconstruct(rows.clone()))
    }

    fn row_free_energy(&self, rows: &Tensor<B, 2>) -> Tensor<B, 1> {
        self.free_energy(rows.clone())
    }

    fn row_pseudo_log_likelihood<R: Rng + ?Sized>(
        &self,
        rows: &Tensor<B, 2>,
        rng: &mut R,
    ) -> Tensor<B, 1> {
        pseudo_log_likelihood_of(
            self.visible_units(),
            rows.clone(),
            |v| self.free_energy(v),
            self.n_visible(),
            rng,
        )
    }
}

impl<B: Backend> Rbm<B> {
    /// Binary visible and binary hidden units: the models that centring and tempering apply
    /// to.
    pub(crate) fn is_binary(&self) -> bool {
        matches!(self.visible, VisibleLayer::Bernoulli(_))
            && matches!(self.hidden, HiddenLayer::Bernoulli(_))
    }
}

/// Gaussian units' standard deviations must be positive and finite (`ln σ²` of a file can be
/// finite and still give `σ = ∞`).
pub(crate) fn check_sigma<B: Backend>(rbm: &Rbm<B>) -> std::result::Result<(), String> {
    use burn::tensor::ElementConversion;
    if let VisibleLayer::Gaussian(units) = &rbm.visible {
        let sigma = units.sigma();
        let (low, high) = (
            sigma.clone().min().into_scalar().elem::<f64>(),
            sigma.max().into_scalar().elem::<f64>(),
        );
        if !(low > 0.0 && high.is_finite()) {
            return Err(format!("standard deviations between {low} and {high}"));
        }
    }
    Ok(())
}
