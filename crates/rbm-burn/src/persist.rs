//! Saving and loading an [`Rbm`] as one self-describing file: the parameters and the unit
//! types, in the checked container of [`crate::file`].
//!
//! Burn's own recorders work too ([`Rbm`] is a `Module`), but their records leave out the unit
//! types and are loaded into a model built beforehand from the same config without any check.
//! [`Rbm::save`] / [`Rbm::load`] keep everything in the file and check it when loading.

use std::path::Path;

use burn::module::Param;
use burn::record::{PrecisionSettings, Record};
use burn::tensor::backend::Backend;
use burn::tensor::{ElementConversion, Tensor};

use crate::error::{self, RbmError};
use crate::file::{file_error, load_record, save_record, FileProblem};
use crate::metrics::TrainingHistory;
use crate::rbm::{Rbm, RbmConfig};
use crate::units::{HiddenUnits, VisibleUnits};

/// The content kind of RBM files (see [`crate::file`]).
pub const RBM_KIND: &str = "rbm";

/// Records of plain serialisable values, which are their own items.
macro_rules! value_records {
    ($($value:ty),*) => {
        $(
            impl<B: Backend> Record<B> for $value {
                type Item<S: PrecisionSettings> = $value;

                fn into_item<S: PrecisionSettings>(self) -> Self::Item<S> {
                    self
                }

                fn from_item<S: PrecisionSettings>(item: Self::Item<S>, _: &B::Device) -> Self {
                    item
                }
            }
        )*
    };
}

pub(crate) use value_records;

value_records!(VisibleUnits, HiddenUnits, TrainingHistory);

/// Everything that defines an [`Rbm`], as a record. Other records (learner and DBN
/// checkpoints) embed it.
#[derive(burn::record::Record)]
pub struct RbmFileRecord<B: Backend> {
    /// `W`, `[n_visible, n_hidden]`.
    pub weights: Tensor<B, 2>,
    /// `a`, `[n_visible]`.
    pub visible_bias: Tensor<B, 1>,
    /// `b`, `[n_hidden]`.
    pub hidden_bias: Tensor<B, 1>,
    /// `ln σ²` of Gaussian visible units, `[n_visible]`.
    pub visible_log_variance: Option<Tensor<B, 1>>,
    /// The visible unit type.
    pub visible_units: VisibleUnits,
    /// The hidden unit type.
    pub hidden_units: HiddenUnits,
}

impl<B: Backend> RbmFileRecord<B> {
    /// The record of `rbm`'s current parameters (sharing their buffers).
    pub fn of(rbm: &Rbm<B>) -> Self {
        Self {
            weights: rbm.weights.val(),
            visible_bias: rbm.visible_bias.val(),
            hidden_bias: rbm.hidden_bias.val(),
            visible_log_variance: rbm.visible_log_variance.as_ref().map(Param::val),
            visible_units: rbm.visible_units,
            hidden_units: rbm.hidden_units,
        }
    }

    /// The RBM of this record, after checking that its shapes fit together, that the unit
    /// types are valid for them and that every parameter is finite.
    ///
    /// # Errors
    /// [`RbmError::File`] naming `path` with [`FileProblem::Corrupt`].
    pub fn into_rbm(self, path: &Path) -> error::Result<Rbm<B>> {
        let corrupt = |e: RbmError| {
            file_error(
                path,
                FileProblem::Corrupt {
                    reason: format!("inconsistent RBM parameters: {e}"),
                },
            )
        };
        let mut rbm = Rbm::from_tensors(self.weights, self.visible_bias, self.hidden_bias)
            .and_then(|rbm| rbm.with_units(self.visible_units, self.hidden_units))
            .map_err(corrupt)?;
        match (self.visible_units.is_gaussian(), self.visible_log_variance) {
            (true, Some(z)) => {
                let [n] = z.dims();
                if n != rbm.n_visible() {
                    return Err(corrupt(RbmError::ShapeMismatch {
                        what: "visible_log_variance",
                        expected: vec![rbm.n_visible()],
                        actual: vec![n],
                    }));
                }
                rbm.visible_log_variance = Some(Param::from_tensor(z));
            }
            (true, None) => {
                return Err(file_error(
                    path,
                    FileProblem::Corrupt {
                        reason: "Gaussian visible units without standard deviations".into(),
                    },
                ))
            }
            (false, _) => {}
        }
        let mut total =
            rbm.weights.val().sum() + rbm.visible_bias.val().sum() + rbm.hidden_bias.val().sum();
        if let Some(z) = &rbm.visible_log_variance {
            total = total + z.val().sum();
        }
        // (A sum of finite f32 parameters overflows only when they average ≳ 10³².)
        if !total.into_scalar().elem::<f64>().is_finite() {
            return Err(file_error(
                path,
                FileProblem::Corrupt {
                    reason: "the parameters are not all finite".into(),
                },
            ));
        }
        Ok(rbm)
    }
}

impl<B: Backend> Rbm<B> {
    /// Saves the parameters and unit types to `path` atomically (see [`crate::file`]).
    ///
    /// # Errors
    /// [`RbmError::File`] naming `path`.
    pub fn save(&self, path: impl AsRef<Path>) -> error::Result<()> {
        save_record(path.as_ref(), RBM_KIND, RbmFileRecord::of(self))
    }

    /// Loads an RBM saved with [`Rbm::save`] onto `device`.
    ///
    /// # Errors
    /// [`RbmError::File`] naming `path` and what is wrong: missing, truncated or damaged,
    /// another kind of file (a DBN or a checkpoint), another precision, or parameters that do
    /// not fit together.
    pub fn load(path: impl AsRef<Path>, device: &B::Device) -> error::Result<Self> {
        let path = path.as_ref();
        load_record::<B, RbmFileRecord<B>>(path, RBM_KIND, device)?.into_rbm(path)
    }
}

impl RbmConfig {
    /// Loads an RBM saved with [`Rbm::save`], checking that it is the model this config
    /// describes: the same layer sizes and unit types (the initialisation fields are not
    /// compared).
    ///
    /// # Errors
    /// As [`Rbm::load`], and [`FileProblem::Mismatch`] naming the first field that differs.
    pub fn init_from_file<B: Backend>(
        &self,
        path: impl AsRef<Path>,
        device: &B::Device,
    ) -> error::Result<Rbm<B>> {
        let path = path.as_ref();
        let rbm = Rbm::<B>::load(path, device)?;
        check_matches(self, &rbm).map_err(|problem| file_error(path, problem))?;
        Ok(rbm)
    }
}

/// Whether `rbm` has the sizes and unit types of `config`.
fn check_matches<B: Backend>(config: &RbmConfig, rbm: &Rbm<B>) -> Result<(), FileProblem> {
    let mismatch = |what: &str, expected: String, found: String| {
        Err(FileProblem::Mismatch {
            what: what.into(),
            expected,
            found,
        })
    };
    if (config.n_visible, config.n_hidden) != (rbm.n_visible(), rbm.n_hidden()) {
        return mismatch(
            "the model size (visible × hidden)",
            format!("{} × {}", config.n_visible, config.n_hidden),
            format!("{} × {}", rbm.n_visible(), rbm.n_hidden()),
        );
    }
    if config.visible_units != rbm.visible_units {
        return mismatch(
            "the visible unit type",
            config.visible_units.to_string(),
            rbm.visible_units.to_string(),
        );
    }
    if config.hidden_units != rbm.hidden_units {
        return mismatch(
            "the hidden unit type",
            config.hidden_units.to_string(),
            rbm.hidden_units.to_string(),
        );
    }
    Ok(())
}
