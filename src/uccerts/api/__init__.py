"""The HTTP faces' shared core: the application context, authentication, and the
native REST API (``/api/v1``) and the appliance-compatible certmgr API."""
