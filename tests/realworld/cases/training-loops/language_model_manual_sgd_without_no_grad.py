"""A word-level RNN language model is trained with a hand-written SGD update `p.add_(p.grad, alpha=-lr)`.

Reproduces: https://github.com/pytorch/examples/pull/779
In our words: the word language model example updated every parameter in place with its own
gradient after clipping, outside `torch.no_grad()`, and the update raised because the parameters
are leaves that require grad.
"""
import torch
from torch import nn
import torch.nn.functional as F

CASE = {
    "kind": "hazard",
    "group": "training-loops",
    "mechanism": "parameter-update-outside-no-grad",
    "expect": "raises",
    "error": "a leaf Variable that requires grad is being used in an in-place operation",
    "report": "https://github.com/pytorch/examples/pull/779",
}


class RNNModel(nn.Module):
    def __init__(self, ntoken, ninp, nhid):
        super().__init__()
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.RNN(ninp, nhid)
        self.decoder = nn.Linear(nhid, ntoken)

    def forward(self, tokens, hidden):
        output, hidden = self.rnn(self.encoder(tokens), hidden)
        return self.decoder(output), hidden


def repackage_hidden(h):
    return h.detach()


def run():
    torch.manual_seed(0)
    ntokens = 5
    model = RNNModel(ntokens, 3, 4).double()
    data = torch.randint(0, ntokens, (7, 2))
    lr, clip = 0.5, 0.25
    hidden = torch.zeros(1, 2, 4, dtype=torch.float64)
    for i in range(0, 6, 3):
        inputs, targets = data[i : i + 3], data[i + 1 : i + 4]
        hidden = repackage_hidden(hidden)
        model.zero_grad()
        output, hidden = model(inputs, hidden)
        loss = F.cross_entropy(output.view(-1, ntokens), targets.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        for p in model.parameters():
            p.add_(p.grad, alpha=-lr)
    return {
        "encoder.weight": model.encoder.weight.detach(),
        "rnn.weight_hh_l0": model.rnn.weight_hh_l0.detach(),
        "decoder.bias": model.decoder.bias.detach(),
    }
