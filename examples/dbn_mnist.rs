//! A Deep Belief Network on MNIST: greedy RBM pre-training, hand-over to a Burn MLP,
//! fine-tuning with `Autodiff<_>` and Adam, and the same MLP from random initialisation for
//! comparison. The pipeline is one generic function, `run::<B>()`; `--backend` only picks `B`.
//!
//! ```text
//! MNIST_DIR=../shared/data/mnist cargo run --release --example dbn_mnist
//! cargo run --release --example dbn_mnist -- --data-dir ../shared/data/mnist --preset hinton2006
//! cargo run --release --example dbn_mnist -- --data-dir ../shared/data/mnist --preset hinton2006 \
//!     --finetune-final-learning-rate 0.00001 --dropout 0.5 --input-dropout 0.2 --no-random-init
//! cargo run --release --example dbn_mnist -- --train-limit 2000 --pretrain-epochs 1 --finetune-epochs 2
//! ```
//!
//! Writes into `--out` (default `dbn_mnist_out/`): `model.mpk` (the fine-tuned classifier, a
//! Burn record), `pretrained.dbn` (the pre-trained stack, for `Dbn::load`), `config.json`,
//! `pretrain.ckpt` (the pre-training checkpoint, rewritten every `--checkpoint-every` epochs),
//! `pretrain_metrics.csv`, `finetune_metrics.csv`, `filters.png` (layer-1 filters) and
//! `samples.png` (DBN samples). Every file is written atomically.
//!
//! An interrupted run (a crash, `kill -9`, a power cut) continues from its last checkpoint
//! when the same command is run again with `--resume DIR` (DIR being its `--out`).

use clap::Parser;
use rbm_burn_examples::cli::exit_on_error;
use rbm_burn_examples::{dbn_mnist, pipelines};

fn main() {
    exit_on_error(pipelines::dbn_mnist(&dbn_mnist::Args::parse()).map(|_| ()));
}
