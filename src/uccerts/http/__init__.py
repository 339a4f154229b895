"""What the HTTP faces (the console and both APIs) share: the application context a
node's app works with, who is calling (Basic, sessions, throttling, CSRF), the request
size limit and the face-neutral part of mapping errors to responses. No routes here:
each face maps these to its own shape."""
