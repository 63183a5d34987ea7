"""Reference for enumerate_feature_columns_reweighted: scale all columns out of place."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class Seq2Seq(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.encoder = nn.Linear(dim, dim)
        self.column_weights = nn.Parameter(torch.tensor([1.5, 0.5, -1.0]))
        self.decoder = nn.Linear(dim, 1)

    def forward(self, src):
        encoder_out = torch.tanh(self.encoder(src))
        encoder_out = encoder_out * self.column_weights
        return self.decoder(encoder_out).squeeze(-1)


def run():
    torch.manual_seed(0)
    model = Seq2Seq(3).double()
    src = torch.randn(2, 4, 3, dtype=torch.float64)
    target = torch.randn(2, 4, dtype=torch.float64)
    pred = model(src)
    loss = ((pred - target) ** 2).mean()
    loss.backward()
    return {
        "pred": pred.detach(),
        "column_weights.grad": model.column_weights.grad,
        "encoder.weight.grad": model.encoder.weight.grad,
    }


def oracle():
    """Gradients by central differences of a column-by-column computation."""
    torch.manual_seed(0)
    model = Seq2Seq(3).double()
    src = torch.randn(2, 4, 3, dtype=torch.float64)
    target = torch.randn(2, 4, dtype=torch.float64)

    def loss():
        with torch.no_grad():
            enc = torch.tanh(model.encoder(src))
            cols = torch.stack([enc[:, :, j] * model.column_weights[j] for j in range(3)], dim=-1)
            pred = model.decoder(cols).squeeze(-1)
            return ((pred - target) ** 2).mean()

    return {
        "column_weights.grad": kit.finite_difference(loss, model.column_weights),
        "encoder.weight.grad": kit.finite_difference(loss, model.encoder.weight),
    }
