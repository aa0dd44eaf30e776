"""From RDF to knowledge the engine can use: typed facts, names and identifiers, OWL reasoning
and materialisation, validation, loading the bundled files and user extensions."""
