//! The pipeline behind `examples/rbm_ratings.rs`: see there for what it does and how to run it.

use std::collections::BTreeMap;
use std::error::Error;
use std::path::{Path, PathBuf};

use crate::cli::BackendChoice;
use burn::tensor::backend::Backend;
use clap::Parser;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rbm_burn::ratings::{expected_levels, Rating, Ratings};
use rbm_burn::synthetic::ratings;
use rbm_burn::{
    rows_to_tensor, ContrastiveDivergenceConfig, EpochMetrics, HiddenUnits, RbmConfig, VisibleUnits,
};

/// Predict held-out ratings with a softmax RBM.
#[derive(Parser, Debug)]
pub struct Args {
    /// A ratings file (`user item rating` per line); synthetic ratings when absent.
    #[arg(long)]
    pub ratings_file: Option<PathBuf>,
    /// Fraction of a file's ratings held out for evaluation.
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    /// Synthetic data: users.
    #[arg(long, default_value_t = 1000)]
    pub users: usize,
    /// Synthetic data: items.
    #[arg(long, default_value_t = 100)]
    pub items: usize,
    /// Synthetic data: hidden tastes.
    #[arg(long, default_value_t = 5)]
    pub tastes: usize,
    /// Hidden units.
    #[arg(long, default_value_t = 50)]
    pub hidden: usize,
    /// Hidden unit type.
    #[arg(long, value_enum, default_value = "bernoulli")]
    pub hidden_units: HiddenChoice,
    /// Epochs.
    #[arg(long, default_value_t = 30)]
    pub epochs: usize,
    /// Learning rate.
    #[arg(long, default_value_t = 0.05)]
    pub learning_rate: f64,
    /// Users per update.
    #[arg(long, default_value_t = 10)]
    pub batch_size: usize,
    /// Gibbs steps per update.
    #[arg(long, default_value_t = 1)]
    pub k: usize,
    /// Seed of the data split, the initial weights and the learner.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Backend.
    #[arg(long, value_enum, default_value = "ndarray")]
    pub backend: BackendChoice,
}

/// The hidden unit type of `--hidden-units`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum HiddenChoice {
    /// Binary units.
    Bernoulli,
    /// Noisy rectified linear units.
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

/// Trains a softmax RBM on ratings and prints the held-out RMSE against baselines.
///
/// # Errors
/// Invalid settings, missing or malformed data files, training that diverges, and files that
/// cannot be written.
pub fn run<B: Backend>(
    args: &Args,
    table: &Ratings,
    device: &B::Device,
) -> Result<(), Box<dyn Error>> {
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

/// The ratings table the flags ask for: read from `--ratings-file`, or generated with hidden
/// tastes.
///
/// # Errors
/// A file that cannot be read or parsed.
pub fn load_table(args: &Args) -> Result<Ratings, Box<dyn Error>> {
    match &args.ratings_file {
        Some(path) => read_ratings(path, args.test_fraction, args.seed),
        None => Ok(ratings(
            args.users,
            args.items,
            5,
            args.tastes.max(1),
            args.seed,
        )),
    }
}
