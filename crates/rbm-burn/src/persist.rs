//! Saving and loading models as self-describing files: the model's structure (its config:
//! sizes and unit types) and its parameters (its Burn record), in the checked container of
//! [`crate::file`].
//!
//! Burn's own recorders work too (every model is a `Module`), but their records leave out the
//! structure and are loaded into a model built beforehand from the same config without any
//! check. [`Rbm::save`] / [`Rbm::load`] (and the same for [`crate::Crbm`]) keep everything in
//! the file and check it when loading: the parameters must have the shapes the structure
//! gives them, and be finite.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::ElementConversion;

use crate::container::{file_error, load_record, save_record, FileProblem};
use crate::error;
use crate::metrics::TrainingHistory;
use crate::model::CdModel;
use crate::params;
use crate::rbm::{Rbm, RbmConfig};
use crate::units::{HiddenUnits, VisibleUnits};

/// Records of plain serialisable values, which are their own items.
macro_rules! value_records {
    ($($value:ty),*) => {
        $(
            impl<B: burn::tensor::backend::Backend> burn::record::Record<B> for $value {
                type Item<S: burn::record::PrecisionSettings> = $value;

                fn into_item<S: burn::record::PrecisionSettings>(self) -> Self::Item<S> {
                    self
                }

                fn from_item<S: burn::record::PrecisionSettings>(
                    item: Self::Item<S>,
                    _: &B::Device,
                ) -> Self {
                    item
                }
            }
        )*
    };
}

pub(crate) use value_records;

value_records!(VisibleUnits, HiddenUnits, TrainingHistory, RbmConfig);

/// Everything that defines a model, as a record: its structure and its parameters. Other
/// records (learner and DBN checkpoints) embed it.
#[derive(burn::record::Record)]
pub struct ModelRecord<B: Backend, M: CdModel<B>> {
    /// The config that rebuilds the model's structure.
    structure: M::Config,
    /// The parameters.
    parameters: <M as Module<B>>::Record,
}

impl<B: Backend, M: CdModel<B>> ModelRecord<B, M> {
    /// The record of `model`'s structure and current parameters (sharing their buffers). The
    /// parameters are recorded with the ids `0, 1, 2, …`, so equal models give equal records
    /// (and files); loading gives them fresh ids.
    pub fn of(model: &M) -> Self {
        Self {
            structure: model.structure(),
            parameters: params::with_new_ids(model.clone(), true).into_record(),
        }
    }

    /// The model of this record on `device`, after checking that its structure is valid, that
    /// its parameters have the shapes that structure gives them, and that every parameter is
    /// finite.
    ///
    /// # Errors
    /// [`crate::RbmError::File`] naming `path` with [`FileProblem::Corrupt`].
    pub fn into_model(self, path: &Path, device: &B::Device) -> error::Result<M> {
        let corrupt = |reason: String| file_error(path, FileProblem::Corrupt { reason });
        // A hostile structure could ask for more memory than the machine has before anything
        // is checked: it may not need more values than the file has room for (4 bytes each).
        let needed = M::parameter_count(&self.structure)
            .ok_or_else(|| corrupt("a model structure too large to count".into()))?;
        if let Ok(file) = std::fs::metadata(path) {
            if (needed as u64).saturating_mul(4) > file.len() {
                return Err(corrupt(format!(
                    "a model structure of {needed} parameters, more than the file's {} bytes hold",
                    file.len()
                )));
            }
        }
        let fresh = catch_unwind(AssertUnwindSafe(|| {
            M::from_structure(&self.structure, device)
        }))
        .map_err(|_| corrupt("a model structure that cannot be built".into()))?
        .map_err(|e| corrupt(format!("an invalid model structure: {e}")))?;
        let expected = params::shapes(&fresh);
        // A record of another unit type makes Burn's `load_record` panic.
        let model = catch_unwind(AssertUnwindSafe(|| fresh.load_record(self.parameters))).map_err(
            |_| corrupt("the parameters are not those of the model's unit types".into()),
        )?;
        let found = params::shapes(&model);
        if found != expected {
            let (expected, found) = expected
                .iter()
                .zip(&found)
                .find(|(e, f)| e != f)
                .map(|(e, f)| (format!("{} {:?}", e.0, e.1), format!("{:?}", f.1)))
                .unwrap_or_else(|| {
                    (
                        format!("{} parameters", expected.len()),
                        found.len().to_string(),
                    )
                });
            return Err(corrupt(format!(
                "inconsistent parameters: {expected} has shape {found}"
            )));
        }
        // (A sum of finite f32 parameters overflows only when they average ≳ 10³².)
        if !params::sum(&model).into_scalar().elem::<f64>().is_finite() {
            return Err(corrupt("the parameters are not all finite".into()));
        }
        model
            .check_loaded()
            .map_err(|reason| corrupt(format!("inconsistent parameters: {reason}")))?;
        Ok(params::with_new_ids(model, false))
    }

    /// The model's structure.
    pub fn structure(&self) -> &M::Config {
        &self.structure
    }
}

/// Saves `model` to `path` atomically as a file of its kind.
pub(crate) fn save_model<B: Backend, M: CdModel<B>>(model: &M, path: &Path) -> error::Result<()> {
    save_record(path, M::KIND, ModelRecord::of(model))
}

/// Loads a model saved by [`save_model`] onto `device`.
pub(crate) fn load_model<B: Backend, M: CdModel<B>>(
    path: &Path,
    device: &B::Device,
) -> error::Result<M> {
    load_record::<B, ModelRecord<B, M>>(path, M::KIND, device)?.into_model(path, device)
}

impl<B: Backend> Rbm<B> {
    /// Saves the parameters and unit types to `path` atomically (see [`crate::file`]).
    ///
    /// # Errors
    /// [`crate::RbmError::File`] naming `path`.
    pub fn save(&self, path: impl AsRef<Path>) -> error::Result<()> {
        save_model(self, path.as_ref())
    }

    /// Loads an RBM saved with [`Rbm::save`] onto `device`.
    ///
    /// # Errors
    /// [`crate::RbmError::File`] naming `path` and what is wrong: missing, truncated or damaged,
    /// another kind of file (a DBN or a checkpoint), another precision, or parameters that do
    /// not fit together.
    pub fn load(path: impl AsRef<Path>, device: &B::Device) -> error::Result<Self> {
        load_model(path.as_ref(), device)
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
    if config.visible_units != rbm.visible_units() {
        return mismatch(
            "the visible unit type",
            config.visible_units.to_string(),
            rbm.visible_units().to_string(),
        );
    }
    if config.hidden_units != rbm.hidden_units() {
        return mismatch(
            "the hidden unit type",
            config.hidden_units.to_string(),
            rbm.hidden_units().to_string(),
        );
    }
    Ok(())
}
