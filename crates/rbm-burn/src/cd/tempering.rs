//! Parallel tempering as the negative-phase sampler (Desjardins, Courville, Bengio, Vincent &
//! Delalleau 2010; Cho, Raiko & Ilin 2010).
//!
//! `M` sets of persistent chains run at inverse temperatures `1 = β_1 > β_2 > … > β_M`, the
//! chains at `β` sampling `p_β(v, h) ∝ exp(−β E(v, h))`: hot chains (small `β`) see a flattened
//! energy landscape and move between its modes easily. Each update runs `k` Gibbs steps at
//! every temperature and then proposes to swap the joint states `x = (v, h)` of neighbouring
//! temperatures, chain by chain, accepting by the Metropolis rule
//!
//! ```text
//! P(swap x_t ↔ x_{t+1}) = min(1, exp((β_t − β_{t+1}) (E(x_t) − E(x_{t+1})))),
//! ```
//!
//! which keeps the product of the tempered distributions invariant. The pairs are visited from
//! the coldest to the hottest. Only the `β = 1` chains feed the gradient: their visible states
//! and `p(h | v)`. The fraction of accepted swaps of each pair is reported per epoch
//! ([`crate::EpochMetrics::swap_rates`]); rates near zero mean the temperatures are too far
//! apart.

use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};
use rand::Rng;

use crate::error::{self, RbmError};
use crate::model::{CdModel, Phase};
use crate::sampling::uniform;

/// Parallel tempering: how many temperatures, and how hot the hottest is.
#[derive(Config, Debug, PartialEq)]
pub struct TemperingConfig {
    /// Number of temperatures `M ≥ 2`; each has as many chains as PCD would have.
    #[config(default = 10)]
    pub temperatures: usize,
    /// The smallest inverse temperature `β_M`, in `[0, 1)`; the `β` are equally spaced from 1
    /// down to it.
    #[config(default = 0.5)]
    pub min_beta: f64,
}

impl TemperingConfig {
    /// Checks the number of temperatures and the smallest `β`.
    ///
    /// # Errors
    /// [`RbmError::InvalidHyperparameter`] naming the invalid field.
    pub fn validate(&self) -> error::Result<()> {
        if self.temperatures < 2 {
            return Err(RbmError::InvalidHyperparameter {
                name: "tempering.temperatures",
                value: self.temperatures.to_string(),
                reason: "at least 2 temperatures are needed to swap",
            });
        }
        if !(self.min_beta.is_finite() && (0.0..1.0).contains(&self.min_beta)) {
            return Err(RbmError::InvalidHyperparameter {
                name: "tempering.min_beta",
                value: self.min_beta.to_string(),
                reason: "must be in [0, 1)",
            });
        }
        Ok(())
    }

    /// The inverse temperatures `1 = β_1 > … > β_M = min_beta`, equally spaced.
    pub fn betas(&self) -> Vec<f64> {
        let m = self.temperatures.max(2);
        (0..m)
            .map(|t| 1.0 - (1.0 - self.min_beta) * t as f64 / (m - 1) as f64)
            .collect()
    }
}

/// What one tempered negative phase leaves behind.
pub(crate) struct TemperedPhase<B: Backend> {
    /// The `β = 1` chains' visible states and hidden means under the model.
    pub(crate) negative: Phase<B>,
    /// Every temperature's hidden states after the swaps, stacked by temperature,
    /// `[M · chains, n_hidden]`.
    pub(crate) chains: Tensor<B, 2>,
    /// Accepted swaps of each neighbouring pair, `[M − 1]`.
    pub(crate) accepted: Tensor<B, 1>,
}

/// `k` Gibbs steps at each of `betas` from the stacked hidden states `start`
/// (`[M · chains, n_hidden]`), then one sweep of swaps between neighbours.
///
/// # Shapes
/// - `rows`: `[n, row_width]`, `start`: `[betas.len() · chains, n_hidden]`
pub(crate) fn negative_phase<B: Backend, M: CdModel<B>, R: Rng + ?Sized>(
    model: &M,
    rows: &Tensor<B, 2>,
    start: Tensor<B, 2>,
    betas: &[f64],
    k: usize,
    rng: &mut R,
) -> TemperedPhase<B> {
    let chains_per_temperature = start.dims()[0] / betas.len();
    let device = start.device();
    let mut visible = Vec::with_capacity(betas.len());
    let mut hidden = Vec::with_capacity(betas.len());
    for (&beta, mut state) in betas.iter().zip(start.chunk(betas.len(), 0)) {
        // The β = 1 chains run on the model itself, not on a scaled copy of it.
        let tempered = if beta == 1.0 {
            model.clone()
        } else {
            model
                .tempered(beta)
                .expect("the learner checks that the model tempers")
        };
        let mut last = None;
        for _ in 0..k {
            let phase = tempered.gibbs_step(rows, state, false, rng);
            state = tempered.sample_hidden(&phase, rng);
            last = Some(phase.visible);
        }
        visible.push(last.expect("k >= 1 is validated"));
        hidden.push(state);
    }
    let mut energies: Vec<Tensor<B, 1>> = visible
        .iter()
        .zip(&hidden)
        .map(|(v, h)| {
            model
                .joint_energy(v.clone(), h.clone())
                .expect("a model that tempers has a joint energy")
        })
        .collect();
    let mut accepted = Vec::with_capacity(betas.len() - 1);
    for t in 0..betas.len() - 1 {
        let log_ratio = (energies[t].clone() - energies[t + 1].clone()) * (betas[t] - betas[t + 1]);
        let noise = uniform::<B, R, 1>(rng, [chains_per_temperature], &device);
        let swap = noise.lower(log_ratio.exp()).float();
        accepted.push(swap.clone().sum());
        let column = swap.clone().unsqueeze_dim::<2>(1);
        swap_rows(&mut visible, t, &column);
        swap_rows(&mut hidden, t, &column);
        swap_rows(&mut energies, t, &swap);
    }
    TemperedPhase {
        negative: model.positive_phase(&visible[0]),
        chains: Tensor::cat(hidden, 0),
        accepted: Tensor::cat(accepted, 0),
    }
}

/// Swaps the rows of `states[t]` and `states[t + 1]` where `mask` (`[rows]` for vectors,
/// `[rows, 1]` for matrices) is 1.
fn swap_rows<B: Backend, const D: usize>(
    states: &mut [Tensor<B, D>],
    t: usize,
    mask: &Tensor<B, D>,
) {
    let (cold, hot) = (states[t].clone(), states[t + 1].clone());
    let keep = mask.clone().neg() + 1.0;
    states[t] = hot.clone() * mask.clone() + cold.clone() * keep.clone();
    states[t + 1] = cold * mask.clone() + hot * keep;
}
