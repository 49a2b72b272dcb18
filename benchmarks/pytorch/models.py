"""The workloads of WORKLOADS.md as PyTorch modules whose parameter names match Dl.Models (fc1.weight, ...)."""
import torch
from torch import nn


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


# id -> (module class, input size, classes (0 = float targets), target size, fixed batch (0 = any))
WORKLOADS = {
    "xor_2_2_1": (XorNet, 2, 0, 1, 4),
    "mlp_784_128_10": (FashionMlp, 784, 10, 1, 0),
    "mlp_784_1024_512_10": (WideMlp, 784, 10, 1, 0),
    "dgex_943_3000_9520": (Dgex, 943, 0, 9520, 200),
}
