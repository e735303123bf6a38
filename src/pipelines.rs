//! Every example's pipeline, instantiated here, once, for the backends this build has.
//!
//! The pipelines are generic over the backend (`run::<B>()` in each module); monomorphising
//! one for a backend is most of an example's compile time. Each example is a thin `main` that
//! parses its flags and calls one of these non-generic functions, and the tests call the same
//! functions, so each instantiation is compiled once, in this library, instead of once per
//! example and test binary. The `Wgpu` instantiations are compiled with the `wgpu` feature
//! (`cargo run --release --features wgpu --example … -- --backend wgpu`).

use std::error::Error;

use crate::cli::BackendChoice;
use crate::{
    bars_and_stripes, cd_stream, class_rbm_mnist, conv_rbm_mnist, crbm_sequences, dbn_mnist,
    rbm_features, rbm_gaussian_mnist, rbm_mnist, rbm_ratings,
};

/// Calls `$module::run::<B>(args…, &device)` for the backend `$choice` names, with its default device;
/// `Wgpu` only when this build has the `wgpu` feature, an error otherwise.
macro_rules! on_backend {
    ($choice:expr, $module:ident, ($($arg:expr),* $(,)?)) => {
        match $choice {
            BackendChoice::Ndarray => {
                $module::run::<burn::backend::NdArray>($($arg,)* &Default::default()).map_err(Into::into)
            }
            #[cfg(feature = "wgpu")]
            BackendChoice::Wgpu => {
                $module::run::<burn::backend::Wgpu>($($arg,)* &Default::default()).map_err(Into::into)
            }
            #[cfg(not(feature = "wgpu"))]
            BackendChoice::Wgpu => Err(crate::cli::WITHOUT_WGPU.into()),
        }
    };
}

/// `examples/dbn_mnist.rs` ([`dbn_mnist::run`]).
///
/// # Errors
/// As [`dbn_mnist::run`].
pub fn dbn_mnist(args: &dbn_mnist::Args) -> Result<dbn_mnist::Report, Box<dyn Error>> {
    on_backend!(args.backend, dbn_mnist, (args))
}

/// `examples/rbm_mnist.rs` ([`rbm_mnist::run`]).
///
/// # Errors
/// As [`rbm_mnist::run`].
pub fn rbm_mnist(args: &rbm_mnist::Args) -> Result<rbm_mnist::Report, Box<dyn Error>> {
    on_backend!(args.backend, rbm_mnist, (args))
}

/// `examples/class_rbm_mnist.rs` ([`class_rbm_mnist::run`]).
///
/// # Errors
/// As [`class_rbm_mnist::run`].
pub fn class_rbm_mnist(
    args: &class_rbm_mnist::Args,
) -> Result<Vec<class_rbm_mnist::ObjectiveResult>, Box<dyn Error>> {
    on_backend!(args.backend, class_rbm_mnist, (args))
}

/// `examples/conv_rbm_mnist.rs` ([`conv_rbm_mnist::run`]).
///
/// # Errors
/// As [`conv_rbm_mnist::run`].
pub fn conv_rbm_mnist(
    args: &conv_rbm_mnist::Args,
) -> Result<conv_rbm_mnist::Report, Box<dyn Error>> {
    on_backend!(args.backend, conv_rbm_mnist, (args))
}

/// `examples/crbm_sequences.rs` ([`crbm_sequences::run`]).
///
/// # Errors
/// As [`crbm_sequences::run`].
pub fn crbm_sequences(
    args: &crbm_sequences::Args,
) -> Result<crbm_sequences::Report, Box<dyn Error>> {
    on_backend!(args.backend, crbm_sequences, (args))
}

/// `examples/rbm_features.rs` ([`rbm_features::run`]).
///
/// # Errors
/// As [`rbm_features::run`].
pub fn rbm_features(args: &rbm_features::Args) -> Result<(), Box<dyn Error>> {
    on_backend!(args.backend, rbm_features, (args))
}

/// `examples/rbm_gaussian_mnist.rs` ([`rbm_gaussian_mnist::run`]).
///
/// # Errors
/// As [`rbm_gaussian_mnist::run`].
pub fn rbm_gaussian_mnist(args: &rbm_gaussian_mnist::Args) -> Result<(), Box<dyn Error>> {
    on_backend!(args.backend, rbm_gaussian_mnist, (args))
}

/// `examples/rbm_ratings.rs` ([`rbm_ratings::run`] on [`rbm_ratings::load_table`]).
///
/// # Errors
/// As [`rbm_ratings::load_table`] and [`rbm_ratings::run`].
pub fn rbm_ratings(args: &rbm_ratings::Args) -> Result<(), Box<dyn Error>> {
    let table = rbm_ratings::load_table(args)?;
    on_backend!(args.backend, rbm_ratings, (args, &table))
}

/// `examples/cd_stream.rs` ([`cd_stream::run`]).
///
/// # Errors
/// As [`cd_stream::run`].
pub fn cd_stream(args: &cd_stream::Args) -> Result<(), Box<dyn Error>> {
    on_backend!(args.backend, cd_stream, (args))
}

/// `examples/bars_and_stripes.rs` ([`bars_and_stripes::run`], on `NdArray`).
///
/// # Errors
/// As [`bars_and_stripes::run`].
pub fn bars_and_stripes(args: &bars_and_stripes::Args) -> Result<(), Box<dyn Error>> {
    Ok(bars_and_stripes::run::<burn::backend::NdArray>(
        args,
        &Default::default(),
    )?)
}
