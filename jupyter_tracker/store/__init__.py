"""The local run store: record framing, the writer thread, the tolerant reader and the run index."""
