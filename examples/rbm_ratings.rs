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

use std::collections::BTreeMap;
use std::error::Error;
use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use clap::Parser;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rbm_burn::ratings::{expected_levels, Rating, Ratings};
use rbm_burn::synthetic::ratings;
use rbm_burn::{
    rows_to_tensor, ContrastiveDivergenceConfig, EpochMetrics, HiddenUnits, RbmConfig, VisibleUnits,
};
use rbm_burn_examples::cli::{exit_on_error, BackendChoice};

/// Predict held-out ratings with a softmax RBM.
#[derive(Parser, Debug)]
struct Args {
    /// A ratings file (`user item rating` per line); synthetic ratings when absent.
    #[arg(long)]
    ratings_file: Option<PathBuf>,
    /// Fraction of a file's ratings held out for evaluation.
    #[arg(long, default_value_t = 0.2)]
    test_fraction: f64,
    /// Synthetic data: users.
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// Synthetic data: items.
    #[arg(long, default_value_t = 100)]
    items: usize,
    /// Synthetic data: hidden tastes.
    #[arg(long, default_value_t = 5)]
    tastes: usize,
    /// Hidden units.
    #[arg(long, default_value_t = 50)]
    hidden: usize,
    /// Hidden unit type.
    #[arg(long, value_enum, default_value = "bernoulli")]
    hidden_units: HiddenChoice,
    /// Epochs.
    #[arg(long, default_value_t = 30)]
    epochs: usize,
    /// Learning rate.
    #[arg(long, default_value_t = 0.05)]
    learning_rate: f64,
    /// Users per update.
    #[arg(long, default_value_t = 10)]
    batch_size: usize,
    /// Gibbs steps per update.
    #[arg(long, default_value_t = 1)]
    k: usize,
    /// Seed of the data split, the initial weights and the learner.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Backend.
    #[arg(long, value_enum, default_value = "ndarray")]
    backend: BackendChoice,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum HiddenChoice {
    Bernoulli,
    Relu,
}

/// Reads `user item rating` lines; users, items and rating values are renumbered densely.
fn read_ratings(path: &Path, test_fraction: f64, seed: u64) -> Result<Ratings, Box<dyn Error>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let mut raw = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line
            .split(|c: char| c == ',' || c == '\t' || c.is_whitespace())
            .filter(|f| !f.is_empty())
            .collect();
        if fields.is_empty() {
            continue;
        }
        let parsed = (fields.len() >= 3).then(|| fields[2].parse::<f64>());
        match parsed {
            Some(Ok(value)) if value.is_finite() => {
                raw.push((fields[0].to_string(), fields[1].to_string(), value))
            }
            _ if number == 0 => continue, // a header
            _ => return Err(format!("line {}: expected `user item rating`", number + 1).into()),
        }
    }
    if raw.is_empty() {
        return Err(format!("{} has no ratings", path.display()).into());
    }
    let index = |keys: Vec<String>| -> BTreeMap<String, usize> {
        let mut map = BTreeMap::new();
        for key in keys {
            let next = map.len();
            map.entry(key).or_insert(next);
        }
        map
    };
    let users = index(raw.iter().map(|r| r.0.clone()).collect());
    let items = index(raw.iter().map(|r| r.1.clone()).collect());
    let mut values: Vec<f64> = raw.iter().map(|r| r.2).collect();
    values.sort_by(f64::total_cmp);
    values.dedup();
    println!("rating levels: {values:?}");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut table = Ratings {
        n_users: users.len(),
        n_items: items.len(),
        levels: values.len(),
        train: Vec::new(),
        test: Vec::new(),
    };
    let mut seen = std::collections::HashSet::new();
    for (user, item, value) in raw {
        let rating = Rating {
            user: users[&user],
            item: items[&item],
            value: values.partition_point(|&v| v < value),
        };
        if !seen.insert((rating.user, rating.item)) {
            continue; // a repeated rating: keep the first
        }
        if rng.random::<f64>() < test_fraction {
            table.test.push(rating);
        } else {
            table.train.push(rating);
        }
    }
    Ok(table)
}

fn run<B: Backend>(args: &Args, table: &Ratings, device: &B::Device) -> Result<(), Box<dyn Error>> {
    table.validate()?;
    println!(
        "{} users × {} items, {} levels: {} training and {} held-out ratings",
        table.n_users,
        table.n_items,
        table.levels,
        table.train.len(),
        table.test.len()
    );
    let train = rows_to_tensor::<B, _>(&table.one_hot_rows(&table.train), device)?;
    let hidden_units = match args.hidden_units {
        HiddenChoice::Bernoulli => HiddenUnits::Bernoulli,
        HiddenChoice::Relu => HiddenUnits::Relu,
    };
    let rbm = RbmConfig::new(table.n_visible(), args.hidden)
        .with_visible_units(VisibleUnits::Softmax {
            group_size: table.levels,
        })
        .with_hidden_units(hidden_units)
        .with_seed(args.seed)
        .init::<B>(device)?
        .init_visible_bias_from_data(&train)?;
    let mut learner = ContrastiveDivergenceConfig::new()
        .with_k(args.k)
        .with_learning_rate(args.learning_rate)
        .with_batch_size(args.batch_size)
        .with_epochs(args.epochs)
        .with_seed(args.seed)
        .init()?;
    let mut report = |m: &EpochMetrics| {
        println!(
            "epoch {:3}: reconstruction error on observed entries {:.4}, {:.2} s",
            m.epoch + 1,
            m.reconstruction_error,
            m.seconds
        );
    };
    let (rbm, _) = learner.fit_with(rbm, &train, None, &mut report)?;
    let predicted: Vec<f64> = expected_levels(rbm.reconstruct(train), table.levels)
        .into_data()
        .iter::<f64>()
        .collect();
    let rbm_rmse = table.test_rmse(|user, item| predicted[user * table.n_items + item]);
    let means = table.item_means();
    let item_rmse = table.test_rmse(|_, item| means[item]);
    let global = table.global_mean();
    let global_rmse = table.test_rmse(|_, _| global);
    println!("held-out RMSE (in rating levels):");
    println!("  softmax RBM  {rbm_rmse:.4}");
    println!("  item means   {item_rmse:.4}");
    println!("  global mean  {global_rmse:.4}");
    Ok(())
}

fn main() {
    let args = Args::parse();
    let table = match &args.ratings_file {
        Some(path) => read_ratings(path, args.test_fraction, args.seed),
        None => Ok(ratings(
            args.users,
            args.items,
            5,
            args.tastes.max(1),
            args.seed,
        )),
    };
    let result =
        table.and_then(|table| rbm_burn_examples::with_backend!(args.backend, run(&args, &table)));
    exit_on_error(result);
}
