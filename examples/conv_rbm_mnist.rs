//! The convolutional RBM (Lee, Grosse, Ranganath & Ng 2009) on MNIST: learns filters with
//! probabilistic max-pooling and a sparsity target, writes them to `filters.png` (strokes and
//! pen parts), then trains a linear softmax classifier on the pooled features and prints its
//! test error beside the same classifier on raw pixels.
//!
//! ```text
//! MNIST_DIR=../shared/data/mnist cargo run --release --example conv_rbm_mnist
//! cargo run --release --example conv_rbm_mnist -- --filters 40 --filter-size 5 --epochs 3
//! cargo run --release --features wgpu --example conv_rbm_mnist -- --backend wgpu
//! ```

use clap::Parser;
use rbm_burn_examples::cli::exit_on_error;
use rbm_burn_examples::{conv_rbm_mnist, pipelines};

fn main() {
    exit_on_error(pipelines::conv_rbm_mnist(&conv_rbm_mnist::Args::parse()).map(|_| ()));
}
