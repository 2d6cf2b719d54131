"""The raw-ASGI floor (`raw_asgi.py`) and the old stack (`socketio_chat.py`, Flask-SocketIO + eventlet)."""
