"""The OpenAI-compatible surface at /v1: pure translation between OpenAI's JSON and the domain layer.

Each module turns one OpenAI request body into the inputs of the same domain functions /api/v1 uses
(`inference.prepare`, `embeddings.embed`, `media.*`), and their results and events back into OpenAI's objects.
Nothing here routes, bills or calls a provider.
"""
