"""The generator: schemas/ in, generated/ and docs/tools.md out.

Three layers that never mix: ``loader`` reads and validates the schema files
into small typed objects, ``bundle`` resolves references into the published
contract, ``render`` feeds both to datamodel-code-generator and the templates.

A development tool: it may import ``auth.scopes`` (each tool's scope) and
nothing else of ours; the server never imports it.
"""
