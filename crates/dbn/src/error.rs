//! The errors of this crate.

use rbm_burn::RbmError;
use thiserror::Error;

/// Everything that can go wrong building, pre-training, handing over or fine-tuning a DBN.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DbnError {
    /// No hidden layer above the input, so there is no RBM to stack (a DBN's layer sizes
    /// name fewer than two layers, or a convolutional DBN has no layers).
    #[error("a DBN needs at least one hidden layer above its input, got {got} layer size(s) counting the input")]
    NoLayers {
        /// How many layer sizes were given, counting the input.
        got: usize,
    },
    /// A layer has no units.
    #[error("layer {layer} has no units: every layer size must be at least 1")]
    ZeroLayerSize {
        /// Index into the layer sizes (0 is the input).
        layer: usize,
    },
    /// A per-layer list has the wrong length.
    #[error("{what}: expected 1 (shared) or {expected} (one per RBM) entries, got {actual}")]
    LayerCount {
        /// Which list.
        what: &'static str,
        /// The number of RBMs.
        expected: usize,
        /// The number given.
        actual: usize,
    },
    /// Two adjacent RBMs do not fit together, or the stack does not match what it is given.
    #[error("layer {layer}: expected {expected}, got {actual}")]
    LayerMismatch {
        /// Index of the RBM (0 is the bottom one) or `Linear` layer.
        layer: usize,
        /// What that layer needs.
        expected: String,
        /// What it got.
        actual: String,
    },
    /// The data's width is not the DBN's (or classifier's) input width.
    #[error("the data has {actual} columns but the input layer has {expected} units")]
    InputWidth {
        /// The input layer's width.
        expected: usize,
        /// The data's width.
        actual: usize,
    },
    /// There is no layer with this index.
    #[error("there is no layer {layer}: the DBN has {n_layers} RBM layers")]
    NoSuchLayer {
        /// The index asked for.
        layer: usize,
        /// The number of RBM layers.
        n_layers: usize,
    },
    /// A `Linear` or `Conv2d` layer handed in has no bias, so it cannot take the RBM's
    /// hidden bias.
    #[error(
        "the layer handed in for RBM layer {layer} has no bias; build it with `with_bias(true)`"
    )]
    MissingBias {
        /// Index of the RBM layer.
        layer: usize,
    },
    /// Units a DBN cannot use at this position (the hidden layers of a DBN are binary).
    #[error("layer {layer}: {units} units are not supported here ({reason})")]
    UnsupportedUnits {
        /// Index of the RBM layer.
        layer: usize,
        /// The unit type found.
        units: String,
        /// What would be accepted.
        reason: &'static str,
    },
    /// A hyperparameter outside its valid range.
    #[error("invalid hyperparameter `{name}` = {value}: {reason}")]
    InvalidHyperparameter {
        /// Name of the field.
        name: &'static str,
        /// The offending value.
        value: String,
        /// What is accepted.
        reason: &'static str,
    },
    /// There is nothing to train or evaluate on.
    #[error("the data set is empty: at least one example is needed")]
    EmptyData,
    /// An example's label is not one of the classes.
    #[error(
        "example {row} has label {label}, but there are only {n_classes} classes (0..{n_classes})"
    )]
    LabelOutOfRange {
        /// Index of the example.
        row: usize,
        /// Its label.
        label: usize,
        /// The number of classes.
        n_classes: usize,
    },
    /// An example's feature vector has the wrong length.
    #[error("example {row} has {actual} features, expected {expected}")]
    FeatureWidth {
        /// Index of the example.
        row: usize,
        /// The common width.
        expected: usize,
        /// This example's width.
        actual: usize,
    },
    /// A feature value is NaN or infinite.
    #[error("example {row} contains a non-finite value (NaN or ±Inf)")]
    NonFiniteFeature {
        /// Index of the example.
        row: usize,
    },
    /// The feature values are not one row of `width` per label.
    #[error("{values} feature values are not {labels} rows (one per label) of {width}")]
    LabelCountMismatch {
        /// Number of feature values given.
        values: usize,
        /// Features per row.
        width: usize,
        /// Number of labels.
        labels: usize,
    },
    /// Fine-tuning produced a non-finite loss (the learning rate is usually too large).
    #[error(
        "fine-tuning diverged in epoch {epoch}: the loss is not finite; lower the learning rate"
    )]
    Diverged {
        /// The epoch (from 0).
        epoch: usize,
    },
    /// An error of the RBM of one layer, during pre-training or hand-over.
    #[error("RBM layer {layer}: {source}")]
    Layer {
        /// Index of the RBM layer (0 is the bottom one).
        layer: usize,
        /// What went wrong.
        #[source]
        source: RbmError,
    },
    /// An error from the RBM crate outside any one layer.
    #[error(transparent)]
    Rbm(#[from] RbmError),
}

/// `Result` with [`DbnError`].
pub type Result<T> = core::result::Result<T, DbnError>;

pub(crate) fn invalid(name: &'static str, value: impl ToString, reason: &'static str) -> DbnError {
    DbnError::InvalidHyperparameter {
        name,
        value: value.to_string(),
        reason,
    }
}
