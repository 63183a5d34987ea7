"""A word-language-model training loop that clips gradients and updates every parameter with p.add_(p.grad).

Reproduces: https://github.com/pytorch/examples/pull/779
In our words: the word_language_model example updated its parameters by hand with
`p.add_(-lr, p.grad)` and, on a newer torch, died with the leaf in-place error; the pull request
switched the update to `p.data`.
"""
import torch
import torch.nn.functional as F
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "leaves-and-parameters",
    "mechanism": "parameter-update-outside-no-grad",
    "expect": "raises",
    "error": "a leaf Variable that requires grad is being used in an in-place operation",
    "report": "https://github.com/pytorch/examples/pull/779",
}


class TinyLM(nn.Module):
    def __init__(self, ntoken=7, ninp=4):
        super().__init__()
        self.encoder = nn.Embedding(ntoken, ninp, dtype=torch.float64)
        self.decoder = nn.Linear(ninp, ntoken, dtype=torch.float64)

    def forward(self, tokens):
        return self.decoder(torch.tanh(self.encoder(tokens)))


def train(model, batches, lr=0.5, clip=0.25):
    for data, targets in batches:
        model.zero_grad()
        loss = F.cross_entropy(model(data), targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        for p in model.parameters():
            p.add_(p.grad, alpha=-lr)
    return loss


def run():
    torch.manual_seed(0)
    model = TinyLM()
    batches = [(torch.randint(0, 7, (5,)), torch.randint(0, 7, (5,))) for _ in range(3)]

    loss = train(model, batches)
    return {"loss": loss.detach(), "encoder.weight": model.encoder.weight.detach(), "decoder.weight": model.decoder.weight.detach()}
