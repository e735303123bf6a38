//! The hand-over from the RBM stack to Burn `Linear` layers.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::sigmoid;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use dbn::{Dbn, DbnConfig, Mlp, PassUp};
use rbm_burn::{ContrastiveDivergenceConfig, VisibleUnits};

use crate::common::{max_abs_diff, noisy_classes, CLASSES, WIDTH};

/// f32 sigmoids of the same activations: the RBM's own logistic and Burn's differ by a few
/// units in the last place (~1e-7), and the matrix products are the same operations.
const TOLERANCE: f64 = 1e-5;

/// A briefly pre-trained 24-16-8 stack and the data it saw.
fn pretrained<B: Backend>(device: &B::Device) -> (Dbn<B>, Tensor<B, 2>) {
    let data = noisy_classes(200, 1).features_tensor::<B>(device);
    let config = DbnConfig::new(vec![WIDTH, 16, 8])
        .with_cd(vec![ContrastiveDivergenceConfig::new()
            .with_epochs(3)
            .with_batch_size(20)
            .with_learning_rate(0.1)])
        .with_seed(3);
    let (dbn, _) = config.pretrain::<B, _>(&data, device).unwrap();
    (dbn, data)
}

pub fn first_hidden_layer_is_the_rbm_posterior<B: Backend>(device: &B::Device) {
    let (dbn, data) = pretrained::<B>(device);
    let mlp = dbn.to_mlp(CLASSES, 0).unwrap();
    let expected = dbn.layers[0].hidden_probs(data.clone());
    let diff = max_abs_diff(mlp.features(data.clone(), 1), expected);
    assert!(diff < TOLERANCE, "layer 1 differs by {diff}");
    // Deeper layers follow the mean-field up-pass.
    let diff = max_abs_diff(mlp.features(data.clone(), 2), dbn.up(data, 2).unwrap());
    assert!(diff < TOLERANCE, "layer 2 differs by {diff}");
    // The weights were really trained: the features are not those of the untrained stack.
    let untrained = DbnConfig::new(vec![WIDTH, 16, 8])
        .with_seed(3)
        .init::<B>(device)
        .unwrap();
    let untrained = untrained.to_mlp(CLASSES, 0).unwrap();
    let data = noisy_classes(20, 2).features_tensor::<B>(device);
    assert!(max_abs_diff(untrained.features(data.clone(), 1), mlp.features(data, 1)) > 0.05);
}

pub fn gaussian_input_layer_is_scaled_by_sigma<B: Backend>(device: &B::Device) {
    let config = DbnConfig::new(vec![6, 5, 3])
        .with_visible_units(VisibleUnits::Gaussian { learn_sigma: true })
        .with_weight_std(0.5)
        .with_pass_up(PassUp::Samples);
    let mut dbn = config.init::<B>(device).unwrap();
    let sigma =
        Tensor::<B, 1>::from_data(TensorData::from([0.5f32, 1.0, 2.0, 0.8, 1.5, 3.0]), device);
    dbn.layers[0] = dbn.layers[0].clone().with_sigma(sigma).unwrap();
    let input = Tensor::<B, 2>::from_data(
        TensorData::new(
            (0..24)
                .map(|i| (i as f32 * 0.37).sin() * 2.0)
                .collect::<Vec<_>>(),
            [4, 6],
        ),
        device,
    );
    let mlp = dbn.to_mlp(2, 0).unwrap();
    let diff = max_abs_diff(
        mlp.features(input.clone(), 1),
        dbn.layers[0].hidden_probs(input),
    );
    assert!(diff < TOLERANCE, "Gaussian layer differs by {diff}");
}

/// A model the user wrote, with its own field names.
#[derive(Module, Debug)]
struct UserMlp<B: Backend> {
    fc1: Linear<B>,
    fc2: Linear<B>,
    head: Linear<B>,
}

impl<B: Backend> UserMlp<B> {
    fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let x = sigmoid(self.fc1.forward(x));
        let x = sigmoid(self.fc2.forward(x));
        self.head.forward(x)
    }
}

pub fn user_mlp_predicts_like_the_ready_classifier<B: Backend>(device: &B::Device) {
    let (dbn, _) = pretrained::<B>(device);
    let classifier = dbn.to_mlp(CLASSES, 7).unwrap();
    let mut user = UserMlp {
        fc1: LinearConfig::new(WIDTH, 16).init(device),
        fc2: LinearConfig::new(16, 8).init(device),
        head: classifier.output.clone(),
    };
    user.fc1 = dbn.load_linear(0, user.fc1).unwrap();
    user.fc2 = dbn.load_linear(1, user.fc2).unwrap();
    let test = noisy_classes(100, 9).features_tensor::<B>(device);
    let diff = max_abs_diff(user.forward(test.clone()), classifier.forward(test.clone()));
    assert!(diff < TOLERANCE, "logits differ by {diff}");
    let ours: Vec<i64> = classifier
        .predict(test.clone())
        .into_data()
        .iter::<i64>()
        .collect();
    let theirs: Vec<i64> = user
        .forward(test)
        .argmax(1)
        .squeeze_dim::<1>(1)
        .into_data()
        .iter::<i64>()
        .collect();
    assert_eq!(ours, theirs);
    let _: &Mlp<B> = &classifier;
}
