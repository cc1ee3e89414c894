"""The runtime's control API: WebSocket server, users and roles, operations and topics."""
