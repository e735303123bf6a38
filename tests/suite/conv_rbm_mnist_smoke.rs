//! Smoke test of the `conv_rbm_mnist` example's path on 1000 real MNIST images: the filters
//! are learned and written, and the classifier on the pooled features beats chance by far.
//! Runs when `MNIST_DIR` is set (CI sets it); otherwise it says so and passes (and fails
//! under `CI=true`).

use clap::Parser;
use rbm_burn_examples::conv_rbm_mnist::Args;
use rbm_burn_examples::pipelines;

/// Four epochs (400 updates) of 8 filters over 1000 images, then 5 epochs of the linear classifier: chance
/// is 10% accuracy, a linear classifier on so few images reaches about 80% on pixels;
/// the pooled features must give more than 50%, which fails for features that carry nothing
/// about the digits.
#[test]
fn conv_rbm_mnist_learns_filters_and_features() {
    let Some(dir) = crate::mnist_dir("the conv_rbm_mnist smoke test") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let arguments = [
        "--train-limit",
        "1000",
        "--test-limit",
        "300",
        "--filters",
        "8",
        "--epochs",
        "4",
        "--batch-size",
        "10",
        "--classifier-epochs",
        "5",
        "--classifier-learning-rate",
        "0.01",
    ];
    let args = Args::parse_from(
        [
            "conv_rbm_mnist".as_ref(),
            "--data-dir".as_ref(),
            dir.as_os_str(),
        ]
        .into_iter()
        .chain(["--out".as_ref(), out.path().as_os_str()])
        .chain(arguments.iter().map(|a| a.as_ref())),
    );
    let report = pipelines::conv_rbm_mnist(&args).expect("the pipeline runs");
    let size = std::fs::metadata(&report.filters_png)
        .map(|m| m.len())
        .unwrap_or(0);
    assert!(size > 0, "filters.png was not written");
    assert!(
        report.features_accuracy > 0.5,
        "accuracy on the pooled features {}",
        report.features_accuracy
    );
}
