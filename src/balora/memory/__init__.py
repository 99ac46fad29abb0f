"""Memory: what a model weighs as loaded and saved, what training peaks at, and the batch-size finder."""
