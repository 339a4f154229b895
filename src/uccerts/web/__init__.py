"""The web console: server-rendered pages over the use cases, on the node whose Cisco
Tomcat serves it (``uccerts.app`` mounts it beside the APIs; it knows nothing of them)."""
