"""Question answering: retrieve passages, pick the sentences that answer, cite them."""
