"""The shared kernel: what every app uses (errors, access, storage, media URLs, tracing, the API's
conventions, engine configuration) and that imports no app. The composition root is ``storyvideo``."""
