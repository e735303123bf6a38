//! Ratings for collaborative filtering with softmax visible units (Salakhutdinov, Mnih &
//! Hinton 2007): each user is one row, each item a group of `levels` one-hot units, and an item
//! the user has not rated is an all-zero (missing) group.

use burn::tensor::{backend::Backend, Tensor, TensorData};

use crate::error::{RbmError, Result};
use crate::units::group_sums;

/// One rating: `user` gave `item` the level `value` (0-based, `< levels`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rating {
    /// The user (row), `< n_users`.
    pub user: usize,
    /// The item (softmax group), `< n_items`.
    pub item: usize,
    /// The level, 0-based (a 1–5 star rating is stored as 0–4).
    pub value: usize,
}

/// A users × items table of ratings, split into training and held-out entries.
#[derive(Debug, Clone, PartialEq)]
pub struct Ratings {
    /// Number of users (rows).
    pub n_users: usize,
    /// Number of items (softmax groups per row).
    pub n_items: usize,
    /// Number of rating levels (units per group).
    pub levels: usize,
    /// The ratings to train on.
    pub train: Vec<Rating>,
    /// The ratings held out for evaluation.
    pub test: Vec<Rating>,
}

impl Ratings {
    /// Checks that every rating is inside the table and that no (user, item) pair is rated
    /// twice in the same split.
    ///
    /// # Errors
    /// [`RbmError::InvalidHyperparameter`] naming the offending rating.
    pub fn validate(&self) -> Result<()> {
        for split in [&self.train, &self.test] {
            let mut seen = std::collections::HashSet::new();
            for rating in split {
                let reason = if rating.user >= self.n_users || rating.item >= self.n_items {
                    Some("user or item outside the table")
                } else if rating.value >= self.levels {
                    Some("value not below the number of levels")
                } else if !seen.insert((rating.user, rating.item)) {
                    Some("the same user and item are rated twice")
                } else {
                    None
                };
                if let Some(reason) = reason {
                    return Err(RbmError::InvalidHyperparameter {
                        name: "rating",
                        value: format!("{rating:?}"),
                        reason,
                    });
                }
            }
        }
        Ok(())
    }

    /// Number of visible units of a softmax RBM over this table: `n_items · levels`.
    pub fn n_visible(&self) -> usize {
        self.n_items * self.levels
    }

    /// One row per user with the given ratings one-hot and every other group all zero.
    pub fn one_hot_rows(&self, ratings: &[Rating]) -> Vec<Vec<f32>> {
        let mut rows = vec![vec![0.0f32; self.n_visible()]; self.n_users];
        for rating in ratings {
            rows[rating.user][rating.item * self.levels + rating.value] = 1.0;
        }
        rows
    }

    /// The mean training rating (0-based) of every item, the global mean for items without
    /// training ratings: the baseline a recommender must beat.
    pub fn item_means(&self) -> Vec<f64> {
        let global = self.global_mean();
        let mut sums = vec![(0.0, 0usize); self.n_items];
        for rating in &self.train {
            sums[rating.item].0 += rating.value as f64;
            sums[rating.item].1 += 1;
        }
        sums.into_iter()
            .map(|(sum, n)| if n == 0 { global } else { sum / n as f64 })
            .collect()
    }

    /// The mean of all training ratings (0-based); 0 without any.
    pub fn global_mean(&self) -> f64 {
        let n = self.train.len().max(1) as f64;
        self.train.iter().map(|r| r.value as f64).sum::<f64>() / n
    }

    /// The root-mean-square error of `predict(user, item)` on the held-out ratings.
    pub fn test_rmse(&self, mut predict: impl FnMut(usize, usize) -> f64) -> f64 {
        let n = self.test.len().max(1) as f64;
        let squared: f64 = self
            .test
            .iter()
            .map(|r| (predict(r.user, r.item) - r.value as f64).powi(2))
            .sum();
        (squared / n).sqrt()
    }
}

/// The expected level `Σ_k k · p_k` of every softmax group (0-based levels), from the
/// group probabilities a softmax RBM produces (e.g. [`crate::Rbm::reconstruct`] of a user's
/// row, which predicts the user's missing entries too).
///
/// # Shapes
/// - `probs`: `[rows, groups · group_size]`, output: `[rows, groups]`
pub fn expected_levels<B: Backend>(probs: Tensor<B, 2>, group_size: usize) -> Tensor<B, 2> {
    let columns = probs.dims()[1];
    let level_of_column: Vec<f32> = (0..columns).map(|c| (c % group_size) as f32).collect();
    let levels = Tensor::<B, 2>::from_data(
        TensorData::new(level_of_column, [1, columns]),
        &probs.device(),
    );
    group_sums(probs * levels, group_size)
}
