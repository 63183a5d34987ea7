"""A decoder hook reweights each feature column of the encoder output in an enumerate loop.

Reproduces: https://github.com/facebookresearch/fairseq/issues/251
In our words: the user changed the encoder output between encoder and decoder by assigning
`encoder_out[:, :, j] = f(encoder_out[:, :, j])` for each j, and training then failed in backward.
Here each column of the encoder states is multiplied by its own learned weight in place.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "loops",
    "mechanism": "slice-assign-in-enumerate-loop",
    "expect": "raises",
    "error": "modified by an inplace operation",
    "report": "https://github.com/facebookresearch/fairseq/issues/251",
}


class Seq2Seq(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.encoder = nn.Linear(dim, dim)
        self.column_weights = nn.Parameter(torch.tensor([1.5, 0.5, -1.0]))
        self.decoder = nn.Linear(dim, 1)

    def forward(self, src):
        encoder_out = torch.tanh(self.encoder(src))
        for j, w in enumerate(self.column_weights):
            encoder_out[:, :, j] = encoder_out[:, :, j] * w
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
