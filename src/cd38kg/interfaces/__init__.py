"""What people and programs talk to: the command line, named SPARQL queries and the read-only
endpoint, and the text, TSV and HTML renderers."""
