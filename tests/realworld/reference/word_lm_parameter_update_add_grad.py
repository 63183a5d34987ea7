"""Reference for word_lm_parameter_update_add_grad: the hand-written update runs under torch.no_grad()."""
import torch
import torch.nn.functional as F
from torch import nn


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
        with torch.no_grad():
            for p in model.parameters():
                p.add_(p.grad, alpha=-lr)
    return loss


def run():
    torch.manual_seed(0)
    model = TinyLM()
    batches = [(torch.randint(0, 7, (5,)), torch.randint(0, 7, (5,))) for _ in range(3)]

    loss = train(model, batches)
    return {"loss": loss.detach(), "encoder.weight": model.encoder.weight.detach(), "decoder.weight": model.decoder.weight.detach()}


def oracle():
    """The same loop with torch.optim.SGD taking the steps."""
    torch.manual_seed(0)
    model = TinyLM()
    batches = [(torch.randint(0, 7, (5,)), torch.randint(0, 7, (5,))) for _ in range(3)]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for data, targets in batches:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(data), targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        optimizer.step()
    return {"loss": loss.detach(), "encoder.weight": model.encoder.weight.detach(), "decoder.weight": model.decoder.weight.detach()}
