"""What the service runs on: configuration, the clock, the database, the file store, the
migrations runner and the services object one application holds."""
