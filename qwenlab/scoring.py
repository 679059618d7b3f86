"""Retrieval scores with Qwen3-Embedding and Qwen3-Reranker, as their model cards document
(QwenLM/Qwen3-Embedding README, the Qwen/Qwen3-Embedding-0.6B and Qwen3-Reranker-0.6B cards).

Embedding: a query is prefixed with a one-line instruction (`Instruct: ...\nQuery:`, no space
after the colon, as the card's code writes it; documents get none), the batch is padded on the
left, the last token's hidden state is the embedding, and embeddings are L2-normalised, so a
dot product is the cosine similarity. Reranking: a causal LM reads the query and one document
between a fixed system prompt and an empty think block, and the score is the probability of
"yes" against "no" for its next token. Both models are loaded by the pool (loading.py: the
embedder through AutoModel, the reranker as a causal LM, both padding left). Nothing here knows
about lessons or Gradio.
"""

from __future__ import annotations

TASK = "Given a web search query, retrieve relevant passages that answer the query"
MAX_LENGTH = 8192
RERANK_PREFIX = ("<|im_start|>system\nJudge whether the Document meets the requirements based on "
                 "the Query and the Instruct provided. Note that the answer can only be \"yes\" or "
                 "\"no\".<|im_end|>\n<|im_start|>user\n")
RERANK_SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"


def query_text(query: str, task: str = TASK) -> str:
    """A query as the embedding model reads it: one line of instruction first."""
    return f"Instruct: {task}\nQuery:{query}"


def embed(loaded, texts: list[str], max_length: int = MAX_LENGTH):
    """Unit-length embeddings (a float tensor, one row a text): the last token's hidden state
    of a left-padded batch."""
    import torch
    import torch.nn.functional as F

    batch = loaded.tokenizer(list(texts), padding=True, truncation=True, max_length=max_length,
                             return_tensors="pt").to(loaded.model.device)
    with torch.inference_mode():
        hidden = loaded.model(**batch).last_hidden_state
    return F.normalize(last_token(hidden, batch["attention_mask"]).float(), p=2, dim=1)


def last_token(hidden, attention_mask):
    """Each row's last real token (the card's last_token_pool): the final position when the
    batch is padded on the left, else the position before the padding starts."""
    import torch

    if bool((attention_mask[:, -1] == 1).all()):
        return hidden[:, -1]
    ends = attention_mask.sum(dim=1) - 1
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), ends]


def rerank(loaded, query: str, documents: list[str], task: str = TASK,
           max_length: int = MAX_LENGTH) -> list[float]:
    """P("yes") that each document meets the query, as Qwen3-Reranker scores it."""
    import torch

    tokenizer = loaded.tokenizer
    prefix = tokenizer.encode(RERANK_PREFIX, add_special_tokens=False)
    suffix = tokenizer.encode(RERANK_SUFFIX, add_special_tokens=False)
    pairs = [f"<Instruct>: {task}\n<Query>: {query}\n<Document>: {doc}" for doc in documents]
    encoded = tokenizer(pairs, padding=False, truncation="longest_first",
                        return_attention_mask=False,
                        max_length=max_length - len(prefix) - len(suffix))
    encoded["input_ids"] = [prefix + ids + suffix for ids in encoded["input_ids"]]
    batch = tokenizer.pad(encoded, padding=True, return_tensors="pt").to(loaded.model.device)
    yes, no = tokenizer.convert_tokens_to_ids("yes"), tokenizer.convert_tokens_to_ids("no")
    with torch.inference_mode():
        logits = loaded.model(**batch).logits[:, -1, :]
    pair = torch.stack([logits[:, no], logits[:, yes]], dim=1).float()
    return torch.log_softmax(pair, dim=1)[:, 1].exp().tolist()
