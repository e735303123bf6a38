//! A Bernoulli RBM on binarised MNIST as a generative model: CD-k or PCD training, the AIS
//! estimate of the test log-likelihood, samples, inpainting and denoising, and pictures of all
//! of it. The pipeline is one generic function, `run::<B>()`; `--backend` only picks `B`.
//!
//! ```text
//! MNIST_DIR=../shared/data/mnist cargo run --release --example rbm_mnist -- --persistent
//! cargo run --release --example rbm_mnist -- --data-dir ../shared/data/mnist --k 25 --epochs 10
//! cargo run --release --example rbm_mnist -- --train-limit 2000 --epochs 2 --fast-ais
//! cargo run --release --example rbm_mnist -- --hidden 16 --centred --flip --exact
//! cargo run --release --example rbm_mnist -- --tempering 10 --raise-rows 500 --checkpoint-every 5
//! ```
//!
//! `--centred` trains a centred RBM, `--tempering M` samples the negative phase by parallel
//! tempering, `--flip` trains and evaluates on `1 − x`, `--exact` adds the exact
//! log-likelihood (models of up to 24 hidden units), and `--raise-rows N` adds the reverse AIS
//! estimate on N test images, the pessimistic end of a bracket whose optimistic end is AIS.
//! With `--checkpoint-every N` a checkpoint is written every N epochs to `checkpoint.ckpt` in
//! `--out`, and a run started again with the same settings and `--out` resumes from it.
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
