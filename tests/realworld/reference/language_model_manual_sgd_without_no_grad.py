"""Reference for language_model_manual_sgd_without_no_grad: the hand-written update runs under torch.no_grad()."""
import sys
from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


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
        with torch.no_grad():
            for p in model.parameters():
                p.add_(p.grad, alpha=-lr)
    return {
        "encoder.weight": model.encoder.weight.detach(),
        "rnn.weight_hh_l0": model.rnn.weight_hh_l0.detach(),
        "decoder.bias": model.decoder.bias.detach(),
    }


def oracle():
    """torch.optim.SGD replaces the hand-written update."""
    torch.manual_seed(0)
    ntokens = 5
    model = RNNModel(ntokens, 3, 4).double()
    data = torch.randint(0, ntokens, (7, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    hidden = torch.zeros(1, 2, 4, dtype=torch.float64)
    for i in range(0, 6, 3):
        inputs, targets = data[i : i + 3], data[i + 1 : i + 4]
        hidden = hidden.detach()
        optimizer.zero_grad()
        output, hidden = model(inputs, hidden)
        F.cross_entropy(output.view(-1, ntokens), targets.reshape(-1)).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        optimizer.step()
    return {
        "encoder.weight": model.encoder.weight.detach(),
        "rnn.weight_hh_l0": model.rnn.weight_hh_l0.detach(),
        "decoder.bias": model.decoder.bias.detach(),
    }
