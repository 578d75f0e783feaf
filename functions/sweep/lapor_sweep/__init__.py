"""The scheduled deadline sweep: a coordinator that fans out one message per shard, and the workers."""
