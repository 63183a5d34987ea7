"""A key/value cache written by slice assignment in attention, during inference-mode generation.

Pattern from: https://github.com/meta-llama/llama/blob/main/llama/model.py
In our words: the attention layer keeps preallocated `cache_k`/`cache_v` tensors and writes each
step's keys and values into them (`self.cache_k[:bsz, start:start + n] = xk`), then attends over the
cache. The model is only ever called from `generate()`, decorated with `@torch.inference_mode()`,
so nothing is recorded and the writes are plain buffer updates.
"""
import math

import torch
from torch import nn

CASE = {
    "kind": "safe",
    "group": "safe",
    "mechanism": "kv-cache-written-under-inference-mode",
    "expect": "runs",
    "report": "https://github.com/meta-llama/llama/blob/main/llama/model.py",
}


class CachedAttention(nn.Module):
    def __init__(self, dim=4, max_batch=2, max_seq=6):
        super().__init__()
        self.wq = nn.Linear(dim, dim, bias=False)
        self.wk = nn.Linear(dim, dim, bias=False)
        self.wv = nn.Linear(dim, dim, bias=False)
        self.cache_k = torch.zeros(max_batch, max_seq, dim, dtype=torch.float64)
        self.cache_v = torch.zeros(max_batch, max_seq, dim, dtype=torch.float64)
        self.dim = dim

    def forward(self, x, start_pos):
        bsz, seqlen, _ = x.shape
        xq, xk, xv = self.wq(x), self.wk(x), self.wv(x)
        self.cache_k[:bsz, start_pos:start_pos + seqlen] = xk
        self.cache_v[:bsz, start_pos:start_pos + seqlen] = xv
        keys = self.cache_k[:bsz, :start_pos + seqlen]
        values = self.cache_v[:bsz, :start_pos + seqlen]
        scores = torch.matmul(xq, keys.transpose(1, 2)) / math.sqrt(self.dim)
        return torch.matmul(torch.softmax(scores, dim=-1), values)


class TinyLM(nn.Module):
    def __init__(self, vocab=5, dim=4):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.attention = CachedAttention(dim)
        self.output = nn.Linear(dim, vocab)

    def forward(self, tokens, start_pos):
        h = self.embed(tokens)
        h = h + self.attention(h, start_pos)
        return self.output(h)


@torch.inference_mode()
def generate(model, prompt, steps):
    tokens = prompt
    logits = model(tokens, 0)
    out = [prompt]
    pos = prompt.shape[1]
    for _ in range(steps):
        next_token = logits[:, -1].argmax(dim=-1, keepdim=True)
        out.append(next_token)
        logits = model(next_token, pos)
        pos += 1
    return torch.cat(out, dim=1), logits


def run():
    torch.manual_seed(0)
    model = TinyLM().double()
    prompt = torch.tensor([[1, 3], [4, 0]])
    tokens, logits = generate(model, prompt, steps=3)
    return {"tokens": tokens.double(), "logits": logits.clone(), "cache_k": model.attention.cache_k.clone()}
