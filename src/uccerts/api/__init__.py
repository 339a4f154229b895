"""The REST faces: the native API (``/api/v1``) and the appliance-compatible certmgr
API, over the HTTP plumbing they share with the console (``uccerts.http``)."""
