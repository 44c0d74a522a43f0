"""Cards at the gate: the reader interface and simulated readers, pure decoding of what
readers send, and the local card list."""
