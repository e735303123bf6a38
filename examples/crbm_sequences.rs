//! A conditional RBM (Taylor, Hinton & Roweis 2007) on motion-like sequences generated in
//! code: joint angles driven by a gait phase whose speed differs from sequence to sequence. It
//! prints the one-step prediction error of the CRBM against repeating the last frame and
//! against the mean frame, and writes `rollout.png`: a held-out sequence above the CRBM's
//! rollout from the same first frames.
//!
//! ```text
//! cargo run --release --example crbm_sequences
//! cargo run --release --example crbm_sequences -- --order 2 --hidden 50 --epochs 30
//! ```

use clap::Parser;
use rbm_burn_examples::cli::exit_on_error;
use rbm_burn_examples::{crbm_sequences, pipelines};

fn main() {
    exit_on_error(pipelines::crbm_sequences(&crbm_sequences::Args::parse()).map(|_| ()));
}
