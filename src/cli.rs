//! Command-line pieces shared by the examples.

use std::path::PathBuf;

use clap::ValueEnum;

use crate::mnist::{self, Mnist, MnistError};

/// Where MNIST is and how much of it to use: the flags the MNIST pipelines share
/// (`#[command(flatten)]` them into an example's arguments).
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct MnistArgs {
    /// Directory with the four MNIST IDX files, `.gz` or raw (default: $MNIST_DIR).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Use only the first N training images.
    #[arg(long)]
    pub train_limit: Option<usize>,
    /// Use only the first N test images.
    #[arg(long)]
    pub test_limit: Option<usize>,
}

impl MnistArgs {
    /// Loads both splits from `--data-dir` or `$MNIST_DIR` and applies the limits.
    ///
    /// # Errors
    /// No directory given, or missing or malformed files (naming the file).
    pub fn load(&self) -> Result<Mnist, MnistError> {
        let dir = mnist::resolve_dir(self.data_dir.as_deref())?;
        let mut data = mnist::load_dir(&dir)?;
        if let Some(limit) = self.train_limit {
            data.train.truncate(limit);
        }
        if let Some(limit) = self.test_limit {
            data.test.truncate(limit);
        }
        Ok(data)
    }
}

/// The backend an example runs on: the examples are generic over `B: Backend` and pick the
/// type from this flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// `burn::backend::NdArray` on the CPU.
    Ndarray,
    /// `burn::backend::Wgpu`: a GPU through Vulkan, Metal or DX12 (or Mesa's lavapipe on a
    /// CPU), in builds with the `wgpu` feature.
    Wgpu,
}

/// What choosing `--backend wgpu` says in a build without the `wgpu` feature.
pub const WITHOUT_WGPU: &str = "this build has no Wgpu backend: rebuild with `--features wgpu` \
     (e.g. `cargo run --release --features wgpu --example dbn_mnist -- --backend wgpu`)";

/// Calls a function generic over the backend, `$run::<B>(args…, &device)`, with the backend
/// type picked by a [`BackendChoice`] and its default device appended to the arguments:
/// `with_backend!(args.backend, run(&args))` runs `run::<NdArray>(&args, &Default::default())`
/// or, in builds with the `wgpu` feature, `run::<Wgpu>(&args, &Default::default())`. (The
/// examples call [`crate::pipelines`], which is instantiated once in the library.)
#[macro_export]
macro_rules! with_backend {
    ($choice:expr, $run:ident($($arg:expr),* $(,)?)) => {
        match $choice {
            $crate::cli::BackendChoice::Ndarray => {
                $run::<::burn::backend::NdArray>($($arg,)* &Default::default())
            }
            #[cfg(feature = "wgpu")]
            $crate::cli::BackendChoice::Wgpu => {
                $run::<::burn::backend::Wgpu>($($arg,)* &Default::default())
            }
            #[cfg(not(feature = "wgpu"))]
            $crate::cli::BackendChoice::Wgpu => Err($crate::cli::WITHOUT_WGPU.into()),
        }
    };
}

/// Ends an example: on an error, prints it to standard error and exits with status 1.
pub fn exit_on_error<E: std::fmt::Display>(result: Result<(), E>) {
    if let Err(error) = result {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}
