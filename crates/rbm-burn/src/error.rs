//! The crate's one error type.

use thiserror::Error;

/// Everything that can go wrong in `rbm-burn`: invalid hyperparameters, data that does not fit
/// the model, requests that would take too long, training that diverged, and files that cannot
/// be written or read.
///
/// Every variant names the offending field or value so that the message alone says what to fix.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RbmError {
    /// A layer of the RBM would have no units.
    #[error("an RBM needs at least one unit per layer, got n_visible = {n_visible}, n_hidden = {n_hidden}")]
    ZeroLayerSize {
        /// Requested number of visible units.
        n_visible: usize,
        /// Requested number of hidden units.
        n_hidden: usize,
    },

    /// A hyperparameter is outside its allowed range.
    #[error("invalid hyperparameter `{name}` = {value}: {reason}")]
    InvalidHyperparameter {
        /// The config field.
        name: &'static str,
        /// The rejected value, formatted.
        value: String,
        /// What the value must satisfy.
        reason: &'static str,
    },

    /// A tensor handed to the model does not have the shape the model needs.
    #[error("`{what}` has shape {actual:?}, expected {expected:?}")]
    ShapeMismatch {
        /// Which tensor.
        what: &'static str,
        /// The shape the model needs.
        expected: Vec<usize>,
        /// The shape it got.
        actual: Vec<usize>,
    },

    /// The data set or batch has no rows.
    #[error("the data is empty: at least one row is needed")]
    EmptyData,

    /// A data set reported a length but returned no item for one of its indices.
    #[error("the data set has no item at index {row} although its length is larger")]
    MissingRow {
        /// The index that returned nothing.
        row: usize,
    },

    /// The data's row width is not the number of visible units.
    #[error("the data has {actual} columns but the RBM has {expected} visible units")]
    WidthMismatch {
        /// `n_visible` of the RBM.
        expected: usize,
        /// Columns of the data.
        actual: usize,
    },

    /// The data contains NaN or ±Inf.
    #[error("the data contains a non-finite value (NaN or ±Inf){}", row_suffix(*row))]
    NonFiniteData {
        /// The first offending row, where known.
        row: Option<usize>,
    },

    /// The data contains a value that Bernoulli (or softmax) visible units cannot take.
    #[error(
        "Bernoulli visible units need values in [0, 1], found {value}{}; \
         scale the data (e.g. pixels / 255) or binarise it",
        row_suffix(*row)
    )]
    ValueOutOfRange {
        /// The offending value (the minimum or maximum of the data).
        value: f64,
        /// The first offending row, where known.
        row: Option<usize>,
    },

    /// A quantity defined only for binary vectors (such as the exact log-likelihood of a
    /// Bernoulli RBM) was asked for on data that is not 0/1.
    #[error("this quantity needs binary (0/1) data, found the value {value}")]
    NotBinary {
        /// An offending value.
        value: f64,
    },

    /// Exact enumeration of 2^units states was asked for beyond the supported limit.
    #[error(
        "exact enumeration needs 2^{units} states, beyond the limit of 2^{limit}; \
         the smaller layer must have at most {limit} units"
    )]
    EnumerationTooLarge {
        /// Units of the smaller layer.
        units: usize,
        /// The largest supported number of enumerated units.
        limit: usize,
    },

    /// A group of softmax (categorical) visible units is neither one-hot / a probability
    /// vector summing to one, nor all zeros (a missing entry).
    #[error(
        "softmax group {group}{} sums to {sum}: each group of {group_size} units must be one-hot \
         (or probabilities summing to 1), or all zeros for a missing entry",
        row_suffix(*row)
    )]
    InvalidGroup {
        /// The offending group (0-based).
        group: usize,
        /// The group's size `K`.
        group_size: usize,
        /// The sum of its values.
        sum: f64,
        /// The first offending row, where known.
        row: Option<usize>,
    },

    /// A class label outside `0..n_classes`.
    #[error("label {label} in row {row} is not a class: there are {n_classes} classes (0 to {})", n_classes - 1)]
    InvalidLabel {
        /// The offending label.
        label: usize,
        /// The number of classes.
        n_classes: usize,
        /// Its row (0-based).
        row: usize,
    },

    /// An operation that these unit types do not define was asked for.
    #[error("{operation} is not available for {units}")]
    UnsupportedUnits {
        /// What was asked for.
        operation: &'static str,
        /// The model's unit types and why.
        units: String,
    },

    /// Training produced a non-finite parameter (usually a learning rate that is too large).
    #[error(
        "training diverged: a parameter update became non-finite at epoch {epoch}, batch {batch}; \
         lower the learning rate"
    )]
    Diverged {
        /// Epoch (0-based) in which the first non-finite update happened.
        epoch: usize,
        /// Batch (0-based, within the epoch) of the first non-finite update.
        batch: usize,
    },
    /// A file could not be written or read, or does not hold what it is loaded as.
    #[error("{path}: {problem}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        problem: crate::file::FileProblem,
    },
}

fn row_suffix(row: Option<usize>) -> String {
    row.map(|r| format!(" in row {r}")).unwrap_or_default()
}

/// `Result` with [`RbmError`].
pub type Result<T> = std::result::Result<T, RbmError>;
