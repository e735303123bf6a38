//! Examples, integration tests and their helpers for `rbm-burn` and `dbn`.
//!
//! Everything but `main` lives here, in library code with tests, so that the example programs
//! stay thin: each example's pipeline is a module (`dbn_mnist`, `rbm_mnist`,
//! `crbm_sequences`, …), generic over the backend and instantiated once in [`pipelines`];
//! [`mnist`] reads the original IDX files from a local directory, [`images`] writes PNG grids
//! of filters and images, [`plots`] draws training curves as SVG, and [`cli`] has what the
//! example programs share.

#![warn(missing_docs)]

pub mod bars_and_stripes;
pub mod cd_stream;
pub mod class_rbm_mnist;
pub mod cli;
pub mod conv_rbm_mnist;
pub mod crbm_sequences;
pub mod dbn_mnist;
pub mod files;
pub mod images;
pub mod mnist;
pub mod pipelines;
pub mod plots;
pub mod rbm_features;
pub mod rbm_gaussian_mnist;
pub mod rbm_mnist;
pub mod rbm_ratings;

// The README's usage example is compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
