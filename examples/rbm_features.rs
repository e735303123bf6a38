//! scikit-learn's "RBM features for digit classification" pipeline on MNIST: an RBM learns
//! features `p(h | v)` without labels, then a linear classifier (a Burn `Linear` layer with
//! softmax, trained with Adam) is trained on them, and the same classifier on raw pixels for
//! comparison. Both test accuracies are printed.
//!
//! ```text
//! MNIST_DIR=../shared/data/mnist cargo run --release --example rbm_features
//! cargo run --release --example rbm_features -- --hidden 500 --rbm-epochs 20
//! ```

use clap::Parser;
use rbm_burn_examples::cli::exit_on_error;
use rbm_burn_examples::{pipelines, rbm_features};

fn main() {
    exit_on_error(pipelines::rbm_features(&rbm_features::Args::parse()).map(|_| ()));
}
