"""What the router tells an operator about itself: Prometheus metrics (`metrics.py`, served by
`exposition.py`), each number's sends (`sends.py`) and the circuit breakers (`circuits.py`)."""
