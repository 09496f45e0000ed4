"""Indexing: news in (readers, cleaning, sentences, passages, embeddings), an index folder out."""
