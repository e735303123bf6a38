//! [`DbnConfig`]: the shape of the stack and how each layer is pre-trained.

use burn::config::Config;
use burn::tensor::backend::Backend;
use rbm_burn::{ContrastiveDivergenceConfig, RbmConfig, VisibleUnits};
use serde::{Deserialize, Serialize};

use crate::dbn::Dbn;
use crate::error::{invalid, DbnError};

/// What a trained layer passes up to the layer above as its training data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum PassUp {
    /// The probabilities `p(h = 1 | v)`: deterministic, and the usual choice (Hinton &
    /// Salakhutdinov 2006).
    #[default]
    Probabilities,
    /// Binary samples of `h` given `v`, drawn afresh every time a batch is built (so every
    /// epoch sees new samples), as in the variational argument of Hinton et al. 2006.
    Samples,
}

/// Configuration of a [`Dbn`]: layer sizes, the unit type of the input layer, and the
/// contrastive-divergence settings each RBM is pre-trained with.
#[derive(Config, Debug)]
pub struct DbnConfig {
    /// Layer sizes from the input up, e.g. `[784, 500, 500, 2000]`: RBM `i` connects
    /// `layers[i]` visible to `layers[i + 1]` hidden units.
    pub layers: Vec<usize>,
    /// Contrastive-divergence settings: one entry shared by every RBM, or one per RBM. Layer
    /// `i`'s learner is seeded with its entry's seed plus `i`, so shared settings still give
    /// each layer its own random stream.
    #[config(default = "vec![ContrastiveDivergenceConfig::new()]")]
    pub cd: Vec<ContrastiveDivergenceConfig>,
    /// What each trained layer passes up as the next layer's data.
    #[config(default = "PassUp::Probabilities")]
    pub pass_up: PassUp,
    /// Unit type of the input layer: binary (default), or Gaussian for real-valued data
    /// (standardise it first). The hidden layers are always binary.
    #[config(default = "VisibleUnits::Bernoulli")]
    pub visible_units: VisibleUnits,
    /// Standard deviation of the initial RBM weights.
    #[config(default = 0.01)]
    pub weight_std: f64,
    /// Seed of the initial weights (RBM `i` uses `seed + i`).
    #[config(default = 0)]
    pub seed: u64,
    /// Initialise the bottom RBM's visible biases from the data's column means before
    /// pre-training (Hinton's practical guide, section 8). Ignored for softmax input units.
    #[config(default = true)]
    pub init_visible_bias: bool,
}

impl DbnConfig {
    /// Number of RBMs in the stack (`layers.len() - 1`).
    pub fn n_rbms(&self) -> usize {
        self.layers.len().saturating_sub(1)
    }

    /// Checks the layer sizes and every learner's hyperparameters.
    ///
    /// # Errors
    /// [`DbnError::NoLayers`], [`DbnError::ZeroLayerSize`], [`DbnError::LayerCount`] when
    /// `cd` has neither 1 nor `n_rbms` entries, and the learners' own errors.
    pub fn validate(&self) -> crate::Result<()> {
        if self.layers.len() < 2 {
            return Err(DbnError::NoLayers {
                got: self.layers.len(),
            });
        }
        if let Some(layer) = self.layers.iter().position(|&n| n == 0) {
            return Err(DbnError::ZeroLayerSize { layer });
        }
        if !(self.weight_std.is_finite() && self.weight_std >= 0.0) {
            return Err(invalid(
                "weight_std",
                self.weight_std,
                "must be finite and non-negative",
            ));
        }
        validate_cd(&self.cd, self.n_rbms())?;
        self.visible_units
            .validate(self.layers[0])
            .map_err(|source| DbnError::Layer { layer: 0, source })
    }

    /// The contrastive-divergence settings of RBM `layer`, with its seed offset applied.
    ///
    /// # Panics
    /// If `cd` is empty; [`Self::validate`] rejects that.
    pub fn layer_cd(&self, layer: usize) -> ContrastiveDivergenceConfig {
        layer_cd(&self.cd, layer)
    }

    /// The configuration of RBM `layer` (`layers[layer]` visible, `layers[layer + 1]` hidden).
    pub fn layer_config(&self, layer: usize) -> RbmConfig {
        let visible = if layer == 0 {
            self.visible_units
        } else {
            VisibleUnits::Bernoulli
        };
        RbmConfig::new(self.layers[layer], self.layers[layer + 1])
            .with_weight_std(self.weight_std)
            .with_seed(self.seed.wrapping_add(layer as u64))
            .with_visible_units(visible)
    }

    /// Builds the untrained stack on `device`.
    ///
    /// # Errors
    /// As [`Self::validate`].
    pub fn init<B: Backend>(&self, device: &B::Device) -> crate::Result<Dbn<B>> {
        self.validate()?;
        let layers = (0..self.n_rbms())
            .map(|layer| {
                self.layer_config(layer)
                    .init(device)
                    .map_err(|source| DbnError::Layer { layer, source })
            })
            .collect::<crate::Result<Vec<_>>>()?;
        Dbn::from_layers(layers)
    }
}

/// Layer `layer`'s entry of learner settings `cd` (its own, or the one shared), with its seed
/// offset by `layer`.
///
/// # Panics
/// If `cd` is empty; [`validate_cd`] rejects that.
pub(crate) fn layer_cd(
    cd: &[ContrastiveDivergenceConfig],
    layer: usize,
) -> ContrastiveDivergenceConfig {
    let cd = cd.get(layer).unwrap_or(&cd[0]).clone();
    let seed = cd.seed.wrapping_add(layer as u64);
    cd.with_seed(seed)
}

/// Checks learner settings `cd` for a stack of `n` layers: one shared entry or one per layer,
/// each valid.
///
/// # Errors
/// [`DbnError::LayerCount`], and the learners' own errors as [`DbnError::Layer`].
pub(crate) fn validate_cd(cd: &[ContrastiveDivergenceConfig], n: usize) -> crate::Result<()> {
    if cd.len() != 1 && cd.len() != n {
        return Err(DbnError::LayerCount {
            what: "cd",
            expected: n,
            actual: cd.len(),
        });
    }
    for layer in 0..n {
        layer_cd(cd, layer)
            .validate()
            .map_err(|source| DbnError::Layer { layer, source })?;
    }
    Ok(())
}
