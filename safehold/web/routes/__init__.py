"""One router per resource; each handler parses, calls one service, renders."""
