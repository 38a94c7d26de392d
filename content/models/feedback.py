"""Sales tells marketing what works: ratings of assets and content requests (d6)."""
