"""A language-model training loop: zero the grads, clip their norm, update p.data in place.

Pattern from: https://github.com/pytorch/examples/blob/main/word_language_model/main.py
In our words: `model.zero_grad()`, `loss.backward()`, `torch.nn.utils.clip_grad_norm_` and then a
hand-written SGD step `p.data.add_(p.grad, alpha=-lr)` for every parameter. All of it happens
after backward on tensors autograd does not record (`.grad`, `.data`), so it is safe.
"""
import torch
from torch import nn

CASE = {
    "kind": "safe",
    "group": "safe",
    "mechanism": "clip-grad-norm-and-data-update",
    "expect": "runs",
    "report": "https://github.com/pytorch/examples/blob/main/word_language_model/main.py",
}


class TinyRNN(nn.Module):
    def __init__(self, vocab=6, hidden=4):
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden)
        self.rnn = nn.RNN(hidden, hidden, batch_first=True)
        self.decoder = nn.Linear(hidden, vocab)

    def forward(self, tokens):
        out, _ = self.rnn(self.embed(tokens))
        return self.decoder(out)


def run():
    torch.manual_seed(0)
    model = TinyRNN().double()
    criterion = nn.CrossEntropyLoss()
    tokens = torch.randint(0, 6, (2, 5))
    lr, clip = 0.5, 0.25
    for _ in range(2):
        model.zero_grad()
        output = model(tokens[:, :-1])
        loss = criterion(output.reshape(-1, 6), tokens[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
    return {
        "loss": loss.detach(),
        "decoder.weight": model.decoder.weight,
        "embed.weight": model.embed.weight,
        "decoder.bias.grad": model.decoder.bias.grad,
    }
