//! A Bernoulli RBM on binarised MNIST as a generative model: CD-k or PCD training, the AIS
//! estimate of the test log-likelihood, samples, inpainting and denoising, and pictures of all
//! of it. The pipeline is one generic function, `run::<B>()`; `--backend` only picks `B`.
//!
//! ```text
//! MNIST_DIR=../shared/data/mnist cargo run --release --example rbm_mnist -- --persistent
//! cargo run --release --example rbm_mnist -- --data-dir ../shared/data/mnist --k 25 --epochs 10
//! cargo run --release --example rbm_mnist -- --train-limit 2000 --epochs 2 --fast-ais
//! ```
//!
//! Writes into `--out` (default `rbm_mnist_out/`): `model.mpk` and `rbm.json` (the model and its
//! config), `metrics.csv`, `curves.svg` (reconstruction error, free-energy gap and
//! pseudo-log-likelihood per epoch), `filters.png`, `samples.png`, `fantasy_particles.png` (with
//! `--persistent`), and the before/after pictures `inpaint_bottom.png`, `inpaint_random.png` and
//! `denoise.png` (rows: original, corrupted, RBM, baseline).

use clap::Parser;
use rbm_burn_examples::cli::exit_on_error;
use rbm_burn_examples::{pipelines, rbm_mnist};

fn main() {
    exit_on_error(pipelines::rbm_mnist(&rbm_mnist::Args::parse()).map(|_| ()));
}
