//! Centred training (Montavon & Müller 2012; Melchior, Fischer & Wiskott 2016): the gradient
//! of the energy written around offsets, which makes learning invariant to flipping units.
//!
//! A centred RBM has the energy
//!
//! ```text
//! E(v, h) = −(v − μ)ᵀ W (h − λ) − aᵀ(v − μ) − bᵀ(h − λ)
//! ```
//!
//! with visible offsets `μ` and hidden offsets `λ`. Expanding it gives an ordinary RBM with the
//! same `W` and the biases `a' = a − Wλ`, `b' = b − Wᵀμ` (plus a constant that cancels in
//! `p(v)`), so a centred model *is* an ordinary [`crate::Rbm`]; only the gradient differs. In the
//! centred parameters it is
//!
//! ```text
//! ∇W = ⟨(v − μ)(h − λ)ᵀ⟩_data − ⟨(v − μ)(h − λ)ᵀ⟩_model = G_W − μ G_bᵀ − G_a λᵀ,
//! ∇a = G_a,   ∇b = G_b,
//! ```
//!
//! where `G` is the ordinary gradient; a step `(ΔW, Δa, Δb)` of the centred parameters moves
//! the ordinary ones by `(ΔW, Δa − ΔW λ, Δb − ΔWᵀ μ)`. The learner keeps the model in its
//! ordinary parameters and the momentum velocity in the same coordinates, so it maps each
//! centred step with that linear map (weight decay acting on `W` in the centred
//! parametrisation, as in the paper). The offsets are exponential moving averages of the data
//! phase's means, `μ ← (1 − ν) μ + ν ⟨v⟩_data`, `λ ← (1 − ν) λ + ν ⟨p(h | v)⟩_data` (the
//! paper's recommended "dd" variant), started at the first batch's means. Moving them leaves
//! the ordinary parameters, and so `p(v)`, unchanged (the paper's bias reparametrisation);
//! the velocity, a centred step in ordinary coordinates, is re-expressed for the new offsets
//! by the same map with the offsets' change.

use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};

use crate::error::{self, RbmError};
use crate::model::{CdModel, Phase};
use crate::params;
use crate::rbm::Rbm;
use crate::units::column_mean;

/// Centred training: how fast the offsets follow the data.
#[derive(Config, Debug, PartialEq)]
pub struct CentringConfig {
    /// The offsets' moving-average rate `ν`, in (0, 1]; the paper uses 0.01.
    #[config(default = 0.01)]
    pub offset_rate: f64,
}

impl CentringConfig {
    /// Checks the rate.
    ///
    /// # Errors
    /// [`RbmError::InvalidHyperparameter`] for a rate outside (0, 1].
    pub fn validate(&self) -> error::Result<()> {
        let rate = self.offset_rate;
        if !(rate.is_finite() && rate > 0.0 && rate <= 1.0) {
            return Err(RbmError::InvalidHyperparameter {
                name: "centring.offset_rate",
                value: rate.to_string(),
                reason: "must be in (0, 1]",
            });
        }
        Ok(())
    }
}

/// The offsets of a centred model: what its units' values are measured from.
#[derive(Debug, Clone)]
pub struct Offsets<B: Backend> {
    /// Visible offsets `μ`, `[n_visible]`.
    pub visible: Tensor<B, 1>,
    /// Hidden offsets `λ`, `[n_hidden]`.
    pub hidden: Tensor<B, 1>,
}

impl<B: Backend> Offsets<B> {
    /// The means of a data phase: `⟨v⟩` and `⟨p(h | v)⟩` over its rows.
    pub(crate) fn of_phase(phase: &Phase<B>) -> Self {
        Self {
            visible: column_mean(phase.visible.clone()),
            hidden: column_mean(phase.hidden.clone()),
        }
    }

    /// `(1 − rate)·self + rate·target`.
    pub(crate) fn moved_towards(&self, target: Self, rate: f64) -> Self {
        Self {
            visible: self.visible.clone() * (1.0 - rate) + target.visible * rate,
            hidden: self.hidden.clone() * (1.0 - rate) + target.hidden * rate,
        }
    }

    /// `self − other`, entry by entry.
    pub(crate) fn minus(&self, other: &Self) -> Self {
        Self {
            visible: self.visible.clone() - other.visible.clone(),
            hidden: self.hidden.clone() - other.hidden.clone(),
        }
    }
}

/// `step` (an ordinary-coordinate gradient step of `model`, learning rate folded in) as the
/// ordinary-coordinate image of the centred step at `offsets`, with weight decay `decay`
/// (learning rate times the coefficient) on the centred weights.
pub(crate) fn centred_step<B: Backend, M: CdModel<B>>(
    model: &M,
    step: M,
    offsets: &Offsets<B>,
    decay: f64,
) -> M {
    let step = model.centred_weights(step, offsets, decay);
    M::shift_biases(step, offsets)
}

/// Moves `offsets` towards the means of the data phase `positive` and re-expresses
/// `velocity` for the new offsets.
pub(crate) fn follow_data<B: Backend, M: CdModel<B>>(
    offsets: Offsets<B>,
    velocity: M,
    positive: &Phase<B>,
    rate: f64,
) -> (Offsets<B>, M) {
    let new = offsets.moved_towards(Offsets::of_phase(positive), rate);
    let velocity = M::shift_biases(velocity, &new.minus(&offsets));
    (new, velocity)
}

/// A centred binary RBM in its own parameters: energy
/// `E(v, h) = −(v − μ)ᵀ W (h − λ) − aᵀ(v − μ) − bᵀ(h − λ)`. It defines the same `p(v)` as the
/// ordinary RBM of [`Self::to_rbm`], which is what the learner trains and returns; this view
/// shows the centred biases that the learner's steps move.
#[derive(Debug, Clone)]
pub struct CentredRbm<B: Backend> {
    /// Weights `W`, `[n_visible, n_hidden]`.
    pub weights: Tensor<B, 2>,
    /// Centred visible biases `a`, `[n_visible]`.
    pub visible_bias: Tensor<B, 1>,
    /// Centred hidden biases `b`, `[n_hidden]`.
    pub hidden_bias: Tensor<B, 1>,
    /// The offsets `μ` and `λ`.
    pub offsets: Offsets<B>,
}

impl<B: Backend> CentredRbm<B> {
    /// The centred parameters of the binary `rbm` at `offsets`: the same `W`,
    /// `a = a' + Wλ`, `b = b' + Wᵀμ`.
    ///
    /// # Shapes
    /// - `offsets.visible`: `[n_visible]`, `offsets.hidden`: `[n_hidden]`
    ///
    /// # Errors
    /// [`RbmError::UnsupportedUnits`] unless both layers are binary,
    /// [`RbmError::ShapeMismatch`] for offsets of the wrong lengths.
    pub fn from_rbm(rbm: &Rbm<B>, offsets: Offsets<B>) -> error::Result<Self> {
        if !rbm.is_binary() {
            return Err(RbmError::UnsupportedUnits {
                operation: "centring",
                units: format!(
                    "{} visible and {} hidden units",
                    rbm.visible_units(),
                    rbm.hidden_units()
                ),
            });
        }
        check_offsets(&offsets, rbm.n_visible(), rbm.n_hidden())?;
        let weights = rbm.weights.val();
        let shifted = Rbm::shift_biases(
            params::detached(rbm),
            &Offsets {
                visible: offsets.visible.clone().neg(),
                hidden: offsets.hidden.clone().neg(),
            },
        );
        Ok(Self {
            weights,
            visible_bias: shifted.visible_bias(),
            hidden_bias: shifted.hidden_bias(),
            offsets,
        })
    }

    /// The ordinary binary RBM with the same `p(v)`: `W`, `a' = a − Wλ`, `b' = b − Wᵀμ`.
    ///
    /// # Errors
    /// [`RbmError::ShapeMismatch`] when the parameters' and offsets' lengths disagree.
    pub fn to_rbm(&self) -> error::Result<Rbm<B>> {
        let [n_visible, n_hidden] = self.weights.dims();
        check_offsets(&self.offsets, n_visible, n_hidden)?;
        let centred = Rbm::from_tensors(
            self.weights.clone(),
            self.visible_bias.clone(),
            self.hidden_bias.clone(),
        )?;
        Ok(Rbm::shift_biases(centred, &self.offsets))
    }

    /// The centred energy of each pair of states, computed in the centred form.
    ///
    /// # Shapes
    /// - `visible`: `[rows, n_visible]`, `hidden`: `[rows, n_hidden]`, output: `[rows]`
    pub fn energy(&self, visible: Tensor<B, 2>, hidden: Tensor<B, 2>) -> Tensor<B, 1> {
        let v = visible - self.offsets.visible.clone().unsqueeze::<2>();
        let h = hidden - self.offsets.hidden.clone().unsqueeze::<2>();
        let interaction = (v.clone().matmul(self.weights.clone()) * h.clone()).sum_dim(1);
        let visible_term = v.matmul(self.visible_bias.clone().unsqueeze_dim::<2>(1));
        let hidden_term = h.matmul(self.hidden_bias.clone().unsqueeze_dim::<2>(1));
        (interaction + visible_term + hidden_term)
            .neg()
            .squeeze_dim::<1>(1)
    }
}

fn check_offsets<B: Backend>(
    offsets: &Offsets<B>,
    n_visible: usize,
    n_hidden: usize,
) -> error::Result<()> {
    for (what, expected, actual) in [
        ("visible offsets", n_visible, offsets.visible.dims()[0]),
        ("hidden offsets", n_hidden, offsets.hidden.dims()[0]),
    ] {
        if expected != actual {
            return Err(RbmError::ShapeMismatch {
                what,
                expected: vec![expected],
                actual: vec![actual],
            });
        }
    }
    Ok(())
}
