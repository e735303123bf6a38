//! Smoke test of the `class_rbm_mnist` example's path on 2000 real MNIST images: every
//! objective trains and classifies held-out digits far better than chance. Runs when
//! `MNIST_DIR` is set (CI sets it); otherwise it says so and passes (and fails under
//! `CI=true`).

use clap::Parser;
use rbm_burn::Objective;
use rbm_burn_examples::class_rbm_mnist::Args;
use rbm_burn_examples::pipelines;

/// Four epochs over 2000 images with 100 hidden units: a linear classifier trained on so few
/// images errs on about 12% of the test digits, chance on 90%; each objective must be below
/// 30%, which leaves room for the short schedule and fails for a model that learned nothing
/// or learned the wrong sign.
#[test]
fn class_rbm_mnist_classifies_with_every_objective() {
    let Some(dir) = crate::mnist_dir("the class_rbm_mnist smoke test") else {
        return;
    };
    let arguments = [
        "--train-limit",
        "2000",
        "--test-limit",
        "500",
        "--hidden",
        "100",
        "--epochs",
        "4",
    ];
    let args = Args::parse_from(
        [
            "class_rbm_mnist".as_ref(),
            "--data-dir".as_ref(),
            dir.as_os_str(),
        ]
        .into_iter()
        .chain(arguments.iter().map(|a| a.as_ref())),
    );
    let results = pipelines::class_rbm_mnist(&args).expect("the pipeline runs");
    let objectives: Vec<Objective> = results.iter().map(|r| r.objective).collect();
    assert_eq!(
        objectives,
        [
            Objective::Generative,
            Objective::Discriminative,
            Objective::Hybrid { alpha: 0.01 }
        ]
    );
    for result in &results {
        assert!(
            result.test_error < 0.3,
            "{:?}: test error {}",
            result.objective,
            result.test_error
        );
        assert!(result.seconds > 0.0 && result.train_error.is_finite());
    }
}
