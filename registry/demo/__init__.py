"""Demo data for Gatehouse: synthetic council datasets and models fitted on them."""
