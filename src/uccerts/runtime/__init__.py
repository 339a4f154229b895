"""The running cluster: service listeners, TFTP, TVS, the phone fleet, the control
endpoint. Adapters over sockets and asyncio; they call back into the services layer
through the small protocols in ``runtime.ports`` and know nothing of storage."""
