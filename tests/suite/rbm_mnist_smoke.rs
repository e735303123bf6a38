//! Smoke test of the `rbm_mnist` example's whole path on a few hundred real MNIST images:
//! train → AIS → inpainting, denoising → pictures and files. Runs when `MNIST_DIR` is set (CI
//! sets it); otherwise it says so and passes.

use burn::backend::NdArray;
use burn::module::Module;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder};
use clap::Parser;
use rbm_burn::RbmConfig;
use rbm_burn_examples::pipelines;
use rbm_burn_examples::rbm_mnist::Args;

/// The example's arguments: the data directory, the output directory, then `arguments`.
fn parse_args(dir: &std::ffi::OsStr, out: &std::path::Path, arguments: &[&str]) -> Args {
    Args::parse_from(
        ["rbm_mnist".as_ref(), "--data-dir".as_ref(), dir]
            .into_iter()
            .chain(["--out".as_ref(), out.as_os_str()])
            .chain(arguments.iter().map(|a| a.as_ref())),
    )
}

#[test]
fn rbm_mnist_runs_end_to_end() {
    let Some(dir) = crate::mnist_dir("the rbm_mnist smoke test") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let arguments = [
        "--train-limit",
        "500",
        "--test-limit",
        "200",
        "--hidden",
        "50",
        "--epochs",
        "3",
        "--persistent",
        "--fast-ais",
        "--ais-runs",
        "20",
        "--sample-steps",
        "10",
        "--eval-digits",
        "50",
    ];
    let args = parse_args(&dir, out.path(), &arguments);
    let report = pipelines::rbm_mnist(&args).expect("the pipeline runs");
    let names = [
        "model.mpk",
        "rbm.json",
        "metrics.csv",
        "curves.svg",
        "filters.png",
        "samples.png",
        "fantasy_particles.png",
        "inpaint_bottom.png",
        "inpaint_random.png",
        "denoise.png",
    ];
    for name in names {
        let path = out.path().join(name);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        assert!(size > 0, "{name} was not written");
        assert!(report.files.contains(&path), "{name} is not reported");
    }
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), names.len());
    // A log-probability of binary images is below 0, and even this tiny model (initialised at
    // the pixel marginals) must beat the uniform distribution's −784 ln 2 = −543.4 nats.
    for value in [report.train_log_likelihood, report.test_log_likelihood] {
        assert!((-543.4..0.0).contains(&value), "log-likelihood {value}");
    }
    assert_eq!(report.restorations.len(), 3);
    assert!(report
        .restorations
        .iter()
        .all(|r| r.rbm.is_finite() && r.baselines.iter().all(|(_, e)| e.is_finite())));
    // The saved model loads back into a model built from the saved config.
    let config = <RbmConfig as burn::config::Config>::load(out.path().join("rbm.json")).unwrap();
    assert_eq!((config.n_visible, config.n_hidden), (784, 50));
    let loaded = config
        .init::<NdArray>(&Default::default())
        .unwrap()
        .load_file(
            out.path().join("model.mpk"),
            &NamedMpkFileRecorder::<FullPrecisionSettings>::new(),
            &Default::default(),
        )
        .unwrap();
    assert_eq!(loaded.n_hidden(), 50);
    let curves = std::fs::read_to_string(out.path().join("curves.svg")).unwrap();
    assert_eq!(
        curves.matches("<polyline").count(),
        3,
        "one curve per panel"
    );
}

/// The flags of centred training, tempering, flipped images, exact and reverse-AIS
/// likelihoods and checkpoints, on a tiny model: the exact log-likelihood lies between the
/// reverse AIS and AIS estimates up to their error on a short schedule, and a second run with
/// the same flags resumes from the final checkpoint and reports the same numbers.
#[test]
fn rbm_mnist_centred_tempered_flipped_with_bracket_and_resume() {
    let Some(dir) = crate::mnist_dir("the rbm_mnist flags smoke test") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let arguments = [
        "--train-limit",
        "300",
        "--test-limit",
        "100",
        "--hidden",
        "8",
        "--epochs",
        "2",
        "--centred",
        "--tempering",
        "3",
        "--flip",
        "--exact",
        "--raise-rows",
        "20",
        "--checkpoint-every",
        "1",
        "--fast-ais",
        "--ais-runs",
        "20",
        "--sample-steps",
        "10",
        "--eval-digits",
        "20",
    ];
    let args = parse_args(&dir, out.path(), &arguments);
    let first = pipelines::rbm_mnist(&args).expect("the pipeline runs");
    assert!(out.path().join("checkpoint.ckpt").exists());
    let (_, exact_test) = first.exact.expect("--exact reports the exact likelihood");
    let (pessimistic, optimistic) = first.bracket.expect("--raise-rows reports a bracket");
    // A 784–8 model is easy for 1 450 annealing steps: both ends within a nat of each other,
    // and the whole-test-set exact value near the AIS estimate.
    assert!(
        pessimistic <= optimistic + 0.5,
        "[{pessimistic}, {optimistic}]"
    );
    assert!(
        optimistic - pessimistic < 1.0,
        "[{pessimistic}, {optimistic}]"
    );
    assert!((-543.4..0.0).contains(&exact_test), "{exact_test}");
    assert!((first.test_log_likelihood - exact_test).abs() < 1.0);
    let second = pipelines::rbm_mnist(&args).expect("the resumed pipeline runs");
    assert_eq!(second.test_log_likelihood, first.test_log_likelihood);
    assert_eq!(second.exact, first.exact);
    // Nothing was left to train: the first run's curves and metrics stay.
    assert!(!second.files.contains(&out.path().join("metrics.csv")));
    let metrics = std::fs::read_to_string(out.path().join("metrics.csv")).unwrap();
    assert_eq!(metrics.lines().count(), 3, "a header and two epochs");
}
