"""The faces of newsqa: the `newsqa` command line and the Gradio web chat."""
