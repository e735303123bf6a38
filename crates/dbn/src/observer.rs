//! The history of greedy pre-training, and the adapter that tells an observer which layer the
//! RBM learner is training.

use rbm_burn::{EpochMetrics, Progress, TrainingHistory, TrainingObserver};

/// Forwards an RBM learner's progress to an observer of the whole stack, with the layer set.
pub(crate) struct LayerObserver<'a, O: ?Sized> {
    pub(crate) layer: usize,
    pub(crate) inner: &'a mut O,
}

impl<O: TrainingObserver + ?Sized> LayerObserver<'_, O> {
    fn at(&self, progress: Progress) -> Progress {
        Progress {
            layer: Some(self.layer),
            ..progress
        }
    }
}

impl<O: TrainingObserver + ?Sized> TrainingObserver for LayerObserver<'_, O> {
    fn on_batch_end(&mut self, progress: Progress) {
        let progress = self.at(progress);
        self.inner.on_batch_end(progress);
    }

    fn on_epoch_end(&mut self, progress: Progress, metrics: &EpochMetrics) {
        let progress = self.at(progress);
        self.inner.on_epoch_end(progress, metrics);
    }
}

/// The training history of every RBM of the stack, bottom first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PretrainHistory {
    /// One history per RBM layer.
    pub layers: Vec<TrainingHistory>,
}
