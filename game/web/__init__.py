"""The edges: WebSocket consumers, HTTP views, forms and the admin's live actions."""
