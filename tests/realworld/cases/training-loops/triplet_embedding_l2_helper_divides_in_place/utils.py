"""Small tensor helpers shared by the networks."""


def normalize_embeddings(output):
    output /= output.pow(2).sum(1, keepdim=True).sqrt()
    return output
