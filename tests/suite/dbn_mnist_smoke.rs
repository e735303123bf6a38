//! Smoke test of the `dbn_mnist` example's whole path on a few hundred real MNIST images:
//! load → pre-train → fine-tune → files written. Runs when `MNIST_DIR` is set; CI sets it and
//! fails without it ([`crate::mnist_dir`]).

use burn::config::Config;
use clap::Parser;
use rbm_burn_examples::dbn_mnist::{Args, Report};
use rbm_burn_examples::pipelines;

/// Runs the `dbn_mnist` pipeline on the MNIST of [`crate::mnist_dir`] with `flags`
/// (separated by spaces) into a fresh output directory; `None` without MNIST.
fn run(flags: &str) -> Option<(tempfile::TempDir, Report)> {
    let dir = crate::mnist_dir("the dbn_mnist smoke test")?;
    let out = tempfile::tempdir().unwrap();
    let paths = [
        ("--data-dir", dir.as_os_str()),
        ("--out", out.path().as_os_str()),
    ];
    let argv = paths
        .iter()
        .flat_map(|(flag, path)| [flag.into(), path.to_os_string()])
        .chain(flags.split_whitespace().map(|flag| flag.into()));
    let args = Args::parse_from(
        std::iter::once("dbn_mnist".into())
            .chain(argv)
            .collect::<Vec<std::ffi::OsString>>(),
    );
    let report = pipelines::dbn_mnist(&args).expect("the pipeline runs");
    Some((out, report))
}

#[test]
fn dbn_mnist_runs_end_to_end() {
    let Some((out, report)) = run(concat!(
        "--train-limit 300 --test-limit 200 --layers 64,32 ",
        "--pretrain-epochs 1 --finetune-epochs 1 --sample-steps 5",
    )) else {
        return;
    };
    let names = [
        "model.mpk",
        "pretrained.dbn",
        "config.json",
        "pretrain.ckpt",
        "pretrain_metrics.csv",
        "finetune_metrics.csv",
        "filters.png",
        "samples.png",
    ];
    for name in names {
        let path = out.path().join(name);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        assert!(size > 0, "{name} was not written");
        assert!(report.files.contains(&path), "{name} is not reported");
    }
    // Nothing half-written is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !names.contains(&name.as_str()))
        .collect();
    assert!(leftovers.is_empty(), "unexpected files {leftovers:?}");
    // The config round-trips and describes this run.
    let config = rbm_burn_examples::dbn_mnist::RunConfig::load(out.path().join("config.json"))
        .expect("config.json is a RunConfig");
    assert_eq!(config.dbn.layers, vec![784, 64, 32]);
    assert_eq!((config.train_images, config.test_images), (300, 200));
    let metrics = std::fs::read_to_string(out.path().join("finetune_metrics.csv")).unwrap();
    assert_eq!(
        metrics.lines().count(),
        1 + 2,
        "a header and one epoch per model"
    );
    // Both models were evaluated on the test images (NaN would mean no test accuracy).
    for line in metrics.lines().skip(1) {
        let test_accuracy: f64 = line.split(',').nth(5).unwrap().parse().unwrap();
        assert!(test_accuracy.is_finite(), "{line}");
    }
    assert!(report.random_init_accuracy.is_some());
}

/// `--no-random-init` fine-tunes the pre-trained MLP only; the decayed learning rate is in
/// its metrics.
#[test]
fn dbn_mnist_without_the_random_init_baseline() {
    let Some((out, report)) = run(concat!(
        "--train-limit 200 --test-limit 100 --layers 32 --pretrain-epochs 1 ",
        "--finetune-epochs 2 --finetune-final-learning-rate 0.0001 --no-random-init ",
        "--sample-steps 2",
    )) else {
        return;
    };
    assert_eq!(report.random_init_accuracy, None);
    assert_eq!(report.finetune_seconds.1, None);
    let metrics = std::fs::read_to_string(out.path().join("finetune_metrics.csv")).unwrap();
    let rates: Vec<&str> = metrics
        .lines()
        .skip(1)
        .map(|line| {
            assert!(line.starts_with("pretrained,"), "{line}");
            line.split(',').nth(2).unwrap()
        })
        .collect();
    assert_eq!(rates, ["0.001", "0.0001"]);
}

#[test]
fn missing_mnist_files_are_named_in_the_error() {
    let empty = tempfile::tempdir().unwrap();
    let args = Args::parse_from([
        "dbn_mnist".as_ref(),
        "--data-dir".as_ref(),
        empty.path().as_os_str(),
        "--out".as_ref(),
        empty.path().join("out").as_os_str(),
    ]);
    let error = pipelines::dbn_mnist(&args).unwrap_err().to_string();
    assert!(error.contains("train-images-idx3-ubyte"), "{error}");
}
