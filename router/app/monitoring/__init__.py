"""`/api/v1/monitoring`: the queue, the worker processes, each number's rate limit and the circuit
breakers, for an operator (the operator's key)."""
