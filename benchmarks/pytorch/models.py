"""The workloads of WORKLOADS.md as PyTorch modules whose parameter names match Dl.Models (fc1.weight, ...)."""
import torch
from torch import nn
from torch.nn import functional as F


class XorNet(nn.Module):
    """2-2-1, sigmoid hidden and output (Dl.Models.XorNet)."""

    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(2, 2)
        self.output = nn.Linear(2, 1)

    def forward(self, x):
        return torch.sigmoid(self.output(torch.sigmoid(self.hidden(x))))


class FashionMlp(nn.Module):
    """784-128-10, ReLU (Dl.Models.FashionMlp)."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class WideMlp(nn.Module):
    """784-1024-512-10, ReLU (Dl.Models.WideMlp)."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 1024)
        self.fc2 = nn.Linear(1024, 512)
        self.fc3 = nn.Linear(512, 10)

    def forward(self, x):
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


class Dgex(nn.Module):
    """D-GEX 943-3000-3000-9520, tanh hidden, linear output (Dl.Models.Dgex)."""

    def __init__(self):
        super().__init__()
        self.hidden1 = nn.Linear(943, 3000)
        self.hidden2 = nn.Linear(3000, 3000)
        self.output = nn.Linear(3000, 9520)

    def forward(self, x):
        return self.output(torch.tanh(self.hidden2(torch.tanh(self.hidden1(x)))))


class LenetCnn(nn.Module):
    """cnn_lenetish (Dl.Models.LenetCnn): [1,28,28] -> conv1 3x3x8 pad 1 -> ReLU -> maxpool 2 -> conv2 3x3x16 pad 1
    -> ReLU -> maxpool 2 -> flatten (784, C,H,W order) -> fc 784-10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc = nn.Linear(784, 10)

    def forward(self, x):
        x = F.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = F.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.fc(torch.flatten(x, 1))


class FashionCnn(nn.Module):
    """Dl.Models.FashionCnn: [1,28,28] -> conv1 3x3x32 pad 1 -> bn1 -> ReLU -> maxpool 2 -> conv2 3x3x64 pad 1 -> bn2
    -> ReLU -> maxpool 2 -> conv3 3x3x64 pad 1 -> bn3 -> ReLU -> dropout 0.25 -> flatten 3136 -> fc1 3136-128 -> ReLU
    -> dropout 0.5 -> fc2 128-10.
    BatchNorm eps 1e-5, momentum 0.1 (PyTorch defaults). The convolutions have no bias by default, as in Dl.Models
    (a bias before batch norm is cancelled by the mean subtraction: its gradient is exactly 0); conv_bias=True adds
    conv1.bias and conv2.bias for checkpoints that carry them."""

    def __init__(self, conv_bias=False):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1, bias=conv_bias)
        self.bn1 = nn.BatchNorm2d(32, eps=1e-5, momentum=0.1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1, bias=conv_bias)
        self.bn2 = nn.BatchNorm2d(64, eps=1e-5, momentum=0.1)
        self.conv3 = nn.Conv2d(64, 64, 3, padding=1, bias=conv_bias)
        self.bn3 = nn.BatchNorm2d(64, eps=1e-5, momentum=0.1)
        self.drop1 = nn.Dropout(0.25)
        self.fc1 = nn.Linear(3136, 128)
        self.drop2 = nn.Dropout(0.5)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(torch.relu(self.bn2(self.conv2(x))), 2)
        x = torch.relu(self.bn3(self.conv3(x)))
        x = torch.flatten(self.drop1(x), 1)
        return self.fc2(self.drop2(torch.relu(self.fc1(x))))


class LstmT35(nn.Module):
    """lstm_32_128_t35 (Dl.Models.LstmT35): [35, 32] per sample (batch-first) -> nn.LSTM(32, 128), one layer, zero
    initial state -> the last step's hidden state [128] -> fc 128-10. Parameters as ours: lstm.weight_ih_l0 [512, 32],
    lstm.weight_hh_l0 [512, 128], lstm.bias_ih_l0 [512], lstm.bias_hh_l0 [512] (gates i, f, g, o, PyTorch's order),
    fc.weight [10, 128], fc.bias [10]."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(32, 128, batch_first=True)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        _, (h, _) = self.lstm(x)   # h: [layers = 1, B, 128], the hidden state after step 35
        return self.fc(h[-1])


class AttnS64(nn.Module):
    """attn_s64_d64_h4 (Dl.Models.AttnS64): [64, 64] per sample (batch-first: sequence 64, d_model 64) -> one
    nn.TransformerEncoderLayer(64, 4 heads, feed-forward 256, dropout 0, ReLU, post-norm, LayerNorm eps 1e-5) -> mean
    over the sequence axis [64] -> fc 64-10. Parameters as ours (PyTorch's state_dict keys): layer.self_attn.in_proj_weight
    [192, 64] (rows q, k, v), layer.self_attn.in_proj_bias [192], layer.self_attn.out_proj.weight [64, 64],
    layer.self_attn.out_proj.bias [64], layer.linear1.weight [256, 64], layer.linear1.bias [256], layer.linear2.weight
    [64, 256], layer.linear2.bias [64], layer.norm1.weight/bias [64], layer.norm2.weight/bias [64], fc.weight [10, 64],
    fc.bias [10].

    In evaluation mode under torch.inference_mode (or no_grad) the layer takes PyTorch's fused inference path,
    torch._transformer_encoder_layer_fwd (1.13's "fast path": batched 3-D input, not training, batch_first, packed
    q/k/v, ReLU, equal norm eps, no src_mask, an even head count, no autocast, autograd off); bench.py checks this with
    torch.profiler. ordinary_forward() runs the same model through the composed operators instead (see there)."""

    def __init__(self):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(64, 4, 256, dropout=0.0, batch_first=True)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(self.layer(x).mean(dim=1))

    def ordinary_forward(self, x):
        """The same forward without the fused kernels: the encoder layer's own composed path (_sa_block via
        F.multi_head_attention_forward, _ff_block, the two LayerNorms), i.e. what PyTorch runs whenever a fast-path
        condition fails. It is selected by switching the module to training mode for the call: every dropout of the
        model has p = 0 (ATen returns the input unchanged), so the result equals forward()'s (bench.py checks it)."""
        was_training = self.training
        self.train()
        try:
            return self.forward(x)
        finally:
            self.train(was_training)


def load_weights(model, tensors, allow_missing=("num_batches_tracked",)):
    """Loads {name: tensor} (e.g. from safetensors_lite.load) into model. Tensors whose element count matches but
    whose shape differs (a checkpoint that stores a conv weight flat) are reshaped to the parameter's shape; buffers
    whose name ends with one of allow_missing may be absent (our checkpoints do not carry bn*.num_batches_tracked).
    Any other missing, unexpected or mis-sized tensor is an error."""
    own = model.state_dict()
    fixed = {}
    for name, t in tensors.items():
        if name in own and tuple(t.shape) != tuple(own[name].shape):
            if t.numel() != own[name].numel():
                raise ValueError(f"tensor '{name}' has shape {list(t.shape)}; the model expects {list(own[name].shape)}")
            t = t.reshape(own[name].shape)
        fixed[name] = t
    result = model.load_state_dict(fixed, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith(allow_missing)]
    if missing or result.unexpected_keys:
        raise ValueError(f"weights do not match {type(model).__name__}: missing {missing}, "
                         f"unexpected {list(result.unexpected_keys)}")


# id -> (module class, input shape per sample, classes (0 = float targets), target size, fixed batch (0 = any))
WORKLOADS = {
    "xor_2_2_1": (XorNet, (2,), 0, 1, 4),
    "mlp_784_128_10": (FashionMlp, (784,), 10, 1, 0),
    "mlp_784_1024_512_10": (WideMlp, (784,), 10, 1, 0),
    "cnn_lenetish": (LenetCnn, (1, 28, 28), 10, 1, 0),
    "lstm_32_128_t35": (LstmT35, (35, 32), 10, 1, 0),
    "attn_s64_d64_h4": (AttnS64, (64, 64), 10, 1, 0),
    "dgex_943_3000_9520": (Dgex, (943,), 0, 9520, 200),
}
