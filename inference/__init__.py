"""Media engines, free of Django: plain values and file paths in, files and dataclasses out."""
