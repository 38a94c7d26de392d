"""Report figures over the ledger: `base` holds the machinery, one module per side."""
