//! Collaborative filtering with a softmax RBM (Salakhutdinov, Mnih & Hinton 2007): each user is
//! a row of one-hot rating groups, unrated items are missing (all-zero) groups, and the
//! held-out ratings are predicted as the expected level of their group in the reconstruction
//! of the user's row. Prints the held-out RMSE next to the item-mean and global-mean baselines.
//!
//! ```text
//! cargo run --release --example rbm_ratings
//! cargo run --release --example rbm_ratings -- --ratings-file ml-100k/u.data
//! ```
//!
//! A ratings file has one `user item rating` per line (tab, comma or space separated, further
//! columns such as a timestamp ignored, a non-numeric header line skipped), as MovieLens'
//! `u.data` or `ratings.csv`. Each distinct rating value is one level; a random
//! `--test-fraction` of the ratings is held out.

use clap::Parser;
use rbm_burn_examples::cli::exit_on_error;
use rbm_burn_examples::{pipelines, rbm_ratings};

fn main() {
    exit_on_error(pipelines::rbm_ratings(&rbm_ratings::Args::parse()).map(|_| ()));
}
