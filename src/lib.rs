//! Examples, integration tests and their helpers for `rbm-burn` and `dbn`.
//!
//! The helpers live here, in library code with tests, so that the example programs stay thin:
//! [`mnist`] reads the original IDX files from a local directory, [`images`] writes PNG grids
//! of filters and images, [`plots`] draws training curves as SVG, and [`cli`] has what the example programs share.

#![warn(missing_docs)]

pub mod cli;
pub mod crbm_sequences;
pub mod dbn_mnist;
pub mod files;
pub mod images;
pub mod mnist;
pub mod plots;
pub mod rbm_mnist;

// The README's usage example is compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
