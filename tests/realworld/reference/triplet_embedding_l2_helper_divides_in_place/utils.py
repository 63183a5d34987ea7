"""Small tensor helpers shared by the networks."""


def normalize_embeddings(output):
    return output / output.pow(2).sum(1, keepdim=True).sqrt()
