//! The classification RBM (Larochelle & Bengio 2008) on MNIST: one model per training
//! objective — generative (`log p(x, y)` by CD), discriminative (the exact gradient of
//! `log p(y | x)`) and hybrid (`log p(y | x) + α log p(x, y)`) — with each epoch's training and
//! test error and the training time, then a table of the three.
//!
//! ```text
//! MNIST_DIR=../shared/data/mnist cargo run --release --example class_rbm_mnist
//! cargo run --release --example class_rbm_mnist -- --objectives hybrid --hidden 1500 --epochs 30
//! cargo run --release --features wgpu --example class_rbm_mnist -- --backend wgpu
//! ```

use clap::Parser;
use rbm_burn_examples::cli::exit_on_error;
use rbm_burn_examples::{class_rbm_mnist, pipelines};

fn main() {
    exit_on_error(pipelines::class_rbm_mnist(&class_rbm_mnist::Args::parse()).map(|_| ()));
}
