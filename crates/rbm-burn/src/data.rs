//! Training data: where batches come from, and the checks every batch must pass.
//!
//! Training reads data through [`TrainingData`], which is implemented for a tensor already on
//! the device and, through [`DatasetSource`], for any Burn [`Dataset`] whose items are rows of
//! `f32`. A dataset is streamed: only the rows of the current batch are ever built as a tensor.

use std::marker::PhantomData;

use burn::data::dataset::Dataset;
use burn::tensor::{backend::Backend, ElementConversion, Tensor, TensorData};

use crate::error::{RbmError, Result};
use crate::units::VisibleUnits;

/// A source of training rows for the contrastive-divergence learner.
pub trait TrainingData<B: Backend> {
    /// Number of rows.
    fn n_rows(&self) -> usize;

    /// Number of columns of every row.
    ///
    /// # Errors
    /// [`RbmError::EmptyData`] when there are no rows to look at.
    fn n_columns(&self) -> Result<usize>;

    /// Checks every value once, before training, where that is cheap, against what `units`
    /// can take. Sources that stream their rows check each batch as it is built instead.
    ///
    /// # Errors
    /// [`RbmError::NonFiniteData`], [`RbmError::ValueOutOfRange`] or
    /// [`RbmError::InvalidGroup`].
    fn check_values(&self, units: &VisibleUnits) -> Result<()>;

    /// The rows at `indices`, in that order, as a tensor on `device`. Streamed sources check
    /// each row against `units` here.
    ///
    /// # Shapes
    /// - output: `[indices.len(), n_columns]`
    ///
    /// # Errors
    /// Rows of the wrong width or with invalid values (for streamed sources).
    fn rows(
        &self,
        indices: &[usize],
        units: &VisibleUnits,
        device: &B::Device,
    ) -> Result<Tensor<B, 2>>;

    /// The rows at `indices` for the per-epoch metrics, which the learner reads at the start
    /// of every `fit` call. The default is [`Self::rows`]; sources whose rows are random (data
    /// passed up through sampled hidden layers) override it so that reading the monitored rows
    /// draws nothing from the stream their training batches come from: then the batches do not
    /// depend on how many `fit` calls a run is split into, which resuming from checkpoints
    /// relies on.
    ///
    /// # Errors
    /// As [`Self::rows`].
    fn monitor_rows(
        &self,
        indices: &[usize],
        units: &VisibleUnits,
        device: &B::Device,
    ) -> Result<Tensor<B, 2>> {
        self.rows(indices, units, device)
    }
}

impl<B: Backend> TrainingData<B> for Tensor<B, 2> {
    fn n_rows(&self) -> usize {
        self.dims()[0]
    }

    fn n_columns(&self) -> Result<usize> {
        match self.dims() {
            [0, _] => Err(RbmError::EmptyData),
            [_, columns] => Ok(columns),
        }
    }

    fn check_values(&self, units: &VisibleUnits) -> Result<()> {
        units.check_data(self)
    }

    fn rows(
        &self,
        indices: &[usize],
        _units: &VisibleUnits,
        device: &B::Device,
    ) -> Result<Tensor<B, 2>> {
        let first = indices.first().copied().unwrap_or(0);
        let contiguous = indices.iter().enumerate().all(|(i, &row)| row == first + i);
        let rows = if contiguous {
            self.clone().narrow(0, first, indices.len())
        } else {
            crate::kernels::gather_rows(self, indices)
        };
        Ok(rows.to_device(device))
    }
}

/// Streams training rows from a Burn [`Dataset`] whose items are rows of `f32` (a `Vec<f32>`,
/// an array, or anything that is `AsRef<[f32]>`; map other item types with Burn's
/// `MapperDataset`).
///
/// Rows are checked as each batch is built, and errors name the offending row.
pub struct DatasetSource<D, I> {
    dataset: D,
    item: PhantomData<fn() -> I>,
}

impl<D, I> DatasetSource<D, I>
where
    D: Dataset<I>,
    I: AsRef<[f32]>,
{
    /// Wraps `dataset`.
    pub fn new(dataset: D) -> Self {
        Self {
            dataset,
            item: PhantomData,
        }
    }

    /// The wrapped dataset.
    pub fn into_inner(self) -> D {
        self.dataset
    }

    fn item(&self, row: usize) -> Result<I> {
        self.dataset.get(row).ok_or(RbmError::MissingRow { row })
    }
}

impl<B, D, I> TrainingData<B> for DatasetSource<D, I>
where
    B: Backend,
    D: Dataset<I>,
    I: AsRef<[f32]>,
{
    fn n_rows(&self) -> usize {
        self.dataset.len()
    }

    fn n_columns(&self) -> Result<usize> {
        if self.dataset.is_empty() {
            return Err(RbmError::EmptyData);
        }
        Ok(self.item(0)?.as_ref().len())
    }

    fn check_values(&self, _units: &VisibleUnits) -> Result<()> {
        Ok(())
    }

    fn rows(
        &self,
        indices: &[usize],
        units: &VisibleUnits,
        device: &B::Device,
    ) -> Result<Tensor<B, 2>> {
        let width = <Self as TrainingData<B>>::n_columns(self)?;
        let mut values = Vec::with_capacity(indices.len() * width);
        for &row in indices {
            let item = self.item(row)?;
            let item = item.as_ref();
            if item.len() != width {
                return Err(RbmError::WidthMismatch {
                    expected: width,
                    actual: item.len(),
                });
            }
            units.check_row(item, row)?;
            values.extend_from_slice(item);
        }
        Ok(Tensor::from_data(
            TensorData::new(values, [indices.len(), width]),
            device,
        ))
    }
}

/// Checks that data of shape `dims` has rows and `n_visible` columns.
pub(crate) fn check_width(dims: [usize; 2], n_visible: usize) -> Result<()> {
    match dims {
        [0, _] => Err(RbmError::EmptyData),
        [_, columns] if columns != n_visible => Err(RbmError::WidthMismatch {
            expected: n_visible,
            actual: columns,
        }),
        _ => Ok(()),
    }
}

/// Checks that every value is finite, naming the first row that is not.
pub(crate) fn check_finite<B: Backend>(data: &Tensor<B, 2>) -> Result<()> {
    let non_finite = data.clone().is_finite().bool_not().float();
    if non_finite.clone().sum().into_scalar().elem::<f64>() > 0.0 {
        return Err(non_finite_row(non_finite));
    }
    Ok(())
}

fn non_finite_row<B: Backend>(non_finite: Tensor<B, 2>) -> RbmError {
    let row = non_finite
        .sum_dim(1)
        .squeeze_dim::<1>(1)
        .argmax(0)
        .into_scalar();
    RbmError::NonFiniteData {
        row: Some(num_row(row)),
    }
}

/// Checks that every value is finite and in `[0, 1]`, with one read-back from the device.
pub(crate) fn check_finite_in_unit_interval<B: Backend>(data: &Tensor<B, 2>) -> Result<()> {
    let non_finite = data.clone().is_finite().bool_not().float();
    let summary = Tensor::cat(
        vec![
            non_finite.clone().sum().reshape([1]),
            data.clone().min().reshape([1]),
            data.clone().max().reshape([1]),
        ],
        0,
    );
    let summary: Vec<f64> = summary.into_data().iter::<f64>().collect();
    if summary[0] > 0.0 {
        return Err(non_finite_row(non_finite));
    }
    let (min, max) = (summary[1], summary[2]);
    for (value, bad) in [(min, min < 0.0), (max, max > 1.0)] {
        if bad {
            let row = data
                .clone()
                .equal_elem(value)
                .float()
                .sum_dim(1)
                .squeeze_dim::<1>(1)
                .argmax(0)
                .into_scalar();
            return Err(RbmError::ValueOutOfRange {
                value,
                row: Some(num_row(row)),
            });
        }
    }
    Ok(())
}

fn num_row<E: ElementConversion>(row: E) -> usize {
    row.elem::<i64>() as usize
}

/// Checks that every value is exactly 0 or 1, with one read-back from the device.
pub(crate) fn check_binary<B: Backend>(data: &Tensor<B, 2>) -> Result<()> {
    check_finite_in_unit_interval(data)?;
    // For values in [0, 1], x (1 - x) is zero exactly at 0 and 1 and positive elsewhere.
    let spread = data.clone() * (data.clone().neg() + 1.0);
    let worst = spread.clone().max().into_scalar().elem::<f64>();
    if worst > 0.0 {
        let flat = data.clone().flatten::<1>(0, 1);
        let index = spread.flatten::<1>(0, 1).argmax(0);
        let value = flat.select(0, index).into_scalar().elem::<f64>();
        return Err(RbmError::NotBinary { value });
    }
    Ok(())
}

/// Stacks host rows of equal width into a `[rows, width]` tensor on `device`.
///
/// # Errors
/// [`RbmError::EmptyData`] for no rows, [`RbmError::WidthMismatch`] for a row whose width
/// differs from the first row's.
pub fn rows_to_tensor<B: Backend, R: AsRef<[f32]>>(
    rows: &[R],
    device: &B::Device,
) -> Result<Tensor<B, 2>> {
    let width = rows.first().ok_or(RbmError::EmptyData)?.as_ref().len();
    let mut values = Vec::with_capacity(rows.len() * width);
    for row in rows {
        let row = row.as_ref();
        if row.len() != width {
            return Err(RbmError::WidthMismatch {
                expected: width,
                actual: row.len(),
            });
        }
        values.extend_from_slice(row);
    }
    Ok(Tensor::from_data(
        TensorData::new(values, [rows.len(), width]),
        device,
    ))
}
