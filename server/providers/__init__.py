"""Provider adapters: one registry of providers, one shared HTTP layer, one module per wire format."""
