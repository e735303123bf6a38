//! Saving and loading with Burn's recorders, and agreement between backends.

use burn::module::Module;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder};
use burn::tensor::backend::Backend;
use rbm_burn::synthetic::bars_and_stripes;
use rbm_burn::{
    rows_to_tensor, ContrastiveDivergence, ContrastiveDivergenceConfig, EnumeratedLayer,
    EpochMetrics, FileProblem, HiddenUnits, Rbm, RbmConfig, RbmError, SparsityConfig,
    TrainingObserver, VisibleUnits,
};

use crate::common::*;

/// Save → load through a Burn recorder restores the parameters bit for bit, so every output is
/// identical too.
pub fn save_and_load_round_trip<B: Backend>(device: &B::Device) {
    let data = rows_to_tensor::<B, _>(&bars_and_stripes(3), device).unwrap();
    let rbm = RbmConfig::new(9, 5).init::<B>(device).unwrap();
    let (rbm, _) = ContrastiveDivergenceConfig::new()
        .with_batch_size(4)
        .with_epochs(2)
        .init::<B, Rbm<B>>()
        .unwrap()
        .fit(rbm, &data)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rbm");
    let recorder = NamedMpkFileRecorder::<FullPrecisionSettings>::new();
    rbm.clone().save_file(path.clone(), &recorder).unwrap();
    let loaded: Rbm<B> = RbmConfig::new(9, 5)
        .init::<B>(device)
        .unwrap()
        .load_file(path, &recorder, device)
        .unwrap();
    let (a, b) = (HostRbm::from_device(&rbm), HostRbm::from_device(&loaded));
    assert_eq!(
        (a.weights, a.visible_bias, a.hidden_bias),
        (b.weights, b.visible_bias, b.hidden_bias)
    );
    assert_eq!(
        to_f64(rbm.free_energy(data.clone())),
        to_f64(loaded.free_energy(data.clone()))
    );
    assert_eq!(
        to_f64(rbm.transform(data.clone())),
        to_f64(loaded.transform(data))
    );
}

/// Deterministic quantities — probabilities, mean-field reconstructions, free energies, log Z
/// and the exact gradient — agree with the NdArray reference to float tolerance. (Sampled ones
/// are not compared: both backends get the same uniforms, but a probability that differs by
/// 1e-7 across backends can still fall on the other side of one, flipping a sample.)
pub fn agrees_with_ndarray<B: Backend>(device: &B::Device) {
    type Reference = burn::backend::NdArray;
    let reference_device = Default::default();
    let host = HostRbm::random(9, 7, 1.0, 31);
    let (rbm, reference) = (
        host.to_device::<B>(device),
        host.to_device::<Reference>(&reference_device),
    );
    let rows: Vec<Vec<f64>> = bars_and_stripes(3)
        .into_iter()
        .map(|r| r.into_iter().map(f64::from).collect())
        .collect();
    let (data, reference_data) = (
        rows_tensor::<B>(&rows, device),
        rows_tensor::<Reference>(&rows, &reference_device),
    );
    let close = |a: Vec<f64>, b: Vec<f64>, what: &str| {
        let diff = max_abs_diff(&a, &b);
        assert!(diff < 1e-4, "{what}: {diff}");
    };
    close(
        to_f64(rbm.hidden_probs(data.clone())),
        to_f64(reference.hidden_probs(reference_data.clone())),
        "hidden_probs",
    );
    close(
        to_f64(rbm.reconstruct(data.clone())),
        to_f64(reference.reconstruct(reference_data.clone())),
        "reconstruct",
    );
    close(
        to_f64(rbm.free_energy(data.clone())),
        to_f64(reference.free_energy(reference_data.clone())),
        "free_energy",
    );
    for layer in [EnumeratedLayer::Visible, EnumeratedLayer::Hidden] {
        let (a, b) = (
            rbm.log_partition_enumerating(layer).unwrap(),
            reference.log_partition_enumerating(layer).unwrap(),
        );
        assert!((a - b).abs() < 1e-4, "log Z {layer:?}: {a} vs {b}");
    }
    let gradient = rbm_burn::exact_log_likelihood_gradient(&rbm, data).unwrap();
    let reference_gradient =
        rbm_burn::exact_log_likelihood_gradient(&reference, reference_data).unwrap();
    for (what, a, b) in [
        (
            "exact gradient (weights)",
            to_f64(gradient.weights.val()),
            to_f64(reference_gradient.weights.val()),
        ),
        (
            "exact gradient (visible bias)",
            to_f64(gradient.visible_bias()),
            to_f64(reference_gradient.visible_bias()),
        ),
        (
            "exact gradient (hidden bias)",
            to_f64(gradient.hidden_bias()),
            to_f64(reference_gradient.hidden_bias()),
        ),
    ] {
        close(a, b, what);
    }
}

/// Every parameter of `rbm`, σ's included, in f64.
fn all_parameters<B: Backend>(rbm: &Rbm<B>) -> Vec<f64> {
    let mut values = to_f64(rbm.weights.val());
    values.extend(to_f64(rbm.visible_bias()));
    values.extend(to_f64(rbm.hidden_bias()));
    if let Some(sigma) = rbm.sigma() {
        values.extend(to_f64(sigma));
    }
    values
}

/// `Rbm::save` → `Rbm::load` keeps the parameters bit for bit and the unit types, and every
/// kind of damage is reported as its own error naming the file.
pub fn rbm_files_round_trip_and_name_what_is_wrong<B: Backend>(device: &B::Device) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.rbm");
    let config = RbmConfig::new(6, 4)
        .with_visible_units(VisibleUnits::Gaussian { learn_sigma: true })
        .with_hidden_units(HiddenUnits::Relu)
        .with_initial_sigma(0.5);
    let rbm = config.init::<B>(device).unwrap();
    rbm.save(&path).unwrap();
    let loaded = Rbm::<B>::load(&path, device).unwrap();
    assert_eq!(all_parameters(&loaded), all_parameters(&rbm));
    assert_eq!(
        (loaded.visible_units(), loaded.hidden_units()),
        (rbm.visible_units(), rbm.hidden_units())
    );
    // Equal models give equal files, byte for byte (the parameter ids are numbered), and a
    // loaded model's parameters get fresh ids.
    let again = path.with_extension("again");
    loaded.save(&again).unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(&again).unwrap()
    );
    assert_ne!(
        loaded.weights.id,
        Rbm::<B>::load(&path, device).unwrap().weights.id
    );
    assert_eq!(
        all_parameters(&config.init_from_file::<B>(&path, device).unwrap()),
        all_parameters(&rbm)
    );

    let named = |problem: FileProblem| RbmError::File {
        path: path.display().to_string(),
        problem,
    };
    // The file is intact but is another model than the config describes.
    assert_eq!(
        RbmConfig::new(6, 5)
            .with_visible_units(VisibleUnits::Gaussian { learn_sigma: true })
            .with_hidden_units(HiddenUnits::Relu)
            .init_from_file::<B>(&path, device)
            .map(|_| ())
            .unwrap_err(),
        named(FileProblem::Mismatch {
            what: "the model size (visible × hidden)".into(),
            expected: "6 × 5".into(),
            found: "6 × 4".into(),
        })
    );
    assert!(matches!(
        RbmConfig::new(6, 4).init_from_file::<B>(&path, device).map(|_| ()),
        Err(RbmError::File { problem: FileProblem::Mismatch { ref what, .. }, .. })
            if what == "the visible unit type"
    ));
    // A checkpoint is not a model, and a model is not a checkpoint.
    let learner = ContrastiveDivergenceConfig::new()
        .init::<B, Rbm<B>>()
        .unwrap();
    learner.save_checkpoint(&rbm, &path).unwrap();
    assert_eq!(
        Rbm::<B>::load(&path, device).map(|_| ()).unwrap_err(),
        named(FileProblem::WrongContent {
            expected: "rbm".into(),
            found: "rbm cd-checkpoint".into()
        })
    );
    rbm.save(&path).unwrap();
    assert_eq!(
        ContrastiveDivergence::<B>::load_checkpoint(&path, device)
            .map(|_| ())
            .unwrap_err(),
        named(FileProblem::WrongContent {
            expected: "rbm cd-checkpoint".into(),
            found: "rbm".into()
        })
    );
    // Cut short, damaged, or not ours at all.
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    assert_eq!(
        Rbm::<B>::load(&path, device).map(|_| ()).unwrap_err(),
        named(FileProblem::Truncated {
            expected: bytes.len() as u64,
            found: (bytes.len() / 2) as u64
        })
    );
    let mut damaged = bytes.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 0x10;
    std::fs::write(&path, &damaged).unwrap();
    assert!(matches!(
        Rbm::<B>::load(&path, device).map(|_| ()),
        Err(RbmError::File { problem: FileProblem::Corrupt { ref reason }, .. })
            if reason.contains("checksum")
    ));
    // A raw Burn record is not an rbm-burn file.
    let recorder = NamedMpkFileRecorder::<FullPrecisionSettings>::new();
    let raw = dir.path().join("raw");
    rbm.clone().save_file(raw.clone(), &recorder).unwrap();
    let raw = raw.with_extension("mpk");
    assert_eq!(
        Rbm::<B>::load(&raw, device).map(|_| ()).unwrap_err(),
        RbmError::File {
            path: raw.display().to_string(),
            problem: FileProblem::NotAnRbmBurnFile
        }
    );
    let missing = dir.path().join("missing.rbm");
    assert!(matches!(
        Rbm::<B>::load(&missing, device).map(|_| ()),
        Err(RbmError::File { ref path, problem: FileProblem::Io { kind: std::io::ErrorKind::NotFound, .. } })
            if path.ends_with("missing.rbm")
    ));
}

/// A run resumed from the checkpoint written halfway ends with exactly the parameters, and
/// reports exactly the metrics, of the uninterrupted run — for every kind of learner state:
/// momentum, persistent chains, the sparsity average, learned σ.
pub fn resumed_training_equals_uninterrupted_training<B: Backend>(device: &B::Device) {
    let data = rows_to_tensor::<B, _>(&bars_and_stripes(3), device)
        .unwrap()
        .repeat_dim(0, 3);
    let sparse_pcd = (
        RbmConfig::new(9, 6),
        ContrastiveDivergenceConfig::new()
            .with_persistent(true)
            .with_final_learning_rate(Some(0.01))
            .with_sparsity(Some(SparsityConfig::new(0.1, 0.5))),
    );
    let gaussian_cd2 = (
        RbmConfig::new(9, 6).with_visible_units(VisibleUnits::Gaussian { learn_sigma: true }),
        ContrastiveDivergenceConfig::new()
            .with_k(2)
            .with_learning_rate(0.01),
    );
    for (rbm_config, cd_config) in [sparse_pcd, gaussian_cd2] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.ckpt");
        let halfway = dir.path().join("halfway.ckpt");
        let cd_config = cd_config
            .with_batch_size(8)
            .with_epochs(6)
            .with_momentum_switch_epoch(2)
            .with_monitor_size(20);
        // The uninterrupted run, keeping a copy of the checkpoint after epoch 3 as a crash
        // after it would leave it.
        let mut copy_halfway = CopyCheckpoint {
            at: 3,
            to: halfway.clone(),
            seen: Vec::new(),
        };
        let (full, full_history) = cd_config
            .init::<B, Rbm<B>>()
            .unwrap()
            .with_checkpoints(&path, 3)
            .unwrap()
            .fit_with(
                rbm_config.init::<B>(device).unwrap(),
                &data,
                None,
                &mut copy_halfway,
            )
            .unwrap();
        assert_eq!(copy_halfway.seen, vec![3, 6]);

        let (mut learner, rbm) =
            ContrastiveDivergence::<B>::load_checkpoint(&halfway, device).unwrap();
        assert_eq!(learner.epoch(), 3);
        let (resumed, resumed_history) = learner.fit(rbm, &data).unwrap();
        assert_eq!(all_parameters(&resumed), all_parameters(&full));
        let metrics = |h: &[EpochMetrics]| -> Vec<(usize, f64, f64, f64)> {
            h.iter()
                .map(|m| {
                    (
                        m.epoch,
                        m.reconstruction_error,
                        m.free_energy_train,
                        m.momentum,
                    )
                })
                .collect()
        };
        assert_eq!(
            metrics(&resumed_history.epochs),
            metrics(&full_history.epochs[3..])
        );
        // The final checkpoint holds the final model, and a finished learner does nothing more.
        let (mut done, last) = ContrastiveDivergence::<B>::load_checkpoint(&path, device).unwrap();
        assert_eq!(all_parameters(&last), all_parameters(&full));
        let (again, history) = done.fit(last, &data).unwrap();
        assert!(history.epochs.is_empty());
        assert_eq!(all_parameters(&again), all_parameters(&full));
    }
    assert_eq!(
        ContrastiveDivergenceConfig::new()
            .init::<B, Rbm<B>>()
            .unwrap()
            .with_checkpoints("x.ckpt", 0)
            .map(|_| ())
            .unwrap_err(),
        RbmError::InvalidHyperparameter {
            name: "checkpoint every",
            value: "0".into(),
            reason: "must be at least 1 epoch",
        }
    );
}

/// Copies the checkpoint written after epoch `at` to `to`, and records every checkpoint.
struct CopyCheckpoint {
    at: usize,
    to: std::path::PathBuf,
    seen: Vec<usize>,
}

impl TrainingObserver for CopyCheckpoint {
    fn on_checkpoint(&mut self, progress: rbm_burn::Progress, path: &std::path::Path) {
        let epochs_done = progress.epoch + 1;
        self.seen.push(epochs_done);
        if epochs_done == self.at {
            std::fs::copy(path, &self.to).unwrap();
        }
    }
}
