"""Side-by-side timings against the peer packages (``make bench-peers``)."""
