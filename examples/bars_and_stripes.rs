//! Trains an RBM on bars-and-stripes with CD-k or PCD and prints the exact average
//! log-likelihood after every epoch, next to the best possible value.
//!
//! ```text
//! cargo run --release --example bars_and_stripes -- --persistent --epochs 200
//! ```

use clap::Parser;
use rbm_burn_examples::cli::exit_on_error;
use rbm_burn_examples::{bars_and_stripes, pipelines};

fn main() {
    exit_on_error(pipelines::bars_and_stripes(&bars_and_stripes::Args::parse()).map(|_| ()));
}
