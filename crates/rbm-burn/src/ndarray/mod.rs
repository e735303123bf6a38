//! The accelerator for one backend: `NdArray<f32>`, whose tensors live in host memory.
//!
//! Everything here is an implementation detail of two seams: the per-operation kernels of
//! [`crate::kernels`] (which call [`matmul`], [`logistic`], … first and take Burn's generic
//! operation when these hand their inputs back), and the learner's update step
//! ([`fused_step`], chosen once when a learner is built, see [`crate::cd`]). No model code
//! asks which backend it runs on. The module is compiled with the `ndarray-kernels` feature,
//! on by default, so `Rbm<NdArray>` is fast without any flag; without it `NdArray` takes the
//! generic tensor path like every other backend.
//!
//! - [`host`]: per-operation kernels: the `gemm` crate's strided GEMM, the logistic function
//!   with a vectorised `exp`, Bernoulli sampling in one loop, AIS's softplus gain in one
//!   vectorised pass, a row gather, a one-pass momentum step; and the reading and writing of
//!   `NdArray` tensors as host buffers.
//! - [`product`]: one matrix product split into blocks over the team.
//! - [`team`]: the learner's own threads, which spin between the short jobs of an update.
//! - [`fused`]: one whole CD update of a binary RBM on host buffers kept between updates, and
//!   its one-pass logistic sample on the team, which AIS's transitions use too.

mod fused;
mod host;
mod product;
mod team;

pub(crate) use fused::{fused_step, logistic_sample};
pub(crate) use host::{
    bernoulli, gather_rows, logistic, matmul, matmul_add_row, momentum_step, softplus_gain,
};
