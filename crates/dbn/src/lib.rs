//! Deep Belief Networks for Burn: RBMs from [`rbm_burn`] pre-trained greedily, layer by layer,
//! and handed to the `Linear` layers of a Burn MLP for fine-tuning.
//!
//! This crate is a placeholder in the workspace: the stack, greedy pre-training and the MLP
//! hand-over are the next piece of work. It re-exports the RBM crate it builds on.

#![warn(missing_docs)]

pub use rbm_burn;
