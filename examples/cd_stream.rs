//! Trains an RBM on more data than one would hold as a tensor: MNIST repeated `--copies` times,
//! every image shifted by a random −2…2 pixels in each direction, generated on the fly by a
//! Burn `Dataset` and streamed batch by batch through `DatasetSource`. Prints the resident
//! memory (current and peak, from `/proc/self/status`) as the epoch goes, which stays flat.
//!
//! ```text
//! MNIST_DIR=../shared/data/mnist cargo run --release --example cd_stream -- --copies 20
//! ```

use clap::Parser;
use rbm_burn_examples::cli::exit_on_error;
use rbm_burn_examples::{cd_stream, pipelines};

fn main() {
    exit_on_error(pipelines::cd_stream(&cd_stream::Args::parse()).map(|_| ()));
}
