//! Walks over the parameters of any model, in Burn's visiting order: what the learner's
//! velocities, the momentum step, the divergence check and the checks of loaded files need,
//! written once for every `Module` instead of once per model.
//!
//! Two values of the same module type with the same structure (the same unit types) visit
//! their parameters in the same order, so the `i`-th parameter of a model, of its velocity and
//! of its gradient are the same parameter.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::{backend::Backend, Tensor};

use crate::kernels;

/// `new` as a parameter value with the gradient requirement of `old`: under `Autodiff<_>` a
/// trainable parameter stays a trainable leaf, and no graph links it to the computation that
/// produced `new`.
pub(crate) fn keep_require_grad<B: Backend, const D: usize>(
    old: &Tensor<B, D>,
    new: Tensor<B, D>,
) -> Tensor<B, D> {
    new.detach().set_require_grad(old.is_require_grad())
}

/// A parameter holding a plain value (a gradient or a velocity): detached, not a trainable
/// leaf, so that computing with it under `Autodiff<_>` records nothing.
pub(crate) fn value_param<B: Backend, const D: usize>(value: Tensor<B, D>) -> Param<Tensor<B, D>> {
    Param::initialized(ParamId::new(), value.detach())
}

/// `module` with every parameter `f(rank, flattened value)`, reshaped back. The values `f`
/// gets are detached; the new parameters keep the gradient requirement of the old ones when
/// `keep_require_grad`, and are plain values otherwise.
fn map_flat<B: Backend, M: Module<B>>(
    module: M,
    keep_require_grad: bool,
    f: impl FnMut(usize, Tensor<B, 1>) -> Tensor<B, 1>,
) -> M {
    struct Mapper<F> {
        keep_require_grad: bool,
        f: F,
    }
    impl<B: Backend, F: FnMut(usize, Tensor<B, 1>) -> Tensor<B, 1>> ModuleMapper<B> for Mapper<F> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
            let (id, value, mapper) = param.consume();
            let require_grad = self.keep_require_grad && value.is_require_grad();
            let dims: [usize; D] = value.dims();
            let flat = value.detach().reshape([dims.iter().product::<usize>()]);
            let new = (self.f)(D, flat).reshape(dims).detach();
            Param::from_mapped_value(id, new.set_require_grad(require_grad), mapper)
        }
    }
    module.map(&mut Mapper {
        keep_require_grad,
        f,
    })
}

/// `module` with new parameter ids: `0, 1, 2, …` in visiting order when `numbered` (so that the
/// records of equal models are equal, byte for byte), fresh random ones otherwise (so that
/// models loaded from files never share ids, which optimizers key their state by).
pub(crate) fn with_new_ids<B: Backend, M: Module<B>>(module: M, numbered: bool) -> M {
    struct Ids {
        next: u64,
        numbered: bool,
    }
    impl<B: Backend> ModuleMapper<B> for Ids {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
            let (_, value, mapper) = param.consume();
            let id = if self.numbered {
                ParamId::from(self.next)
            } else {
                ParamId::new()
            };
            self.next += 1;
            Param::from_mapped_value(id, value, mapper)
        }
    }
    module.map(&mut Ids { next: 0, numbered })
}

/// Every parameter of `module`, flattened, in visiting order. Consuming the module leaves the
/// returned tensors as the only owners of their buffers (unless something else shares them),
/// so that backends that can update them in place.
pub(crate) fn into_flat<B: Backend, M: Module<B>>(module: M) -> Vec<Tensor<B, 1>> {
    let mut values = Vec::new();
    drop(map_flat(module, false, |_, value| {
        values.push(value.clone());
        value
    }));
    values
}

/// The shape of every parameter, with its path (`weights`, `visible.Gaussian.log_variance`),
/// in visiting order.
pub(crate) fn shapes<B: Backend, M: Module<B>>(module: &M) -> Vec<(String, Vec<usize>)> {
    #[derive(Default)]
    struct Shapes {
        path: Vec<String>,
        found: Vec<(String, Vec<usize>)>,
    }
    impl<B: Backend> ModuleVisitor<B> for Shapes {
        fn enter_module(&mut self, name: &str, _container: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _name: &str, _container: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            self.found
                .push((self.path.join("."), param.lazy_shape().dims::<D>().to_vec()));
        }
    }
    let mut visitor = Shapes::default();
    module.visit(&mut visitor);
    visitor.found
}

/// The sum of every parameter of `module`, left on the device: non-finite when a parameter is
/// (Inf or NaN), and otherwise only when the parameters are so large (≳ 10³² on average) that
/// their sum overflows `f32`.
///
/// # Shapes
/// - output: `[1]`
pub(crate) fn sum<B: Backend, M: Module<B>>(module: &M) -> Tensor<B, 1> {
    struct Sum<B: Backend>(Option<Tensor<B, 1>>);
    impl<B: Backend> ModuleVisitor<B> for Sum<B> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            let part = param.val().detach().sum();
            self.0 = Some(match self.0.take() {
                Some(total) => total + part,
                None => part,
            });
        }
    }
    let mut visitor = Sum(None);
    module.visit(&mut visitor);
    visitor.0.expect("a model has parameters")
}

/// A value of `module`'s shape with every parameter zero, detached.
pub(crate) fn zeros_like<B: Backend, M: Module<B>>(module: &M) -> M {
    map_flat(module.clone(), false, |_, value| value.zeros_like())
}

/// A copy whose parameters are detached from any autodiff graph, so that computing with it
/// records nothing (the learner never calls `backward`).
pub(crate) fn detached<B: Backend, M: Module<B>>(module: &M) -> M {
    map_flat(module.clone(), false, |_, value| value)
}

/// The sum of two values of one module type, parameter by parameter, as plain values.
pub(crate) fn add<B: Backend, M: Module<B>>(a: M, b: M) -> M {
    let mut others = into_flat(b).into_iter();
    map_flat(a, false, |_, value| {
        value + others.next().expect("one value per parameter")
    })
}

/// One momentum step of every parameter: `v ← μ v + s − c w`, with the weight decay `c` on
/// parameters of rank 2 and more (weights, not biases or standard deviations), then
/// `w ← w + v`. Returns the new parameters (with the gradient requirement of the old ones),
/// the new velocity, and the sum of the new parameters for the divergence check.
///
/// The velocity and the step are consumed and `params` should hold the only references to
/// its buffers: then `NdArray` updates all of them in place ([`kernels::momentum_step`]).
pub(crate) fn momentum_step<B: Backend, M: Module<B>>(
    params: M,
    velocity: M,
    step: M,
    momentum: f64,
    decay: f64,
) -> (M, M, Tensor<B, 1>) {
    let mut velocities = into_flat(velocity).into_iter();
    let mut steps = into_flat(step).into_iter();
    let mut new_velocities = Vec::new();
    let mut health: Option<Tensor<B, 1>> = None;
    let params = map_flat(params, true, |rank, value| {
        let (velocity, step) = (
            velocities.next().expect("one velocity per parameter"),
            steps.next().expect("one step per parameter"),
        );
        let decay = if rank >= 2 { decay } else { 0.0 };
        let (value, velocity) = kernels::momentum_step(value, velocity, step, momentum, decay);
        let part = value.clone().sum();
        health = Some(match health.take() {
            Some(total) => total + part,
            None => part,
        });
        new_velocities.push(velocity);
        value
    });
    let mut new_velocities = new_velocities.into_iter();
    let velocity = map_flat(detached(&params), false, |_, _| {
        new_velocities.next().expect("one velocity per parameter")
    });
    (params, velocity, health.expect("a model has parameters"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RbmConfig;
    use burn::backend::NdArray;

    #[test]
    fn the_momentum_step_decays_weights_only() {
        let device = Default::default();
        let rbm = RbmConfig::new(3, 2)
            .with_weight_std(1.0)
            .init::<NdArray>(&device)
            .unwrap();
        let ones = map_flat(rbm.clone(), false, |_, value| value.ones_like());
        let (decay, momentum) = (0.5, 0.9);
        let before = into_flat(rbm.clone());
        let (after, velocity, _) = momentum_step(rbm, ones.clone(), ones, momentum, decay);
        for ((old, new), (velocity, rank)) in before
            .into_iter()
            .zip(into_flat(after))
            .zip(into_flat(velocity).into_iter().zip([2, 1, 1]))
        {
            // v = 0.9 + 1 − c w, w' = w + v.
            let c = if rank == 2 { decay } else { 0.0 };
            let expected_v = (old.clone() * -c) + 1.9;
            let expected_w = old + expected_v.clone();
            expected_v
                .into_data()
                .assert_approx_eq::<f32>(&velocity.into_data(), Default::default());
            expected_w
                .into_data()
                .assert_approx_eq::<f32>(&new.into_data(), Default::default());
        }
    }
}
