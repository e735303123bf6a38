//! The observer through which every training loop of the workspace reports progress: RBM
//! and CRBM training, a DBN's greedy pre-training (with the layer in [`Progress::layer`]) and
//! its fine-tuning (with its own metrics type). One progress bar or logger serves all three.

use std::path::Path;

use crate::metrics::EpochMetrics;

/// Where training stands when an observer hears from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The layer in training when a stack is pre-trained layer by layer (0 is the bottom
    /// one), `None` for a single model and for fine-tuning.
    pub layer: Option<usize>,
    /// The epoch (0-based, continuing across resumed runs).
    pub epoch: usize,
    /// The batch within the epoch (0-based); at the end of an epoch, its last batch.
    pub batch: usize,
    /// Batches per epoch.
    pub batches: usize,
}

/// Receives training progress: implement it to draw progress bars or log metrics. Every
/// method does nothing by default; `()` is the observer that ignores everything, and any
/// `FnMut(&M)` closure observes epochs. `M` is the per-epoch record: [`EpochMetrics`] for
/// contrastive divergence (RBMs, CRBMs, a DBN's pre-training), `dbn::FineTuneMetrics` for
/// fine-tuning.
pub trait TrainingObserver<M = EpochMetrics> {
    /// Layer `layer` of `layers` (a stack's RBM of `n_visible` × `n_hidden` units) starts
    /// training.
    fn on_layer_start(
        &mut self,
        _layer: usize,
        _layers: usize,
        _n_visible: usize,
        _n_hidden: usize,
    ) {
    }

    /// After each parameter update. No data is read back from the device for it, so it is
    /// cheap enough for a progress bar.
    fn on_batch_end(&mut self, _progress: Progress) {}

    /// After each epoch, with what it measured.
    fn on_epoch_end(&mut self, _progress: Progress, _metrics: &M) {}

    /// After a checkpoint was written to `path`, at the end of epoch `progress.epoch`.
    fn on_checkpoint(&mut self, _progress: Progress, _path: &Path) {}
}

impl<M> TrainingObserver<M> for () {}

impl<M, F: FnMut(&M)> TrainingObserver<M> for F {
    fn on_epoch_end(&mut self, _progress: Progress, metrics: &M) {
        self(metrics)
    }
}
