//! Command-line pieces shared by the examples.

use clap::ValueEnum;

/// The backend an example runs on: the examples are generic over `B: Backend` and pick the
/// type from this flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// `burn::backend::NdArray` on the CPU.
    Ndarray,
    /// `burn::backend::Wgpu`: a GPU through Vulkan, Metal or DX12 (or Mesa's lavapipe on a CPU).
    Wgpu,
}

/// Ends an example: on an error, prints it to standard error and exits with status 1.
pub fn exit_on_error<E: std::fmt::Display>(result: Result<(), E>) {
    if let Err(error) = result {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}
