//! Training data for the upper layers: the input passed up through the trained layers below,
//! one batch at a time.

use std::cell::RefCell;
use std::marker::PhantomData;

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;
use rbm_burn::{RbmError, TrainingData, VisibleUnits};

use crate::config::PassUp;
use crate::stack::{input_units, StackLayer};

/// The rows of `data` transformed by `below` (bottom first). Only the rows of the batch being
/// built are ever on the device, so a layer never holds the whole transformed data set.
pub(crate) struct Propagated<'a, B: Backend, D, M> {
    pub(crate) data: &'a D,
    pub(crate) below: &'a [M],
    pub(crate) pass_up: PassUp,
    pub(crate) rng: RefCell<Xoshiro256PlusPlus>,
    pub(crate) backend: PhantomData<B>,
    /// Seed of the stream that samples the monitored rows afresh at every read, so that those
    /// reads draw nothing from `rng`.
    pub(crate) monitor_seed: u64,
}

impl<B: Backend, D: TrainingData<B>, M: StackLayer<B>> Propagated<'_, B, D, M> {
    /// Passes `visible` (rows for the bottom layer) up through every layer of `below`,
    /// sampling from `rng` for [`PassUp::Samples`].
    fn up(
        &self,
        visible: Tensor<B, 2>,
        rng: &mut Xoshiro256PlusPlus,
    ) -> rbm_burn::Result<Tensor<B, 2>> {
        self.below
            .iter()
            .try_fold(visible, |v, layer| layer.pass_up(v, self.pass_up, rng))
    }
}

impl<B: Backend, D: TrainingData<B>, M: StackLayer<B>> TrainingData<B> for Propagated<'_, B, D, M> {
    fn n_rows(&self) -> usize {
        self.data.n_rows()
    }

    fn n_columns(&self) -> rbm_burn::Result<usize> {
        match self.below.last() {
            Some(layer) if self.data.n_rows() > 0 => Ok(layer.output_width()),
            Some(_) => Err(RbmError::EmptyData),
            None => self.data.n_columns(),
        }
    }

    fn check_values(&self, units: &VisibleUnits) -> rbm_burn::Result<()> {
        // The bottom layer checked the input; what the layers pass up is in [0, 1].
        match self.below {
            [] => self.data.check_values(units),
            _ => Ok(()),
        }
    }

    fn rows(
        &self,
        indices: &[usize],
        units: &VisibleUnits,
        device: &B::Device,
    ) -> rbm_burn::Result<Tensor<B, 2>> {
        self.read(indices, units, device, false)
    }

    fn monitor_rows(
        &self,
        indices: &[usize],
        units: &VisibleUnits,
        device: &B::Device,
    ) -> rbm_burn::Result<Tensor<B, 2>> {
        self.read(indices, units, device, true)
    }
}

impl<B: Backend, D: TrainingData<B>, M: StackLayer<B>> Propagated<'_, B, D, M> {
    /// The rows at `indices` passed up; the monitored rows are sampled from a fresh stream
    /// of `monitor_seed`, the training batches from `rng`.
    fn read(
        &self,
        indices: &[usize],
        units: &VisibleUnits,
        device: &B::Device,
        monitor: bool,
    ) -> rbm_burn::Result<Tensor<B, 2>> {
        let read = |units: &VisibleUnits| match monitor {
            true => self.data.monitor_rows(indices, units, device),
            false => self.data.rows(indices, units, device),
        };
        if self.below.is_empty() {
            return read(units);
        }
        let input = read(&input_units(self.below.first()))?;
        match monitor {
            true => self.up(
                input,
                &mut Xoshiro256PlusPlus::seed_from_u64(self.monitor_seed),
            ),
            false => self.up(input, &mut self.rng.borrow_mut()),
        }
    }
}

/// Column means of `data`, read in chunks of `chunk` rows.
///
/// # Shapes
/// - output: `[1, n_columns]`
pub(crate) fn column_means<B: Backend, D: TrainingData<B>>(
    data: &D,
    units: &VisibleUnits,
    chunk: usize,
    device: &B::Device,
) -> rbm_burn::Result<Tensor<B, 2>> {
    let n_rows = data.n_rows();
    let columns = data.n_columns()?;
    let mut sum = Tensor::<B, 2>::zeros([1, columns], device);
    let indices: Vec<usize> = (0..n_rows).collect();
    for rows in indices.chunks(chunk.max(1)) {
        sum = sum + data.rows(rows, units, device)?.sum_dim(0);
    }
    Ok(sum / n_rows as f64)
}
