//! The backend-generic test suite of `dbn`: every test is a generic function over the backend,
//! instantiated below for `NdArray` and `Wgpu`. The `Wgpu` tests need a Vulkan driver (Mesa's
//! lavapipe on a CPU) and are ignored by default: `cargo test -- --ignored wgpu::` runs them.

mod common;
mod convolutional;
mod errors;
mod handover;
mod persistence;
mod training;

/// Lists generic tests for one backend; `ignored` marks them as needing a GPU driver.
macro_rules! instantiate {
    (ignored $backend:ty; $($module:ident :: $test:ident),* $(,)?) => {
        $(
            #[test]
            #[ignore = "needs a Vulkan driver (Mesa's lavapipe on a CPU): -- --ignored wgpu::"]
            fn $test() {
                crate::$module::$test::<$backend>(&Default::default());
            }
        )*
    };
    ($backend:ty; $($module:ident :: $test:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                crate::$module::$test::<$backend>(&Default::default());
            }
        )*
    };
}

/// The generic suite (run in full on `NdArray`).
macro_rules! suite {
    ($($backend:tt)*) => {
        instantiate!($($backend)*;
            handover::first_hidden_layer_is_the_rbm_posterior,
            handover::gaussian_input_layer_is_scaled_by_sigma,
            handover::user_mlp_predicts_like_the_ready_classifier,
            training::pretraining_reports_every_layer,
            training::dataset_and_tensor_pretraining_agree,
            training::samples_come_from_the_learned_patterns,
            errors::bad_stacks_are_rejected,
            errors::bad_data_is_rejected,
            errors::bad_hand_over_is_rejected,
            persistence::resumed_pretraining_equals_uninterrupted,
            persistence::wrong_files_and_settings_are_named,
            convolutional::conv_dbn_trains_each_layer_on_the_pooled_maps_below,
            convolutional::conv_dbn_resumes_exactly_and_saves,
            convolutional::conv_dbn_hands_over_to_conv2d,
            convolutional::bad_conv_stacks_are_rejected,
        );
    };
}

mod ndarray {
    suite!(burn::backend::NdArray);
}

/// Fine-tuning needs autodiff; Burn's `Autodiff` wraps any backend.
mod autodiff_ndarray {
    instantiate!(burn::backend::Autodiff<burn::backend::NdArray>;
        training::pretrained_classifier_learns_synthetic_classes,
        training::sgd_fine_tuning_lowers_the_loss,
        training::fine_tuning_learning_rate_decays_to_its_final_value,
        training::dropout_is_applied_while_fitting_and_seeded,
    );
}

/// The `Wgpu` pass: pre-training on `Wgpu` and fine-tuning on `Autodiff<Wgpu>`, and resuming a
/// checkpointed pre-training there bit for bit. The rest of the suite is the same code on every
/// backend and runs on `NdArray` (on a software Vulkan driver it takes minutes).
mod wgpu {
    instantiate!(ignored burn::backend::Wgpu;
        persistence::resumed_pretraining_equals_uninterrupted,
        convolutional::conv_dbn_trains_each_layer_on_the_pooled_maps_below,
        convolutional::conv_dbn_resumes_exactly_and_saves,
    );
}

mod autodiff_wgpu {
    instantiate!(ignored burn::backend::Autodiff<burn::backend::Wgpu>;
        training::pretrained_classifier_learns_synthetic_classes,
    );
}
