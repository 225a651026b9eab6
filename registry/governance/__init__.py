"""Domain rules: policies, gates, the lifecycle, leases, roles and the ledger.

Plain functions over records and a SQLAlchemy session; nothing here knows about HTTP.
"""
