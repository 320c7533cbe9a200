"""Small factories per platform domain: rows written straight to the store, for tests that need
them as a starting point rather than as the thing under test."""
