//! The backend-generic test suite of `rbm-burn`.
//!
//! Every test is a generic function over `B: Backend`, instantiated below for `NdArray` and for
//! `Wgpu`. The `Wgpu` tests need a Vulkan driver (Mesa's lavapipe on a CPU), so they are
//! ignored by default: `cargo test --workspace --tests -- --ignored wgpu::` runs them, from the
//! same build as the plain `cargo test`.

mod classification;
mod common;
mod conditional;
mod convolution;
mod errors;
mod exact;
mod generative;
mod learning;
mod persistence;
mod units;

/// Lists the suite's generic tests for one backend; `ignored` marks them as needing a GPU
/// driver.
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
            exact::energy_and_free_energy_match_brute_force,
            exact::log_partition_matches_brute_force_over_either_layer,
            exact::chunked_enumerations_agree,
            exact::likelihood_is_normalised,
            exact::enumeration_beyond_the_limit_is_an_error,
            exact::centred_rbm_converts_to_an_rbm_with_the_same_distribution,
            generative::long_chains_sample_the_model,
            generative::fill_in_matches_exact_conditionals,
            generative::a_short_schedule_still_brackets_the_likelihood,
            generative::reverse_ais_weights_are_unbiased_for_the_annealing_model,
            generative::generative_inputs_are_checked,
            learning::cd_k_matches_the_exact_gradient,
            learning::pcd_matches_the_exact_gradient,
            learning::centred_cd_k_matches_the_exact_centred_gradient,
            learning::tempered_chains_match_the_exact_gradient,
            learning::cd_1_is_measurably_biased,
            learning::same_seed_gives_identical_parameters,
            learning::dataset_and_tensor_training_agree,
            learning::observer_and_metrics_report_each_epoch,
            learning::pseudo_likelihood_matches_its_definition,
            learning::sparsity_pulls_activity_to_the_target,
            errors::invalid_hyperparameters_are_rejected,
            errors::bad_training_data_is_rejected,
            errors::bad_streamed_rows_name_the_row,
            errors::exact_quantities_reject_bad_data,
            errors::divergence_is_reported_with_epoch_and_batch,
            errors::a_learner_is_for_one_model_size,
            errors::centring_tempering_and_reverse_ais_inputs_are_checked,
            persistence::save_and_load_round_trip,
            persistence::rbm_files_round_trip_and_name_what_is_wrong,
            persistence::resumed_training_equals_uninterrupted_training,
            units::gaussian_log_partition_matches_numerical_integration,
            units::softmax_log_partition_matches_enumeration,
            units::relu_free_energy_is_the_stepped_sigmoid_series,
            units::samples_follow_the_conditionals,
            units::bad_input_per_unit_type_is_rejected,
            units::gaussian_rbm_learns_a_mixture,
            units::gaussian_rbm_learns_sigma,
            units::softmax_rbm_beats_item_means,
            units::unit_types_round_trip,
            conditional::crbm_with_a_fixed_context_is_a_shifted_rbm,
            conditional::sequence_windows_are_frames_with_their_pasts,
            classification::class_rbm_probabilities_match_enumeration,
            classification::class_rbm_discriminative_gradient_matches_finite_differences,
            classification::class_rbm_inputs_are_checked,
            convolution::conv_rbm_with_single_unit_blocks_is_the_tied_dense_rbm,
            convolution::probabilistic_max_pooling_matches_block_enumeration,
            convolution::conv_rbm_saves_resumes_and_checks_shapes,
        );
    };
}

mod ndarray {
    suite!(burn::backend::NdArray);
    // Seconds on a CPU, far slower on a software Vulkan driver; their code is the same on
    // every backend, and the Wgpu pass checks the numerics (`agrees_with_ndarray`,
    // `ais_agrees_with_ndarray`) and learning (the unit-type tests). AIS against enumeration
    // with the full 14 500-step schedule, 2^24 states, 13 500 small CD/PCD updates, the fused
    // host update (NdArray's own), and the conditional and classification RBMs' gradients,
    // learning and resume.
    instantiate!(burn::backend::NdArray;
        generative::ais_matches_the_exact_log_partition,
        generative::ais_handles_gaussian_and_softmax_units,
        generative::reverse_ais_and_ais_bracket_the_exact_likelihood,
        exact::twenty_four_units_are_enumerated,
        learning::cd_1_learns_bars_and_stripes,
        learning::pcd_learns_bars_and_stripes,
        learning::fused_host_update_matches_the_tensor_update,
        conditional::crbm_cd_k_matches_the_exact_gradient,
        conditional::crbm_learns_a_sequence_that_depends_on_its_past,
        conditional::crbm_saves_and_resumes_exactly,
        classification::class_rbm_cd_k_matches_the_generative_gradient,
        classification::class_rbm_learns_noisy_prototypes,
        classification::class_rbm_saves_and_resumes_exactly,
        convolution::conv_rbm_learns_strokes,
        convolution::conv_rbm_stacks_on_pooled_maps,
    );
}

/// What only `Autodiff` changes: the learner builds no graph and leaves trainable leaves.
mod autodiff_ndarray {
    instantiate!(burn::backend::Autodiff<burn::backend::NdArray>;
        learning::autodiff_backend_trains_like_its_inner_backend,
    );
}

/// The `Wgpu` pass: what could differ on another backend. Its numerics against `NdArray`
/// (every deterministic quantity, the exact gradient, AIS with the same noise) and against
/// brute force for each unit type's normaliser, the learner's tensor path against the exact
/// gradient, the conditional RBM, and bit-identical resuming. The rest of the suite (error
/// handling, learning runs, chains) is the same code on every backend and runs on `NdArray`:
/// on a software Vulkan driver the whole suite takes a quarter of an hour.
mod wgpu {
    instantiate!(ignored burn::backend::Wgpu;
        persistence::agrees_with_ndarray,
        generative::ais_agrees_with_ndarray,
        exact::energy_and_free_energy_match_brute_force,
        exact::likelihood_is_normalised,
        units::softmax_log_partition_matches_enumeration,
        units::relu_free_energy_is_the_stepped_sigmoid_series,
        learning::cd_k_matches_the_exact_gradient,
        learning::centred_cd_k_matches_the_exact_centred_gradient,
        learning::tempered_chains_match_the_exact_gradient,
        exact::centred_rbm_converts_to_an_rbm_with_the_same_distribution,
        generative::a_short_schedule_still_brackets_the_likelihood,
        conditional::crbm_with_a_fixed_context_is_a_shifted_rbm,
        classification::class_rbm_probabilities_match_enumeration,
        classification::class_rbm_discriminative_gradient_matches_finite_differences,
        convolution::conv_rbm_with_single_unit_blocks_is_the_tied_dense_rbm,
        convolution::probabilistic_max_pooling_matches_block_enumeration,
        persistence::resumed_training_equals_uninterrupted_training,
    );
}
