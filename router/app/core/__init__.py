"""What every platform domain uses: the database session, errors, pagination, response types."""
