using static Dl.Ops;

namespace Dl.Models;

/// <summary>A convolutional autoencoder for 1x28x28 images: an encoder of two conv 3x3 (padding 1) → ReLU → max pool 2
/// blocks (16 channels at 14x14, then 32 at 7x7, the code), a decoder of two transposed convolutions 3x3 of stride 2
/// (padding 1, output padding 1: 7 → 14 → 28), ReLU between them and a sigmoid on the reconstruction, trained with the
/// mean squared error against the input itself (PyTorch: nn.Conv2d, nn.MaxPool2d, nn.ConvTranspose2d, nn.MSELoss).</summary>
/// <example><code>
/// var ae = new ConvAutoencoder(new ModelOptions { Seed = 1, MaxBatch = 64 });
/// float mse = ae.TrainStep(images, images, 64, new Adam(0.001f));   // the target is the input
/// </code></example>
[Model]
public sealed partial class ConvAutoencoder
{
    [Forward]
    Tensor Forward([Shape(1, 28, 28)] Tensor x)
    {
        var h = MaxPool2d(Relu(Conv2d(x, 16, kernel: 3, name: "enc1", padding: 1)), kernel: 2);                        // [16, 14, 14]
        h = MaxPool2d(Relu(Conv2d(h, 32, kernel: 3, name: "enc2", padding: 1)), kernel: 2);                            // [32, 7, 7]
        h = Relu(ConvTranspose2d(h, 16, kernel: 3, name: "dec1", stride: 2, padding: 1, outputPadding: 1));            // [16, 14, 14]
        return Sigmoid(ConvTranspose2d(h, 1, kernel: 3, name: "dec2", stride: 2, padding: 1, outputPadding: 1));       // [1, 28, 28]
    }

    [Loss]
    Tensor Loss(Tensor reconstruction, [Shape(1, 28, 28)] Tensor target) => MseLoss(reconstruction, target);
}
