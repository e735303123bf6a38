//! Progress and history of greedy pre-training.

use rbm_burn::{EpochMetrics, TrainingHistory, TrainingObserver};

/// Receives pre-training progress, layer by layer. Every method has an empty default.
///
/// To reuse an RBM [`TrainingObserver`] (a progress bar, a closure over [`EpochMetrics`]) for
/// every layer, wrap it in [`EveryLayer`].
pub trait PretrainObserver {
    /// RBM `layer` (0 is the bottom one) of `n_layers` starts training.
    fn on_layer_start(
        &mut self,
        _layer: usize,
        _n_layers: usize,
        _n_visible: usize,
        _n_hidden: usize,
    ) {
    }

    /// A batch of RBM `layer` has been used for an update.
    fn on_batch_end(&mut self, _layer: usize, _epoch: usize, _batch: usize, _n_batches: usize) {}

    /// An epoch of RBM `layer` ended with these metrics.
    fn on_epoch_end(&mut self, _layer: usize, _metrics: &EpochMetrics) {}

    /// A pre-training checkpoint was written to `path` after `epochs_done` epochs of RBM
    /// `layer`.
    fn on_checkpoint(&mut self, _layer: usize, _epochs_done: usize, _path: &std::path::Path) {}
}

impl PretrainObserver for () {}

/// Forwards the progress of every layer to one RBM [`TrainingObserver`].
#[derive(Debug, Default)]
pub struct EveryLayer<O>(pub O);

impl<O: TrainingObserver> PretrainObserver for EveryLayer<O> {
    fn on_batch_end(&mut self, _layer: usize, epoch: usize, batch: usize, n_batches: usize) {
        self.0.on_batch_end(epoch, batch, n_batches);
    }

    fn on_epoch_end(&mut self, _layer: usize, metrics: &EpochMetrics) {
        self.0.on_epoch_end(metrics);
    }

    fn on_checkpoint(&mut self, _layer: usize, epochs_done: usize, path: &std::path::Path) {
        self.0.on_checkpoint(epochs_done, path);
    }
}

/// Adapts a [`PretrainObserver`] to the RBM learner for one layer.
pub(crate) struct LayerObserver<'a, O: ?Sized> {
    pub(crate) layer: usize,
    pub(crate) inner: &'a mut O,
}

impl<O: PretrainObserver + ?Sized> TrainingObserver for LayerObserver<'_, O> {
    fn on_batch_end(&mut self, epoch: usize, batch: usize, n_batches: usize) {
        self.inner.on_batch_end(self.layer, epoch, batch, n_batches);
    }

    fn on_epoch_end(&mut self, metrics: &EpochMetrics) {
        self.inner.on_epoch_end(self.layer, metrics);
    }
}

/// The training history of every RBM of the stack, bottom first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PretrainHistory {
    /// One history per RBM layer.
    pub layers: Vec<TrainingHistory>,
}
