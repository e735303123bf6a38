//! DBN files and pre-training checkpoints.

use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use dbn::{Dbn, DbnConfig, DbnError, PassUp, PretrainHistory};
use rbm_burn::{ContrastiveDivergenceConfig, FileProblem, Rbm, RbmConfig, RbmError};
use rbm_burn::{Progress, TrainingObserver};

use crate::common::{noisy_classes, WIDTH};

/// Every parameter of every layer.
fn parameters<B: Backend>(dbn: &Dbn<B>) -> Vec<f32> {
    dbn.layers
        .iter()
        .flat_map(|rbm: &Rbm<B>| {
            [
                rbm.weights.val().flatten::<1>(0, 1),
                rbm.visible_bias(),
                rbm.hidden_bias(),
            ]
        })
        .flat_map(|t| t.into_data().to_vec::<f32>().unwrap())
        .collect()
}

/// The metrics of every epoch, without the timings.
fn metrics(history: &PretrainHistory) -> Vec<(usize, f64, f64, f64)> {
    history
        .layers
        .iter()
        .flat_map(|h| &h.epochs)
        .map(|m| {
            (
                m.epoch,
                m.reconstruction_error,
                m.free_energy_train,
                m.pseudo_log_likelihood,
            )
        })
        .collect()
}

/// Keeps a copy of the checkpoints written at the given (layer, epochs done) points.
pub struct CopyCheckpoints {
    /// Where to copy the checkpoint written at (layer, epochs done).
    pub at: Vec<(usize, usize, PathBuf)>,
    /// Every (layer, epochs done) a checkpoint was written at.
    pub seen: Vec<(usize, usize)>,
}

impl TrainingObserver for CopyCheckpoints {
    fn on_checkpoint(&mut self, progress: Progress, path: &Path) {
        let (layer, epochs_done) = (progress.layer.unwrap(), progress.epoch + 1);
        self.seen.push((layer, epochs_done));
        for (l, e, to) in &self.at {
            if (*l, *e) == (layer, epochs_done) {
                std::fs::copy(path, to).unwrap();
            }
        }
    }
}

fn config() -> DbnConfig {
    let cd = |epochs: usize, persistent: bool| {
        ContrastiveDivergenceConfig::new()
            .with_epochs(epochs)
            .with_batch_size(10)
            .with_persistent(persistent)
            .with_momentum_switch_epoch(1)
            .with_seed(3)
    };
    DbnConfig::new(vec![WIDTH, 10, 8, 6])
        .with_cd(vec![cd(2, false), cd(3, true), cd(2, false)])
        .with_pass_up(PassUp::Samples)
}

/// Pre-training resumed from a checkpoint in the middle of a layer, or at a layer's end, ends
/// with exactly the stack and the history of the uninterrupted run.
pub fn resumed_pretraining_equals_uninterrupted<B: Backend>(device: &B::Device) {
    let data = noisy_classes(60, 2).features_tensor::<B>(device);
    let config = config();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pretrain.ckpt");
    let mid_layer = dir.path().join("mid.ckpt");
    let layer_end = dir.path().join("end.ckpt");
    let mut copies = CopyCheckpoints {
        at: vec![(1, 1, mid_layer.clone()), (0, 2, layer_end.clone())],
        seen: Vec::new(),
    };
    let (full, full_history) = config
        .pretrain_with_checkpoints::<B, _, _>(&data, &mut copies, &path, 1, device)
        .unwrap();
    assert_eq!(
        copies.seen,
        vec![(0, 1), (0, 2), (1, 1), (1, 2), (1, 3), (2, 1), (2, 2)]
    );
    // Resumed with the same or another checkpoint interval.
    for (copy, every) in [(&mid_layer, 1), (&mid_layer, 2), (&layer_end, 3)] {
        let (resumed, history) = config
            .resume_pretraining::<B, _, _>(copy, &data, &mut (), every, device)
            .unwrap();
        assert_eq!(
            parameters(&resumed),
            parameters(&full),
            "{}",
            copy.display()
        );
        assert_eq!(metrics(&history), metrics(&full_history));
    }
    // How often checkpoints are written does not change the result: reading the monitored
    // rows draws nothing from the stream that samples the data passed up.
    let (plain, plain_history) = config.pretrain::<B, _>(&data, device).unwrap();
    assert_eq!(parameters(&plain), parameters(&full));
    assert_eq!(metrics(&plain_history), metrics(&full_history));
    // The saved stack loads as it was.
    let file = dir.path().join("stack.dbn");
    full.save(&file).unwrap();
    let loaded = Dbn::<B>::load(&file, device).unwrap();
    assert_eq!(parameters(&loaded), parameters(&full));
    assert_eq!(loaded.sizes(), full.sizes());
}

/// Wrong files and wrong settings are reported with the file and what is wrong.
pub fn wrong_files_and_settings_are_named<B: Backend>(device: &B::Device) {
    let data = noisy_classes(30, 2).features_tensor::<B>(device);
    let config = config();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pretrain.ckpt");
    config
        .pretrain_with_checkpoints::<B, _, _>(&data, &mut (), &path, 2, device)
        .unwrap();
    let file_error = |result: dbn::Result<()>| match result {
        Err(DbnError::Rbm(RbmError::File { path, problem })) => (path, problem),
        other => panic!("expected a file error, got {other:?}"),
    };
    // Other settings than the checkpoint's.
    let other = DbnConfig::new(vec![WIDTH, 10, 8, 6]).with_pass_up(PassUp::Samples);
    let (named, problem) = file_error(
        other
            .resume_pretraining::<B, _, _>(&path, &data, &mut (), 1, device)
            .map(|_| ()),
    );
    assert_eq!(named, path.display().to_string());
    assert!(
        matches!(problem, FileProblem::Mismatch { ref what, .. } if what == "the pre-training settings"),
        "{problem:?}"
    );
    // A checkpoint is not a DBN, an RBM is not a DBN, a DBN is not a checkpoint.
    let (_, problem) = file_error(Dbn::<B>::load(&path, device).map(|_| ()));
    assert_eq!(
        problem,
        FileProblem::WrongContent {
            expected: "dbn".into(),
            found: "dbn-pretrain-checkpoint".into()
        }
    );
    let rbm_file = dir.path().join("one.rbm");
    RbmConfig::new(WIDTH, 10)
        .init::<B>(device)
        .unwrap()
        .save(&rbm_file)
        .unwrap();
    let (_, problem) = file_error(Dbn::<B>::load(&rbm_file, device).map(|_| ()));
    assert_eq!(
        problem,
        FileProblem::WrongContent {
            expected: "dbn".into(),
            found: "rbm".into()
        }
    );
    let (_, problem) = file_error(
        config
            .resume_pretraining::<B, _, _>(&rbm_file, &data, &mut (), 1, device)
            .map(|_| ()),
    );
    assert_eq!(
        problem,
        FileProblem::WrongContent {
            expected: "dbn-pretrain-checkpoint".into(),
            found: "rbm".into()
        }
    );
    // A checkpoint cut short by a crash while copying it.
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
    let (_, problem) = file_error(
        config
            .resume_pretraining::<B, _, _>(&path, &data, &mut (), 1, device)
            .map(|_| ()),
    );
    assert!(
        matches!(problem, FileProblem::Truncated { .. }),
        "{problem:?}"
    );
    // Checkpoints every 0 epochs.
    assert_eq!(
        config
            .pretrain_with_checkpoints::<B, _, _>(&data, &mut (), &path, 0, device)
            .map(|_| ())
            .unwrap_err(),
        DbnError::InvalidHyperparameter {
            name: "checkpoint every",
            value: "0".into(),
            reason: "must be at least 1 epoch",
        }
    );
}
