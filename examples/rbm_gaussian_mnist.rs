//! A Gaussian–Bernoulli RBM on real-valued data: MNIST pixels standardised per pixel (zero
//! mean, unit variance, so σ = 1 is kept fixed), trained with CD-1 at the small learning rate
//! Gaussian units need. Writes the learned filters (each hidden unit's weights as a 28 × 28
//! tile) to a PNG.
//!
//! ```text
//! MNIST_DIR=../shared/data/mnist cargo run --release --example rbm_gaussian_mnist
//! cargo run --release --example rbm_gaussian_mnist -- --data-dir ../shared/data/mnist --out filters.png
//! ```

use clap::Parser;
use rbm_burn_examples::cli::exit_on_error;
use rbm_burn_examples::{pipelines, rbm_gaussian_mnist};

fn main() {
    exit_on_error(pipelines::rbm_gaussian_mnist(&rbm_gaussian_mnist::Args::parse()).map(|_| ()));
}
