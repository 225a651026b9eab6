"""What people do with Gatehouse, written once for the API, the web pages and the CLI."""
