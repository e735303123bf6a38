//! Labelled examples for fine-tuning: a Burn [`Dataset`] of [`ClassItem`]s and the
//! [`Batcher`] that turns them into tensors for a Burn `DataLoader`.

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};

use crate::error::{DbnError, Result};

/// One labelled example.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassItem {
    /// The input features.
    pub features: Vec<f32>,
    /// The class, from 0.
    pub label: usize,
}

impl AsRef<[f32]> for ClassItem {
    /// The features, so that a labelled dataset can feed pre-training through
    /// [`rbm_burn::DatasetSource`] as well.
    fn as_ref(&self) -> &[f32] {
        &self.features
    }
}

/// Labelled examples held in memory as one row-major block of features.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassDataset {
    features: Vec<f32>,
    labels: Vec<usize>,
    width: usize,
}

impl ClassDataset {
    /// `features` holds `labels.len()` rows of `width` values each.
    ///
    /// # Errors
    /// [`DbnError::EmptyData`] without labels, [`DbnError::InvalidHyperparameter`] for a zero
    /// width, [`DbnError::LabelCountMismatch`] when the sizes disagree,
    /// [`DbnError::NonFiniteFeature`].
    pub fn new(features: Vec<f32>, width: usize, labels: Vec<usize>) -> Result<Self> {
        if labels.is_empty() {
            return Err(DbnError::EmptyData);
        }
        if width == 0 {
            return Err(crate::error::invalid(
                "width",
                0,
                "at least one feature per example",
            ));
        }
        if features.len() != labels.len() * width {
            return Err(DbnError::LabelCountMismatch {
                values: features.len(),
                width,
                labels: labels.len(),
            });
        }
        if let Some(index) = features.iter().position(|v| !v.is_finite()) {
            return Err(DbnError::NonFiniteFeature { row: index / width });
        }
        Ok(Self {
            features,
            labels,
            width,
        })
    }

    /// Number of features per example.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The labels, in order.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// The features as one `[len, width]` tensor.
    ///
    /// # Shapes
    /// - output: `[len, width]`
    pub fn features_tensor<B: Backend>(&self, device: &B::Device) -> Tensor<B, 2> {
        Tensor::from_data(
            TensorData::new(self.features.clone(), [self.labels.len(), self.width]),
            device,
        )
    }
}

impl Dataset<ClassItem> for ClassDataset {
    fn get(&self, index: usize) -> Option<ClassItem> {
        let label = *self.labels.get(index)?;
        let features = self.features[index * self.width..(index + 1) * self.width].to_vec();
        Some(ClassItem { features, label })
    }

    fn len(&self) -> usize {
        self.labels.len()
    }
}

/// A batch of labelled examples on the device.
#[derive(Debug, Clone)]
pub struct ClassBatch<B: Backend> {
    /// The features.
    ///
    /// # Shapes
    /// `[batch, n_features]`
    pub inputs: Tensor<B, 2>,
    /// The classes.
    ///
    /// # Shapes
    /// `[batch]`
    pub targets: Tensor<B, 1, Int>,
}

/// Stacks [`ClassItem`]s into a [`ClassBatch`]. Items are assumed checked (the fine-tuning
/// entry points check the whole data set first), since a batcher cannot return an error.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClassBatcher;

impl<B: Backend> Batcher<B, ClassItem, ClassBatch<B>> for ClassBatcher {
    fn batch(&self, items: Vec<ClassItem>, device: &B::Device) -> ClassBatch<B> {
        let rows = items.len();
        let width = items.first().map_or(0, |item| item.features.len());
        let mut features = Vec::with_capacity(rows * width);
        let mut labels = Vec::with_capacity(rows);
        for item in items {
            features.extend_from_slice(&item.features);
            labels.push(item.label as i64);
        }
        ClassBatch {
            inputs: Tensor::from_data(TensorData::new(features, [rows, width]), device),
            targets: Tensor::from_data(TensorData::new(labels, [rows]), device),
        }
    }
}

/// Checks every example of `dataset`: a common `width`, finite values, labels below
/// `n_classes`.
///
/// # Errors
/// [`DbnError::EmptyData`], [`DbnError::FeatureWidth`], [`DbnError::NonFiniteFeature`],
/// [`DbnError::LabelOutOfRange`].
pub fn check_dataset<D: Dataset<ClassItem> + ?Sized>(
    dataset: &D,
    width: usize,
    n_classes: usize,
) -> Result<()> {
    if dataset.is_empty() {
        return Err(DbnError::EmptyData);
    }
    for row in 0..dataset.len() {
        let item = dataset.get(row).ok_or(DbnError::EmptyData)?;
        if item.features.len() != width {
            return Err(DbnError::FeatureWidth {
                row,
                expected: width,
                actual: item.features.len(),
            });
        }
        if item.features.iter().any(|v| !v.is_finite()) {
            return Err(DbnError::NonFiniteFeature { row });
        }
        if item.label >= n_classes {
            return Err(DbnError::LabelOutOfRange {
                row,
                label: item.label,
                n_classes,
            });
        }
    }
    Ok(())
}
