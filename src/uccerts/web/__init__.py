"""The web console (server-rendered pages) and the app that a node's Cisco Tomcat
serves: the console at ``/``, the native API at ``/api/v1``, the appliance-compatible
certmgr API at ``/platformcom/api/v1/certmgr/config``."""
